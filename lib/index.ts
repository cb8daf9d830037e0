export type { LogEntry, LogIndex, LogPosition, ServerId, Term } from './types';
export { EMPTY_LOG_POSITION } from './types';
export { ConfigurationError, InvalidArgumentError, InvalidMessageError, ListenerError, ProposalRefusedError, RaftError, ReentrancyError } from './errors';
export type { IPersistentState } from './persistent-state';
export { InMemoryPersistentState } from './persistent-state';
export type {
  AppendEntriesMessage,
  AppendEntriesReply,
  AppendEntriesReplyEnvelope,
  Message,
  Reply,
  RequestVoteMessage,
  RequestVoteReply,
  RequestVoteReplyEnvelope,
} from './messages';
export type { ServerOptions } from './options';
export type { LeaderState, ProposeAllResult, ProposeAppended, ProposeBatchAppended, ProposeDelay, ProposeForward, ProposeResult, ServerEvents, ServerRole, VolatileState } from './server';
export { Server } from './server';
export { isAtLeastAsUpToDate, majorityMatchIndex, quorumSize } from './quorum';
export { seededRandom } from './random';
export type { InMemoryClusterOptions } from './cluster';
export { InMemoryCluster } from './cluster';
export type { AddressedMessage, DeliveryMode, UndeliveredMessage } from './network';
export { InMemoryNetwork } from './network';
export type { InvariantName, LogReader, Violation } from './simulation/invariants';
export { SafetyChecker } from './simulation/invariants';
export { ObservedPersistentState, checkCommitIndexes, logReader, observeServer } from './simulation/observe';
export type {
  AdvanceStep, DeliverStep, DropStep, DuplicateStep, ProposeStep, TimeoutStep, HeartbeatStep, CrashStep, RestartStep, PartitionStep, HealStep, IsolateLeaderStep, ReconnectAllStep, CutLinkStep, RestoreLinksStep, QuietStep,
  FaultWeights,
  ScheduleOptions,
  SimulationEvent,
} from './simulation/schedule';
export { DEFAULT_FAULT_WEIGHTS, generateSchedule } from './simulation/schedule';
export type { MessageLimits, SimulatedStateMachine, SimulationOptions, SimulationResult } from './simulation/simulator';
export { describeMessage, limitsFor, runSchedule, scheduleFor, shrinkSchedule, simulate } from './simulation/simulator';
export { CorruptStateError, StorageError } from './errors';
export type { Codec } from './storage/codec';
export { JSON_CODEC } from './storage/codec';
export type { FilePersistentStateOptions } from './storage/file-persistent-state';
export { FilePersistentState } from './storage/file-persistent-state';
