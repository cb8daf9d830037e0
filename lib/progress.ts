import type { LogIndex } from './types';

/**
 * How a leader replicates to one follower:
 * - `'probe'`: the leader does not know where the follower's log matches its own; it sends
 *   one AppendEntries at a time from `nextIndex` and waits for the answer.
 * - `'replicate'`: the follower's log is known to match up to `matchIndex`; the leader
 *   streams entries and advances `nextIndex` as it sends (pipelining).
 */
export type ReplicationMode = 'probe' | 'replicate';

/**
 * A leader's bookkeeping for one follower: Figure 2's `nextIndex` and `matchIndex`, plus
 * what the leader needs to pipeline messages and to notice lost ones.
 */
export class FollowerProgress {
  /** Index of the next entry to send. */
  nextIndex: LogIndex;
  /** Highest index known to be replicated on the follower. */
  matchIndex: LogIndex = 0;
  /** See {@link ReplicationMode}. */
  mode: ReplicationMode = 'probe';
  /** AppendEntries with entries sent and not yet answered. */
  inflight = 0;
  /** Whether an AppendEntries with entries was answered since the last heartbeat. */
  answeredSinceHeartbeat = false;
  /**
   * Grows each time the leader goes back to probing. Every AppendEntries carries the epoch
   * it was sent in; a rejection of an earlier epoch is stale (already dealt with) and ignored.
   */
  epoch = 0;

  constructor(leaderLastIndex: LogIndex) {
    this.nextIndex = leaderLastIndex + 1;
  }

  /** Records a success: the follower's log matches up to `matchIndex`. */
  acknowledge(matchIndex: LogIndex): boolean {
    const advanced = matchIndex > this.matchIndex;
    if (advanced) this.matchIndex = matchIndex;
    if (this.nextIndex <= this.matchIndex) this.nextIndex = this.matchIndex + 1;
    this.mode = 'replicate';
    return advanced;
  }

  /**
   * Records a rejection of an AppendEntries sent in `epoch` whose `prevLogEntry.index` was
   * `rejectedPrev`, with the follower's hint. Returns false for a stale rejection (of an
   * earlier epoch, or of a probe that is no longer the current one), which changes nothing.
   */
  reject(rejectedPrev: LogIndex, hint: LogIndex, epoch: number): boolean {
    if (epoch !== this.epoch || rejectedPrev <= this.matchIndex) return false;
    if (this.mode === 'probe' && rejectedPrev !== this.nextIndex - 1) return false;
    this.#probeFrom(Math.max(this.matchIndex + 1, Math.min(rejectedPrev, hint + 1)));
    return true;
  }

  /** Forgets what is in flight, presumed lost, and goes back to probing from `matchIndex + 1`. */
  resetToProbe(): void {
    this.#probeFrom(this.matchIndex + 1);
  }

  #probeFrom(nextIndex: LogIndex): void {
    this.nextIndex = nextIndex;
    this.mode = 'probe';
    this.inflight = 0;
    this.epoch++;
  }

  /** Whether another AppendEntries with entries may be sent now. */
  canSend(maxInflight: number): boolean {
    return this.inflight < (this.mode === 'probe' ? 1 : maxInflight);
  }
}
