import { formatKey, formatOperation, formatValue, happensBefore, type NormalizedOperation } from './history';
import { KV_INITIAL_STATE, kvStep, stateKey, type KvState } from './kv-model';
import type { KeyExplanation, LinearizabilityResult } from './result';
import { searchKey } from './search';

/** The step budget of {@link possibleValuesBefore}. */
const POSSIBLE_VALUES_STEPS = 200_000;

/**
 * Every value the key can hold just before `target` is linearized, over the sequences of
 * the other operations of `ops` that respect real time, hold every operation that happened
 * before `target` and none that happened after it, and agree with the reads they contain;
 * sorted, `undefined` (absent) first. `undefined` as a whole when the enumeration needs more
 * than its step budget (it is meant for a small core).
 */
export function possibleValuesBefore(
  ops: readonly NormalizedOperation[],
  target: NormalizedOperation,
): (string | undefined)[] | undefined {
  const candidates = ops.filter((o) => o !== target && !happensBefore(target, o));
  const required = candidates.filter((o) => happensBefore(o, target));
  const preds = candidates.map((c) => candidates.filter((d) => happensBefore(d, c)));
  const seen = new Set<string>();
  const values = new Map<string, KvState>();
  let steps = 0;
  const visit = (chosen: Set<NormalizedOperation>, state: KvState): boolean => {
    if (++steps > POSSIBLE_VALUES_STEPS) return false;
    const key = `${candidates.map((c) => (chosen.has(c) ? '1' : '0')).join('')}:${stateKey(state)}`;
    if (seen.has(key)) return true;
    seen.add(key);
    if (required.every((r) => chosen.has(r))) values.set(stateKey(state), state);
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i] as NormalizedOperation;
      if (chosen.has(c) || !(preds[i] as NormalizedOperation[]).every((d) => chosen.has(d))) continue;
      const after = kvStep(state, c.op);
      if (after === null) continue;
      chosen.add(c);
      const ok = visit(chosen, after.state);
      chosen.delete(c);
      if (!ok) return false;
    }
    return true;
  };
  if (!visit(new Set(), KV_INITIAL_STATE)) return undefined;
  // (Array.prototype.sort leaves undefined entries at the end without comparing them.)
  const defined = [...values.values()].filter((v): v is string => v !== undefined).sort();
  return values.has(stateKey(undefined)) ? [undefined, ...defined] : defined;
}

/** Orders operations by invocation time, then by position in the history. */
function byInvocation(a: NormalizedOperation, b: NormalizedOperation): number {
  return a.invokedAt - b.invokedAt || a.id - b.id;
}

/**
 * Explains why `core`, a non-linearizable history of one key, is not linearizable: the
 * longest linearizable prefix its search finds, the operation with a known outcome that
 * returns first among those left out (the search could not place it), the operations
 * concurrent with it and, for a read, the values it could have returned.
 */
export function explainKey(
  key: string,
  operationCount: number,
  core: readonly NormalizedOperation[],
  minimal: boolean,
  maxSteps: number,
): KeyExplanation {
  const sorted = core.slice().sort(byInvocation);
  const { longestPrefix } = searchKey(sorted, maxSteps);
  const placed = new Set(longestPrefix);
  const left = sorted.filter((o) => !placed.has(o) && o.returnedAt !== Infinity);
  left.sort((a, b) => a.returnedAt - b.returnedAt || byInvocation(a, b));
  // A non-linearizable history always leaves an operation with a known outcome unplaced.
  const failed = left[0] ?? (sorted[sorted.length - 1] as NormalizedOperation);
  const concurrent = sorted.filter((o) => o !== failed && !happensBefore(o, failed) && !happensBefore(failed, o));
  return {
    key,
    operationCount,
    core: sorted.map((o) => o.op),
    minimal,
    longestPrefix: longestPrefix.map((o) => o.op),
    failed: failed.op,
    concurrent: concurrent.map((o) => o.op),
    possibleValues: failed.op.kind === 'get' ? possibleValuesBefore(sorted, failed) : undefined,
  };
}

/** The lines explaining one key (see {@link formatExplanation}). */
function explanationLines(e: KeyExplanation): string[] {
  const size = e.minimal ? 'a minimal core' : 'a core';
  const lines = [`key ${formatKey(e.key)}: ${size} of ${e.core.length} of its ${e.operationCount} operations is not linearizable:`];
  for (const op of e.core) lines.push(`  ${formatOperation(op)}`);
  const prefix = e.longestPrefix.length === 0 ? '(none)' : e.longestPrefix.map(formatOperation).join(', ');
  lines.push(`longest linearizable prefix: ${prefix}`);
  const failed = e.failed;
  let why: string;
  if (failed.kind === 'get') {
    const possible = e.possibleValues === undefined ? '' : ` (possible values: ${e.possibleValues.map(formatValue).join(', ') || 'none'})`;
    why = `no order of the operations before it gives ${formatValue(failed.result)}${possible}`;
  } else {
    why = 'no order of the operations around it agrees with the reads';
  }
  lines.push(`${formatOperation(failed)}: ${why}`);
  lines.push(`concurrent with it: ${e.concurrent.length === 0 ? '(none)' : e.concurrent.map(formatOperation).join(', ')}`);
  return lines;
}

/**
 * A readable account of a {@link LinearizabilityResult}: one line when it is linearizable;
 * otherwise, for every failing key, its core of operations, the longest linearizable prefix,
 * and the operation that could not be placed, e.g.
 *
 * ```text
 * not linearizable: key x
 * key x: a minimal core of 3 of its 40 operations is not linearizable:
 *   client 0 put x "1" [t=0..1]
 *   client 1 put x "2" [t=2..3]
 *   client 2 get x -> "1" [t=4..5]
 * longest linearizable prefix: client 0 put x "1" [t=0..1], client 1 put x "2" [t=2..3]
 * client 2 get x -> "1" [t=4..5]: no order of the operations before it gives "1" (possible values: "2")
 * concurrent with it: (none)
 * ```
 */
export function formatExplanation(result: LinearizabilityResult): string {
  const undecided = result.keys.filter((k) => k.linearizable === 'unknown').map((k) => formatKey(k.key));
  const undecidedLine = `undecided: the step budget ran out on key${undecided.length === 1 ? '' : 's'} ${undecided.join(', ')}`;
  if (result.linearizable === true) {
    return `linearizable: ${result.operations} operations on ${result.keys.length} keys (${result.steps} steps)`;
  }
  if (result.linearizable === 'unknown') return undecidedLine;
  const failing = result.keys.filter((k) => k.linearizable === false);
  const lines = [`not linearizable: key${failing.length === 1 ? '' : 's'} ${failing.map((k) => formatKey(k.key)).join(', ')}`];
  if (undecided.length > 0) lines.push(undecidedLine);
  for (const k of failing) if (k.explanation !== undefined) lines.push(...explanationLines(k.explanation));
  return lines.join('\n');
}

