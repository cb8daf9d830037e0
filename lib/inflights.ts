import type { LogIndex } from './types';

/**
 * The AppendEntries carrying entries that a leader has sent one follower and not yet seen
 * acknowledged, in the order sent, each by the last index it carries and the heartbeat round
 * it was sent in (as etcd-io/raft's Inflights, plus the round). Freed by index, so a reply
 * frees exactly the messages whose entries it acknowledges, however often it arrives; and
 * aged by heartbeat rounds, so only a message unanswered for a whole heartbeat period is
 * presumed lost.
 */
export class Inflights {
  readonly #lastIndexes: LogIndex[] = [];
  readonly #rounds: number[] = [];
  #head = 0;

  /** How many messages are in flight. */
  get count(): number {
    return this.#lastIndexes.length - this.#head;
  }

  /** Records a message carrying entries up to `lastIndex`, sent in heartbeat round `round`. */
  add(lastIndex: LogIndex, round: number): void {
    this.#lastIndexes.push(lastIndex);
    this.#rounds.push(round);
  }

  /** Frees every message whose entries all lie at or below `index` (the follower holds them). */
  freeUpTo(index: LogIndex): void {
    while (this.#head < this.#lastIndexes.length && (this.#lastIndexes[this.#head] as LogIndex) <= index) this.#head++;
    if (this.#head === this.#lastIndexes.length) this.clear();
    else if (this.#head > 64 && this.#head * 2 > this.#lastIndexes.length) this.#compact();
  }

  /** The heartbeat round the oldest message in flight was sent in, or `undefined` when none is. */
  oldestRound(): number | undefined {
    return this.#head < this.#rounds.length ? this.#rounds[this.#head] : undefined;
  }

  /** Forgets every message in flight (they are presumed lost, or their answers no longer matter). */
  clear(): void {
    this.#lastIndexes.length = 0; // in place: emptied after nearly every reply, so no new arrays
    this.#rounds.length = 0;
    this.#head = 0;
  }

  #compact(): void {
    this.#lastIndexes.splice(0, this.#head);
    this.#rounds.splice(0, this.#head);
    this.#head = 0;
  }
}
