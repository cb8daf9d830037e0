import type { ClientSession } from '../node/client-sessions';
import type { NodeStatus } from '../node/raft-node';

export type { ClientSession } from '../node/client-sessions';

/** What `GET /status` reports: the member's Raft state (a {@link NodeStatus} without the snapshot index). */
export type KvStatus = Pick<NodeStatus, 'id' | 'role' | 'term' | 'leaderId' | 'commitIndex' | 'lastApplied'>;

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
