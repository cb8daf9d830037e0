import { majorityMatchIndex } from './quorum';
import type { ServerState } from './server-state';
import type { LogIndex } from './types';

/**
 * Commitment (§5.3, §5.4.2): when an entry is committed, and how committed entries reach the
 * application.
 */

/**
 * The index a leader may commit given each server's match index (its own last index in its
 * own slot): the highest index stored on a majority, but only if its entry is of the leader's
 * current term (Figure 8); otherwise the current `commitIndex`.
 */
export function leaderCommitIndex<T>(state: ServerState<T>, matchIndexes: readonly LogIndex[]): LogIndex {
  const { log } = state;
  const majority = majorityMatchIndex(matchIndexes);
  if (majority > log.commitIndex && log.termAt(majority) === state.currentTerm) return majority;
  return log.commitIndex;
}

/** Raises `commitIndex` to `index` and hands the newly committed entries to the `committed` event. */
export function commitUpTo<T>(state: ServerState<T>, index: LogIndex): void {
  const { log } = state;
  log.commitIndex = index;
  const entries = log.entries(log.lastApplied + 1, index);
  log.lastApplied = index;
  state.events.raise('committed', entries);
}
