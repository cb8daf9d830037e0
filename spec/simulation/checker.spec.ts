/**
 * The SafetyChecker on its own: hand-made observation histories that break each invariant
 * must be reported under the right name, and valid histories (including the awkward but
 * legal ones: a restarted server committing from 1 again, a truncation of uncommitted
 * entries, a leader re-announced in its own term) must report nothing, so neither a checker
 * that misses violations nor one that always complains gets through.
 */
import { SafetyChecker, type InvariantName, type LogEntry, type LogReader } from '../../lib';

type Entry = LogEntry<string>;

/** entry(index, term, data) */
const e = (index: number, term: number, data: string): Entry => ({ index, term, data });

/** A LogReader over entries given as [term, data] pairs, index 1 first. */
function log(...entries: [number, string][]): LogReader<string> {
  const all = entries.map(([term, data], k) => e(k + 1, term, data));
  return { lastIndex: all.length, entry: (index) => all[index - 1] };
}
const emptyLog = log();

/** A Server object stand-in: the checker only uses its identity. */
const serverObject = (): object => ({});

function expectViolation(checker: SafetyChecker<string>, invariant: InvariantName): string {
  const violation = checker.violation;
  expect(violation).toBeDefined();
  expect(violation?.invariant).toBe(invariant);
  return violation?.message ?? '';
}

describe('SafetyChecker: electionSafety', () => {
  it('reports two servers leading the same term, naming both and the term', () => {
    const checker = new SafetyChecker<string>();
    checker.leaderElected(0, 1, emptyLog);
    expect(checker.violation).toBeUndefined();
    checker.leaderElected(1, 1, emptyLog);
    expect(checker.violation).toEqual({ invariant: 'electionSafety', message: 'servers 0 and 1 are both leader of term 1' });
  });

  it('reports a second leader of an old term long after later terms', () => {
    const checker = new SafetyChecker<string>();
    checker.leaderElected(2, 3, emptyLog);
    checker.leaderElected(0, 4, emptyLog);
    checker.leaderElected(1, 5, emptyLog);
    expect(checker.violation).toBeUndefined();
    checker.leaderElected(4, 3, emptyLog);
    const message = expectViolation(checker, 'electionSafety');
    expect(message).toContain('2 and 4');
    expect(message).toContain('term 3');
  });

  it('accepts one leader per term, and the same leader announced twice in its term', () => {
    const checker = new SafetyChecker<string>();
    checker.leaderElected(0, 1, emptyLog);
    checker.leaderElected(1, 2, emptyLog);
    checker.leaderElected(1, 2, emptyLog); // e.g. observed again after a restart of the observer
    checker.leaderElected(0, 3, emptyLog);
    checker.leaderElected(2, 7, emptyLog);
    expect(checker.violation).toBeUndefined();
    expect(checker.leaderTerms).toBe(4);
  });
});

describe('SafetyChecker: logMatching', () => {
  it('reports the same index and term stored with different data', () => {
    const checker = new SafetyChecker<string>();
    checker.entryStored(0, e(1, 1, 'a'), 0);
    checker.entryStored(1, e(1, 1, 'b'), 0);
    const message = expectViolation(checker, 'logMatching');
    expect(message).toContain('entry 1 of term 1');
    expect(message).toContain('"a"');
    expect(message).toContain('"b"');
  });

  it('reports the same index and term stored after entries of different terms', () => {
    const checker = new SafetyChecker<string>();
    checker.entryStored(0, e(3, 4, 'x'), 2);
    checker.entryStored(2, e(3, 4, 'x'), 3);
    const message = expectViolation(checker, 'logMatching');
    expect(message).toContain('term-2');
    expect(message).toContain('term-3');
  });

  it('reports a mismatch seen again by the same server (a rewrite of its own entry)', () => {
    const checker = new SafetyChecker<string>();
    checker.entryStored(0, e(1, 1, 'a'), 0);
    checker.entryStored(0, e(1, 1, 'z'), 0);
    expectViolation(checker, 'logMatching');
  });

  it('accepts the same entry on many servers, and different terms at one index', () => {
    const checker = new SafetyChecker<string>();
    for (const server of [0, 1, 2]) {
      checker.entryStored(server, e(1, 1, 'a'), 0);
      checker.entryStored(server, e(2, 1, 'b'), 1);
    }
    // A different leader's entries at the same indices, with other terms: a legal conflict.
    checker.entryStored(3, e(1, 2, 'c'), 0);
    checker.entryStored(3, e(2, 3, 'd'), 2);
    checker.entryStored(4, e(2, 2, 'e'), 2);
    // Stored again after a truncation: same data, same previous term.
    checker.entryStored(0, e(2, 1, 'b'), 1);
    expect(checker.violation).toBeUndefined();
  });

  it('compares data with the key function it was given', () => {
    const checker = new SafetyChecker<{ id: number; note: string }>((data) => String(data.id));
    checker.entryStored(0, { index: 1, term: 1, data: { id: 7, note: 'first copy' } }, 0);
    checker.entryStored(1, { index: 1, term: 1, data: { id: 7, note: 'another copy' } }, 0);
    expect(checker.violation).toBeUndefined();
    checker.entryStored(2, { index: 1, term: 1, data: { id: 8, note: 'first copy' } }, 0);
    expect(checker.violation?.invariant).toBe('logMatching');
  });

  it('by default compares data as JSON, so equal objects match and unequal ones do not', () => {
    const checker = new SafetyChecker<{ k: string; v: number }>();
    checker.entryStored(0, { index: 1, term: 1, data: { k: 'x', v: 1 } }, 0);
    checker.entryStored(1, { index: 1, term: 1, data: { k: 'x', v: 1 } }, 0);
    expect(checker.violation).toBeUndefined();
    checker.entryStored(2, { index: 1, term: 1, data: { k: 'x', v: 2 } }, 0);
    expect(checker.violation?.invariant).toBe('logMatching');
  });
});

describe('SafetyChecker: leaderCompleteness', () => {
  /** A checker that has seen entries 1 ('a', term 1) and 2 ('b', term 1) committed. */
  function withTwoCommitted(): SafetyChecker<string> {
    const checker = new SafetyChecker<string>();
    checker.leaderElected(0, 1, emptyLog);
    checker.entriesCommitted(serverObject(), 0, [e(1, 1, 'a'), e(2, 1, 'b')]);
    expect(checker.violation).toBeUndefined();
    expect(checker.committedCount).toBe(2);
    return checker;
  }

  it('reports a new leader lacking a committed entry', () => {
    const checker = withTwoCommitted();
    checker.leaderElected(1, 2, log([1, 'a']));
    const message = expectViolation(checker, 'leaderCompleteness');
    expect(message).toContain('server 1, leader of term 2, lacks committed entry 2');
    expect(message).toContain('nothing');
  });

  it('reports a new leader with an empty log', () => {
    const checker = withTwoCommitted();
    checker.leaderElected(2, 2, emptyLog);
    expectViolation(checker, 'leaderCompleteness');
  });

  it('reports a new leader holding a different entry (other data) at a committed index', () => {
    const checker = withTwoCommitted();
    checker.leaderElected(1, 2, log([1, 'a'], [1, 'X']));
    expect(expectViolation(checker, 'leaderCompleteness')).toContain('"X"');
  });

  it('reports a new leader holding a different entry (other term) at a committed index', () => {
    const checker = withTwoCommitted();
    checker.leaderElected(1, 3, log([1, 'a'], [2, 'b'], [3, 'c']));
    expect(expectViolation(checker, 'leaderCompleteness')).toContain('term 2');
  });

  it('accepts a leader holding every committed entry, with uncommitted ones after them', () => {
    const checker = withTwoCommitted();
    checker.leaderElected(1, 2, log([1, 'a'], [1, 'b']));
    checker.leaderElected(2, 3, log([1, 'a'], [1, 'b'], [2, 'c'], [2, 'd']));
    expect(checker.violation).toBeUndefined();
  });

  it('accepts any log for leaders elected before anything was committed', () => {
    const checker = new SafetyChecker<string>();
    checker.leaderElected(0, 1, emptyLog);
    checker.leaderElected(1, 2, log([1, 'q']));
    checker.leaderElected(2, 3, log([2, 'r'], [3, 's']));
    expect(checker.violation).toBeUndefined();
  });
});

describe('SafetyChecker: stateMachineSafety', () => {
  it('reports an index committed with two different values', () => {
    const checker = new SafetyChecker<string>();
    checker.entriesCommitted(serverObject(), 0, [e(1, 1, 'a')]);
    checker.entriesCommitted(serverObject(), 1, [e(1, 1, 'b')]);
    const message = expectViolation(checker, 'stateMachineSafety');
    expect(message).toContain('index 1');
    expect(message).toContain('server 1');
  });

  it('reports an index committed with the same data in two different terms', () => {
    const checker = new SafetyChecker<string>();
    checker.entriesCommitted(serverObject(), 0, [e(1, 1, 'a'), e(2, 1, 'b')]);
    checker.entriesCommitted(serverObject(), 2, [e(1, 1, 'a'), e(2, 2, 'b')]);
    expectViolation(checker, 'stateMachineSafety');
  });

  it('reports a Server object skipping an index', () => {
    const checker = new SafetyChecker<string>();
    const server = serverObject();
    checker.entriesCommitted(server, 0, [e(1, 1, 'a')]);
    checker.entriesCommitted(server, 0, [e(3, 1, 'c')]);
    expect(expectViolation(checker, 'stateMachineSafety')).toBe('server 0 committed index 3 where index 2 was next');
  });

  it('reports a Server object whose first commit is not index 1', () => {
    const checker = new SafetyChecker<string>();
    checker.entriesCommitted(serverObject(), 4, [e(2, 1, 'b')]);
    expect(expectViolation(checker, 'stateMachineSafety')).toContain('where index 1 was next');
  });

  it('reports a Server object committing an index twice (out of order)', () => {
    const checker = new SafetyChecker<string>();
    const server = serverObject();
    checker.entriesCommitted(server, 0, [e(1, 1, 'a'), e(2, 1, 'b')]);
    checker.entriesCommitted(server, 0, [e(2, 1, 'b')]);
    expectViolation(checker, 'stateMachineSafety');
  });

  it('reports a gap inside one batch', () => {
    const checker = new SafetyChecker<string>();
    checker.entriesCommitted(serverObject(), 0, [e(1, 1, 'a'), e(2, 1, 'b'), e(4, 1, 'd')]);
    expectViolation(checker, 'stateMachineSafety');
  });

  it('accepts every server committing the same entries, in batches of any size', () => {
    const checker = new SafetyChecker<string>();
    const [s0, s1, s2] = [serverObject(), serverObject(), serverObject()];
    checker.entriesCommitted(s0, 0, [e(1, 1, 'a'), e(2, 1, 'b'), e(3, 2, 'c')]);
    checker.entriesCommitted(s1, 1, [e(1, 1, 'a')]);
    checker.entriesCommitted(s1, 1, [e(2, 1, 'b')]);
    checker.entriesCommitted(s1, 1, []);
    checker.entriesCommitted(s1, 1, [e(3, 2, 'c'), e(4, 2, 'd')]);
    checker.entriesCommitted(s2, 2, [e(1, 1, 'a'), e(2, 1, 'b'), e(3, 2, 'c'), e(4, 2, 'd')]);
    expect(checker.violation).toBeUndefined();
    expect(checker.committedCount).toBe(4);
  });

  it('accepts a restarted server (a new Server object) committing again from index 1', () => {
    const checker = new SafetyChecker<string>();
    const before = serverObject();
    checker.entriesCommitted(before, 0, [e(1, 1, 'a'), e(2, 1, 'b')]);
    const after = serverObject();
    checker.entriesCommitted(after, 0, [e(1, 1, 'a')]);
    checker.entriesCommitted(after, 0, [e(2, 1, 'b'), e(3, 1, 'c')]);
    expect(checker.violation).toBeUndefined();
  });
});

describe('SafetyChecker: commitIndexMonotonic', () => {
  it('reports commitIndex going down within one Server object', () => {
    const checker = new SafetyChecker<string>();
    const server = serverObject();
    checker.commitIndexObserved(server, 2, 0);
    checker.commitIndexObserved(server, 2, 3);
    checker.commitIndexObserved(server, 2, 3);
    expect(checker.violation).toBeUndefined();
    checker.commitIndexObserved(server, 2, 2);
    expect(checker.violation).toEqual({ invariant: 'commitIndexMonotonic', message: "server 2's commitIndex went down from 3 to 2" });
  });

  it('does not report a restarted server (a different object) starting again at 0', () => {
    const checker = new SafetyChecker<string>();
    const before = serverObject();
    checker.commitIndexObserved(before, 1, 5);
    const after = serverObject();
    checker.commitIndexObserved(after, 1, 0);
    checker.commitIndexObserved(after, 1, 2);
    checker.commitIndexObserved(after, 1, 6);
    expect(checker.violation).toBeUndefined();
    // ...but the new object is held to its own history.
    checker.commitIndexObserved(after, 1, 4);
    expectViolation(checker, 'commitIndexMonotonic');
  });

  it('tracks each server object separately', () => {
    const checker = new SafetyChecker<string>();
    const [a, b] = [serverObject(), serverObject()];
    checker.commitIndexObserved(a, 0, 4);
    checker.commitIndexObserved(b, 1, 1);
    checker.commitIndexObserved(a, 0, 4);
    checker.commitIndexObserved(b, 1, 2);
    expect(checker.violation).toBeUndefined();
  });
});

describe('SafetyChecker: durableCommits', () => {
  /** Server 0 has committed entries 1..3. */
  function withThreeCommitted(): SafetyChecker<string> {
    const checker = new SafetyChecker<string>();
    checker.entriesCommitted(serverObject(), 0, [e(1, 1, 'a'), e(2, 1, 'b'), e(3, 1, 'c')]);
    expect(checker.violation).toBeUndefined();
    return checker;
  }

  it('reports a truncation below what the server committed', () => {
    const checker = withThreeCommitted();
    checker.truncated(0, 2);
    expect(expectViolation(checker, 'durableCommits')).toBe('server 0 truncated its log to 2, below the 3 entries it had committed');
  });

  it('reports a truncation to an empty log', () => {
    const checker = withThreeCommitted();
    checker.truncated(0, 0);
    expectViolation(checker, 'durableCommits');
  });

  it('accepts truncations of uncommitted entries, and truncations by servers that committed less', () => {
    const checker = withThreeCommitted();
    checker.truncated(0, 3);
    checker.truncated(0, 7);
    checker.truncated(1, 0); // server 1 committed nothing itself
    checker.entriesCommitted(serverObject(), 2, [e(1, 1, 'a')]);
    checker.truncated(2, 1);
    expect(checker.violation).toBeUndefined();
  });

  it('remembers what a server committed across its restarts (a new object)', () => {
    const checker = withThreeCommitted();
    checker.restarted(0, log([1, 'a'], [1, 'b'], [1, 'c']));
    checker.entriesCommitted(serverObject(), 0, [e(1, 1, 'a')]); // the new object has committed only 1 so far
    expect(checker.violation).toBeUndefined();
    checker.truncated(0, 2);
    expectViolation(checker, 'durableCommits');
  });

  it('reports a restart with a log missing a committed entry', () => {
    const checker = withThreeCommitted();
    checker.restarted(0, log([1, 'a'], [1, 'b']));
    expect(expectViolation(checker, 'durableCommits')).toContain('server 0 restarted without committed entry 3');
  });

  it('reports a restart with a log holding a different entry where a committed one was', () => {
    const checker = withThreeCommitted();
    checker.restarted(0, log([1, 'a'], [2, 'b'], [2, 'c']));
    expect(expectViolation(checker, 'durableCommits')).toContain('committed entry 2');
  });

  it('accepts a restart with every committed entry, and restarts of servers that committed nothing', () => {
    const checker = withThreeCommitted();
    checker.restarted(0, log([1, 'a'], [1, 'b'], [1, 'c'], [2, 'uncommitted']));
    checker.restarted(1, emptyLog);
    checker.restarted(2, log([1, 'a']));
    expect(checker.violation).toBeUndefined();
  });
});

describe('SafetyChecker: matchIndexBound', () => {
  it('reports the late success of the Figure 2 trap: a matchIndex over an entry the follower does not share', () => {
    // Server 0 led term 1 and sent [a, b] to server 1, which took them. Server 2, leader of
    // term 2, rewrote index 1 of server 0's log; server 0 leads term 3 and appends c at 2.
    // The success reply of term 1 ("server 1 holds up to 2") is counted: matchIndex[1] = 2.
    const checker = new SafetyChecker<string>();
    const leaderLog = log([2, 'x'], [3, 'c']);
    const followerLog = log([1, 'a'], [1, 'b']);
    checker.matchIndexObserved(0, 3, leaderLog, 1, 1, followerLog, 2);
    const message = expectViolation(checker, 'matchIndexBound');
    expect(message).toBe(
      "server 0, leader of term 3, has matchIndex 2 for server 1 (term 1), but at index 2 its log has term 3 and server 1's store has term 1 (last index 2)",
    );
  });

  it('reports a matchIndex past the end of the follower\'s store, or of the leader\'s own log', () => {
    const past = new SafetyChecker<string>();
    past.matchIndexObserved(0, 2, log([1, 'a'], [2, 'b']), 1, 2, log([1, 'a']), 2);
    expect(expectViolation(past, 'matchIndexBound')).toContain("its log has term 2 and server 1's store has nothing (last index 1)");
    const beyondLeader = new SafetyChecker<string>();
    beyondLeader.matchIndexObserved(0, 2, log([1, 'a']), 1, 2, log([1, 'a'], [2, 'b']), 2);
    expect(expectViolation(beyondLeader, 'matchIndexBound')).toContain('its log has nothing');
  });

  it('accepts a matchIndex that lags (0, or any index where both logs hold the same term)', () => {
    const checker = new SafetyChecker<string>();
    const leaderLog = log([1, 'a'], [1, 'b'], [3, 'c']);
    checker.matchIndexObserved(0, 3, leaderLog, 1, 3, log(), 0);
    checker.matchIndexObserved(0, 3, leaderLog, 1, 3, log([1, 'a'], [1, 'b'], [2, 'stale']), 2);
    checker.matchIndexObserved(0, 3, leaderLog, 2, 3, log([1, 'a'], [1, 'b'], [3, 'c']), 3);
    expect(checker.violation).toBeUndefined();
  });

  it('says nothing of a follower in a later term: a later leader may have rewritten it, and this leader is only deposed', () => {
    const checker = new SafetyChecker<string>();
    checker.matchIndexObserved(0, 3, log([1, 'a'], [3, 'c']), 1, 4, log([1, 'a'], [4, 'd']), 2);
    expect(checker.violation).toBeUndefined();
    checker.matchIndexObserved(0, 3, log([1, 'a'], [3, 'c']), 1, 3, log([1, 'a'], [2, 'd']), 2);
    expect(checker.violation?.invariant).toBe('matchIndexBound');
  });
});

describe('SafetyChecker: the first violation is kept', () => {
  it('keeps the first violation and ignores later ones', () => {
    const checker = new SafetyChecker<string>();
    checker.leaderElected(0, 1, emptyLog);
    checker.leaderElected(1, 1, emptyLog);
    const first = checker.violation;
    expect(first?.invariant).toBe('electionSafety');
    checker.entryStored(0, e(1, 1, 'a'), 0);
    checker.entryStored(1, e(1, 1, 'b'), 0);
    checker.commitIndexObserved(serverObject(), 0, -1);
    checker.report('liveness', 'no leader');
    expect(checker.violation).toEqual(first);
  });

  it('report() records a violation found elsewhere, and only the first one', () => {
    const checker = new SafetyChecker<string>();
    checker.report('liveness', 'no leader 10000 ms after faults stopped');
    checker.report('stateMachineSafety', 'state machines differ');
    expect(checker.violation).toEqual({ invariant: 'liveness', message: 'no leader 10000 ms after faults stopped' });
    checker.leaderElected(0, 1, emptyLog);
    checker.leaderElected(1, 1, emptyLog);
    expect(checker.violation?.invariant).toBe('liveness');
  });
});

describe('SafetyChecker: a whole valid history', () => {
  it('reports nothing for a realistic run with elections, conflicts, truncations, commits and restarts', () => {
    const checker = new SafetyChecker<string>();
    const servers = [serverObject(), serverObject(), serverObject()];
    const commitIndex = (id: number, value: number): void => checker.commitIndexObserved(servers[id] as object, id, value);

    // Term 1: server 0 leads, replicates 'a' and 'b' to server 1, commits them; 'x' reaches only server 0.
    checker.leaderElected(0, 1, emptyLog);
    checker.entryStored(0, e(1, 1, 'a'), 0);
    checker.entryStored(0, e(2, 1, 'b'), 1);
    checker.entryStored(1, e(1, 1, 'a'), 0);
    checker.entryStored(1, e(2, 1, 'b'), 1);
    checker.entriesCommitted(servers[0] as object, 0, [e(1, 1, 'a'), e(2, 1, 'b')]);
    commitIndex(0, 2);
    checker.entryStored(0, e(3, 1, 'x'), 1);
    checker.entriesCommitted(servers[1] as object, 1, [e(1, 1, 'a')]);
    commitIndex(1, 1);

    // Term 2: server 1 leads (it has the committed prefix), writes 'y' at 3; server 2 catches up.
    checker.leaderElected(1, 2, log([1, 'a'], [1, 'b']));
    checker.entryStored(1, e(3, 2, 'y'), 1);
    checker.entryStored(2, e(1, 1, 'a'), 0);
    checker.entryStored(2, e(2, 1, 'b'), 1);
    checker.entryStored(2, e(3, 2, 'y'), 1);
    checker.entriesCommitted(servers[1] as object, 1, [e(2, 1, 'b'), e(3, 2, 'y')]);
    commitIndex(1, 3);

    // Server 0 restarts (new object), its uncommitted 'x' at 3 is replaced by 'y'.
    checker.restarted(0, log([1, 'a'], [1, 'b'], [1, 'x']));
    servers[0] = serverObject();
    commitIndex(0, 0);
    checker.truncated(0, 2);
    checker.entryStored(0, e(3, 2, 'y'), 1);
    checker.entriesCommitted(servers[0] as object, 0, [e(1, 1, 'a'), e(2, 1, 'b'), e(3, 2, 'y')]);
    commitIndex(0, 3);
    checker.entriesCommitted(servers[2] as object, 2, [e(1, 1, 'a'), e(2, 1, 'b'), e(3, 2, 'y')]);
    commitIndex(2, 3);

    // Term 4 (term 3 elected nobody): server 2 leads.
    checker.leaderElected(2, 4, log([1, 'a'], [1, 'b'], [2, 'y']));
    checker.entryStored(2, e(4, 4, 'z'), 2);

    expect(checker.violation).toBeUndefined();
    expect(checker.committedCount).toBe(3);
    expect(checker.leaderTerms).toBe(3);
  });
});
