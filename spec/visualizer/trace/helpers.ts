/** A planted fault for the trace tests, and a failing trace found and shrunk with it. */
import { SimulatedDiskState, runSchedule, scheduleFor, shrinkSchedule, type SafetyChecker, type ServerId, type SimulationOptions, type SimulationResult } from '../../../lib';
import type { Trace } from '../../../visualizer/src/model/trace-codec';

/** A store that never makes its writes durable: a crash loses them all (Durable Majority breaks). */
export class NoSyncDisk<T> extends SimulatedDiskState<T> {
  override sync(): void {}
}

/** The simulation option that plants {@link NoSyncDisk} (cannot travel in a URL: passed beside the trace). */
export const PLANTED: Partial<SimulationOptions<string>> = { persistentState: (id: ServerId, checker: SafetyChecker<string>) => new NoSyncDisk<string>(id, checker) };

/**
 * The plain options of the planted runs. Without the liveness check, so that the violation
 * comes up during the schedule (with it, the shrinker finds that one step and the final
 * checks' restarts are enough).
 */
export const OPTIONS = { servers: 3, compaction: false, checkLiveness: false } as const;

let cached: { trace: Trace; result: SimulationResult } | undefined;

/** The first seed that fails with the planted store, its schedule shrunk; and the shrunk schedule's result. */
export function failingTrace(): { trace: Trace; result: SimulationResult } {
  if (cached !== undefined) return cached;
  const options = { ...OPTIONS, length: 300, ...PLANTED };
  for (let seed = 1; seed <= 20; seed++) {
    const schedule = scheduleFor(seed, options);
    const first = runSchedule(schedule, seed, options);
    if (first.violation === undefined) continue;
    const shrunk = shrinkSchedule(schedule, seed, first.violation.invariant, options, 400);
    const result = runSchedule(shrunk, seed, options);
    if (shrunk.length < 3) continue;
    cached = { trace: { seed, options: OPTIONS, schedule: shrunk, shrunkFrom: schedule.length }, result };
    return cached;
  }
  throw new Error('no seed in 1..20 fails with the planted store');
}
