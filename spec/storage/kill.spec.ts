/**
 * The crash test of FilePersistentState: kill -9 in the middle of work loses nothing that
 * was acknowledged.
 *
 * A child process (crash-child.ts) drives a FilePersistentState through a seeded sequence
 * of operations (crash-ops.ts), calling sync() after each and then printing `ack <step>`.
 * The parent waits for a seeded number of acks, kills the child with SIGKILL, reopens the
 * directory and checks that the recovered (term, votedFor, log) is the state after step k
 * for the last acknowledged step n, or a state between n and n + 1 at record granularity
 * (step n + 1 was running and may have reached the disk in part or in full). Expected
 * states come from replaying the same seeded sequence on an InMemoryPersistentState model.
 * The next child continues on the same directory from the recovered state with a new seed.
 * Wall time only decides WHEN to kill, never the verdict.
 *
 *   npx jest spec/storage/kill.spec.ts                    # 20 kills (the default, part of npm test)
 *   KILLS=500 npx jest spec/storage/kill.spec.ts          # the long run
 *   KILLS=100 SEED=7 npx jest spec/storage/kill.spec.ts   # another seed
 *
 * It prints the figures at the end: kills, acknowledged operations checked, losses (must be 0).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { FilePersistentState, InMemoryPersistentState, seededRandom, type IPersistentState } from '../../lib';
import { CHILD_MAX_SEGMENT_BYTES, describeOp, nextOp, recordsOf, runSeed, viewOf, applyOp, type Payload } from './crash-ops';
import { REPO_ROOT, removeTempDirs, segmentFiles, tempDir } from './helpers';

const KILLS = Number(process.env.KILLS ?? 20);
const BASE_SEED = Number(process.env.SEED ?? 20_240_917);
/** Children started ahead of time, waiting for "go" (their start-up is the slow part). */
const POOL = 3;
/** Bound on waiting for one child's acks (a failure, not a verdict). */
const CHILD_BOUND_MS = 60_000;
/** Acks to wait for before killing: 1..MAX_TARGET (and one run in ten is killed at once). */
const MAX_TARGET = 120;

if (!Number.isSafeInteger(KILLS) || KILLS < 1) throw new Error(`KILLS must be a positive integer, got ${process.env.KILLS}`);
jest.setTimeout(120_000 + KILLS * 6_000);

/** A running child and what it printed. */
class Child {
  readonly process: ChildProcess;
  readonly lines: string[] = [];
  stderr = '';
  #partial = '';
  #waiters: (() => void)[] = [];
  closed = false;

  constructor(
    readonly run: number,
    readonly seed: number,
    dir: string,
  ) {
    this.process = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join('spec', 'storage', 'crash-child.ts'), dir, String(seed), String(run)], {
      cwd: REPO_ROOT,
      env: { ...process.env, CRASH_CHILD_WAIT: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.process.stdout?.on('data', (chunk: Buffer) => {
      const text = this.#partial + chunk.toString('utf8');
      const parts = text.split('\n');
      this.#partial = parts.pop() as string; // an incomplete last line waits for its end (or is dropped at death)
      this.lines.push(...parts);
      this.#wake();
    });
    this.process.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString('utf8');
    });
    this.process.stdin?.on('error', () => undefined); // EPIPE when it dies first
    this.process.on('close', () => {
      this.closed = true;
      this.#wake();
    });
  }

  /** Acks printed so far. */
  get acks(): number {
    let count = 0;
    for (const line of this.lines) if (line.startsWith('ack ')) count++;
    return count;
  }

  /** Resolves when `predicate()` holds; rejects when the child closed first or the bound passed. */
  async until(predicate: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + CHILD_BOUND_MS;
    while (!predicate()) {
      if (this.closed) throw new Error(`run ${this.run}: the child ended before ${what}; stdout tail ${JSON.stringify(this.lines.slice(-3))}; stderr: ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`run ${this.run}: bound hit: no ${what} within ${CHILD_BOUND_MS} ms; stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }

  kill(): void {
    if (!this.closed) this.process.kill('SIGKILL');
  }
}

/** Whether `recovered` is exactly `model`: term, vote and every entry. */
function sameState(recovered: IPersistentState<Payload>, model: IPersistentState<Payload>): boolean {
  if (recovered.currentTerm !== model.currentTerm || recovered.votedFor !== model.votedFor || recovered.currentLogIndex !== model.currentLogIndex) return false;
  for (let index = 1; index <= model.currentLogIndex; index++) {
    const a = recovered.getLogEntry(index);
    const b = model.getLogEntry(index);
    if (a === undefined || b === undefined || a.index !== b.index || a.term !== b.term) return false;
    if (a.data.r !== b.data.r || a.data.s !== b.data.s || a.data.k !== b.data.k || a.data.p !== b.data.p) return false;
  }
  return true;
}

/** A one-line account of a state, for failure messages. */
function brief(state: IPersistentState<Payload>): string {
  const last = state.getLastLogEntry();
  const lastText = last === undefined ? 'none' : `${last.index}@t${last.term} r${last.data.r}s${last.data.s}k${last.data.k}`;
  return `term ${state.currentTerm}, votedFor ${String(state.votedFor)}, ${state.currentLogIndex} entries, last ${lastText}`;
}

describe('kill -9 of a process writing a FilePersistentState', () => {
  const children: Child[] = [];
  afterAll(() => {
    for (const child of children) child.kill();
    removeTempDirs();
  });

  it(`loses no acknowledged operation over ${KILLS} kills, each restart continuing from the recovered state`, async () => {
    const dir = tempDir('kill');
    const model = new InMemoryPersistentState<Payload>();
    const planner = seededRandom(BASE_SEED); // decides the kill points
    const figures = { kills: 0, acknowledgedChecked: 0, losses: 0, unacknowledgedStepFound: 0, partialStepFound: 0, killedBeforeFirstAck: 0 };
    const started = Date.now();

    const spawnRun = (run: number): Child => {
      const child = new Child(run, runSeed(BASE_SEED, run), dir);
      children.push(child);
      return child;
    };
    const pool: Child[] = [];
    for (let run = 0; run < Math.min(POOL, KILLS); run++) pool.push(spawnRun(run));

    for (let run = 0; run < KILLS; run++) {
      const child = pool.shift() as Child;
      if (run + POOL < KILLS) pool.push(spawnRun(run + POOL));
      const killAtOnce = planner() < 0.1;
      const target = 1 + Math.floor(planner() * MAX_TARGET);

      await child.until(() => child.lines.includes('ready'), '"ready"');
      child.process.stdin?.write('go\n');
      if (!killAtOnce) {
        await child.until(() => child.lines.some((line) => line.startsWith('open ')), '"open"');
        const view = `open ${model.currentTerm} ${model.votedFor ?? '-'} ${model.currentLogIndex}`;
        expect(`run ${run}: ${child.lines.find((line) => line.startsWith('open ')) as string}`).toBe(`run ${run}: ${view}`);
        await child.until(() => child.acks >= target, `${target} acks`);
      }
      child.kill();
      await child.until(() => child.closed, 'exit after SIGKILL');
      expect(child.process.signalCode).toBe('SIGKILL');
      figures.kills++;

      // the acks: 1..n in order, every line complete
      const acks = child.lines.filter((line) => line.startsWith('ack ')).map((line) => Number(line.slice(4)));
      acks.forEach((step, k) => expect(step).toBe(k + 1));
      const acknowledged = acks.length;
      if (acknowledged === 0) figures.killedBeforeFirstAck++;

      // replay the acknowledged steps on the model
      const random = seededRandom(child.seed);
      for (let step = 1; step <= acknowledged; step++) applyOp(model, nextOp(random, viewOf(model), run, step));

      const recovered = FilePersistentState.open<Payload>(dir, { maxSegmentBytes: CHILD_MAX_SEGMENT_BYTES });
      try {
        let matched = sameState(recovered, model);
        if (!matched) {
          // step n + 1 was under way: its records may be on disk in part or in full
          const op = nextOp(random, viewOf(model), run, acknowledged + 1);
          const steps = recordsOf(op, viewOf(model));
          for (let k = 0; k < steps.length && !matched; k++) {
            (steps[k] as (state: IPersistentState<Payload>) => void)(model);
            matched = sameState(recovered, model);
            if (matched) {
              if (k === steps.length - 1) figures.unacknowledgedStepFound++;
              else figures.partialStepFound++;
            }
          }
          if (!matched) {
            figures.losses++;
            throw new Error(
              `run ${run} (seed ${child.seed}): after ${acknowledged} acknowledged steps the store recovered to ` +
                `[${brief(recovered)}], which is neither the state after step ${acknowledged} nor a record prefix of step ` +
                `${acknowledged + 1} (${describeOp(op)}) whose end state is [${brief(model)}]`,
            );
          }
        }
      } finally {
        recovered.close();
      }
      figures.acknowledgedChecked += acknowledged;
    }

    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(
      `kill test (seed ${BASE_SEED}): ${figures.kills} kills, ${figures.acknowledgedChecked} acknowledged operations checked, ` +
        `${figures.losses} losses; an unacknowledged step found complete ${figures.unacknowledgedStepFound} times, in part ` +
        `${figures.partialStepFound} times; ${figures.killedBeforeFirstAck} kills before the first ack; final store: ` +
        `${brief(model)}, ${segmentFiles(dir).length} segment files; ${seconds} s`,
    );
    expect(figures.losses).toBe(0);
    expect(figures.kills).toBe(KILLS);
  });
});
