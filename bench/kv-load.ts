/**
 * The load side of `npm run bench:kv` (bench/kv.ts): what a key-value system under test must
 * provide ({@link KvSystem}), the preload of every key, and one measured case run with
 * autocannon ({@link runCase}).
 *
 * Latency percentiles are computed here from every 2xx response's own time (autocannon's
 * `responseTime`, in fractional milliseconds), not from autocannon's histogram, which keeps
 * whole milliseconds only: at 1-2 ms per request that would round p50 to 1 or 2.
 */
import { cpus } from 'node:os';
import autocannon from 'autocannon';
import { request } from './kv-process';

/** One member of a cluster under test. */
export interface Member {
  /** The member's id, as its system names it (ours: `1`..`3`; etcd: the member id in hex). */
  readonly id: string;
  /** Its client base URL, `http://127.0.0.1:PORT`. */
  readonly url: string;
}

/** One HTTP request, as autocannon sends it (method, path, headers, body). */
export interface HttpRequest {
  readonly method: 'GET' | 'POST' | 'PUT';
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** A running 3-member key-value cluster under test, and how to speak to it. */
export interface KvSystem {
  /** `ours` or `etcd`. */
  readonly name: 'ours' | 'etcd';
  /** Its members, in start order. */
  readonly members: readonly Member[];
  /** The member that is leader now (asks every member; throws if there is none or they disagree). */
  leader(): Promise<Member>;
  /** The request that writes `value` under `key` (a 2xx reply means committed). */
  put(key: string, value: string): HttpRequest;
  /** The linearizable read of `key`. */
  get(key: string): HttpRequest;
  /** Whether a 2xx reply to {@link get} carries a value (etcd answers 200 with no `kvs` for a missing key). */
  found(body: string): boolean;
  /** Stops the cluster (all its processes). */
  stop(): Promise<void>;
}

/** Key `i` of the key space: `bench-00042`. */
export function keyName(i: number): string {
  return `bench-${String(i).padStart(5, '0')}`;
}

/** A 16-byte value, different per request (`n` in decimal, zero-padded). */
export function valueFor(n: number): string {
  return String(n % 1e16).padStart(16, '0');
}

/**
 * Writes every key `0..keys-1` once through `target` with `concurrency` requests in flight
 * (plain fetch, not measured), so that the GET case only reads keys that exist. It is also
 * each system's warm-up. Throws on the first failed write.
 */
export async function preload(system: KvSystem, target: Member, keys: number, concurrency = 64): Promise<number> {
  const started = Date.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < keys) {
      const i = next++;
      const req = system.put(keyName(i), valueFor(i));
      const reply = await request(req.method, target.url + req.path, req.body, 10_000, req.headers);
      if (reply.status < 200 || reply.status > 299) {
        throw new Error(`${system.name} preload: ${req.method} ${req.path} answered ${reply.status}: ${reply.body.slice(0, 200)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return (Date.now() - started) / 1_000;
}

/** The figures of one system on one case. */
export interface CaseFigures {
  /** Completed 2xx requests per second over the case's actual duration. */
  readonly requestsPerSecond: number;
  /** Latency of 2xx responses, ms (exact, from every response). */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  readonly maxMs: number;
  /** Responses by class, and by status code. */
  readonly ok2xx: number;
  readonly non2xx: number;
  readonly statusCodes: Readonly<Record<string, number>>;
  /** Connection errors (including timeouts), and timeouts alone. */
  readonly errors: number;
  readonly timeouts: number;
  /** GET only: 2xx replies that carried no value (etcd's answer for a missing key). */
  readonly missing: number;
  /** Seconds the load actually ran. */
  readonly durationSeconds: number;
  /** The member the load went to, and whether it was still leader when the case ended. */
  readonly target: Member;
  readonly leaderAfter: string;
  /** CPU time of this process (autocannon, the load generator) during the case, % of one core. */
  readonly clientCpuPercent: number;
  /** The whole machine's CPU busy time during the case, % of all cores. */
  readonly machineBusyPercent: number;
  /** autocannon's own (whole-millisecond) p50/p99 and mean req/s over all responses, for reference. */
  readonly autocannon: { readonly p50Ms: number; readonly p99Ms: number; readonly requestsPerSecondMean: number };
}

/** A measured case: PUT or GET, with a number of connections. */
export interface CaseSpec {
  /** `PUT-64` */
  readonly name: string;
  readonly op: 'PUT' | 'GET';
  readonly connections: number;
}

/** A growable array of numbers, for the latency of every response. */
class Samples {
  private values = new Float64Array(1 << 16);
  private size = 0;

  add(value: number): void {
    if (this.size === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.size++] = value;
  }

  /** Sorted copy (ascending). */
  sorted(): Float64Array {
    return this.values.slice(0, this.size).sort();
  }
}

/** The `q`-quantile (0..1) of ascending `sorted` by nearest rank, or NaN when empty. */
function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

/** The machine's CPU time so far, all cores summed (ms): total and idle. */
function machineCpu(): { readonly total: number; readonly idle: number } {
  let total = 0;
  let idle = 0;
  for (const core of cpus()) {
    const { user, nice, sys, idle: coreIdle, irq } = core.times;
    total += user + nice + sys + coreIdle + irq;
    idle += coreIdle;
  }
  return { total, idle };
}

/** The autocannon instance running now, so that Ctrl-C can stop it. */
let running: autocannon.Instance | undefined;

/** Stops the load in flight, if any. */
export function stopLoad(): void {
  running?.stop();
}

/**
 * Runs one case against `target` for `durationSeconds`: every request a PUT (or GET) of a key
 * chosen uniformly at random among `keys`, chosen afresh per request by autocannon's
 * `setupRequest`. Returns the figures; never throws for non-2xx replies (they are counted).
 */
export async function runCase(system: KvSystem, target: Member, spec: CaseSpec, durationSeconds: number, keys: number): Promise<CaseFigures> {
  let sent = 0;
  let missing = 0;
  const build = (): HttpRequest => {
    const key = keyName(Math.floor(Math.random() * keys));
    return spec.op === 'PUT' ? system.put(key, valueFor(sent++)) : system.get(key);
  };
  const loadRequest: autocannon.Request = {
    setupRequest: (req: autocannon.Request): autocannon.Request => {
      const next = build();
      return { ...req, method: next.method, path: next.path, headers: { ...next.headers }, body: next.body ?? '' };
    },
  };
  if (spec.op === 'GET') {
    loadRequest.onResponse = (status: number, body: string): void => {
      if (status >= 200 && status <= 299 && !system.found(body)) missing++;
    };
  }
  const latencies = new Samples();
  const cpuBefore = process.cpuUsage();
  const machineBefore = machineCpu();
  const wallBefore = process.hrtime.bigint();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: target.url,
        connections: spec.connections,
        duration: durationSeconds,
        timeout: 10,
        requests: [loadRequest],
      },
      (error: Error | null, done: autocannon.Result) => {
        running = undefined;
        if (error) reject(error);
        else resolve(done);
      },
    );
    running = instance;
    instance.on('response', (_client: autocannon.Client, statusCode: number, _bytes: number, responseTime: number) => {
      if (statusCode >= 200 && statusCode <= 299) latencies.add(responseTime);
    });
  });
  const wallMicros = Number(process.hrtime.bigint() - wallBefore) / 1_000;
  const cpu = process.cpuUsage(cpuBefore);
  const machineAfter = machineCpu();
  const machineTotal = machineAfter.total - machineBefore.total;
  const sorted = latencies.sorted();
  const statusCodes: Record<string, number> = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stats.count ?? 0;
  let leaderAfter: string;
  try {
    leaderAfter = (await system.leader()).id;
  } catch (error) {
    leaderAfter = `unknown (${error instanceof Error ? error.message : String(error)})`;
  }
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    requestsPerSecond: result['2xx'] / result.duration,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    meanMs: sorted.length === 0 ? Number.NaN : sum / sorted.length,
    maxMs: sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] ?? Number.NaN),
    ok2xx: result['2xx'],
    non2xx: result.non2xx,
    statusCodes,
    errors: result.errors,
    timeouts: result.timeouts,
    missing,
    durationSeconds: result.duration,
    target,
    leaderAfter,
    clientCpuPercent: (100 * (cpu.user + cpu.system)) / wallMicros,
    machineBusyPercent: machineTotal === 0 ? Number.NaN : (100 * (machineTotal - (machineAfter.idle - machineBefore.idle))) / machineTotal,
    autocannon: { p50Ms: result.latency.p50, p99Ms: result.latency.p99, requestsPerSecondMean: result.requests.mean },
  };
}
