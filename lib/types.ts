/**
 * Identifies one server of a cluster: an integer in `[0, clusterSize)`.
 */
export type ServerId = number;

/**
 * A Raft term: an integer `>= 0`. A new server starts at term 0; every election
 * moves the term forward by at least one.
 */
export type Term = number;

/**
 * The position of an entry in the log: an integer `>= 0`. The first entry has index 1;
 * index 0 means "before the first entry".
 */
export type LogIndex = number;

/**
 * The index and term of one log entry, enough to compare two logs (§5.3, §5.4.1).
 * An empty log is `{ index: 0, term: 0 }`.
 */
export interface LogPosition {
  /** Index of the entry, 0 for "no entry". */
  readonly index: LogIndex;
  /** Term in which the entry was created by a leader, 0 for "no entry". */
  readonly term: Term;
}

/**
 * One entry of the replicated log: a client's data, stamped with the term of the leader
 * that appended it and its index.
 */
export interface LogEntry<T> {
  /** Position of the entry in the log, from 1. */
  readonly index: LogIndex;
  /** Term of the leader that appended the entry. */
  readonly term: Term;
  /** The proposed data, opaque to Raft (`undefined` in an entry the library wrote for itself). */
  readonly data: T;
  /**
   * Absent for the data of a proposal. `'noop'` for an entry the library writes for itself:
   * the no-op a new leader appends when a read needs a commit of its own term (thesis §6.4).
   * Such entries are replicated and committed like any other, but never passed to
   * `committed` listeners or to `stateMachine.apply`: their indices are skipped.
   */
  readonly kind?: 'noop';
}

/** The position of an empty log: `{ index: 0, term: 0 }`. */
export const EMPTY_LOG_POSITION: LogPosition = Object.freeze({ index: 0, term: 0 });

/**
 * A snapshot of the application's state (Raft §7): the state after applying every entry up
 * to and including `lastIncluded`, as the bytes its `StateMachine` produced. It stands
 * in for those entries once they are compacted out of the log.
 */
export interface Snapshot {
  /** The last entry the snapshot covers: its index and term. */
  readonly lastIncluded: LogPosition;
  /** The state, as `StateMachine.takeSnapshot` returned it (or as given to `Server.compact`). */
  readonly data: Uint8Array;
}
