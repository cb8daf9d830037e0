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
  /** Slots `#head..#tail - 1` hold the messages in flight; the arrays are reused, never shrunk. */
  readonly #lastIndexes: LogIndex[] = [];
  readonly #rounds: number[] = [];
  #head = 0;
  #tail = 0;

  /** How many messages are in flight. */
  get count(): number {
    return this.#tail - this.#head;
  }

  /** Records a message carrying entries up to `lastIndex`, sent in heartbeat round `round`. */
  add(lastIndex: LogIndex, round: number): void {
    const tail = this.#tail++;
    this.#lastIndexes[tail] = lastIndex;
    this.#rounds[tail] = round;
  }

  /** Frees every message whose entries all lie at or below `index` (the follower holds them). */
  freeUpTo(index: LogIndex): void {
    while (this.#head < this.#tail && (this.#lastIndexes[this.#head] as LogIndex) <= index) this.#head++;
    if (this.#head === this.#tail) this.clear();
    else if (this.#head > 64 && this.#head * 2 > this.#tail) this.#compact();
  }

  /** The heartbeat round the oldest message in flight was sent in, or `undefined` when none is. */
  oldestRound(): number | undefined {
    return this.#head < this.#tail ? this.#rounds[this.#head] : undefined;
  }

  /** Forgets every message in flight (they are presumed lost, or their answers no longer matter). */
  clear(): void {
    this.#head = 0; // the slots are overwritten by later adds: emptied after nearly every reply, so nothing is allocated or resized
    this.#tail = 0;
  }

  #compact(): void {
    this.#lastIndexes.copyWithin(0, this.#head, this.#tail);
    this.#rounds.copyWithin(0, this.#head, this.#tail);
    this.#tail -= this.#head;
    this.#head = 0;
  }
}
