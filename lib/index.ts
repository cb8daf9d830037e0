/**
 * Raft consensus in TypeScript. The package root `raft-ts` exports everything; three subpath
 * entries export the same names in parts, so that a bundle takes only what it uses (and a
 * browser bundle no Node.js module). The groups of this reference follow them.
 *
 * @groupDescription Core
 * `raft-ts/core`: {@link Server}, {@link IPersistentState} and {@link InMemoryPersistentState},
 * the messages and the quorum helpers. No Node.js module: bundles for a browser.
 *
 * @groupDescription Errors
 * `raft-ts/core` (and the storage ones from `raft-ts/storage` too): every error extends
 * {@link RaftError}.
 *
 * @groupDescription Storage
 * `raft-ts/storage`: {@link FilePersistentState} and its codecs. Node.js 20.15 or later.
 *
 * @groupDescription Testing
 * `raft-ts/testing`: {@link InMemoryCluster}, {@link InMemoryNetwork}, {@link seededRandom}.
 * No Node.js module: bundles for a browser.
 *
 * @groupDescription Simulation
 * `raft-ts/testing`: seeded fault schedules ({@link generateSchedule}), the simulator
 * ({@link simulate}, {@link runSchedule}, {@link shrinkSchedule}) and the
 * {@link SafetyChecker}, with the step types of a schedule.
 *
 * @module raft-ts
 */
export type { LogEntry, LogIndex, LogPosition, ServerId, Snapshot, Term } from './types';
export type { StateMachine } from './state-machine';
export { EMPTY_LOG_POSITION } from './types';
export { ConfigurationError, InvalidArgumentError, InvalidMessageError, ListenerError, ProposalRefusedError, RaftError, ReentrancyError } from './errors';
export type { IPersistentState, NewEntry } from './persistent-state';
export { InMemoryPersistentState } from './persistent-state';
export type {
  AppendEntriesMessage,
  AppendEntriesReply,
  AppendEntriesReplyEnvelope,
  InstallSnapshotMessage,
  InstallSnapshotReply,
  InstallSnapshotReplyEnvelope,
  Message,
  Reply,
  RequestVoteMessage,
  RequestVoteReply,
  RequestVoteReplyEnvelope,
  TimeoutNowMessage,
  TimeoutNowReply,
  TimeoutNowReplyEnvelope,
} from './messages';
export type { ServerOptions } from './options';
export type { LeaderState, ProposeAllResult, ProposeAppended, ProposeBatchAppended, ProposeDelay, ProposeForward, ProposeResult, ReadIndexResult, ReadReady, ServerEvents, ServerRole, TransferResult, TransferStarted, VolatileState } from './server';
export { Server } from './server';
export { isAtLeastAsUpToDate, majorityMatchIndex, quorumSize } from './quorum';
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
export type { AppliedDigest } from './simulation/observe';
export { checkAppliedState } from './simulation/observe';
export { DigestStateMachine } from './simulation/machine';
export { EMPTY_DIGEST, digestStep } from './simulation/invariants';
export { CorruptStateError, StorageError } from './errors';
export type { Codec } from './storage/codec';
export { JSON_CODEC } from './storage/codec';
export type { FilePersistentStateOptions } from './storage/file-persistent-state';
export { FilePersistentState } from './storage/file-persistent-state';
export type { KeyCheckResult, KeyExplanation, KeySearchResult, KvHistory, KvOperation, KvOperationKind, KvState, KvStepResult, LinearizabilityOptions, LinearizabilityResult, MinimizedHistory, NormalizedOperation } from './simulation/linearizability';
export { DEFAULT_LINEARIZABILITY_MAX_STEPS, DEFAULT_LINEARIZABILITY_MINIMIZE_CHECKS, DEFAULT_LINEARIZABILITY_MINIMIZE_STEPS, KV_INITIAL_STATE, checkLinearizability, explainKey, formatExplanation, formatOperation, formatValue, happensBefore, kvStep, minimizeKeyHistory, normalizeOperation, possibleValuesBefore, searchKey, withoutUnobservedUnknownWrites } from './simulation/linearizability';
export type { KvCommand, WorkloadCounts } from './simulation/workload';
export { CLIENT_TIMEOUT_MS, ClientWorkload, KvStateMachine, WORKLOAD_KEYS, parseKvCommand } from './simulation/workload';
