/**
 * `npm run bench:kv [-- --duration S] [--only ours|etcd] [--connections 1,16,64] [--keys N]`:
 * our key-value service (3 members, `npm run kv:cluster`) against etcd 3.4 (3 members,
 * Debian's etcd-server), both on 127.0.0.1 with data in temp dirs, under the same HTTP load
 * from autocannon in this process.
 *
 * Cases, each run for the same fixed duration on both systems in the same run, interleaved
 * (ours first on even cases, etcd first on odd ones): PUT of 16-byte values with 1, 16 and 64
 * connections, then linearizable GET with 64 connections. Every request picks a key uniformly
 * among 10,000; before the cases every key is written once (unmeasured; also the warm-up), so
 * every GET reads a key that exists. All load goes to ONE member, the leader found before
 * each case (ours: the member whose `/status` role is `leader`; etcd: the member whose
 * `/v3/maintenance/status` `header.member_id` equals `leader`).
 *
 * Prints per case requests/s, p50 and p99 latency (ms, 2xx responses) for each system and
 * the ratios ours/etcd, the goals (PUT-64 throughput ratio >= 1, PUT-64 p99 ratio <= 1.5,
 * GET-64 throughput ratio >= 1), and writes everything to bench/kv-results.json. Any non-2xx
 * reply, connection error or GET of a missing key is reported loudly and makes the exit
 * code 1. A system that is not available (etcd not installed, lib/kv/cluster-cli.ts not
 * written yet) is skipped with the reason.
 *
 * Both clusters run in process groups of their own and are stopped at the end, on error and
 * on Ctrl-C (bench/kv-process.ts).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { updateBenchmarksFile } from './kv-report';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { etcdUnavailable, etcdVersion, startEtcd } from './kv-etcd';
import { preload, runCase, stopLoad, type CaseFigures, type CaseSpec, type KvSystem } from './kv-load';
import { oursUnavailable, startOurs, CLUSTER_CLI } from './kv-ours';
import { cleanUp, installCleanUpHandlers, interrupted, makeTempDir } from './kv-process';

const RESULTS_PATH = join(__dirname, 'kv-results.json');
const SYSTEMS = ['ours', 'etcd'] as const;
type SystemName = (typeof SYSTEMS)[number];

const USAGE = `usage: npm run bench:kv [-- options]

Our 3-member kv:cluster against a 3-member etcd 3.4 (/usr/bin/etcd), same HTTP load.

options:
  --duration S          seconds per case and system (default 10)
  --only ours|etcd      run one system only
  --connections LIST    PUT connection counts, comma-separated (default 1,16,64);
                        the GET case uses the largest
  --keys N              distinct keys (default 10000)
  -h, --help            print this help and exit`;

/** The parsed command line. */
interface Options {
  readonly durationSeconds: number;
  readonly only: SystemName | undefined;
  readonly putConnections: readonly number[];
  readonly keys: number;
}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      duration: { type: 'string' },
      only: { type: 'string' },
      connections: { type: 'string' },
      keys: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const positive = (name: string, text: string | undefined, fallback: number): number => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, not ${text}`);
    return value;
  };
  const only = values.only;
  if (only !== undefined && only !== 'ours' && only !== 'etcd') throw new Error(`--only must be ours or etcd, not ${only}`);
  const putConnections = (values.connections ?? '1,16,64').split(',').map((part) => Math.round(positive('connections', part.trim(), 1)));
  return {
    durationSeconds: positive('duration', values.duration, 10),
    only,
    putConnections,
    keys: Math.round(positive('keys', values.keys, 10_000)),
  };
}

/** One system's outcome on one case: figures, or why there are none. */
type Outcome = { readonly figures: CaseFigures } | { readonly skipped: string };

/** One case's row. */
interface CaseRow {
  readonly spec: CaseSpec;
  readonly outcomes: Partial<Record<SystemName, Outcome>>;
  /** Which system ran first. */
  readonly order: readonly SystemName[];
}

const figuresOf = (row: CaseRow, system: SystemName): CaseFigures | undefined => {
  const outcome = row.outcomes[system];
  return outcome !== undefined && 'figures' in outcome ? outcome.figures : undefined;
};

/** The problems of a system's figures on a case, each a line for the loud warning. */
function problemsOf(name: string, figures: CaseFigures): string[] {
  const problems: string[] = [];
  if (figures.non2xx > 0) {
    const codes = Object.entries(figures.statusCodes).filter(([code]) => !code.startsWith('2')).map(([code, count]) => `${count} x ${code}`).join(', ');
    problems.push(`${name}: ${figures.non2xx} NON-2XX responses (${codes})`);
  }
  if (figures.errors > 0) problems.push(`${name}: ${figures.errors} connection errors (${figures.timeouts} timeouts)`);
  if (figures.missing > 0) problems.push(`${name}: ${figures.missing} GETs found no value for a key written in the preload`);
  if (figures.ok2xx === 0) problems.push(`${name}: NO successful responses at all`);
  if (!figures.leaderAfter.startsWith(figures.target.id)) problems.push(`${name}: leader changed during the case (was ${figures.target.id}, now ${figures.leaderAfter})`);
  return problems;
}

const fmt = (value: number | undefined, digits: number): string => (value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits));
const ratio = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined || b === undefined || b === 0 ? undefined : a / b);

/** A goal on the ratios, met or not (or not measured). */
interface Goal {
  readonly goal: string;
  readonly value: number | undefined;
  readonly met: boolean | undefined;
}

function goalsOf(rows: readonly CaseRow[]): Goal[] {
  const row = (name: string): CaseRow | undefined => rows.find((candidate) => candidate.spec.name === name);
  const throughputRatio = (name: string): number | undefined => {
    const r = row(name);
    return r ? ratio(figuresOf(r, 'ours')?.requestsPerSecond, figuresOf(r, 'etcd')?.requestsPerSecond) : undefined;
  };
  const p99Ratio = (name: string): number | undefined => {
    const r = row(name);
    return r ? ratio(figuresOf(r, 'ours')?.p99Ms, figuresOf(r, 'etcd')?.p99Ms) : undefined;
  };
  const goal = (text: string, value: number | undefined, test: (v: number) => boolean): Goal => ({ goal: text, value, met: value === undefined ? undefined : test(value) });
  return [
    goal('PUT-64 throughput ratio ours/etcd >= 1', throughputRatio('PUT-64'), (v) => v >= 1),
    goal('PUT-64 p99 ratio ours/etcd <= 1.5', p99Ratio('PUT-64'), (v) => v <= 1.5),
    goal('GET-64 throughput ratio ours/etcd >= 1', throughputRatio('GET-64'), (v) => v >= 1),
  ];
}

/** Left-aligns the first column and right-aligns the rest. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function gitHead(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: join(__dirname, '..'), encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'lib'], { cwd: join(__dirname, '..'), encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head} (lib/ has uncommitted changes)` : head;
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const options = parseOptions(argv);
  const command = process.env['npm_lifecycle_event'] === 'bench:kv' ? `npm run bench:kv${argv.length ? ` -- ${argv.join(' ')}` : ''}` : `node -r ts-node/register/transpile-only bench/kv.ts ${argv.join(' ')}`.trim();
  installCleanUpHandlers(stopLoad);

  const wanted = SYSTEMS.filter((name) => options.only === undefined || options.only === name);
  const cpu = cpus();
  const environment = {
    node: process.version,
    etcd: etcdUnavailable() === undefined ? etcdVersion() : 'not installed',
    ours: `git ${gitHead()}`,
    cpus: `${cpu.length} x ${cpu[0]?.model ?? 'unknown'}`,
    loadavgAtStart: loadavg().map((l) => l.toFixed(2)).join(' '),
    tmpdir: tmpdir(),
  };
  console.log(`command: ${command}`);
  console.log(`node ${environment.node}; etcd ${environment.etcd}; ours ${environment.ours}`);
  console.log(`machine: ${environment.cpus}; load average ${environment.loadavgAtStart}; data in ${environment.tmpdir} (the load generator runs in this process, on the same machine)`);
  console.log(`cases: ${options.durationSeconds} s each per system; ${options.keys} keys; 16-byte values; all load to the leader only\n`);

  const systems: Partial<Record<SystemName, KvSystem>> = {};
  const skipped: Partial<Record<SystemName, string>> = {};
  const preloadSeconds: Partial<Record<SystemName, number>> = {};
  const starters: Record<SystemName, { unavailable: () => string | undefined; start: (dir: string) => Promise<KvSystem> }> = {
    ours: { unavailable: oursUnavailable, start: startOurs },
    etcd: { unavailable: etcdUnavailable, start: startEtcd },
  };
  for (const name of wanted) {
    const reason = starters[name].unavailable();
    if (reason !== undefined) {
      skipped[name] = reason;
      console.log(`${name}: SKIPPED: ${reason}`);
      continue;
    }
    try {
      const started = Date.now();
      const system = await starters[name].start(makeTempDir(`bench-kv-${name}-`));
      const leader = await system.leader();
      console.log(`${name}: 3 members up in ${((Date.now() - started) / 1000).toFixed(1)} s (${system.members.map((m) => `${m.id} ${m.url}`).join(', ')}); leader ${leader.id}`);
      preloadSeconds[name] = await preload(system, leader, options.keys);
      console.log(`${name}: preloaded ${options.keys} keys through the leader in ${preloadSeconds[name]?.toFixed(1)} s`);
      systems[name] = system;
    } catch (error) {
      if (interrupted()) return;
      skipped[name] = `FAILED to start or preload: ${error instanceof Error ? error.message : String(error)}`;
      console.error(`\n!!! ${name}: ${skipped[name]}\n`);
    }
  }
  if (Object.keys(systems).length === 0) throw new Error(`nothing to run: ${Object.entries(skipped).map(([name, reason]) => `${name}: ${reason}`).join('; ')}`);

  const largest = Math.max(...options.putConnections);
  const specs: CaseSpec[] = [
    ...options.putConnections.map((connections): CaseSpec => ({ name: `PUT-${connections}`, op: 'PUT', connections })),
    { name: `GET-${largest}`, op: 'GET', connections: largest },
  ];
  const rows: CaseRow[] = [];
  const problems: string[] = [];
  for (const [index, spec] of specs.entries()) {
    const order: SystemName[] = index % 2 === 0 ? ['ours', 'etcd'] : ['etcd', 'ours'];
    const outcomes: Partial<Record<SystemName, Outcome>> = {};
    for (const name of order.filter((n) => wanted.includes(n))) {
      const system = systems[name];
      if (system === undefined) {
        outcomes[name] = { skipped: skipped[name] ?? 'not started' };
        continue;
      }
      try {
        const target = await system.leader();
        process.stdout.write(`${spec.name.padEnd(7)} ${name.padEnd(4)} -> leader ${target.id} ${target.url} ... `);
        const figures = await runCase(system, target, spec, options.durationSeconds, options.keys);
        outcomes[name] = { figures };
        console.log(`${fmt(figures.requestsPerSecond, 0)} req/s, p50 ${fmt(figures.p50Ms, 2)} ms, p99 ${fmt(figures.p99Ms, 2)} ms, non-2xx ${figures.non2xx}, errors ${figures.errors}; CPU: bench client ${fmt(figures.clientCpuPercent, 0)}% of a core, machine ${fmt(figures.machineBusyPercent, 0)}% busy`);
        for (const problem of problemsOf(`${spec.name} ${name}`, figures)) {
          console.log(`    !!! ${problem}`);
          problems.push(problem);
        }
      } catch (error) {
        if (interrupted()) return;
        const message = error instanceof Error ? error.message : String(error);
        outcomes[name] = { skipped: `FAILED: ${message}` };
        console.log(`FAILED: ${message}`);
        problems.push(`${spec.name} ${name}: FAILED: ${message}`);
      }
    }
    if (interrupted()) return;
    rows.push({ spec, outcomes, order });
  }
  for (const system of Object.values(systems)) await system.stop();
  await cleanUp();

  const goals = goalsOf(rows);
  const tableRows = rows.map((row) => {
    const ours = figuresOf(row, 'ours');
    const etcd = figuresOf(row, 'etcd');
    const bad = (f: CaseFigures | undefined): number => (f ? f.non2xx + f.errors + f.missing : 0);
    return [
      row.spec.name,
      fmt(ours?.requestsPerSecond, 0),
      fmt(etcd?.requestsPerSecond, 0),
      fmt(ratio(ours?.requestsPerSecond, etcd?.requestsPerSecond), 2),
      fmt(ours?.p50Ms, 2),
      fmt(etcd?.p50Ms, 2),
      fmt(ours?.p99Ms, 2),
      fmt(etcd?.p99Ms, 2),
      fmt(ratio(ours?.p99Ms, etcd?.p99Ms), 2),
      `${ours ? bad(ours) : '-'} / ${etcd ? bad(etcd) : '-'}`,
    ];
  });
  console.log('\nrequests/s of 2xx replies; latency of 2xx replies in ms; load sent to the leader only\n');
  console.log(table(['case', 'ours req/s', 'etcd req/s', 'ratio', 'ours p50', 'etcd p50', 'ours p99', 'etcd p99', 'p99 ratio', 'bad ours/etcd'], tableRows));
  console.log('(bad = non-2xx + connection errors + GETs of missing keys)\n');
  for (const goal of goals) {
    console.log(`goal ${goal.goal}: ${goal.met === undefined ? 'not measured' : `${fmt(goal.value, 2)}, ${goal.met ? 'met' : 'NOT MET'}`}`);
  }
  for (const [name, reason] of Object.entries(skipped)) console.log(`${name}: skipped: ${reason}`);

  const results = {
    date: new Date().toISOString(),
    command,
    environment,
    settings: { durationSeconds: options.durationSeconds, keys: options.keys, valueBytes: 16, target: 'the leader only (one member)', ourEntry: CLUSTER_CLI },
    preloadSeconds,
    skipped,
    cases: rows.map((row) => ({
      case: row.spec.name,
      op: row.spec.op,
      connections: row.spec.connections,
      order: row.order,
      ours: row.outcomes.ours ?? null,
      etcd: row.outcomes.etcd ?? null,
      throughputRatio: ratio(figuresOf(row, 'ours')?.requestsPerSecond, figuresOf(row, 'etcd')?.requestsPerSecond) ?? null,
      p99Ratio: ratio(figuresOf(row, 'ours')?.p99Ms, figuresOf(row, 'etcd')?.p99Ms) ?? null,
    })),
    goals: goals.map((goal) => ({ goal: goal.goal, value: goal.value ?? null, met: goal.met ?? null })),
    problems,
  };
  writeFileSync(RESULTS_PATH, `${JSON.stringify(results, null, 2)}\n`);
  updateBenchmarksFile();
  console.log(`\nwrote ${RESULTS_PATH} and its section of BENCHMARKS.md`);

  if (problems.length > 0) {
    console.log(`\n${'!'.repeat(78)}\n!!! THIS RUN HAD FAILED REQUESTS OR OTHER PROBLEMS; its figures are not clean:`);
    for (const problem of problems) console.log(`!!!   ${problem}`);
    console.log('!'.repeat(78));
    process.exitCode = 1;
  }
}

main().catch(async (error: unknown) => {
  if (interrupted()) return; // the signal handler is stopping everything and exits
  console.error(`\nbench:kv: ${error instanceof Error ? error.message : String(error)}`);
  await cleanUp();
  process.exitCode = 1;
});
