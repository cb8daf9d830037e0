/**
 * The child process of the compaction crash test (snapshot-kill.spec.ts):
 *
 *   node -r ts-node/register/transpile-only spec/storage/snapshot-child.ts <dir> <seed>
 *
 * (cwd: the repository root). Prints `ready`, waits for a line on stdin (so the parent can
 * start it ahead of time; it exits if stdin closes first), opens the FilePersistentState in
 * <dir> — continuing from whatever it holds — and prints `open <snapshot index> <firstLogIndex>
 * <currentLogIndex>`. Then, forever (bounded by MAX_STEPS), it appends a few entries whose data
 * is their own index, sometimes moves to a later term, and compacts most of the time (a
 * snapshot somewhere in the log, sometimes beyond it, keeping a random tail, after printing
 * `compacting`); after each step it calls sync() and only then prints
 * `ack <currentLogIndex> <snapshot index>`. The parent kills it with SIGKILL at a random point
 * (some right after a `compacting`, so that the kill lands inside a compaction).
 */
import { writeSync } from 'node:fs';
import { seededRandom } from '../../lib/random';
import { FilePersistentState } from '../../lib/storage/file-persistent-state';

/** Segment size of the child: small, so that rotations happen between compactions too. */
export const SNAPSHOT_CHILD_SEGMENT_BYTES = 4096;
const MAX_STEPS = 100_000;

/**
 * The snapshot data of a snapshot whose last included index is `index` (entries hold their own
 * index, so the state after them is a function of it): a header line and `padding` bytes, so
 * that snapshot writes take a while.
 */
export function snapshotData(index: number, padding: number): Uint8Array {
  return Buffer.concat([Buffer.from(`state after ${index}\n`, 'utf8'), Buffer.alloc(padding, index % 251)]);
}

/** The index `data` (made by {@link snapshotData}) says it covers, or `undefined` when it is not such data. */
export function snapshotDataIndex(data: Uint8Array): number | undefined {
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const newline = text.indexOf(10);
  const match = /^state after (\d+)$/.exec(text.subarray(0, Math.max(newline, 0)).toString('utf8'));
  if (match === null) return undefined;
  const index = Number(match[1]);
  for (let k = newline + 1; k < text.length; k++) if (text[k] !== index % 251) return undefined;
  return index;
}

function emit(line: string): void {
  const bytes = Buffer.from(`${line}\n`, 'utf8');
  let written = 0;
  while (written < bytes.length) {
    try {
      written += writeSync(1, bytes, written, bytes.length - written);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
    }
  }
}

function run(dir: string, seed: number): void {
  const state = FilePersistentState.open<number>(dir, { maxSegmentBytes: SNAPSHOT_CHILD_SEGMENT_BYTES });
  const snapshotIndex = (): number => state.getSnapshot()?.lastIncluded.index ?? 0;
  emit(`open ${snapshotIndex()} ${state.firstLogIndex} ${state.currentLogIndex}`);
  const random = seededRandom(seed);
  if (state.currentTerm === 0) state.incrementTerm();
  for (let step = 1; step <= MAX_STEPS; step++) {
    if (random() < 0.1) state.incrementTerm();
    const count = 1 + Math.floor(random() * 6);
    for (let k = 0; k < count; k++) state.appendToLog(state.currentLogIndex + 1, state.currentTerm);
    if (random() < 0.9) {
      emit('compacting');
      const from = snapshotIndex() + 1;
      const to = state.currentLogIndex;
      if (random() < 0.1) {
        // beyond the log: the whole log goes
        const index = to + 1 + Math.floor(random() * 3);
        state.saveSnapshot({ lastIncluded: { index, term: state.currentTerm }, data: snapshotData(index, Math.floor(random() * 100_000)) }, index + 1);
      } else if (from <= to) {
        const index = from + Math.floor(random() * (to - from + 1));
        const term = (state.getLogEntry(index) as { term: number }).term;
        const firstKept = state.firstLogIndex + Math.floor(random() * (index + 2 - state.firstLogIndex));
        state.saveSnapshot({ lastIncluded: { index, term }, data: snapshotData(index, Math.floor(random() * 100_000)) }, firstKept);
      }
    }
    state.sync();
    emit(`ack ${state.currentLogIndex} ${snapshotIndex()}`);
  }
  state.close();
  emit('done');
}

function main(): void {
  const [dir, seedText] = process.argv.slice(2);
  const seed = Number(seedText);
  if (dir === undefined || !Number.isSafeInteger(seed)) {
    process.stderr.write('usage: snapshot-child.ts <dir> <seed>\n');
    process.exit(64);
  }
  process.stdin.once('data', () => {
    try {
      run(dir, seed);
      process.exit(0);
    } catch (error) {
      process.stderr.write(`snapshot-child failed: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(2);
    }
  });
  process.stdin.once('end', () => process.exit(0));
  emit('ready');
}

if (require.main === module) main();
