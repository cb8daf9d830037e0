// Figure 2, "RequestVote RPC / Receiver implementation".
// Covers rule 3 (one vote per term, idempotent for the same candidate, durable across a
// restart), rule 4 (the up-to-date check compares the last TERM before the last INDEX,
// §5.4.1) and rule 5 (a denied vote still gets exactly one reply).

import { Harness, makeState } from './harness';
import type { LogPosition, RequestVoteReply } from '../../lib';

describe('Rule 3 — one vote per term', () => {
  // Reference: §5.2 ("Each server will vote for at most one candidate in a given term, on a first-come-first-served basis"), Figure 2 RequestVote receiver step 2.

  function voter(): Harness {
    return new Harness({ id: 0, clusterSize: 5, state: makeState({ log: [1], term: 1 }) });
  }

  it('one vote per term: a second candidate in the same term is denied', () => {
    // Reference: §5.2, Figure 2 RequestVote step 2 ("If votedFor is null or candidateId ...")
    const h = voter();
    expect(h.requestVote({ term: 2, candidateId: 1, last: { index: 1, term: 1 } })).toEqual([{ voter: 0, voterTerm: 2, voteGranted: true }]);
    expect(h.requestVote({ term: 2, candidateId: 2, last: { index: 5, term: 2 } })).toEqual([{ voter: 0, voterTerm: 2, voteGranted: false }]);
    expect(h.state.votedFor).toBe(1);
    expect(h.state.currentTerm).toBe(2);
  });

  it('one vote per term: the same candidate asking twice in a term is granted again (idempotent)', () => {
    // Reference: §5.2, Figure 2 RequestVote step 2 ("votedFor is null or candidateId")
    const h = voter();
    expect(h.requestVote({ term: 2, candidateId: 1, last: { index: 1, term: 1 } })).toEqual([{ voter: 0, voterTerm: 2, voteGranted: true }]);
    expect(h.requestVote({ term: 2, candidateId: 1, last: { index: 1, term: 1 } })).toEqual([{ voter: 0, voterTerm: 2, voteGranted: true }]);
    expect(h.state.votedFor).toBe(1);
  });

  it('one vote per term: a candidate, having voted for itself, denies another candidate of its term', () => {
    // Reference: §5.2 ("votes for itself"), Figure 2 RequestVote step 2
    const h = voter();
    h.server.triggerTimeout();
    expect(h.server.role).toBe('candidate');
    expect(h.server.currentTerm).toBe(2);
    expect(h.requestVote({ term: 2, candidateId: 3, last: { index: 9, term: 2 } })).toEqual([{ voter: 0, voterTerm: 2, voteGranted: false }]);
    expect(h.state.votedFor).toBe(0);
    expect(h.server.role).toBe('candidate');
  });

  it('one vote per term: the vote survives a restart (a new Server over the same state denies another candidate)', () => {
    // Reference: §5.2, Figure 2 "Persistent state on all servers" (votedFor, updated on stable storage before responding)
    const h = voter();
    expect(h.requestVote({ term: 2, candidateId: 1, last: { index: 1, term: 1 } })[0]?.voteGranted).toBe(true);
    h.restart();
    expect(h.server.currentTerm).toBe(2);
    expect(h.requestVote({ term: 2, candidateId: 2, last: { index: 1, term: 1 } })).toEqual([{ voter: 0, voterTerm: 2, voteGranted: false }]);
    expect(h.requestVote({ term: 2, candidateId: 1, last: { index: 1, term: 1 } })).toEqual([{ voter: 0, voterTerm: 2, voteGranted: true }]);
  });

  it('one vote per term: a candidate restarted in its term still denies others (its self-vote survives)', () => {
    // Reference: §5.2, Figure 2 "Persistent state on all servers"
    const h = voter();
    h.server.triggerTimeout(); // term 2, voted for itself
    h.restart();
    expect(h.server.role).toBe('follower');
    expect(h.requestVote({ term: 2, candidateId: 4, last: { index: 1, term: 1 } })).toEqual([{ voter: 0, voterTerm: 2, voteGranted: false }]);
  });
});

describe('Rule 4 — up-to-date check: last TERM compared before last INDEX', () => {
  // Reference: §5.4.1 ("If the logs have last entries with different terms, then the log with the later term is more up-to-date. If the logs end with the same term, then whichever log is longer is more up-to-date."), Figure 2 RequestVote step 2.

  // The voter's log is [1, 2, 2]: last entry {index 3, term 2}. The candidates run in term 3.
  const cases: Array<[string, LogPosition, boolean]> = [
    ['a candidate with a LONGER log but an OLDER last term is denied', { index: 5, term: 1 }, false],
    ['a candidate with a SHORTER log but a NEWER last term is granted', { index: 2, term: 3 }, true],
    ['a candidate with the same last term and a shorter log is denied', { index: 2, term: 2 }, false],
    ['a candidate whose last entry equals the voter\'s is granted', { index: 3, term: 2 }, true],
    ['a candidate with the same last term and a longer log is granted', { index: 4, term: 2 }, true],
    ['a candidate with an empty log is denied', { index: 0, term: 0 }, false],
  ];

  it.each(cases)('up-to-date check: %s', (_name, last, granted) => {
    // Reference: §5.4.1
    const h = new Harness({ id: 0, clusterSize: 5, state: makeState({ log: [1, 2, 2], term: 2 }) });
    const replies = h.requestVote({ term: 3, candidateId: 1, last });
    expect(replies).toEqual([{ voter: 0, voterTerm: 3, voteGranted: granted }]);
    expect(h.state.votedFor).toBe(granted ? 1 : undefined);
    expect(h.state.currentTerm).toBe(3);
  });

  it('up-to-date check: a voter with an empty log grants any candidate of a newer term', () => {
    // Reference: §5.4.1
    const h = new Harness({ id: 0, clusterSize: 3 });
    expect(h.requestVote({ term: 1, candidateId: 2, last: { index: 0, term: 0 } })).toEqual([{ voter: 0, voterTerm: 1, voteGranted: true }]);
  });
});

describe('Rule 5 — a denied vote still gets exactly one reply', () => {
  // Reference: §5.2 / Figure 2 RequestVote ("Results: term, voteGranted"): every RPC gets a response; the F# original sent none on denial.

  const denials: Array<[string, (h: Harness) => void, { term: number; candidateId: number; last: LogPosition }, number]> = [
    ['stale term', () => {}, { term: 1, candidateId: 1, last: { index: 5, term: 1 } }, 2],
    ['already voted for another candidate', (h) => void h.requestVote({ term: 3, candidateId: 2, last: { index: 2, term: 2 } }), { term: 3, candidateId: 1, last: { index: 2, term: 2 } }, 3],
    ['candidate log not up to date (same term)', () => {}, { term: 2, candidateId: 1, last: { index: 1, term: 1 } }, 2],
    ['candidate log not up to date (newer term)', () => {}, { term: 4, candidateId: 1, last: { index: 9, term: 1 } }, 4],
    ['receiver is a candidate of that term', (h) => h.server.triggerTimeout(), { term: 3, candidateId: 1, last: { index: 2, term: 2 } }, 3],
  ];

  it.each(denials)('denied vote gets exactly one reply with voteGranted=false: %s', (_name, before, request, expectedTerm) => {
    // Reference: §5.2, Figure 2 RequestVote RPC results
    const h = new Harness({ id: 0, clusterSize: 3, state: makeState({ log: [1, 2], term: 2 }) });
    before(h);
    const replies: RequestVoteReply[] = h.requestVote(request);
    expect(replies).toEqual([{ voter: 0, voterTerm: expectedTerm, voteGranted: false }]);
  });
});
