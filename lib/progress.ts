import { Inflights } from './inflights';
import { OutgoingSnapshot } from './snapshot-transfer';
import type { LogIndex, Snapshot } from './types';

/**
 * How a leader replicates to one follower:
 * - `'probe'`: the leader does not know where the follower's log matches its own; it sends
 *   one AppendEntries at a time from `nextIndex` and waits for the answer.
 * - `'replicate'`: the follower's log is known to match up to `matchIndex`; the leader
 *   streams entries and advances `nextIndex` as it sends (pipelining).
 * - `'snapshot'`: the follower needs entries the leader has compacted; the leader sends it
 *   its snapshot, chunk by chunk, and sends no AppendEntries until the follower has it.
 */
export type ReplicationMode = 'probe' | 'replicate' | 'snapshot';

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
  /** AppendEntries with entries sent in this epoch and not yet acknowledged. */
  readonly inflights = new Inflights();
  /**
   * Grows each time the leader goes back to probing. Every AppendEntries carries the epoch
   * it was sent in; a reply of an earlier epoch frees nothing in flight (its message was
   * already written off), and its rejection is stale and ignored.
   */
  epoch = 0;
  /** The snapshot transfer under way, in `'snapshot'` mode. */
  snapshotTransfer: OutgoingSnapshot | undefined = undefined;

  /** Progress of a follower of a leader whose log ends at `leaderLastIndex`: probing from just after it. */
  constructor(leaderLastIndex: LogIndex) {
    this.nextIndex = leaderLastIndex + 1;
  }

  /**
   * Records a success of an AppendEntries sent in `epoch`: the follower's log matches up to
   * `matchIndex`. Returns whether `matchIndex` advanced.
   */
  acknowledge(matchIndex: LogIndex, epoch: number): boolean {
    const advanced = matchIndex > this.matchIndex;
    if (advanced) this.matchIndex = matchIndex;
    if (this.nextIndex <= this.matchIndex) this.nextIndex = this.matchIndex + 1;
    if (epoch === this.epoch) this.inflights.freeUpTo(matchIndex);
    if (this.mode !== 'snapshot') this.mode = 'replicate'; // a late reply does not end a snapshot transfer
    return advanced;
  }

  /**
   * Records a rejection of an AppendEntries sent in `epoch` whose `prevLogEntry.index` was
   * `rejectedPrev`; `resumeAfter` is where the leader's log can next match the follower's
   * (worked out from the follower's hint). Returns false for a stale rejection (of an
   * earlier epoch, or of a probe that is no longer the current one), which changes nothing.
   */
  reject(rejectedPrev: LogIndex, resumeAfter: LogIndex, epoch: number): boolean {
    if (epoch !== this.epoch || rejectedPrev <= this.matchIndex) return false;
    if (this.mode === 'probe' && rejectedPrev !== this.nextIndex - 1) return false;
    this.#probeFrom(Math.max(this.matchIndex + 1, Math.min(rejectedPrev, resumeAfter + 1)));
    return true;
  }

  /** The probe in flight is presumed lost: forget it, so that the next heartbeat sends it again. */
  retryProbe(): void {
    this.inflights.clear();
  }

  /** Forgets what is in flight, presumed lost, and goes back to probing from `matchIndex + 1`. */
  resetToProbe(): void {
    this.#probeFrom(this.matchIndex + 1);
  }

  /** Starts sending `snapshot`: no AppendEntries until the follower has it. */
  startSnapshot(snapshot: Snapshot): OutgoingSnapshot {
    this.mode = 'snapshot';
    this.inflights.clear();
    this.epoch++;
    this.snapshotTransfer = new OutgoingSnapshot(snapshot);
    return this.snapshotTransfer;
  }

  /**
   * The follower holds the snapshot ending at `lastIncluded` (or has committed past it): its
   * log matches up to there, so replication streams on from right after it.
   */
  finishSnapshot(lastIncluded: LogIndex): void {
    this.snapshotTransfer = undefined;
    if (lastIncluded > this.matchIndex) this.matchIndex = lastIncluded;
    this.nextIndex = this.matchIndex + 1;
    this.mode = 'replicate';
    this.inflights.clear();
    this.epoch++;
  }

  #probeFrom(nextIndex: LogIndex): void {
    this.nextIndex = nextIndex;
    this.mode = 'probe';
    this.snapshotTransfer = undefined;
    this.inflights.clear();
    this.epoch++;
  }

  /** Whether another AppendEntries with entries may be sent now. */
  canSend(maxInflight: number): boolean {
    if (this.mode === 'snapshot') return false;
    return this.inflights.count < (this.mode === 'probe' ? 1 : maxInflight);
  }

  /**
   * At a heartbeat of round `round`: whether the oldest message in flight has gone unanswered
   * for a whole heartbeat period (it was sent before the previous heartbeat), so that it or
   * its answer is presumed lost. A message sent just before this heartbeat is not.
   */
  lostAt(round: number): boolean {
    const oldest = this.inflights.oldestRound();
    return oldest !== undefined && oldest <= round - 2;
  }
}
