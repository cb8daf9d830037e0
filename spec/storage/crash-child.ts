/**
 * The child process of the crash test (kill.spec.ts):
 *
 *   node -r ts-node/register/transpile-only spec/storage/crash-child.ts <dir> <seed> [<run>]
 *
 * (cwd: the repository root). Opens the FilePersistentState in <dir> — continuing from
 * whatever state it holds — prints `open <term> <votedFor|-> <lastIndex>`, then runs the
 * seeded operation sequence of crash-ops.ts on top of it: after each operation it calls
 * sync() and only then prints `ack <step>`, forever (bounded by CHILD_MAX_STEPS, after
 * which it closes the store and prints `done`). The parent kills it with SIGKILL.
 *
 * With CRASH_CHILD_WAIT=1 it first loads everything, prints `ready`, and waits for a line on
 * stdin before it opens the store (so the parent can start it ahead of time); it exits if
 * stdin closes first.
 */
import { writeSync } from 'node:fs';
import { seededRandom } from '../../lib/random';
import { FilePersistentState } from '../../lib/storage/file-persistent-state';
import { applyOp, CHILD_MAX_SEGMENT_BYTES, CHILD_MAX_STEPS, nextOp, viewOf, type Payload } from './crash-ops';

/** Writes `line` to stdout synchronously (retrying if the pipe is momentarily full). */
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

function run(dir: string, seed: number, runNumber: number): void {
  const state = FilePersistentState.open<Payload>(dir, { maxSegmentBytes: CHILD_MAX_SEGMENT_BYTES });
  emit(`open ${state.currentTerm} ${state.votedFor ?? '-'} ${state.currentLogIndex}`);
  const random = seededRandom(seed);
  for (let step = 1; step <= CHILD_MAX_STEPS; step++) {
    applyOp(state, nextOp(random, viewOf(state), runNumber, step));
    state.sync();
    emit(`ack ${step}`);
  }
  state.close();
  emit('done');
}

function main(): void {
  const [dir, seedText, runText] = process.argv.slice(2);
  const seed = Number(seedText);
  const runNumber = runText === undefined ? 0 : Number(runText);
  if (dir === undefined || !Number.isSafeInteger(seed) || !Number.isSafeInteger(runNumber)) {
    process.stderr.write('usage: crash-child.ts <dir> <seed> [<run>]\n');
    process.exit(64);
  }
  const start = (): void => {
    try {
      run(dir, seed, runNumber);
      process.exit(0);
    } catch (error) {
      process.stderr.write(`crash-child failed: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(2);
    }
  };
  if (process.env.CRASH_CHILD_WAIT === '1') {
    process.stdin.once('data', start);
    process.stdin.once('end', () => process.exit(0));
    emit('ready');
  } else {
    start();
  }
}

main();
