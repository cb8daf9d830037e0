/**
 * The Raft core, for any JavaScript runtime: {@link Server}, the {@link IPersistentState}
 * interface and its in-memory reference {@link InMemoryPersistentState}, the messages, the
 * quorum helpers and every error class. Nothing here imports a Node.js module, so a bundler
 * can build it for a browser.
 *
 * ```ts
 * import { Server, InMemoryPersistentState } from 'raft-ts/core';
 * ```
 *
 * The same names are exported by the package root `raft-ts` too.
 * @module raft-ts/core
 */
export type { LogEntry, LogIndex, LogPosition, ServerId, Snapshot, Term } from './types';
export type { StateMachine } from './state-machine';
export { EMPTY_LOG_POSITION } from './types';
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
// Errors: every class, the storage ones included (they import nothing from Node.js).
export { ConfigurationError, InvalidArgumentError, InvalidMessageError, ListenerError, ProposalRefusedError, RaftError, ReentrancyError } from './errors';
export { CorruptStateError, StorageError } from './errors';
