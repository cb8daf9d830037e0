import type { LogIndex, LogPosition } from './types';

/**
 * The highest log index stored on a majority of the cluster, given each server's match
 * index (the leader's own last index included). A leader may commit that index only if
 * the entry there is of its current term (§5.4.2, Figure 8).
 *
 * @example
 * ```ts
 * majorityMatchIndex([7, 5, 3]);        // 5: servers 0 and 1 hold index 5
 * majorityMatchIndex([9, 2, 2, 8, 8]);  // 8
 * ```
 */
export function majorityMatchIndex(matchIndexes: readonly LogIndex[]): LogIndex {
  const sorted = [...matchIndexes].sort((a, b) => b - a);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/**
 * {@link majorityMatchIndex} without allocating: sorts `scratch` (the match indexes, which it
 * may reorder) in place, by insertion, which is the fastest sort for a cluster's handful of
 * servers. For a leader that recomputes it on every acknowledgement.
 */
export function majorityMatchIndexInPlace(scratch: LogIndex[]): LogIndex {
  for (let i = 1; i < scratch.length; i++) {
    const value = scratch[i] as LogIndex;
    let j = i - 1;
    while (j >= 0 && (scratch[j] as LogIndex) < value) {
      scratch[j + 1] = scratch[j] as LogIndex;
      j--;
    }
    scratch[j + 1] = value;
  }
  return scratch[Math.floor(scratch.length / 2)] ?? 0;
}

/** The number of votes that wins an election in a cluster of `clusterSize` servers. */
export function quorumSize(clusterSize: number): number {
  return Math.floor(clusterSize / 2) + 1;
}

/**
 * Whether a candidate's last log entry is at least as up to date as a voter's (§5.4.1):
 * the later term wins; with equal terms, the longer log wins.
 *
 * @example
 * ```ts
 * isAtLeastAsUpToDate({ index: 2, term: 3 }, { index: 9, term: 2 }); // true: term first
 * isAtLeastAsUpToDate({ index: 4, term: 2 }, { index: 5, term: 2 }); // false
 * ```
 */
export function isAtLeastAsUpToDate(candidate: LogPosition, voter: LogPosition): boolean {
  if (candidate.term !== voter.term) return candidate.term > voter.term;
  return candidate.index >= voter.index;
}
