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

/** A leader's reads waiting to be answered, in arrival order. */
export class ReadQueue {
  #reads: PendingRead[] = [];

  /** How many reads wait. */
  get size(): number {
    return this.#reads.length;
  }

  /** A read arrived in heartbeat round `round`; `confirmed` when a lease already vouches for the leadership. */
  add(onDone: (result: ReadIndexResult) => void, round: number, confirmed: boolean): void {
    this.#reads.push({ onDone, round, index: undefined, confirmed });
  }

  /**
   * Answers, through `answer`, every read that is ready given `progress`, and keeps the
   * others. Returns the latest arrival round of a read still waiting for a confirmation
   * (-1 when none waits for one): a heartbeat round after it must be sent.
   */
  serve(progress: ReadProgress, answer: (onDone: (result: ReadIndexResult) => void, result: ReadIndexResult) => void): number {
    const waiting: PendingRead[] = [];
    let needRound = -1;
    for (const read of this.#reads) {
      if (read.index === undefined && progress.ownTermCommitIndex !== undefined) read.index = progress.ownTermCommitIndex;
      if (!read.confirmed && progress.quorumRound > read.round) read.confirmed = true;
      if (read.index !== undefined && read.confirmed && progress.lastApplied >= read.index) {
        answer(read.onDone, { type: 'ready', index: read.index });
      } else {
        waiting.push(read);
        if (!read.confirmed && read.round > needRound) needRound = read.round;
      }
    }
    this.#reads = waiting;
    return needRound;
  }

  /** Answers every waiting read with `answer` (leadership lost) and forgets them. */
  abandon(answer: (onDone: (result: ReadIndexResult) => void) => void): void {
    const reads = this.#reads;
    this.#reads = [];
    for (const read of reads) answer(read.onDone);
  }
}
