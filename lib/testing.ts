/**
 * Test and learning tools, for any JavaScript runtime: {@link InMemoryCluster} on its locked
 * {@link InMemoryNetwork} with a virtual clock, {@link seededRandom}, and the deterministic
 * simulation ({@link simulate}, {@link SafetyChecker}, fault schedules, {@link shrinkSchedule}).
 * Nothing here imports a Node.js module, so a bundler can build it for a browser.
 *
 * ```ts
 * import { InMemoryCluster } from 'raft-ts/testing';
 * import { Server } from 'raft-ts/core';
 * ```
 *
 * The same names are exported by the package root `raft-ts` too.
 * @module raft-ts/testing
 */
export { seededRandom } from './random';
export type { InMemoryClusterOptions } from './cluster';
export { InMemoryCluster } from './cluster';
export type { AddressedMessage, DeliveryMode, UndeliveredMessage } from './network';
export { InMemoryNetwork } from './network';
export type { DurableStores, InvariantName, LogReader, Violation } from './simulation/invariants';
export type { CrashLoss } from './simulation/disk';
export { SimulatedDiskState } from './simulation/disk';
export { SafetyChecker } from './simulation/invariants';
export { ObservedPersistentState, checkCommitIndexes, logReader, observeServer } from './simulation/observe';
export type {
  AdvanceStep, DeliverStep, DropStep, DuplicateStep, HoldStep, ProposeStep, TimeoutStep, HeartbeatStep, CrashStep, RestartStep, PartitionStep, HealStep, IsolateLeaderStep, ReconnectAllStep, CutLinkStep, RestoreLinksStep, QuietStep, CompactStep, CrashInTransferStep, TransferStep, ReadStep, ClientStep,
  FaultWeights,
  ScheduleOptions,
  SimulationEvent,
} from './simulation/schedule';
export { COMPACTION_FAULT_WEIGHTS, DEFAULT_FAULT_WEIGHTS, EXTENSION_FAULT_WEIGHTS, generateSchedule } from './simulation/schedule';
export type { ClientOperationKinds, CompactionBounds, MessageLimits, RaftExtensions, SimulatedStateMachine, SimulationOptions, SimulationResult } from './simulation/simulator';
export { extensionsFor, compactionFor, describeMessage, limitsFor, runSchedule, scheduleFor, shrinkSchedule, simulate } from './simulation/simulator';
export { ScheduleRun } from './simulation/schedule-run';
export type { AppliedDigest } from './simulation/observe';
export { checkAppliedState } from './simulation/observe';
export { DigestStateMachine } from './simulation/machine';
export { EMPTY_DIGEST, digestStep } from './simulation/invariants';
export type { KeyCheckResult, KeyExplanation, KeySearchResult, KvHistory, KvOperation, KvOperationKind, KvState, KvStepResult, LinearizabilityOptions, LinearizabilityResult, MinimizedHistory, NormalizedOperation } from './simulation/linearizability';
export { DEFAULT_LINEARIZABILITY_MAX_STEPS, DEFAULT_LINEARIZABILITY_MINIMIZE_CHECKS, DEFAULT_LINEARIZABILITY_MINIMIZE_STEPS, KV_INITIAL_STATE, checkLinearizability, explainKey, formatExplanation, formatOperation, formatValue, happensBefore, kvStep, minimizeKeyHistory, normalizeOperation, possibleValuesBefore, searchKey, withoutUnobservedUnknownWrites } from './simulation/linearizability';
export type { KvCommand, WorkloadCounts } from './simulation/workload';
export { CLIENT_TIMEOUT_MS, ClientWorkload, KvStateMachine, WORKLOAD_KEYS, parseKvCommand } from './simulation/workload';
