import type { NormalizedOperation } from './history';
import { searchKey } from './search';

/** What {@link minimizeKeyHistory} returns. */
export interface MinimizedHistory {
  /** The operations kept, in the order given. */
  readonly core: readonly NormalizedOperation[];
  /** `true` when no single operation of the core can be dropped (see {@link minimizeKeyHistory}). */
  readonly minimal: boolean;
  /** How many candidate histories were searched. */
  readonly checks: number;
  /** The steps of those searches. */
  readonly steps: number;
}

/**
 * Shrinks a non-linearizable history of one key to a small core that is still not
 * linearizable, by greedy delta debugging: it tries to drop chunks of half the operations,
 * then a quarter, and so on down to single operations, keeping every drop after which the
 * search still answers `false` (an `'unknown'` answer keeps the operations), and repeats the
 * single-operation pass until nothing more goes. A write whose value occurs in the result
 * of a kept read is never dropped, so the core does not turn "a stale value" into "a value
 * nobody wrote". At most `maxChecks` searches, each with at most `maxSteps` steps and all
 * together at most `maxTotalSteps`; when either runs out, the core is returned as it is,
 * with `minimal: false`.
 */
export function minimizeKeyHistory(
  ops: readonly NormalizedOperation[],
  maxSteps: number,
  maxChecks: number,
  maxTotalSteps: number = Infinity,
): MinimizedHistory {
  let core = ops.slice();
  let checks = 0;
  let steps = 0;
  const protectedWrite = (o: NormalizedOperation, kept: readonly NormalizedOperation[]): boolean =>
    o.op.kind !== 'get' &&
    kept.some((g) => g.op.kind === 'get' && g.op.result !== undefined && g.op.result.includes(o.op.value ?? ''));
  /** Tries to drop core[from, from + size); true if it did. */
  const tryDrop = (from: number, size: number): boolean | 'out' => {
    const dropped = core.slice(from, from + size);
    const kept = core.slice(0, from).concat(core.slice(from + size));
    if (dropped.some((o) => protectedWrite(o, kept))) return false;
    if (checks >= maxChecks || steps >= maxTotalSteps) return 'out';
    checks++;
    const found = searchKey(kept, Math.min(maxSteps, maxTotalSteps - steps));
    steps += found.steps;
    if (found.linearizable !== false) return false;
    core = kept;
    return true;
  };
  for (let size = Math.ceil(core.length / 2); size > 1; size = Math.ceil(size / 2)) {
    for (let from = 0; from < core.length; ) {
      const dropped = tryDrop(from, size);
      if (dropped === 'out') return { core, minimal: false, checks, steps };
      if (!dropped) from += size;
    }
  }
  for (let changed = true; changed; ) {
    changed = false;
    for (let from = 0; from < core.length; ) {
      const dropped = tryDrop(from, 1);
      if (dropped === 'out') return { core, minimal: false, checks, steps };
      if (dropped) changed = true;
      else from++;
    }
  }
  return { core, minimal: true, checks, steps };
}
