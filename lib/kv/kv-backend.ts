import type { ServerRole } from '../server';
import type { ClientSession } from '../node/client-sessions';
import type { ServerId, Term, LogIndex } from '../types';

export type { ClientSession } from '../node/client-sessions';

/** What `GET /status` reports. */
export interface KvStatus {
  /** This member's id. */
  readonly id: ServerId;
  /** Its Raft role. */
  readonly role: ServerRole;
  /** Its current term. */
  readonly term: Term;
  /** The leader it knows, `null` when none. */
  readonly leaderId: ServerId | null;
  /** Its commit index. */
  readonly commitIndex: LogIndex;
  /** The last index applied to its state machine. */
  readonly lastApplied: LogIndex;
}

/**
 * What the key-value HTTP service needs from the replicated store under it. Errors:
 * `NoLeaderError` (nothing proposed: 503), `OutcomeUnknownError` (504), `NodeStoppedError`
 * (503); anything else is a 500.
 */
export interface KvBackend {
  /** Stores `value` under `key`; resolves once the write is committed and applied. */
  put(key: string, value: string, session?: ClientSession): Promise<void>;
  /** Removes `key` (a missing key is fine); resolves once committed and applied. */
  delete(key: string, session?: ClientSession): Promise<void>;
  /** A linearizable read: the value, or `undefined` when absent. */
  get(key: string): Promise<string | undefined>;
  /** The member's Raft state now. */
  status(): KvStatus;
  /** Prometheus text exposition of the member's metrics. */
  metrics(): string;
}
