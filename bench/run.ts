/**
 * `npm run bench [-- W1 W4 ...]`: runs the workloads in this process, several times each,
 * reports medians, and writes BENCHMARKS.md and bench/results.json. Arguments select
 * workloads by name prefix: `npm run bench -- W1 W2 etcd` runs W1, W2 and the etcd raft peer.
 * A filtered run never overwrites the full run's figures: it is recorded beside them as a
 * run of its own (`partialRuns` in results.json, a section of BENCHMARKS.md titled with its
 * command), replacing an earlier run of the same command; its ratios come from its own
 * workloads only. A full run drops the recorded filtered runs.
 *
 * The etcd raft peer (etcd-W1, etcd-W2: bench/peers/etcd.ts) runs when Go and Debian's etcd
 * sources are installed; otherwise it is recorded as skipped, with the reason, and the bench
 * goes on.
 */
import { execSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { w1Serial, w4CatchUp, w5Floor, w6Memory, wBatched, type Figures } from './workloads';
import { peerWorkloads } from './peers';
import { ETCD_BUILD_COMMAND, etcdPeer, runEtcd } from './peers/etcd';
import { storageThroughput, type StoreKind } from './storage';
import { fileSnapshotsUnavailable, sReopen, w8BoundedMemory, w9SnapshotCatchUp } from './compaction';
import { readWorkload } from './reads';
import { renderKvSection } from './kv-report';

interface Workload {
  readonly name: string;
  readonly title: string;
  readonly repetitions: number;
  readonly run: () => Figures | Promise<Figures>;
  /** An optional peer: skipped, with the reason, when unavailable (a string) or when it fails; never fails the bench. */
  readonly optional?: { readonly group: string; readonly unavailable: () => string | undefined };
}

const ENTRIES = 200_000;
const etcdOptional = {
  group: 'etcd',
  unavailable: (): string | undefined => {
    const peer = etcdPeer();
    return peer.available ? undefined : peer.reason;
  },
};

const CATCH_UP_SIZES = [50_000, 100_000, 200_000, 400_000] as const;
const W9_SIZES = [1_000_000, 2_000_000] as const;
const R1_GROUPS = [10, 100, 1_000] as const;

const workloads: Workload[] = [
  { name: 'W5', title: 'floor: entry objects appended to three plain arrays', repetitions: 7, run: () => w5Floor() },
  { name: 'W1', title: 'serial: 3 servers, 200,000 proposals, each committed before the next', repetitions: 5, run: () => w1Serial() },
  { name: 'etcd-W1', title: "peer etcd raft (Go, 3 RawNodes, synchronous delivery) on W1's job: 200,000 proposals, each committed on the leader before the next", repetitions: 5, run: () => runEtcd('serial', ENTRIES), optional: etcdOptional },
  { name: 'W2', title: 'batched: 3 servers, 200,000 entries in batches of 100, committed on all', repetitions: 7, run: () => wBatched(3) },
  { name: 'etcd-W2', title: "peer etcd raft on W2's job: 200,000 entries, one MsgProp of 100 at a time, committed on all", repetitions: 7, run: () => runEtcd('batched', ENTRIES), optional: etcdOptional },
  { name: 'W3', title: 'batched: 5 servers, 200,000 entries in batches of 100, committed on all', repetitions: 7, run: () => wBatched(5) },
  {
    name: 'W4',
    title: `catch-up of a follower ${CATCH_UP_SIZES.map((n) => `${n / 1000}k`).join(', ')} entries behind (sizes interleaved in each run)`,
    repetitions: 9,
    run: () => {
      const figures: Figures = {};
      for (const n of CATCH_UP_SIZES) {
        const result = w4CatchUp(n);
        figures[`ms@${n / 1000}k`] = result.ms as number;
        figures[`appendEntries@${n / 1000}k`] = result.appendEntries as number;
        figures[`bound@${n / 1000}k`] = result.bound as number;
      }
      return figures;
    },
  },
  { name: 'W6', title: 'memory: InMemoryPersistentState with 1,000,000 entries', repetitions: 3, run: () => w6Memory() },
  {
    name: 'W8',
    title: 'bounded memory: 3 servers (recordCommitted: false), key-value state machine (10,000 keys), maxLogEntries 10,000, 2,000,000 entries in batches of 100 (W2\'s loop); heap after gc at 200k and 2M',
    repetitions: 5,
    run: () => w8BoundedMemory(false),
  },
  {
    name: 'W8-record',
    title: "diagnostic: W8 with InMemoryCluster's default recordCommitted: true (the cluster keeps every committed entry of every server for `cluster.committed(id)`)",
    repetitions: 3,
    run: () => w8BoundedMemory(true),
  },
  {
    name: 'W9',
    title: 'catch-up by snapshot: 3 servers (recordCommitted: false), maxLogEntries 10,000, 10,000 keys; a follower misses 1M, then 2M entries (each its own cluster, in each run); from reconnection until it has applied all',
    repetitions: 9,
    run: () => {
      const figures: Figures = {};
      for (const n of W9_SIZES) {
        for (const [key, value] of Object.entries(w9SnapshotCatchUp(n))) figures[`${key}@${n / 1e6}M`] = value;
      }
      return figures;
    },
  },
  {
    name: 'R1',
    title: "linearizable reads, safe mode: 3 servers, 1,000,000 `leader.readIndex` calls in groups of 1,000, `cluster.advance(1)` after each group (the group's heartbeat round), every read of a group `ready` before the next",
    repetitions: 3,
    run: () => readWorkload('safe'),
  },
  {
    name: 'R1-groups',
    title: 'diagnostic: R1 with 200,000 reads in groups of 10, 100 and 1,000 (each its own cluster, in each run): reads/s by group size',
    repetitions: 3,
    run: () => {
      const figures: Figures = {};
      for (const group of R1_GROUPS) {
        const result = readWorkload('safe', 200_000, group);
        figures[`readsPerSecond@${group}`] = result.readsPerSecond as number;
        figures[`roundsPerRead@${group}`] = result.roundsPerRead as number;
      }
      return figures;
    },
  },
  {
    name: 'R2',
    title: "linearizable reads, lease mode (checkQuorum: true, readMode: 'lease'): R1's loop",
    repetitions: 5,
    run: () => readWorkload('lease'),
  },
  ...(['file', 'lmdb', 'memory'] as StoreKind[]).flatMap((kind) =>
    ([1, 10, 100] as const).map((batch) => ({
      name: `S-${kind}-${batch}`,
      title: `durable appends: ${kind === 'file' ? 'FilePersistentState' : kind === 'lmdb' ? 'LMDB store (bench/lmdb-state.ts)' : 'InMemoryPersistentState'}, batches of ${batch}, sync after each`,
      repetitions: 3,
      run: () => storageThroughput(kind, batch),
    })),
  ),
  {
    name: 'S-reopen',
    title: 'FilePersistentState.open of a store whose one server committed 1,000,000 16-byte entries with compaction (key-value state machine, maxLogEntries 10,000) and of one without (stores built once per run)',
    repetitions: 5,
    run: () => sReopen(),
    optional: { group: 'S-reopen', unavailable: fileSnapshotsUnavailable },
  },
  ...peerWorkloads(),
];

/** The ratios, each from the figures of `results` (one run); NaN when a workload it needs did not run. */
function ratioList(results: ReadonlyMap<string, Figures>): [string, number, string][] {
  const get = (name: string, key: string): number => results.get(name)?.[key] ?? NaN;
  return [
    // Followers keep their own copy of each entry (validation copies what a peer sent), so
    // the floor to compare with is the one with an object per replica.
    ['W2 / W5 (shared objects)', get('W2', 'entriesPerSecond') / get('W5', 'sharedPerSecond'), ''],
    ['W2 / W5 (object per replica)', get('W2', 'entriesPerSecond') / get('W5', 'copiedPerSecond'), '>= 0.3'],
    ['W1 / W5 (shared objects)', get('W1', 'commitsPerSecond') / get('W5', 'sharedPerSecond'), ''],
    ['W3 / W2 (5 servers vs 3)', get('W3', 'entriesPerSecond') / get('W2', 'entriesPerSecond'), ''],
    ['W4 t(400k) / t(200k)', get('W4', 'ms@400k') / get('W4', 'ms@200k'), '<= 2.3'],
    ['W4 t(200k) / t(100k)', get('W4', 'ms@200k') / get('W4', 'ms@100k'), ''],
    ['W4 AppendEntries(400k) / (1.2 x 400k / 100)', get('W4', 'appendEntries@400k') / get('W4', 'bound@400k'), '<= 1 (+ a constant)'],
    ['S file / lmdb, batches of 1', get('S-file-1', 'entriesPerSecond') / get('S-lmdb-1', 'entriesPerSecond'), ''],
    ['S file / lmdb, batches of 10', get('S-file-10', 'entriesPerSecond') / get('S-lmdb-10', 'entriesPerSecond'), ''],
    ['S file / lmdb, batches of 100', get('S-file-100', 'entriesPerSecond') / get('S-lmdb-100', 'entriesPerSecond'), ''],
    ['S file(100) / file(1): group commit', get('S-file-100', 'entriesPerSecond') / get('S-file-1', 'entriesPerSecond'), ''],
    ['W1 ours / peer', get('W1', 'commitsPerSecond') / get('W7-W1', 'entriesPerSecond'), '>= 10'],
    ['W2 ours / peer', get('W2', 'entriesPerSecond') / get('W7-W2', 'entriesPerSecond'), '>= 10'],
    ['W1 ours / etcd raft (serial commits/s)', get('W1', 'commitsPerSecond') / get('etcd-W1', 'commitsPerSecond'), '>= 3 (target, issue 8)'],
    ['W2 ours / etcd raft (batched entries/s)', get('W2', 'entriesPerSecond') / get('etcd-W2', 'entriesPerSecond'), '>= 10 (target, issue 8)'],
    ['W8 heap(2M) / heap(200k)', get('W8', 'heapMB@2M') / get('W8', 'heapMB@200k'), '<= 1.2'],
    ['W8 entries/s / W2 entries/s', get('W8', 'entriesPerSecond') / get('W2', 'entriesPerSecond'), '>= 0.7'],
    ['W8-record heap(2M) / heap(200k) (diagnostic: cluster records committed entries)', get('W8-record', 'heapMB@2M') / get('W8-record', 'heapMB@200k'), ''],
    ['W8-record entries/s / W2 entries/s (diagnostic)', get('W8-record', 'entriesPerSecond') / get('W2', 'entriesPerSecond'), ''],
    ['W9 t(2M) / t(1M)', get('W9', 'ms@2M') / get('W9', 'ms@1M'), '<= 1.3'],
    ['W9 messages(2M) / messages(1M)', get('W9', 'messages@2M') / get('W9', 'messages@1M'), ''],
    ['S-reopen open time, compacted / full', get('S-reopen', 'openMsCompacted') / get('S-reopen', 'openMsFull'), ''],
    ['S-reopen heap after open, compacted / full', get('S-reopen', 'heapMBCompacted') / get('S-reopen', 'heapMBFull'), ''],
    ['R1 heartbeat rounds per read (heartbeat AppendEntries from the leader / 2 followers / reads)', get('R1', 'roundsPerRead'), '<= 0.002'],
    ['R2 / R1 reads/s (lease vs safe)', get('R2', 'readsPerSecond') / get('R1', 'readsPerSecond'), '>= 10'],
    ['R1-groups reads/s, groups of 1,000 / groups of 10 (diagnostic)', get('R1-groups', 'readsPerSecond@1000') / get('R1-groups', 'readsPerSecond@10'), ''],
  ];
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function format(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(3);
}

async function main(filters: readonly string[]): Promise<void> {
  const selected = workloads.filter((w) => filters.length === 0 || filters.some((f) => w.name.startsWith(f)));
  const results = new Map<string, Figures>();
  const skipped = new Map<string, string>(); // group -> reason
  for (const workload of selected) {
    const optional = workload.optional;
    if (optional !== undefined && skipped.has(optional.group)) continue;
    const reason = optional?.unavailable();
    if (optional !== undefined && reason !== undefined) {
      skipped.set(optional.group, reason);
      console.log(`${optional.group}: skipped (${reason})`);
      continue;
    }
    const runs: Figures[] = [];
    try {
      for (let k = 0; k < workload.repetitions; k++) runs.push(await workload.run());
    } catch (error) {
      if (optional === undefined) throw error;
      const message = error instanceof Error ? error.message.split('\n')[0] ?? '' : String(error);
      skipped.set(optional.group, `${workload.name} failed: ${message}`);
      console.log(`${optional.group}: skipped (${workload.name} failed: ${message})`);
      continue;
    }
    const medians: Figures = {};
    for (const key of Object.keys(runs[0] ?? {})) medians[key] = median(runs.map((r) => r[key] as number));
    results.set(workload.name, medians);
    console.log(`${workload.name.padEnd(8)} ${Object.entries(medians).map(([k, v]) => `${k}=${format(v)}`).join('  ')}`);
  }

  const ratios = ratioList(results);
  console.log('');
  for (const [name, value, bar] of ratios) if (Number.isFinite(value)) console.log(`${name.padEnd(30)} ${value.toFixed(3)} ${bar}`);
  for (const [group, reason] of skipped) console.log(`${group}: skipped (${reason})`);

  const root = join(__dirname, '..');
  const machine: Machine = { nproc: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version, date: new Date().toISOString(), loadAverage: loadavg().map((l) => Math.round(l * 100) / 100) };
  const resultsPath = join(root, 'bench', 'results.json');
  if (selected.length !== workloads.length) {
    // A filtered run: recorded beside the full run (never in its place), replacing an earlier
    // run of the same command; nothing is written when no full run was recorded.
    const stored = readStored(resultsPath);
    if (stored === undefined) {
      console.log('\n(filtered run, and no full run in bench/results.json: BENCHMARKS.md and bench/results.json left as they were)');
      return;
    }
    const command = `npm run bench -- ${filters.join(' ')}`;
    const run: PartialRun = {
      command,
      machine,
      workloads: Object.fromEntries(results),
      ratios: Object.fromEntries(ratios.filter(([, v]) => Number.isFinite(v)).map(([n, v]) => [n, v])),
      ...(skipped.size > 0 ? { skipped: Object.fromEntries(skipped) } : {}),
    };
    const partialRuns = [...(stored.partialRuns ?? []).filter((other) => other.command !== command), run];
    const json = { ...stored, partialRuns };
    writeFileSync(resultsPath, `${JSON.stringify(json, null, 2)}\n`);
    writeFileSync(join(root, 'BENCHMARKS.md'), renderStored(json));
    console.log(`\nrecorded this run as \`${command}\` beside the full run in BENCHMARKS.md and bench/results.json`);
    return;
  }
  const etcd = etcdPeer();
  const json: StoredResults = {
    command: 'npm run bench',
    machine,
    workloads: Object.fromEntries(results),
    ratios: Object.fromEntries(ratios.map(([n, v]) => [n, v])),
    etcd: {
      build: ETCD_BUILD_COMMAND,
      runs: 'bench/peers/etcd/bin/etcd-peer -mode serial|batched -n 200000 -batch 100, once per repetition',
      ...(etcd.available ? { go: etcd.go } : {}),
      ...(skipped.has('etcd') ? { skipped: skipped.get('etcd') as string } : {}),
    },
  };
  // Skipped optional groups other than etcd (e.g. S-reopen before the file store held snapshots).
  const otherSkipped = [...skipped].filter(([group]) => group !== 'etcd');
  if (otherSkipped.length > 0) json.skipped = Object.fromEntries(otherSkipped);
  writeFileSync(resultsPath, `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(join(root, 'BENCHMARKS.md'), renderStored(json));
  console.log('\nwrote BENCHMARKS.md and bench/results.json');
}

interface Machine {
  nproc: number;
  cpu: string;
  node: string;
  date: string;
  /** `os.loadavg()` (1, 5 and 15 minutes) when the run ended; absent in runs recorded before it was. */
  loadAverage?: number[];
}

/** A filtered run, as results.json keeps it (`partialRuns`). */
interface PartialRun {
  command: string;
  machine: Machine;
  workloads: Record<string, Figures>;
  ratios: Record<string, number>;
  skipped?: Record<string, string>;
}

/** bench/results.json: the last full run, and the filtered runs recorded since. */
interface StoredResults {
  command: string;
  machine: Machine;
  workloads: Record<string, Figures>;
  ratios: Record<string, number | null>;
  etcd: { build: string; runs: string; go?: string; skipped?: string };
  skipped?: Record<string, string>;
  partialRuns?: PartialRun[];
}

function readStored(path: string): StoredResults | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as StoredResults;
    return parsed.command === 'npm run bench' && typeof parsed.workloads === 'object' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The bar of a ratio, from the definitions in {@link ratioList}. */
function barOf(name: string): string {
  return ratioList(new Map()).find(([n]) => n === name)?.[2] ?? '';
}

function workloadRows(figuresByName: Readonly<Record<string, Figures>>): string[] {
  const rows = ['| workload | what | figures (median) |', '| --- | --- | --- |'];
  for (const workload of workloads) {
    const figures = figuresByName[workload.name];
    if (figures === undefined) continue;
    rows.push(`| ${workload.name} | ${workload.title} (${workload.repetitions} runs) | ${Object.entries(figures).map(([k, v]) => `${k} ${format(v)}`).join('; ')} |`);
  }
  return rows;
}

function renderStored(stored: StoredResults): string {
  const { machine } = stored;
  const results = stored.workloads;
  const lines: string[] = [];
  lines.push('# Benchmarks', '');
  lines.push('Produced by `npm run bench` (all workloads in one process; each repeated, medians shown).');
  lines.push(`Machine: \`nproc\` = ${machine.nproc} (${machine.cpu}), Node ${machine.node}, ${machine.date.slice(0, 10)}${machine.loadAverage === undefined ? '' : `, load average ${machine.loadAverage.join(' / ')} (1 / 5 / 15 minutes) when the run ended`}.`);
  lines.push('This machine is shared and noisy: compare the ratios, which are taken within one run, more than the absolute figures.', '');
  const partialRuns = stored.partialRuns ?? [];
  if (partialRuns.length > 0) {
    lines.push(`Runs of some workloads by themselves since this full run are recorded below it (${partialRuns.map((run) => `\`${run.command}\``).join(', ')}), each with its own ratios.`, '');
  }
  lines.push(...workloadRows(results));
  lines.push('', '## Ratios (same run)', '', '| ratio | value | bar |', '| --- | --- | --- |');
  for (const [name, value] of Object.entries(stored.ratios)) {
    lines.push(`| ${name} | ${typeof value === 'number' && Number.isFinite(value) ? value.toFixed(3) : 'n/a'} | ${barOf(name)} |`);
  }
  for (const [group, reason] of Object.entries(stored.skipped ?? {})) lines.push('', `${group}: skipped (${reason}).`);
  lines.push('', '## Beside etcd raft (same run)', '');
  const etcdSkipped = stored.etcd.skipped;
  const go = stored.etcd.go;
  if (etcdSkipped !== undefined) {
    lines.push(`etcd: skipped (${etcdSkipped}).`);
  } else {
    const cell = (name: string, key: string): string => format(results[name]?.[key] ?? NaN);
    const ratio = (a: string, b: string, key: string): string => {
      const value = (results[a]?.[key] ?? NaN) / (results[b]?.[key] ?? NaN);
      return Number.isFinite(value) ? value.toFixed(3) : 'n/a';
    };
    lines.push(
      `Command: \`npm run bench\` (or \`npm run bench -- W1 W2 etcd\` for these rows alone, which is recorded as a run of its own below the full run). The peer is built by \`${ETCD_BUILD_COMMAND}\`${go === undefined ? '' : ` (${go})`}.`,
      '',
      '| job | ours | etcd raft | ours / etcd |',
      '| --- | --- | --- | --- |',
      `| W1 serial, commits/s | ${cell('W1', 'commitsPerSecond')} | ${cell('etcd-W1', 'commitsPerSecond')} | ${ratio('W1', 'etcd-W1', 'commitsPerSecond')} |`,
      `| W2 batched (100), entries/s | ${cell('W2', 'entriesPerSecond')} | ${cell('etcd-W2', 'entriesPerSecond')} | ${ratio('W2', 'etcd-W2', 'entriesPerSecond')} |`,
    );
  }
  for (const run of partialRuns) {
    lines.push('', `## Run \`${run.command}\` (${run.machine.date.slice(0, 16).replace('T', ' ')} UTC)`, '');
    lines.push(
      `These workloads ran by themselves, in one process (\`nproc\` = ${run.machine.nproc}, Node ${run.machine.node}${run.machine.loadAverage === undefined ? '' : `, load average ${run.machine.loadAverage.join(' / ')} over 1 / 5 / 15 minutes when it ended`}), after the full run above; the ratios below come from this run alone${run.workloads['W2'] === undefined ? '' : " (the W2 they use is this run's, not the full run's)"}.`,
      '',
    );
    lines.push(...workloadRows(run.workloads));
    const ratioNames = Object.keys(run.ratios);
    if (ratioNames.length > 0) {
      lines.push('', '| ratio (this run) | value | bar |', '| --- | --- | --- |');
      for (const name of ratioNames) lines.push(`| ${name} | ${(run.ratios[name] as number).toFixed(3)} | ${barOf(name)} |`);
    }
    for (const [group, reason] of Object.entries(run.skipped ?? {})) lines.push('', `${group}: skipped (${reason}).`);
  }
  lines.push('', readNotes());
  // Last: the key-value service's section, from bench/kv-results.json (npm run bench:kv).
  return `${lines.join('\n').replace(/\n*$/, '')}\n\n${renderKvSection()}`;
}

function readNotes(): string {
  try {
    return execSync('cat bench/NOTES.md', { cwd: join(__dirname, '..'), encoding: 'utf8' });
  } catch {
    return '';
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
