import type { Violation } from './invariants';
import type { SimulationOptions } from './run-options';
import type { SimulationEvent } from './schedule';
import { ScheduleRun } from './schedule-run';

/**
 * Shrinks a failing schedule: removes chunks of steps, then single steps, then shortens
 * waits, keeping each change only if the same invariant still breaks (delta debugging).
 * Returns a schedule that still fails, usually a few dozen steps long; a schedule that does
 * not fail with `invariant` is returned unchanged after one run.
 */
export function shrinkSchedule<T>(
  schedule: readonly SimulationEvent[],
  seed: number,
  invariant: Violation['invariant'],
  options: SimulationOptions<T> = {},
  maxRuns = 3000,
): SimulationEvent[] {
  let runs = 0;
  const { trace: _unused, ...quiet } = options;
  const fails = (candidate: readonly SimulationEvent[]): boolean => {
    runs++;
    return new ScheduleRun(candidate, seed, quiet).finish().violation?.invariant === invariant; // runSchedule
  };
  if (!fails(schedule)) return [...schedule]; // nothing to shrink: the schedule does not fail that way
  let current = [...schedule];
  let chunks = 2;
  while (current.length >= 2 && runs < maxRuns) {
    const size = Math.ceil(current.length / chunks);
    let reduced = false;
    for (let start = 0; start < current.length && runs < maxRuns; start += size) {
      const candidate = [...current.slice(0, start), ...current.slice(start + size)];
      if (fails(candidate)) {
        current = candidate;
        chunks = Math.max(chunks - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (chunks >= current.length) break;
      chunks = Math.min(current.length, chunks * 2);
    }
  }
  for (let k = 0; k < current.length && runs < maxRuns; k++) {
    const event = current[k] as SimulationEvent;
    if ((event.type === 'advance' || event.type === 'quiet') && event.ms > 1) {
      const candidate = [...current];
      candidate[k] = { ...event, ms: Math.max(1, Math.floor(event.ms / 2)) };
      if (fails(candidate)) {
        current = candidate;
        k--;
      }
    }
  }
  return current;
}
