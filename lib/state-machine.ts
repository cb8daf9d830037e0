import { describe, InvalidArgumentError } from './errors';
import type { LogEntry } from './types';

/**
 * The application's state, driven by a {@link Server} (Raft §7): the server applies each
 * committed entry to it once, in index order, asks it for a snapshot when it compacts its
 * log, and replaces its whole state when a leader sends a snapshot.
 *
 * Every method runs inside the server's call that caused it (a `processMessage`, `tick`,
 * `propose`, or the constructor), so it must not call back into the server.
 *
 * @example
 * ```ts
 * class Counter implements StateMachine<number> {
 *   total = 0;
 *   apply(entry: LogEntry<number>): void { this.total += entry.data; }
 *   takeSnapshot(): Uint8Array { return new TextEncoder().encode(String(this.total)); }
 *   restoreSnapshot(data: Uint8Array): void { this.total = Number(new TextDecoder().decode(data)); }
 * }
 * ```
 */
export interface StateMachine<T> {
  /**
   * Applies one committed entry. Called for every committed data entry, in index order,
   * each once per server start (the same entries the `committed` event reports). If it
   * throws, the error leaves the server's call, the entry counts as not applied, and a later
   * call applies it again.
   */
  apply(entry: LogEntry<T>): void;
  /** The state after every entry applied so far, as bytes that {@link StateMachine.restoreSnapshot} reads back. */
  takeSnapshot(): Uint8Array;
  /** Replaces the whole state with the one `data` describes (from {@link StateMachine.takeSnapshot}, here or on another server). */
  restoreSnapshot(data: Uint8Array): void;
}

/**
 * Checks that `value` looks like a {@link StateMachine}: an object with the three methods.
 * @returns the name of the first missing method, or `undefined` when none is missing.
 */
export function missingStateMachineMethod(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'apply';
  const record = value as Record<string, unknown>;
  for (const method of ['apply', 'takeSnapshot', 'restoreSnapshot']) {
    if (typeof record[method] !== 'function') return method;
  }
  return undefined;
}

/**
 * Asks `stateMachine` for a snapshot and checks it is bytes.
 * @throws {@link InvalidArgumentError} when `takeSnapshot` returns anything but a `Uint8Array`.
 */
export function takeSnapshotData<T>(stateMachine: StateMachine<T>): Uint8Array {
  const data: unknown = stateMachine.takeSnapshot();
  if (!(data instanceof Uint8Array)) throw new InvalidArgumentError(`stateMachine.takeSnapshot must return a Uint8Array, got ${describe(data)}`);
  return data;
}

