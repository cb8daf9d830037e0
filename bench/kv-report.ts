/**
 * The BENCHMARKS.md section of `npm run bench:kv`, rendered from bench/kv-results.json. Both
 * `npm run bench` (which rewrites BENCHMARKS.md whole) and `npm run bench:kv` (which
 * replaces only this section) call {@link renderKvSection}, so neither loses the other's figures.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The heading that starts the section; everything from it to the end of the file is the section. */
export const KV_SECTION_HEADING = '## Key-value service beside etcd 3.4 (`npm run bench:kv`)';

const RESULTS = join(__dirname, 'kv-results.json');

interface Figures {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly non2xx: number;
  readonly errors: number;
}

interface StoredKvResults {
  readonly date: string;
  readonly command: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly settings: { readonly durationSeconds: number; readonly keys: number; readonly valueBytes: number };
  readonly cases: readonly {
    readonly case: string;
    readonly ours: { readonly figures?: Figures } | null;
    readonly etcd: { readonly figures?: Figures } | null;
    readonly throughputRatio: number | null;
    readonly p99Ratio: number | null;
  }[];
  readonly goals: readonly { readonly goal: string; readonly value: number | null; readonly met: boolean | null }[];
  readonly problems: readonly string[];
}

const fixed = (value: number | undefined, digits: number): string => (value === undefined || !Number.isFinite(value) ? 'n/a' : value.toFixed(digits));

/** The section's Markdown, from bench/kv-results.json (a note how to make it when there is none). */
export function renderKvSection(): string {
  const lines = [KV_SECTION_HEADING, ''];
  lines.push(
    'Three members of `npm run kv:cluster` and a three-member etcd 3.4 (Debian\'s `etcd-server`,',
    'default fsync), all on 127.0.0.1 of this machine, under the same HTTP load from autocannon',
    'in the bench process, all of it sent to the leader: PUT of 16-byte values over 10,000 keys',
    'with 1, 16 and 64 connections, then a linearizable GET with 64 (etcd through its v3 JSON',
    'gateway: `POST /v3/kv/put`, `POST /v3/kv/range`). The two systems alternate within each',
    'case. Install the peer with `sudo apt-get install etcd-server` (the bench starts its own',
    'cluster from /usr/bin/etcd, or `$ETCD_BIN`; without it, only ours runs). Flags:',
    '`--duration S`, `--only ours|etcd`, `--connections 1,16,64`, `--keys N`.',
    '',
  );
  if (!existsSync(RESULTS)) {
    lines.push('No run recorded yet: `npm run bench:kv` writes bench/kv-results.json and this section.', '');
    return lines.join('\n');
  }
  const stored = JSON.parse(readFileSync(RESULTS, 'utf8')) as StoredKvResults;
  const env = stored.environment;
  lines.push(
    `Last run: \`${stored.command}\`, ${stored.date.slice(0, 16).replace('T', ' ')} UTC, ${stored.settings.durationSeconds} s per case and system; Node ${env.node ?? '?'}, etcd ${env.etcd ?? 'not installed'}, ours ${env.ours ?? '?'}; ${env.cpus ?? ''}, load average ${env.loadavgAtStart ?? '?'} at the start.`,
    '',
    '| case | ours req/s | etcd req/s | ratio | ours p50 ms | etcd p50 ms | ours p99 ms | etcd p99 ms | p99 ratio |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const row of stored.cases) {
    const ours = row.ours?.figures;
    const etcd = row.etcd?.figures;
    lines.push(
      `| ${row.case} | ${fixed(ours?.requestsPerSecond, 0)} | ${fixed(etcd?.requestsPerSecond, 0)} | ${fixed(row.throughputRatio ?? undefined, 2)} | ${fixed(ours?.p50Ms, 2)} | ${fixed(etcd?.p50Ms, 2)} | ${fixed(ours?.p99Ms, 2)} | ${fixed(etcd?.p99Ms, 2)} | ${fixed(row.p99Ratio ?? undefined, 2)} |`,
    );
  }
  lines.push('', '| goal | value | met |', '| --- | --- | --- |');
  for (const goal of stored.goals) lines.push(`| ${goal.goal} | ${fixed(goal.value ?? undefined, 2)} | ${goal.met === null ? 'n/a' : goal.met ? 'yes' : 'no'} |`);
  lines.push('', stored.problems.length === 0 ? 'Every request of the run got a 2xx answer (no errors, no GET of a missing key).' : `Problems in this run: ${stored.problems.join('; ')}.`, '');
  return lines.join('\n');
}

/** Replaces the section in BENCHMARKS.md (or appends it), leaving the rest of the file as it is. */
export function updateBenchmarksFile(root: string = join(__dirname, '..')): void {
  const file = join(root, 'BENCHMARKS.md');
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const at = text.indexOf(KV_SECTION_HEADING);
  const before = (at < 0 ? text : text.slice(0, at)).replace(/\n*$/, '\n\n');
  writeFileSync(file, `${before}${renderKvSection()}`);
}
