import { quorumSize } from './quorum';
import type { ServerId } from './types';

/**
 * Check-quorum (thesis §6.2, §9.6): a leader keeps, for every follower, the clock time of
 * the last answer it got from it in its term. The time by which it has heard from a
 * majority (itself always counts) tells it when to step down: a leader that has not heard
 * from a majority within an election timeout may have been replaced, and stops leading.
 */
export class QuorumContact {
  readonly #heardAt: number[];
  readonly #self: ServerId;
  readonly #quorum: number;
  /** Scratch space for finding the majority's time without allocating. */
  readonly #scratch: number[];
  /** The majority's time, until an answer changes it. */
  #majority: number | undefined = undefined;

  /**
   * Contact of a leader that took office: every follower counts as heard from at `since`
   * (for check-quorum, the time it took office, so each gets a whole election timeout to
   * answer; for a read lease, `-Infinity`: nobody vouched for it yet).
   */
  constructor(clusterSize: number, self: ServerId, since: number) {
    this.#heardAt = new Array<number>(clusterSize).fill(since);
    this.#scratch = new Array<number>(clusterSize).fill(0);
    this.#self = self;
    this.#quorum = quorumSize(clusterSize);
  }

  /** `server` answered at `now`. */
  heard(server: ServerId, now: number): void {
    if (now > (this.#heardAt[server] as number)) {
      this.#heardAt[server] = now;
      this.#majority = undefined;
    }
  }

  /** The latest time by which a majority (the leader included, as of always) has been heard from. */
  majorityHeardAt(): number {
    if (this.#majority !== undefined) return this.#majority;
    const times = this.#scratch;
    let count = 0;
    for (let server = 0; server < this.#heardAt.length; server++) {
      const time = server === this.#self ? Infinity : (this.#heardAt[server] as number);
      // insertion sort, latest first (a handful of servers: no comparator, no allocation)
      let k = count++;
      while (k > 0 && (times[k - 1] as number) < time) {
        times[k] = times[k - 1] as number;
        k--;
      }
      times[k] = time;
    }
    this.#majority = times[this.#quorum - 1] as number;
    return this.#majority;
  }
}
