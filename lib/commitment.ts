import { majorityMatchIndexInPlace } from './quorum';
import type { ServerState } from './server-state';
import type { LogEntry, LogIndex } from './types';

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
 * Applies committed entries not yet applied, at most what is left of the step's budget
 * (`maxCommittedEntriesPerEvent`): each to the state machine, if there is one, then all of
 * them to the `committed` event; `lastApplied` follows. Entries the library wrote for itself
 * (no-ops) are skipped: neither the state machine nor the event sees them. What the budget leaves over is
 * applied by later steps (the server's deadline is then now). When the state machine throws,
 * the entries before the failing one count as applied (and are reported), the failing one
 * does not, and the error leaves the call.
 */
export function applyCommitted<T>(state: ServerState<T>): void {
  const { log } = state;
  const backlog = log.commitIndex - log.lastApplied;
  if (backlog <= 0 || state.applyBudget <= 0) return;
  const count = Math.min(backlog, state.applyBudget);
  const entries = log.entries(log.lastApplied + 1, log.lastApplied + count);
  const stateMachine = state.options.stateMachine;
  let applied = 0;
  let noops = 0;
  try {
    for (; applied < entries.length; applied++) {
      const entry = entries[applied] as LogEntry<T>;
      if (entry.kind !== undefined) noops++; // written by the library for itself: skipped
      else stateMachine?.apply(entry);
    }
  } finally {
    if (applied > 0) {
      log.lastApplied += applied;
      state.applyBudget -= applied;
      let batch = applied === entries.length ? entries : entries.slice(0, applied);
      if (noops > 0) batch = batch.filter((entry) => entry.kind === undefined);
      if (batch.length > 0) state.events.raise('committed', batch);
    }
  }
}
