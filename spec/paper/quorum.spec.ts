// The pure helpers behind two Figure 2 rules, checked against naive oracles on random inputs:
// majorityMatchIndex (the N of "Leaders: a majority of matchIndex[i] >= N", §5.3/§5.4.2)
// and isAtLeastAsUpToDate (RequestVote's "at least as up-to-date", §5.4.1). Also quorumSize.

import fc from 'fast-check';
import { isAtLeastAsUpToDate, majorityMatchIndex, quorumSize } from '../../lib';

/** The largest N (0 if none) such that more than half of the values are >= N. */
function naiveMajorityMatchIndex(values: readonly number[]): number {
  let best = 0;
  for (const candidate of values) {
    const count = values.filter((v) => v >= candidate).length;
    if (2 * count > values.length && candidate > best) best = candidate;
  }
  return best;
}

/** Lexicographic (term, index) comparison, written out from §5.4.1. */
function naiveUpToDate(candidate: { index: number; term: number }, voter: { index: number; term: number }): boolean {
  if (candidate.term > voter.term) return true;
  if (candidate.term < voter.term) return false;
  return candidate.index >= voter.index;
}

describe('Pure helpers (lib/quorum.ts) against naive oracles', () => {
  // Reference: §5.3, §5.4.2 (majority of matchIndex), §5.4.1 (up-to-date), §5.2 (majority of the full cluster)

  it('majorityMatchIndex: equals the largest N held by a majority, for any match indexes', () => {
    // Reference: Figure 2 "Leaders" ("a majority of matchIndex[i] >= N")
    fc.assert(
      fc.property(fc.array(fc.nat(50), { minLength: 1, maxLength: 9 }), (values) => {
        expect(majorityMatchIndex(values)).toBe(naiveMajorityMatchIndex(values));
      }),
      { numRuns: 2000, seed: 42 },
    );
  });

  it('majorityMatchIndex: does not depend on the order of the servers and does not mutate its input', () => {
    // Reference: Figure 2 "Leaders"
    fc.assert(
      fc.property(fc.array(fc.nat(50), { minLength: 1, maxLength: 9 }).chain((v) => fc.tuple(fc.constant(v), fc.shuffledSubarray(v, { minLength: v.length }))), ([values, shuffled]) => {
        const copy = [...values];
        expect(majorityMatchIndex(shuffled)).toBe(majorityMatchIndex(values));
        expect(values).toEqual(copy);
      }),
      { numRuns: 500, seed: 43 },
    );
  });

  it('isAtLeastAsUpToDate: compares last term first, then last index', () => {
    // Reference: §5.4.1
    const position = fc.record({ index: fc.nat(20), term: fc.nat(20) });
    fc.assert(
      fc.property(position, position, (candidate, voter) => {
        expect(isAtLeastAsUpToDate(candidate, voter)).toBe(naiveUpToDate(candidate, voter));
      }),
      { numRuns: 2000, seed: 44 },
    );
    // The classic trap: a longer log with an older last term is NOT more up to date.
    expect(isAtLeastAsUpToDate({ index: 10, term: 1 }, { index: 2, term: 2 })).toBe(false);
    expect(isAtLeastAsUpToDate({ index: 2, term: 2 }, { index: 10, term: 1 })).toBe(true);
  });

  it('quorumSize: the smallest number of servers that is more than half of the cluster', () => {
    // Reference: §5.2 ("a majority of the servers in the full cluster")
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), (n) => {
        const q = quorumSize(n);
        expect(2 * q).toBeGreaterThan(n);
        expect(2 * (q - 1)).toBeLessThanOrEqual(n);
      }),
      { numRuns: 500, seed: 45 },
    );
  });
});
