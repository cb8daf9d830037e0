/**
 * The crash test of compaction in FilePersistentState: kill -9 while a process compacts over
 * and over loses nothing that was acknowledged.
 *
 * A child process (snapshot-child.ts) appends entries whose data is their own index and
 * compacts after most steps (snapshot data that says which index it covers, padded to up to
 * 100 KB so that snapshot writes take a while), calling sync() and then printing
 * `ack <currentLogIndex> <snapshot index>` after each step. The parent waits for a seeded
 * number of acks, and in half of the runs also for the next `compacting` line (printed right
 * before saveSnapshot, so the kill lands inside a compaction), kills the child with SIGKILL, reopens the directory and checks that the
 * snapshot and the log together hold every acknowledged entry, in order, with no gap: the
 * snapshot's data is the one of its index, firstLogIndex <= snapshot index + 1, every index
 * firstLogIndex..currentLogIndex holds its own entry, currentLogIndex and the snapshot index are
 * at least the last acknowledged ones (nothing is ever truncated here). The next child goes on
 * from the recovered state. Wall time only decides WHEN to kill, never the verdict.
 *
 *   npx jest spec/storage/snapshot-kill.spec.ts                  # 10 kills (the default)
 *   KILLS=200 npx jest spec/storage/snapshot-kill.spec.ts        # a longer run
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FilePersistentState, seededRandom } from '../../lib';
import { REPO_ROOT, removeTempDirs, segmentFiles, tempDir } from './helpers';
import { snapshotDataIndex, SNAPSHOT_CHILD_SEGMENT_BYTES } from './snapshot-child';

const KILLS = Number(process.env.KILLS ?? 10);
const BASE_SEED = Number(process.env.SEED ?? 4242);
const POOL = 3;
const CHILD_BOUND_MS = 30_000;
/** Acks to wait for before killing: 1..MAX_TARGET (and one run in eight is killed right after "go"). */
const MAX_TARGET = 8;

if (!Number.isSafeInteger(KILLS) || KILLS < 1) throw new Error(`KILLS must be a positive integer, got ${process.env.KILLS}`);
jest.setTimeout(60_000 + KILLS * 3_000);

/** A running child and what it printed. */
class Child {
  readonly process: ChildProcess;
  readonly lines: string[] = [];
  stderr = '';
  closed = false;
  #partial = '';
  #waiters: (() => void)[] = [];

  constructor(
    readonly run: number,
    readonly seed: number,
    dir: string,
  ) {
    this.process = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join('spec', 'storage', 'snapshot-child.ts'), dir, String(seed)], {
      cwd: REPO_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.process.stdout?.on('data', (chunk: Buffer) => {
      const parts = (this.#partial + chunk.toString('utf8')).split('\n');
      this.#partial = parts.pop() as string;
      this.lines.push(...parts);
      this.#wake();
    });
    this.process.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString('utf8');
    });
    this.process.stdin?.on('error', () => undefined);
    this.process.on('close', () => {
      this.closed = true;
      this.#wake();
    });
  }

  /** The `ack` lines printed so far, parsed. */
  get acks(): { current: number; snapshot: number }[] {
    return this.lines.filter((line) => line.startsWith('ack ')).map((line) => {
      const [current, snapshot] = line.slice(4).split(' ').map(Number);
      return { current: current as number, snapshot: snapshot as number };
    });
  }

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

describe('kill -9 of a process compacting a FilePersistentState', () => {
  const children: Child[] = [];
  afterAll(() => {
    for (const child of children) child.kill();
    removeTempDirs();
  });

  it(`loses no acknowledged entry or snapshot over ${KILLS} kills, and the snapshot and the log never leave a gap`, async () => {
    const dir = tempDir('snapshot-kill');
    const planner = seededRandom(BASE_SEED);
    const figures = { kills: 0, acks: 0, compactedAcks: 0, maxSegments: 0 };
    let floor = { current: 0, snapshot: 0 }; // what the last recovered state (and every ack) promised
    const started = Date.now();
    const spawnRun = (run: number): Child => {
      const child = new Child(run, (BASE_SEED * 31 + run) >>> 0, dir);
      children.push(child);
      return child;
    };
    const pool: Child[] = [];
    for (let run = 0; run < Math.min(POOL, KILLS); run++) pool.push(spawnRun(run));

    for (let run = 0; run < KILLS; run++) {
      const child = pool.shift() as Child;
      if (run + POOL < KILLS) pool.push(spawnRun(run + POOL));
      const killAtOnce = planner() < 1 / 8;
      const target = 1 + Math.floor(planner() * MAX_TARGET);
      const inCompaction = planner() < 0.5;
      await child.until(() => child.lines.includes('ready'), '"ready"');
      child.process.stdin?.write('go\n');
      if (!killAtOnce) {
        await child.until(() => child.lines.some((line) => line.startsWith('open ')), '"open"');
        await child.until(() => child.acks.length >= target, `${target} acks`);
        if (inCompaction) {
          const compactions = child.lines.filter((line) => line === 'compacting').length;
          await child.until(() => child.lines.filter((line) => line === 'compacting').length > compactions, 'a compaction');
        }
      }
      child.kill();
      await child.until(() => child.closed, 'exit after SIGKILL');
      expect(`run ${run}: ${String(child.process.signalCode)} ${child.stderr}`).toBe(`run ${run}: SIGKILL `);
      figures.kills++;

      const acks = child.acks;
      figures.acks += acks.length;
      figures.compactedAcks += acks.filter((ack, k) => ack.snapshot > (k === 0 ? floor.snapshot : (acks[k - 1] as { snapshot: number }).snapshot)).length;
      const promised = acks.at(-1) ?? floor;

      const recovered = FilePersistentState.open<number>(dir, { maxSegmentBytes: SNAPSHOT_CHILD_SEGMENT_BYTES });
      try {
        const where = `run ${run} (after ${acks.length} acks, the last ${JSON.stringify(promised)})`;
        const snapshot = recovered.getSnapshot();
        const s = snapshot?.lastIncluded.index ?? 0;
        if (snapshot !== undefined) expect(`${where}: snapshot data of ${snapshotDataIndex(snapshot.data)}`).toBe(`${where}: snapshot data of ${s}`);
        const first = recovered.firstLogIndex;
        const current = recovered.currentLogIndex;
        expect(`${where}: firstLogIndex ${first} <= snapshot ${s} + 1: ${first >= 1 && first <= s + 1}`).toBe(`${where}: firstLogIndex ${first} <= snapshot ${s} + 1: true`);
        expect({ where, current, s, currentOk: current >= promised.current && current >= s, snapshotOk: s >= promised.snapshot }).toEqual({ where, current, s, currentOk: true, snapshotOk: true });
        const entries = recovered.getLogEntries(first, current);
        const gaps: string[] = [];
        let previousTerm = 0;
        for (let index = first; index <= current; index++) {
          const entry = entries[index - first];
          if (entry === undefined || entry.index !== index || entry.data !== index) gaps.push(`${index}: ${JSON.stringify(entry)}`);
          else if (entry.term < previousTerm) gaps.push(`${index}: term ${entry.term} after ${previousTerm}`);
          else if (index === s && entry.term !== snapshot?.lastIncluded.term) gaps.push(`${index}: term ${entry.term}, the snapshot says ${snapshot?.lastIncluded.term}`);
          if (entry !== undefined) previousTerm = entry.term;
        }
        expect({ where, gaps }).toEqual({ where, gaps: [] });
        expect(recovered.getLogEntry(first - 1)).toBeUndefined();
        // what open leaves: one snapshot file at most, the segments of the log held
        expect(readdirSync(dir).filter((name) => name.startsWith('snapshot-') || name.endsWith('.tmp')).length).toBeLessThanOrEqual(1);
        figures.maxSegments = Math.max(figures.maxSegments, segmentFiles(dir).length);
        floor = { current, snapshot: s };
      } finally {
        recovered.close();
      }
    }
    console.log(
      `compaction kill test (seed ${BASE_SEED}): ${figures.kills} kills, ${figures.acks} acknowledged steps checked (${figures.compactedAcks} with a compaction), ` +
        `final store: snapshot ${floor.snapshot}, log to ${floor.current}, at most ${figures.maxSegments} segment files after a reopen; ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    expect(figures.kills).toBe(KILLS);
  });
});
