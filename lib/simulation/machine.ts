import { InvalidArgumentError } from '../errors';
import type { StateMachine } from '../state-machine';
import type { LogEntry, LogIndex } from '../types';
import { EMPTY_DIGEST, digestStep } from './invariants';
import type { AppliedDigest } from './observe';

/**
 * A state machine the simulator runs on every server, applying committed entries; with
 * {@link SimulatedStateMachine.restore} it also takes part in log compaction.
 */
export interface SimulatedStateMachine<T> {
  /** Applies one committed entry's data. */
  apply(data: T): void;
  /** The state as a string, compared across servers (and, with `restore`, carried in snapshots). */
  snapshot(): string;
  /**
   * Optional: replaces the whole state with the one `state` (a string from `snapshot()`,
   * here or on another server) describes. A machine without it runs only in simulations
   * without compaction (it cannot be snapshotted).
   */
  restore?(state: string): void;
}

/** What a {@link DigestStateMachine} snapshot holds, as JSON text. */
interface DigestSnapshot {
  readonly applied: LogIndex;
  readonly digest: number;
  readonly state?: string;
}

/**
 * The simulator's {@link StateMachine}: it keeps the index of the last entry applied and the
 * digest of every entry applied, in order (see {@link digestStep}), so that the
 * `stateMachineMatchesLog` invariant can compare it, in O(1), with the committed prefix; and
 * it drives the user's {@link SimulatedStateMachine}, when given one. Its snapshots are the
 * JSON text of that state, as bytes; restoring one replaces everything, and a snapshot that
 * is not one of its own (chunks of two snapshots mixed, say) is refused with an error.
 *
 * @example
 * ```ts
 * const machine = new DigestStateMachine<string>((data) => JSON.stringify(data));
 * machine.apply({ index: 1, term: 1, data: 'v1' });
 * const copy = new DigestStateMachine<string>((data) => JSON.stringify(data));
 * copy.restoreSnapshot(machine.takeSnapshot());
 * copy.digest === machine.digest; // true
 * ```
 */
export class DigestStateMachine<T> implements StateMachine<T>, AppliedDigest {
  readonly #key: (data: T) => string;
  /** The user's machine driven by this one, if any. */
  readonly inner: SimulatedStateMachine<T> | undefined;
  #applied: LogIndex = 0;
  #digest = EMPTY_DIGEST;
  /** How many snapshots were restored into this machine. */
  restores = 0;

  /** A machine in the empty state; `key` compares entry data, as the checker's; `inner` is driven along. */
  constructor(key: (data: T) => string, inner?: SimulatedStateMachine<T>) {
    this.#key = key;
    this.inner = inner;
  }

  /** Index of the last entry applied (or covered by the snapshot restored). */
  get applied(): LogIndex {
    return this.#applied;
  }

  /** Digest of the entries applied. */
  get digest(): number {
    return this.#digest;
  }

  /** Applies one committed entry: folds it into the digest, and applies its data to the inner machine. */
  apply(entry: LogEntry<T>): void {
    this.#digest = digestStep(this.#digest, entry.index, entry.term, this.#key(entry.data));
    this.#applied = entry.index;
    this.inner?.apply(entry.data);
  }

  /** The state as the bytes of its JSON text. */
  takeSnapshot(): Uint8Array {
    const state: DigestSnapshot = { applied: this.#applied, digest: this.#digest, ...(this.inner === undefined ? {} : { state: this.inner.snapshot() }) };
    return new TextEncoder().encode(JSON.stringify(state));
  }

  /**
   * Replaces the state with the one `data` holds.
   * @throws {@link InvalidArgumentError} when `data` is not a snapshot of this kind of machine.
   */
  restoreSnapshot(data: Uint8Array): void {
    let state: DigestSnapshot;
    try {
      state = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data)) as DigestSnapshot;
    } catch (error) {
      throw new InvalidArgumentError(`DigestStateMachine.restoreSnapshot: not a snapshot of this machine (${error instanceof Error ? error.message : String(error)})`);
    }
    if (typeof state !== 'object' || state === null || !Number.isSafeInteger(state.applied) || !Number.isSafeInteger(state.digest)) {
      throw new InvalidArgumentError('DigestStateMachine.restoreSnapshot: not a snapshot of this machine (no applied index and digest)');
    }
    if (this.inner !== undefined) {
      if (typeof state.state !== 'string' || typeof this.inner.restore !== 'function') throw new InvalidArgumentError('DigestStateMachine.restoreSnapshot: the inner machine cannot be restored from this snapshot');
      this.inner.restore(state.state);
    }
    this.#applied = state.applied;
    this.#digest = state.digest;
    this.restores++;
  }
}
