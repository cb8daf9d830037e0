/**
 * The deterministic simulator: {@link runSchedule} runs a fault schedule on a fresh cluster
 * and checks every invariant ({@link ScheduleRun} does it one step at a time),
 * {@link simulate} draws the schedule of a seed, {@link shrinkSchedule} shrinks a failing
 * one. The parts live beside this file: run-options.ts (options, result, per-seed draws),
 * run-context.ts (the setup and the primitives), step-executor.ts (what each step does),
 * schedule-run.ts (the stepwise runner), shrink.ts, describe.ts.
 */
import { compactionEnabled, type SimulationOptions, type SimulationResult } from './run-options';
import { generateSchedule, type SimulationEvent } from './schedule';
import { ScheduleRun } from './schedule-run';

export type { SimulatedStateMachine } from './machine';
export type { ClientOperationKinds, CompactionBounds, MessageLimits, RaftExtensions, SimulationOptions, SimulationResult } from './run-options';
export { boundsFor, compactionEnabled, compactionFor, extensionsFor, limitsFor, workloadKeysFor } from './run-options';
export { describeMessage } from './describe';
export { ScheduleRun } from './schedule-run';
export { shrinkSchedule } from './shrink';

/**
 * Runs one schedule on a fresh cluster seeded with `seed`, checking every invariant of
 * {@link SafetyChecker} at every write, commit and election, and commitIndex after every
 * step; then stops the faults and checks liveness: within `livenessBoundMs` a leader is
 * elected and a fresh proposal, with every entry before it, is committed on all servers.
 * A call that throws ends the run with a `noException` violation naming the step and the
 * error (and the run can be shrunk like any other).
 * Deterministic: the same schedule, seed and options give the same result.
 * The same as stepping a {@link ScheduleRun} to its end and finishing it.
 */
export function runSchedule<T = string>(schedule: readonly SimulationEvent[], seed: number, options: SimulationOptions<T> = {}): SimulationResult {
  const run = new ScheduleRun<T>(schedule, seed, options);
  while (run.step());
  return run.finish();
}

/** Draws the schedule for `seed` and runs it (see {@link runSchedule}). */
export function simulate<T = string>(seed: number, options: SimulationOptions<T> = {}): SimulationResult {
  return runSchedule(scheduleFor(seed, options), seed, options);
}

/** The schedule {@link simulate} runs for `seed`. */
export function scheduleFor<T>(seed: number, options: SimulationOptions<T> = {}): SimulationEvent[] {
  return generateSchedule(seed, {
    servers: options.servers ?? 5,
    length: options.length ?? 1000,
    compaction: compactionEnabled(options),
    ...(options.extensions === true ? { extensions: true } : {}),
    ...(options.weights ? { weights: options.weights } : {}),
  });
}

