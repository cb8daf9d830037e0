import type { LogIndex, Term } from '../types';
import type { CommandOutcome } from './client-sessions';
import { NoLeaderError } from './node-errors';
import type { Settled } from './outcomes';

interface AppliedWaiter {
  readonly term: Term;
  readonly settle: (outcome: Settled) => void;
  readonly deadline: number;
}

/**
 * A leader's proposals waiting to be applied, by log index, each with the term it was
 * appended in: applying an entry settles the waiter of its index with the state machine's
 * outcome when the term matches, and as unknown when a later leader's entry took the index.
 */
export class AppliedWaiters {
  readonly #waiters = new Map<LogIndex, AppliedWaiter>();
  /** Outcomes applied while a `proposeAll` runs, before its waiters are known. */
  #capture: Map<LogIndex, { readonly term: Term; readonly outcome: CommandOutcome }> | undefined;

  /**
   * Runs `propose`, which appends entries (and in a one-member cluster may apply them at
   * once), then registers one waiter per appended entry from `firstIndex` on. Outcomes
   * applied during `propose` settle their waiters right away.
   */
  proposeAndWait<R>(propose: () => R, appended: (result: R) => { readonly firstIndex: LogIndex; readonly term: Term } | undefined, waiters: readonly { readonly settle: (outcome: Settled) => void; readonly deadline: number }[]): R {
    const capture = new Map<LogIndex, { readonly term: Term; readonly outcome: CommandOutcome }>();
    this.#capture = capture;
    let result: R;
    try {
      result = propose();
    } finally {
      this.#capture = undefined;
    }
    const position = appended(result);
    if (position === undefined) return result;
    waiters.forEach((waiter, offset) => {
      const index = position.firstIndex + offset;
      const early = capture.get(index);
      if (early === undefined) this.#waiters.set(index, { term: position.term, settle: waiter.settle, deadline: waiter.deadline });
      else waiter.settle(early.term === position.term ? early.outcome : { ok: false, code: 'OUTCOME_UNKNOWN', message: `entry ${index} was replaced` });
    });
    return result;
  }

  /** An entry was applied: settles the waiter of its index, if any. */
  applied(index: LogIndex, term: Term, outcome: CommandOutcome): void {
    const waiter = this.#waiters.get(index);
    if (waiter === undefined) {
      this.#capture?.set(index, { term, outcome });
      return;
    }
    this.#waiters.delete(index);
    if (waiter.term === term) waiter.settle(outcome);
    else waiter.settle({ ok: false, code: 'OUTCOME_UNKNOWN', message: `entry ${index} was replaced by a later leader's` });
  }

  /** Fails waiters past their deadline, and waiters whose index was applied without them (a no-op or a snapshot took it). */
  sweep(now: number, lastApplied: LogIndex, timeoutMs: number): void {
    for (const [index, waiter] of this.#waiters) {
      if (index <= lastApplied) waiter.settle({ ok: false, code: 'OUTCOME_UNKNOWN', message: `entry ${index} was replaced or covered by a snapshot before this member applied it` });
      else if (waiter.deadline <= now) waiter.settle({ ok: false, code: 'OUTCOME_UNKNOWN', message: `entry ${index} was not applied within ${timeoutMs} ms` });
      else continue;
      this.#waiters.delete(index);
    }
  }

  /** Settles every waiter with `outcome` and forgets them all. */
  failAll(outcome: Settled): void {
    for (const waiter of this.#waiters.values()) waiter.settle(outcome);
    this.#waiters.clear();
  }
}

/** Reads waiting for this member to apply up to a read index (thesis §6.4, a follower's side). */
export class IndexWaiters {
  #waiting: { readonly index: LogIndex; readonly settle: (error: Error | undefined) => void; readonly deadline: number }[] = [];

  /** Settles at once when `lastApplied` has reached `index`, else when it does (or fails at `deadline`). */
  wait(index: LogIndex, lastApplied: LogIndex, deadline: number, settle: (error: Error | undefined) => void): void {
    if (lastApplied >= index) settle(undefined);
    else this.#waiting.push({ index, settle, deadline });
  }

  /** Settles the waiters that `lastApplied` has reached. */
  release(lastApplied: LogIndex): void {
    if (this.#waiting.length === 0) return;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const waiter of waiting) {
      if (waiter.index <= lastApplied) waiter.settle(undefined);
      else this.#waiting.push(waiter);
    }
  }

  /** Fails the waiters past their deadline with `NoLeaderError` (a read is safe to retry). */
  sweep(now: number): void {
    if (this.#waiting.length === 0) return;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const waiter of waiting) {
      if (waiter.deadline <= now) waiter.settle(new NoLeaderError(`this member did not apply up to the read index ${waiter.index} in time`));
      else this.#waiting.push(waiter);
    }
  }

  /** Fails every waiter with `error`. */
  failAll(error: Error): void {
    for (const waiter of this.#waiting) waiter.settle(error);
    this.#waiting = [];
  }
}
