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
 * @groupDescription Networked
 * `raft-ts/node`: {@link TcpTransport}, {@link RaftNode} and the key-value service
 * ({@link startKvMember}). Node.js 20.15 or later.
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
export { ScheduleRun } from './simulation/schedule-run';
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
export type { PeerAddress, PeerStats, PeerTransport, RefusalReason, RequestHandler, TransportStats, WireValue } from './net/peer-transport';
export type { ReconnectDelay, TcpTlsOptions, TcpTransportOptions } from './net/tcp-transport';
export { DEFAULT_HANDSHAKE_TIMEOUT_MS, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_PENDING_REPLIES, DEFAULT_MAX_QUEUE_AGE_MS, DEFAULT_MAX_QUEUE_BYTES, DEFAULT_RECONNECT_DELAY_MS, DEFAULT_REPLY_TIMEOUT_MS, TcpTransport } from './net/tcp-transport';
export type { FrameCodec } from './net/codec';
export { GarbageFrameError, JSON_FRAME_CODEC } from './net/codec';
export { DEFAULT_MAX_FRAME_BYTES, FrameDecoder, FrameTooLargeError, encodeFrame } from './net/frame';
export { HandshakeError } from './net/handshake';
export type { Closable, NodeCounters, NodeServerOptions, NodeStatus, ProposeOptions, RaftNodeEvents, RaftNodeOptions } from './node/raft-node';
export { RaftNode } from './node/raft-node';
export type { NodeEntry, NodeStateMachine } from './node/session-state-machine';
export type { ClientSession, ClientSessionLimits } from './node/client-sessions';
export { DEFAULT_SESSION_LIMITS } from './node/client-sessions';
export { CommandFailedError, NoLeaderError, NodeStoppedError, OutcomeUnknownError, OverloadedError, SessionExpiredError } from './node/node-errors';
export { LoopbackNetwork } from './node/loopback-transport';
export type { KvBackend, KvStatus } from './kv/kv-backend';
export type { KvDelete, KvPut, KvWrite } from './kv/kv-store';
export { KvStore } from './kv/kv-store';
export type { KvMember, KvMemberOptions } from './kv/kv-member';
export { RaftKvBackend, startKvMember } from './kv/kv-member';
export { KvMetrics } from './kv/kv-metrics';
export type { KvHttpOptions, KvHttpRoute } from './kv/http-service';
export { MAX_KEY_BYTES, MAX_VALUE_BYTES, createKvHttpServer } from './kv/http-service';
export type { KvHttpMetrics } from './kv/http-metrics';
export { createKvHttpMetrics } from './kv/http-metrics';
export type { GaugeOptions, GaugeSample, HistogramOptions, HistogramSeries, Metric, MetricLabels, MetricOptions } from './kv/metrics';
export { BaseMetric, Counter, FSYNC_LATENCY_BUCKETS, Gauge, Histogram, MetricsRegistry, PROMETHEUS_CONTENT_TYPE, REQUEST_LATENCY_BUCKETS } from './kv/metrics';
