/**
 * `runSchedule` on a cluster whose persistent state the caller builds, so a test can plant a
 * faulty store and have the simulator's own machinery find the fault. It stops at the first
 * violation and does not check liveness, and returns the cluster and checker to look at.
 */
import {
  runSchedule,
  type IPersistentState,
  type InMemoryCluster,
  type MessageLimits,
  type SafetyChecker,
  type ServerId,
  type SimulationEvent,
  type Violation,
} from '../../lib';

export interface DriveOptions<T> {
  readonly servers: number;
  /** Builds server `id`'s store, once; a restart reuses it. */
  readonly persistentState: (id: ServerId, checker: SafetyChecker<T>) => IPersistentState<T>;
  /** Called with the store of a server right after the cluster restarted it (the new Server object is built, not yet observed). */
  readonly onRestart?: (id: ServerId, state: IPersistentState<T>) => void;
  readonly value?: (n: number) => T;
  /** @default the cluster's defaults (100 entries per message, 64 in flight) */
  readonly limits?: MessageLimits;
}

export interface DriveResult<T> {
  readonly violation: Violation | undefined;
  readonly steps: number;
  readonly cluster: InMemoryCluster<T>;
  readonly checker: SafetyChecker<T>;
}

/** Runs `schedule` on a fresh manual-delivery cluster seeded with `seed`. */
export function drive<T = string>(schedule: readonly SimulationEvent[], seed: number, options: DriveOptions<T>): DriveResult<T> {
  let ended: { cluster: InMemoryCluster<T>; checker: SafetyChecker<T> } | undefined;
  const result = runSchedule<T>(schedule, seed, {
    servers: options.servers,
    limits: options.limits ?? { maxEntriesPerMessage: 100, maxInflightMessages: 64 },
    persistentState: options.persistentState,
    ...(options.onRestart === undefined ? {} : { onRestart: options.onRestart }),
    ...(options.value === undefined ? {} : { value: options.value }),
    checkLiveness: false,
    onEnd: (cluster, checker) => (ended = { cluster, checker }),
  });
  if (ended === undefined) throw new Error('runSchedule did not end');
  return { violation: result.violation, steps: result.steps, ...ended };
}
