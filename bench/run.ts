/**
 * `npm run bench [-- W1 W4 ...]`: runs the workloads in this process, several times each,
 * reports medians, and writes BENCHMARKS.md and bench/results.json (only when every
 * workload ran, so a filtered run never overwrites the full report). Arguments select
 * workloads by name prefix: `npm run bench -- W1 W2 etcd` runs W1, W2 and the etcd raft peer.
 *
 * The etcd raft peer (etcd-W1, etcd-W2: bench/peers/etcd.ts) runs when Go and Debian's etcd
 * sources are installed; otherwise it is recorded as skipped, with the reason, and the bench
 * goes on.
 */
import { execSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { w1Serial, w4CatchUp, w5Floor, w6Memory, wBatched, type Figures } from './workloads';
import { peerWorkloads } from './peers';
import { ETCD_BUILD_COMMAND, etcdPeer, runEtcd } from './peers/etcd';
import { storageThroughput, type StoreKind } from './storage';

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
  ...(['file', 'lmdb', 'memory'] as StoreKind[]).flatMap((kind) =>
    ([1, 10, 100] as const).map((batch) => ({
      name: `S-${kind}-${batch}`,
      title: `durable appends: ${kind === 'file' ? 'FilePersistentState' : kind === 'lmdb' ? 'LMDB store (bench/lmdb-state.ts)' : 'InMemoryPersistentState'}, batches of ${batch}, sync after each`,
      repetitions: 3,
      run: () => storageThroughput(kind, batch),
    })),
  ),
  ...peerWorkloads(),
];

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

  const get = (name: string, key: string): number => results.get(name)?.[key] ?? NaN;
  const ratios: [string, number, string][] = [
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
  ];
  console.log('');
  for (const [name, value, bar] of ratios) if (Number.isFinite(value)) console.log(`${name.padEnd(30)} ${value.toFixed(3)} ${bar}`);
  for (const [group, reason] of skipped) console.log(`${group}: skipped (${reason})`);

  if (selected.length !== workloads.length) {
    console.log('\n(filtered run: BENCHMARKS.md and bench/results.json left as they were)');
    return;
  }
  const root = join(__dirname, '..');
  const machine = { nproc: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version, date: new Date().toISOString() };
  const etcd = etcdPeer();
  const json = {
    command: 'npm run bench',
    machine,
    workloads: Object.fromEntries(results),
    ratios: Object.fromEntries(ratios.map(([n, v]) => [n, v])),
    etcd: {
      build: ETCD_BUILD_COMMAND,
      runs: 'bench/peers/etcd/bin/etcd-peer -mode serial|batched -n 200000 -batch 100, once per repetition',
      ...(etcd.available ? { go: etcd.go } : {}),
      ...(skipped.has('etcd') ? { skipped: skipped.get('etcd') } : {}),
    },
  };
  writeFileSync(join(root, 'bench', 'results.json'), `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(join(root, 'BENCHMARKS.md'), render(results, ratios, machine, workloads, skipped, etcd.available ? etcd.go : undefined));
  console.log('\nwrote BENCHMARKS.md and bench/results.json');
}

function render(
  results: Map<string, Figures>,
  ratios: [string, number, string][],
  machine: { nproc: number; cpu: string; node: string; date: string },
  all: readonly Workload[],
  skipped: ReadonlyMap<string, string>,
  go: string | undefined,
): string {
  const lines: string[] = [];
  lines.push('# Benchmarks', '');
  lines.push('Produced by `npm run bench` (all workloads in one process; each repeated, medians shown).');
  lines.push(`Machine: \`nproc\` = ${machine.nproc} (${machine.cpu}), Node ${machine.node}, ${machine.date.slice(0, 10)}.`);
  lines.push('This machine is shared and noisy: compare the ratios, which are taken within one run, more than the absolute figures.', '');
  lines.push('| workload | what | figures (median) |', '| --- | --- | --- |');
  for (const workload of all) {
    const figures = results.get(workload.name);
    if (figures === undefined) continue;
    lines.push(`| ${workload.name} | ${workload.title} (${workload.repetitions} runs) | ${Object.entries(figures).map(([k, v]) => `${k} ${format(v)}`).join('; ')} |`);
  }
  lines.push('', '## Ratios (same run)', '', '| ratio | value | bar |', '| --- | --- | --- |');
  for (const [name, value, bar] of ratios) lines.push(`| ${name} | ${Number.isFinite(value) ? value.toFixed(3) : 'n/a'} | ${bar} |`);
  lines.push('', '## Beside etcd raft (same run)', '');
  const etcdSkipped = skipped.get('etcd');
  if (etcdSkipped !== undefined) {
    lines.push(`etcd: skipped (${etcdSkipped}).`);
  } else {
    const cell = (name: string, key: string): string => format(results.get(name)?.[key] ?? NaN);
    const ratio = (a: string, b: string, key: string): string => {
      const value = (results.get(a)?.[key] ?? NaN) / (results.get(b)?.[key] ?? NaN);
      return Number.isFinite(value) ? value.toFixed(3) : 'n/a';
    };
    lines.push(
      `Command: \`npm run bench\` (or \`npm run bench -- W1 W2 etcd\` for these rows alone, which leaves this file as it is). The peer is built by \`${ETCD_BUILD_COMMAND}\`${go === undefined ? '' : ` (${go})`}.`,
      '',
      '| job | ours | etcd raft | ours / etcd |',
      '| --- | --- | --- | --- |',
      `| W1 serial, commits/s | ${cell('W1', 'commitsPerSecond')} | ${cell('etcd-W1', 'commitsPerSecond')} | ${ratio('W1', 'etcd-W1', 'commitsPerSecond')} |`,
      `| W2 batched (100), entries/s | ${cell('W2', 'entriesPerSecond')} | ${cell('etcd-W2', 'entriesPerSecond')} | ${ratio('W2', 'etcd-W2', 'entriesPerSecond')} |`,
    );
  }
  lines.push('', readNotes());
  return `${lines.join('\n')}\n`;
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
