/**
 * `npm run bench [-- W1 W4 ...]`: runs the workloads in this process, several times each,
 * reports medians, and writes BENCHMARKS.md and bench/results.json (only when every
 * workload ran, so a filtered run never overwrites the full report).
 */
import { execSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { w1Serial, w4CatchUp, w5Floor, w6Memory, wBatched, type Figures } from './workloads';
import { peerWorkloads } from './peers';
import { storageThroughput, type StoreKind } from './storage';

interface Workload {
  readonly name: string;
  readonly title: string;
  readonly repetitions: number;
  readonly run: () => Figures | Promise<Figures>;
}

const CATCH_UP_SIZES = [50_000, 100_000, 200_000, 400_000] as const;

const workloads: Workload[] = [
  { name: 'W5', title: 'floor: entry objects appended to three plain arrays', repetitions: 7, run: () => w5Floor() },
  { name: 'W1', title: 'serial: 3 servers, 200,000 proposals, each committed before the next', repetitions: 5, run: () => w1Serial() },
  { name: 'W2', title: 'batched: 3 servers, 200,000 entries in batches of 100, committed on all', repetitions: 7, run: () => wBatched(3) },
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
  for (const workload of selected) {
    const runs: Figures[] = [];
    for (let k = 0; k < workload.repetitions; k++) runs.push(await workload.run());
    const medians: Figures = {};
    for (const key of Object.keys(runs[0] ?? {})) medians[key] = median(runs.map((r) => r[key] as number));
    results.set(workload.name, medians);
    console.log(`${workload.name.padEnd(8)} ${Object.entries(medians).map(([k, v]) => `${k}=${format(v)}`).join('  ')}`);
  }

  const get = (name: string, key: string): number => results.get(name)?.[key] ?? NaN;
  const ratios: [string, number, string][] = [
    ['W2 / W5 (shared objects)', get('W2', 'entriesPerSecond') / get('W5', 'sharedPerSecond'), '>= 0.3'],
    ['W2 / W5 (object per replica)', get('W2', 'entriesPerSecond') / get('W5', 'copiedPerSecond'), ''],
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
  ];
  console.log('');
  for (const [name, value, bar] of ratios) if (Number.isFinite(value)) console.log(`${name.padEnd(30)} ${value.toFixed(3)} ${bar}`);

  if (selected.length !== workloads.length) {
    console.log('\n(filtered run: BENCHMARKS.md and bench/results.json left as they were)');
    return;
  }
  const root = join(__dirname, '..');
  const machine = { nproc: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version, date: new Date().toISOString() };
  const json = { command: 'npm run bench', machine, workloads: Object.fromEntries(results), ratios: Object.fromEntries(ratios.map(([n, v]) => [n, v])) };
  writeFileSync(join(root, 'bench', 'results.json'), `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(join(root, 'BENCHMARKS.md'), render(results, ratios, machine, workloads));
  console.log('\nwrote BENCHMARKS.md and bench/results.json');
}

function render(
  results: Map<string, Figures>,
  ratios: [string, number, string][],
  machine: { nproc: number; cpu: string; node: string; date: string },
  all: readonly Workload[],
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
