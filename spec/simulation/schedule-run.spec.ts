/**
 * The stepwise runner (ScheduleRun) that runSchedule is built on: stepping it by hand gives
 * the same results as runSchedule, and a planted violation is reported at the step where it
 * happens.
 */
import { SafetyChecker, ScheduleRun, SimulatedDiskState, runSchedule, scheduleFor, type ServerId, type SimulationOptions } from '../../lib';

/** A store that never makes its writes durable: a crash loses everything (Durable Majority breaks). */
class NoSyncDisk<T> extends SimulatedDiskState<T> {
  override sync(): void {}
}

const noSync: SimulationOptions<string> = { servers: 3, length: 300, persistentState: (id: ServerId, checker: SafetyChecker<string>) => new NoSyncDisk<string>(id, checker) };

function stepped(schedule: Parameters<typeof runSchedule>[0], seed: number, options: SimulationOptions<string>) {
  const run = new ScheduleRun<string>(schedule, seed, options);
  let steps = 0;
  while (run.step()) steps++;
  return { run, steps, result: run.finish() };
}

describe('ScheduleRun', () => {
  it('gives the same SimulationResult as runSchedule for seeds 1..50 (300 steps, 5 servers)', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const options = { length: 300 };
      const schedule = scheduleFor(seed, options);
      expect({ seed, result: stepped(schedule, seed, options).result }).toEqual({ seed, result: runSchedule(schedule, seed, options) });
    }
  });

  it('gives the same results with the extensions (client workload, drawn Raft options), seeds 1..10', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const options = { length: 300, servers: 3, extensions: true };
      const schedule = scheduleFor(seed, options);
      expect({ seed, result: stepped(schedule, seed, options).result }).toEqual({ seed, result: runSchedule(schedule, seed, options) });
    }
  });

  it('writes the same trace lines when stepped as runSchedule writes', () => {
    const options = { length: 200, servers: 3 };
    const schedule = scheduleFor(7, options);
    const a: string[] = [];
    const b: string[] = [];
    runSchedule(schedule, 7, { ...options, trace: (line) => a.push(line) });
    stepped(schedule, 7, { ...options, trace: (line) => b.push(line) });
    expect(b).toEqual(a);
    expect(a.length).toBeGreaterThan(100);
  });

  it('finish() alone runs every step, equals runSchedule, and is idempotent', () => {
    const options = { length: 200 };
    const schedule = scheduleFor(11, options);
    const run = new ScheduleRun(schedule, 11, options);
    expect(run.index).toBe(0);
    expect(run.done).toBe(false);
    const result = run.finish();
    expect(result).toEqual(runSchedule(schedule, 11, options));
    expect(run.index).toBe(200);
    expect(run.finished).toBe(true);
    expect(run.step()).toBe(false);
    expect(run.finish()).toBe(result);
  });

  it('counts steps: index follows step(), step() is false once the schedule is over', () => {
    const options = { length: 20, servers: 3 };
    const schedule = scheduleFor(2, options);
    const run = new ScheduleRun(schedule, 2, options);
    for (let k = 1; k <= 20; k++) {
      expect(run.step()).toBe(true);
      expect(run.index).toBe(k);
    }
    expect(run.done).toBe(true);
    expect(run.step()).toBe(false);
    expect(run.index).toBe(20);
    expect(run.violation).toBeUndefined();
    expect(run.finish().violation).toBeUndefined();
  });

  it('reports a planted violation (a store that never syncs) at the step where it happens', () => {
    let checked = 0;
    for (let seed = 1; seed <= 10; seed++) {
      const schedule = scheduleFor(seed, noSync);
      const expected = runSchedule(schedule, seed, noSync);
      if (expected.violation === undefined || expected.steps === 0 || expected.steps > schedule.length) continue;
      checked++;
      const run = new ScheduleRun<string>(schedule, seed, noSync);
      for (let k = 1; k < expected.steps; k++) {
        expect({ seed, k, ok: run.step() }).toEqual({ seed, k, ok: true });
        expect(run.violation).toBeUndefined();
      }
      expect(run.step()).toBe(false);
      expect(run.index).toBe(expected.steps);
      expect(run.violation).toEqual(expected.violation);
      expect(run.step()).toBe(false);
      expect(run.finish()).toEqual(expected);
    }
    expect(checked).toBeGreaterThanOrEqual(5);
  });

  it('reports a step that throws as noException, naming the step', () => {
    const options: SimulationOptions<string> = {
      length: 30,
      servers: 3,
      value: (n) => {
        if (n >= 2) throw new Error(`no value ${n}`);
        return `v${n}`;
      },
    };
    const schedule = [{ type: 'propose', value: 1 }, { type: 'advance', ms: 500 }, { type: 'propose', value: 2 }] as const;
    const run = new ScheduleRun<string>(schedule, 1, options);
    expect(run.step()).toBe(true);
    expect(run.step()).toBe(true);
    expect(run.step()).toBe(false);
    expect(run.index).toBe(2);
    expect(run.violation?.invariant).toBe('noException');
    expect(run.violation?.message).toMatch(/^step 3 \(propose\) threw Error: no value 2$/);
    expect(run.finish()).toEqual(runSchedule(schedule, 1, options));
  });
});
