import type { ReadIndexResult } from './server';
import type { LogIndex } from './types';

/**
 * Linearizable reads without writing to the log (thesis §6.4, ReadIndex): a leader answers a
 * read with an index once (1) it has committed an entry of its own term, so its commitIndex
 * is at least every committed index (the no-op a new leader writes for this, etcd-io/etcd#7331);
 * (2) it is sure it was still the leader after the read arrived: in `safe` mode a majority
 * answered a heartbeat sent after the read arrived, in `lease` mode a majority answered
 * within the last election timeout; and (3) its state machine has applied that index. Reads
 * that arrive before the same heartbeat share it: a thousand reads cost one round.
 */

/** One read waiting at a leader. */
interface PendingRead {
  readonly onDone: (result: ReadIndexResult) => void;
  /** The leader's heartbeat round when the read arrived: a later round must be answered by a majority. */
  readonly round: number;
  /** The read's index, once the leader has committed an entry of its term. */
  index: LogIndex | undefined;
  /** Whether leadership was confirmed after the read arrived. */
  confirmed: boolean;
}

/** What a leader knows now, for deciding which reads are ready. */
export interface ReadProgress {
  /** The commit index, when an entry of the leader's term is committed; `undefined` before. */
  readonly ownTermCommitIndex: LogIndex | undefined;
  /** The latest heartbeat round a majority (the leader included) has answered. */
  readonly quorumRound: number;
  /** The state machine's applied index. */
  readonly lastApplied: LogIndex;
}

/**
 * A leader's reads waiting to be answered, in arrival order. Every condition a read waits
 * for grows along the queue (arrival round, read index), so reads become ready in order:
 * `serve` answers from the head and stops at the first that must wait, in time proportional
 * to what it answers.
 */
export class ReadQueue {
  #reads: PendingRead[] = [];
  #head = 0;
  /** The latest arrival round of a read queued unconfirmed (-1: none). */
  #lastUnconfirmedRound = -1;

  /** How many reads wait. */
  get size(): number {
    return this.#reads.length - this.#head;
  }

  /** A read arrived in heartbeat round `round`; `confirmed` when a lease already vouches for the leadership. */
  add(onDone: (result: ReadIndexResult) => void, round: number, confirmed: boolean): void {
    this.#reads.push({ onDone, round, index: undefined, confirmed });
    if (!confirmed && round > this.#lastUnconfirmedRound) this.#lastUnconfirmedRound = round;
  }

  /**
   * Answers, through `answer`, the reads at the head of the queue that are ready given
   * `progress`, in order. Returns the latest arrival round of a read still waiting for a
   * confirmation (-1 when none does): a heartbeat round after it must be sent.
   */
  serve(progress: ReadProgress, answer: (onDone: (result: ReadIndexResult) => void, result: ReadIndexResult) => void): number {
    const reads = this.#reads;
    while (this.#head < reads.length) {
      const read = reads[this.#head] as PendingRead;
      if (read.index === undefined) {
        if (progress.ownTermCommitIndex === undefined) break;
        read.index = progress.ownTermCommitIndex;
      }
      if (!read.confirmed) {
        if (progress.quorumRound <= read.round) break;
        read.confirmed = true;
      }
      if (progress.lastApplied < read.index) break;
      reads[this.#head] = undefined as unknown as PendingRead; // let it go
      this.#head++;
      answer(read.onDone, { type: 'ready', index: read.index });
    }
    if (this.#head === reads.length) {
      this.#reads = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > reads.length) {
      this.#reads = reads.slice(this.#head);
      this.#head = 0;
    }
    return this.#lastUnconfirmedRound >= progress.quorumRound && this.size > 0 ? this.#lastUnconfirmedRound : -1;
  }

  /** Answers every waiting read with `answer` (leadership lost) and forgets them. */
  abandon(answer: (onDone: (result: ReadIndexResult) => void) => void): void {
    const reads = this.#reads.slice(this.#head);
    this.#reads = [];
    this.#head = 0;
    this.#lastUnconfirmedRound = -1;
    for (const read of reads) answer(read.onDone);
  }
}
