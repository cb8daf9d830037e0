import { ProposalRefusedError } from './errors';
import type { LogIndex } from './types';

/**
 * A leader's guard on how much it holds appended but not committed (etcd's
 * MaxUncommittedEntriesSize): without it, a leader cut off from its followers (and not
 * using check-quorum) would append every proposal it gets, without bound. Counts the bytes
 * of data (by `entrySize`) of the batches this leader appended in its term.
 */
export class UncommittedSize {
  readonly #limit: number;
  #bytes = 0;
  /** The batches still uncommitted, oldest first: the last index of each and its size. */
  readonly #batches: { lastIndex: LogIndex; bytes: number }[] = [];

  /** A guard allowing at most `limit` bytes (Infinity: no guard, and no sizes are measured). */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /**
   * Admits a batch of `bytes` bytes ending at `lastIndex`, or refuses it when it would go past the limit. With
   * nothing uncommitted every batch is admitted, so a single large one is not refused forever.
   * @throws {@link ProposalRefusedError} when refused; nothing is counted then.
   */
  admit(bytes: number, lastIndex: LogIndex): void {
    if (this.#limit === Infinity) return;
    if (this.#bytes > 0 && this.#bytes + bytes > this.#limit) throw new ProposalRefusedError(bytes, this.#bytes, this.#limit);
    this.#bytes += bytes;
    this.#batches.push({ lastIndex, bytes });
  }

  /** Entries up to `commitIndex` are committed: their bytes no longer count. */
  committed(commitIndex: LogIndex): void {
    const batches = this.#batches;
    let k = 0;
    while (k < batches.length && (batches[k] as { lastIndex: LogIndex }).lastIndex <= commitIndex) {
      this.#bytes -= (batches[k] as { bytes: number }).bytes;
      k++;
    }
    if (k > 0) batches.splice(0, k);
  }
}
