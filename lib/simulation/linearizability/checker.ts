import { InvalidArgumentError } from '../../errors';
import { normalizeOperation, type KvHistory, type NormalizedOperation } from './history';
import { explainKey } from './explain';
import { minimizeKeyHistory } from './minimize';
import type { KeyCheckResult, LinearizabilityOptions, LinearizabilityResult } from './result';
import { searchKey } from './search';

/** Default of {@link LinearizabilityOptions.maxSteps}. */
export const DEFAULT_LINEARIZABILITY_MAX_STEPS = 1_000_000;
/** Default of {@link LinearizabilityOptions.maxMinimizeChecks}. */
export const DEFAULT_LINEARIZABILITY_MINIMIZE_CHECKS = 2_000;
/** Default of {@link LinearizabilityOptions.maxMinimizeSteps}. */
export const DEFAULT_LINEARIZABILITY_MINIMIZE_STEPS = 5_000_000;

/**
 * Decides whether a history of key-value client operations is linearizable: whether there
 * is one order of all its operations that respects real time (an operation that returned
 * before another was invoked comes first; see {@link happensBefore}) in which every read
 * returns the value the key-value model holds at that point (see {@link kvStep}), each
 * operation with an unknown outcome being free to have taken effect or not.
 *
 * Linearizability is compositional, so each key is checked on its own (as Porcupine and
 * Knossos partition histories), with the search of {@link searchKey}: the Wing & Gong
 * backtracking with Lowe's cache of (linearized set, state). For a key that is not
 * linearizable it builds a {@link KeyExplanation}, on a core shrunk by
 * {@link minimizeKeyHistory} unless `minimize` is `false`; {@link formatExplanation} prints
 * it. Each key's search is bounded by `maxSteps`: a key that needs more is `'unknown'`.
 *
 * @throws InvalidArgumentError when an operation is malformed (see {@link normalizeOperation})
 *   or an option is not a positive integer.
 *
 * @example
 * ```ts
 * const result = checkLinearizability([
 *   { client: 0, kind: 'put', key: 'x', value: '1', invokedAt: 0, returnedAt: 1, outcome: 'ok' },
 *   { client: 1, kind: 'put', key: 'x', value: '2', invokedAt: 2, returnedAt: 3, outcome: 'ok' },
 *   { client: 2, kind: 'get', key: 'x', result: '1', invokedAt: 4, returnedAt: 5, outcome: 'ok' },
 * ]);
 * result.linearizable; // false: the read is stale
 * console.log(formatExplanation(result));
 * ```
 */
export function checkLinearizability(history: KvHistory, options: LinearizabilityOptions = {}): LinearizabilityResult {
  const maxSteps = positiveInteger('maxSteps', options.maxSteps ?? DEFAULT_LINEARIZABILITY_MAX_STEPS);
  const maxChecks = positiveInteger('maxMinimizeChecks', options.maxMinimizeChecks ?? DEFAULT_LINEARIZABILITY_MINIMIZE_CHECKS);
  const maxMinimizeSteps = positiveInteger('maxMinimizeSteps', options.maxMinimizeSteps ?? DEFAULT_LINEARIZABILITY_MINIMIZE_STEPS);
  const minimize = options.minimize ?? true;
  const byKey = new Map<string, NormalizedOperation[]>();
  history.forEach((op, id) => {
    const normalized = normalizeOperation(op, id);
    if (normalized === undefined) return;
    const list = byKey.get(op.key);
    if (list === undefined) byKey.set(op.key, [normalized]);
    else list.push(normalized);
  });
  const keys: KeyCheckResult[] = [];
  let steps = 0;
  let operations = 0;
  for (const key of [...byKey.keys()].sort()) {
    const ops = byKey.get(key) as NormalizedOperation[];
    const found = searchKey(ops, maxSteps);
    steps += found.steps;
    operations += ops.length;
    const verdict = { key, operations: ops.length, linearizable: found.linearizable, steps: found.steps };
    if (found.linearizable !== false) {
      keys.push(verdict);
      continue;
    }
    const shrunk = minimize ? minimizeKeyHistory(ops, maxSteps, maxChecks, maxMinimizeSteps) : { core: ops, minimal: false };
    keys.push({ ...verdict, explanation: explainKey(key, ops.length, shrunk.core, shrunk.minimal, maxSteps) });
  }
  const linearizable = keys.some((k) => k.linearizable === false)
    ? false
    : keys.some((k) => k.linearizable === 'unknown')
      ? 'unknown'
      : true;
  return { linearizable, operations, keys, steps };
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new InvalidArgumentError(`options.${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}
