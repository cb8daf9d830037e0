import { majorityMatchIndexInPlace } from './quorum';
import type { ServerState } from './server-state';
import type { LogIndex } from './types';

/**
 * Commitment (§5.3, §5.4.2): when an entry is committed, and how committed entries reach the
 * application.
 */

/**
 * The index a leader may commit given each server's match index (its own durable last index
 * in its own slot): the highest index stored on a majority, but only if its entry is of the
 * leader's current term (Figure 8); otherwise the current `commitIndex`. `matchIndexes` is
 * scratch space: it is reordered.
 */
export function leaderCommitIndex<T>(state: ServerState<T>, matchIndexes: LogIndex[]): LogIndex {
  const { log } = state;
  const majority = majorityMatchIndexInPlace(matchIndexes);
  if (majority > log.commitIndex && log.termAt(majority) === state.currentTerm) return majority;
  return log.commitIndex;
}

/** Raises `commitIndex` to `index` and hands the newly committed entries to the `committed` event. */
export function commitUpTo<T>(state: ServerState<T>, index: LogIndex): void {
  state.log.commitIndex = index;
  applyCommitted(state);
}

/**
 * Hands committed entries not yet applied to the `committed` event, at most what is left of
 * the step's budget (`maxCommittedEntriesPerEvent`); `lastApplied` follows. What the budget
 * leaves over is applied by later steps (the server's deadline is then now).
 */
export function applyCommitted<T>(state: ServerState<T>): void {
  const { log } = state;
  const backlog = log.commitIndex - log.lastApplied;
  if (backlog <= 0 || state.applyBudget <= 0) return;
  const count = Math.min(backlog, state.applyBudget);
  const to = log.lastApplied + count;
  const entries = log.entries(log.lastApplied + 1, to);
  log.lastApplied = to;
  state.applyBudget -= count;
  state.events.raise('committed', entries);
}
