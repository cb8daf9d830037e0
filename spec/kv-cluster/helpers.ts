// Helpers for the multi-process key-value tests: free loopback ports, member processes
// (`lib/kv/cli.ts` through ts-node, one child each, so a test can kill -9 one), a small HTTP
// client with a deadline, and polling with a deadline.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { freePorts } from '../net/helpers';

export const HOST = '127.0.0.1';
export { freePorts };
export const ROOT = resolve(__dirname, '..', '..');
export const NODE_ARGS = ['-r', 'ts-node/register/transpile-only'];

/** Every child any test started, so a crashing worker still kills them (see the exit hook below). */
const liveChildren = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of liveChildren) {
    try {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
});

/** Tracks `child` until it exits. */
export function track(child: ChildProcess): void {
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
}

/** Whether `child` has not exited yet. */
export function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Resolves once `child` exited (at once when it has), or with false after `timeoutMs`. */
export function exited(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (!running(child)) return Promise.resolve(true);
  return new Promise((done) => {
    const timer = setTimeout(() => done(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      done(true);
    });
  });
}

/** Sends `signal`, then SIGKILL when the child is still there after `graceMs`; resolves once it exited. */
export async function terminate(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 3000): Promise<void> {
  if (!running(child)) return;
  child.kill(signal);
  if (await exited(child, graceMs)) return;
  child.kill('SIGKILL');
  await exited(child, 5000);
}

/**
 * Records every line `child` prints (`stdout: ` and `stderr: ` prefixed) and resolves once
 * `isDone` holds for a stdout line; rejects, with what was printed, when the child exits
 * first or `timeoutMs` passes. `name` and `goal` word the error ("member 1 did not print ...").
 */
export function waitForOutput(child: ChildProcess, isDone: (line: string) => boolean, record: (line: string) => void, log: () => string, name: string, goal: string, timeoutMs: number): Promise<void> {
  createInterface({ input: child.stderr! }).on('line', (line) => record(`stderr: ${line}`));
  const lines = createInterface({ input: child.stdout! });
  return new Promise<void>((done, fail) => {
    const timer = setTimeout(() => finish(new Error(`${name} did not ${goal} within ${timeoutMs} ms\n${log()}`)), timeoutMs);
    const onExit = (code: number | null, signal: string | null): void => finish(new Error(`${name} exited (${signal ?? code}) before it could ${goal}\n${log()}`));
    const finish = (error?: Error): void => {
      clearTimeout(timer);
      child.off('exit', onExit);
      if (error === undefined) done();
      else fail(error);
    };
    child.once('exit', onExit);
    lines.on('line', (line) => {
      record(`stdout: ${line}`);
      if (isDone(line)) finish();
    });
  });
}

/** A fresh temporary directory under os.tmpdir(). */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `${prefix}-`));
}

/** Removes a directory made by {@link tempDir}. */
export function removeDir(dir: string | undefined): void {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}

export const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

/** Polls `probe` until it returns a value other than undefined; throws after `timeoutMs` with the last error. */
export async function poll<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last === undefined ? '' : ` (last error: ${String(last)})`}`);
    await sleep(everyMs);
  }
}

// ------------------------------------------------------------ HTTP

export interface Answer {
  readonly status: number;
  readonly body: string;
  readonly headers: http.IncomingHttpHeaders;
}

export interface RequestOptions {
  readonly method?: string;
  readonly body?: string | Buffer;
  readonly headers?: Readonly<Record<string, string | number>>;
  readonly timeoutMs?: number;
  readonly agent?: http.Agent | false;
}

/** One HTTP request to `url + path`; rejects on a network error or after `timeoutMs` (default 10 s). */
export function request(url: string, path: string, options: RequestOptions = {}): Promise<Answer> {
  const target = new URL(url);
  return new Promise<Answer>((done, fail) => {
    const req = http.request(
      {
        host: target.hostname,
        port: Number(target.port),
        method: options.method ?? 'GET',
        path,
        headers: { ...(options.body === undefined ? {} : { 'Content-Length': Buffer.byteLength(options.body) }), ...options.headers },
        agent: options.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          clearTimeout(timer);
          done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers });
        });
        res.on('error', (error) => {
          clearTimeout(timer);
          fail(error);
        });
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${options.timeoutMs ?? 10_000} ms: ${options.method ?? 'GET'} ${url}${path}`)), options.timeoutMs ?? 10_000);
    req.on('error', (error) => {
      clearTimeout(timer);
      fail(error);
    });
    req.end(options.body);
  });
}

export const kvPath = (key: string): string => `/kv/${encodeURIComponent(key)}`;

export interface Status {
  readonly id: number;
  readonly role: string;
  readonly term: number;
  readonly leaderId: number | null;
  readonly commitIndex: number;
  readonly lastApplied: number;
}

/** GET /status, parsed. */
export async function status(url: string, timeoutMs = 2000): Promise<Status> {
  const answer = await request(url, '/status', { timeoutMs });
  if (answer.status !== 200) throw new Error(`/status answered ${answer.status}: ${answer.body}`);
  return JSON.parse(answer.body) as Status;
}

/** GET /metrics as text. */
export async function metrics(url: string): Promise<string> {
  const answer = await request(url, '/metrics', { timeoutMs: 5000 });
  if (answer.status !== 200) throw new Error(`/metrics answered ${answer.status}`);
  return answer.body;
}

/** The value of an unlabelled metric in Prometheus text, or undefined. */
export function metricValue(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

// ------------------------------------------------------------ members

/** One member process (`lib/kv/cli.ts`). */
export class MemberProcess {
  child: ChildProcess | undefined;
  url: string;
  /** Everything the member wrote to stderr and stdout, for diagnosis. */
  readonly log: string[] = [];

  constructor(
    readonly id: number,
    readonly args: readonly string[],
    readonly httpPort: number,
  ) {
    this.url = `http://${HOST}:${httpPort}`;
  }

  /** Running (maybe not listening yet). */
  get up(): boolean {
    return this.child !== undefined && running(this.child);
  }

  /** Running and listening. */
  get ready(): boolean {
    return this.#listening && this.up;
  }

  #listening = false;

  /** Spawns the member and resolves once it printed `listening http://...`. */
  async start(timeoutMs = 30_000): Promise<void> {
    const child = spawn(process.execPath, [...NODE_ARGS, join(ROOT, 'lib', 'kv', 'cli.ts'), ...this.args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    track(child);
    this.child = child;
    this.#listening = false;
    child.once('exit', () => {
      if (this.child === child) this.#listening = false;
    });
    await waitForOutput(
      child,
      (line) => {
        const match = /^listening (http:\/\/\S+)$/.exec(line);
        if (match === null) return false;
        this.url = match[1] ?? this.url;
        this.#listening = true;
        return true;
      },
      (line) => this.#remember(line),
      () => this.log.join('\n'),
      `member ${this.id}`,
      'print "listening"',
      timeoutMs,
    );
  }

  #remember(line: string): void {
    this.log.push(line);
    if (this.log.length > 200) this.log.shift();
  }

  /** kill -9; resolves once it exited. */
  async kill(): Promise<void> {
    if (this.child === undefined || !running(this.child)) return;
    this.child.kill('SIGKILL');
    await exited(this.child, 5000);
  }

  /** SIGTERM (SIGKILL after `graceMs`); resolves with the exit code (null when killed by a signal). */
  async stop(graceMs = 8000): Promise<number | null> {
    const child = this.child;
    if (child === undefined) return null;
    await terminate(child, 'SIGTERM', graceMs);
    return child.exitCode;
  }
}

/** Three member processes on loopback with their data dirs and a secret file under one temp dir. */
export class Cluster {
  readonly members: MemberProcess[];

  private constructor(
    readonly dir: string,
    members: MemberProcess[],
  ) {
    this.members = members;
  }

  /** Chooses ports and writes the secret; nothing is started. */
  static async create(prefix: string, size = 3): Promise<Cluster> {
    const dir = tempDir(prefix);
    const ports = await freePorts(2 * size);
    const secretFile = join(dir, 'secret');
    writeFileSync(secretFile, 'kv-cluster test secret\n', { mode: 0o600 });
    const peers = ports.slice(0, size).map((port) => `${HOST}:${port}`).join(',');
    const members = Array.from({ length: size }, (_, id) => {
      const httpPort = ports[size + id] ?? 0;
      const args = ['--id', String(id), '--peers', peers, '--http', `${HOST}:${httpPort}`, '--data', join(dir, `member-${id}`), '--secret-file', secretFile];
      return new MemberProcess(id, args, httpPort);
    });
    return new Cluster(dir, members);
  }

  /** Starts every member (in parallel). */
  async start(): Promise<void> {
    await Promise.all(this.members.map((member) => member.start()));
  }

  get up(): MemberProcess[] {
    return this.members.filter((member) => member.up);
  }

  /**
   * Waits until every running member reports the same leader (one of them, itself a leader) and
   * the same term; resolves with the leader's id.
   */
  async leader(timeoutMs = 15_000): Promise<number> {
    return poll('a leader every running member agrees on', timeoutMs, async () => {
      const statuses = await Promise.all(this.up.map((member) => status(member.url)));
      const first = statuses[0];
      if (first === undefined || first.leaderId === null) return undefined;
      if (!statuses.every((s) => s.leaderId === first.leaderId && s.term === first.term)) return undefined;
      const leader = statuses.find((s) => s.id === first.leaderId);
      return leader !== undefined && leader.role === 'leader' ? first.leaderId : undefined;
    });
  }

  /** Waits until `member`'s lastApplied reaches the leader's commitIndex as read now. */
  async caughtUp(member: MemberProcess, leaderUrl: string, timeoutMs = 20_000): Promise<Status> {
    const target = (await status(leaderUrl)).commitIndex;
    return poll(`member ${member.id} applying up to ${target}`, timeoutMs, async () => {
      const s = await status(member.url);
      return s.lastApplied >= target ? s : undefined;
    });
  }

  /** SIGTERM every member (SIGKILL after a grace period), then removes the temp dir. */
  async destroy(): Promise<void> {
    await Promise.all(this.members.map((member) => (member.child === undefined ? undefined : terminate(member.child, 'SIGTERM', 3000))));
    removeDir(this.dir);
  }
}
