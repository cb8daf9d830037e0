import type { KvOperation } from './history';

/** The state of one key of the key-value model: its value, `undefined` when absent. */
export type KvState = string | undefined;

/** The state of a key no operation has touched. */
export const KV_INITIAL_STATE: KvState = undefined;

/** The outcome of a {@link kvStep} that the model accepts. */
export interface KvStepResult {
  /** The state after the operation. */
  readonly state: KvState;
}

/**
 * One step of the sequential key-value model: the state after `op`, or `null` when `op`
 * cannot happen in `state` (a `get` that returned something else than `state`).
 * `put` sets the value, `append` concatenates it (`undefined + v = v`), `get` leaves the
 * state alone and must have read it. A `get` with an unknown outcome never reaches here.
 *
 * @example
 * ```ts
 * kvStep('a', { client: 0, kind: 'append', key: 'x', value: 'b', invokedAt: 0, returnedAt: 1, outcome: 'ok' }); // { state: 'ab' }
 * ```
 */
export function kvStep(state: KvState, op: KvOperation): KvStepResult | null {
  switch (op.kind) {
    case 'put':
      return { state: op.value ?? '' };
    case 'append':
      return { state: (state ?? '') + (op.value ?? '') };
    case 'get':
      return op.result === state ? { state } : null;
  }
}

/** A state as a string key for the search's cache (`undefined` and `''` kept apart). */
export function stateKey(state: KvState): string {
  return state === undefined ? '-' : `+${state}`;
}
