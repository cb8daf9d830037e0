/**
 * The directory lock of FilePersistentState across real processes: several processes that
 * open the same directory at the same instant, over a stale lock left by a process killed
 * with SIGKILL, never both hold it.
 *
 * A pool of children (lock-child.ts) is started once. A victim child opens a store and is
 * killed with SIGKILL: its directory, copied, is a store with a stale lock (whatever the
 * lock's format). In each trial the parent copies it to a new directory and tells every
 * pooled child to open that directory at the same wall-clock instant; each child reports
 * whether it got the store and, if so, holds it until told to close. The verdict counts the
 * reports: exactly one child may hold the store (at most one: exclusion; at least one: a
 * stale lock is taken over). While a child holds it, this process is refused too. All
 * coordination is by IPC messages; time only picks the start instant, never the verdict.
 *
 *   TRIALS=200 npx jest spec/storage/lock-race.spec.ts   # a longer run (25 by default)
 */
import { cpSync } from 'node:fs';
import { FilePersistentState, StorageError } from '../../lib';
import { LockChild, expectReport } from './lock-child-handle';
import { removeTempDirs, tempDir, thrown } from './helpers';

const TRIALS = Number(process.env.TRIALS ?? 25);
/** Processes racing in each trial. */
const RACERS = 3;
/** How far ahead the common start instant of a trial is set, so that every child got the command first. */
const START_AHEAD_MS = 40;

if (!Number.isSafeInteger(TRIALS) || TRIALS < 1) throw new Error(`TRIALS must be a positive integer, got ${process.env.TRIALS}`);
jest.setTimeout(120_000 + TRIALS * 2_000);

describe('the directory lock across processes', () => {
  const children: LockChild[] = [];
  afterAll(async () => {
    await Promise.all(children.map((child) => child.end()));
    removeTempDirs();
  });

  it(`over a stale lock left by a killed process, ${RACERS} processes opening at once: exactly one holds the store, in each of ${TRIALS} trials`, async () => {
    const pool = Array.from({ length: RACERS }, () => new LockChild());
    const victim = new LockChild();
    children.push(...pool, victim);
    for (const child of [...pool, victim]) expectReport(await child.next(), 'ready');

    // the stale lock: a store opened by a process that is then killed
    const template = tempDir('race-template');
    FilePersistentState.open<string>(template).close();
    victim.send({ type: 'open', dir: template, at: 0 });
    expectReport(await victim.next(), 'opened');
    await victim.end();

    const figures = { trials: 0, doubleHeld: 0, noneHeld: 0, maxHolders: 0 };
    const failures: string[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const dir = tempDir('race');
      cpSync(template, dir, { recursive: true });
      const at = Date.now() + START_AHEAD_MS;
      for (const child of pool) child.send({ type: 'open', dir, at });
      const reports = await Promise.all(pool.map((child) => child.next()));
      const holders = pool.filter((_child, k) => reports[k]?.type === 'opened');
      for (const report of reports) {
        if (report.type === 'failed' || (report.type === 'refused' && report.reason !== 'locked')) failures.push(`trial ${trial}: ${JSON.stringify(report)}`);
      }
      figures.trials++;
      figures.maxHolders = Math.max(figures.maxHolders, holders.length);
      if (holders.length > 1) figures.doubleHeld++;
      if (holders.length === 0) figures.noneHeld++;
      if (holders.length === 1) {
        // while a child holds it, this process is refused too
        const error = thrown(() => FilePersistentState.open<string>(dir));
        expect(error).toBeInstanceOf(StorageError);
        expect((error as StorageError).reason).toBe('locked');
      }
      for (const holder of holders) holder.send({ type: 'close' });
      for (const holder of holders) expectReport(await holder.next(), 'closed');
    }
    console.log(
      `lock race: ${figures.trials} trials of ${RACERS} processes over a stale lock; ${figures.doubleHeld} trials with the store held ` +
        `by more than one process (at most ${figures.maxHolders} at once), ${figures.noneHeld} with no holder`,
    );
    expect(failures).toEqual([]);
    expect(figures.doubleHeld).toBe(0);
    expect(figures.noneHeld).toBe(0);
    await Promise.all(pool.map((child) => child.end(true)));
  });
});
