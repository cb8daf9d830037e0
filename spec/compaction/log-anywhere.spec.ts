// A log that starts anywhere (SPEC Part 2, "Log compaction"): after a compaction a
// server's last entry may be its snapshot position. Conflict hints, AppendEntries checks,
// the up-to-date vote check and Figure 8's commit rule all keep working.

import { InMemoryPersistentState, type AddressedMessage, type AppendEntriesMessage, type RequestVoteReply, type ServerId } from '../../lib';
import { MachineSolo, ackFrom, electLeader, entriesAt, machineCluster, machineOf, proposeMany, caughtUp, type Data } from './helpers';

/** Server `id` of 3 whose log held entries of `terms`, all committed, then compacted with no trailing entries. */
function compactedFollower(id: ServerId, terms: number[], leaderId: ServerId = 0): MachineSolo {
  const solo = new MachineSolo(id, 3, new InMemoryPersistentState<Data>());
  const term = Math.max(...terms);
  solo.append({ term, leaderId, prev: { index: 0, term: 0 }, entries: entriesAt(1, terms), commit: terms.length });
  expect(solo.server.compact()).toEqual({ index: terms.length, term: terms[terms.length - 1] });
  expect(solo.state.getLastLogEntry()).toBeUndefined();
  expect(solo.state.currentLogIndex).toBe(terms.length);
  return solo;
}

const ten = (term = 1): number[] => Array.from({ length: 10 }, () => term);

describe('a log that starts anywhere: the follower', () => {
  test('AppendEntries beyond a log whose last entry was compacted: rejected with the snapshot position as the hint', () => {
    const solo = compactedFollower(1, ten());
    const replies = solo.append({ term: 2, leaderId: 0, prev: { index: 15, term: 2 } });
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatchObject({ success: false, matchIndex: 10 });
    if (replies[0]!.hintTerm !== undefined) expect(replies[0]!.hintTerm).toBe(1);
  });

  test('AppendEntries right after the snapshot position is checked against it and appended', () => {
    const solo = compactedFollower(1, ten());
    const replies = solo.append({ term: 1, leaderId: 0, prev: { index: 10, term: 1 }, entries: entriesAt(11, [1, 1]), commit: 12 });
    expect(replies[0]).toMatchObject({ success: true, matchIndex: 12 });
    expect(solo.state.getLogEntry(11)?.data).toBe('11@1');
    expect(solo.committedEntries.map((e) => e.index)).toEqual([...Array.from({ length: 10 }, (_, k) => k + 1), 11, 12]);
  });

  test('AppendEntries whose prevLogEntry lies inside the snapshot: the covered entries are skipped, the rest appended', () => {
    const solo = compactedFollower(1, ten());
    const replies = solo.append({ term: 1, leaderId: 0, prev: { index: 5, term: 1 }, entries: entriesAt(6, [1, 1, 1, 1, 1, 1, 1]), commit: 10 });
    expect(replies[0]).toMatchObject({ success: true, matchIndex: 12 });
    expect(solo.state.getLogEntry(8)).toBeUndefined();
    expect(solo.state.getLogEntry(12)?.data).toBe('12@1');
    expect(solo.server.snapshot).toEqual({ index: 10, term: 1 });
  });
});

describe('a log that starts anywhere: the leader', () => {
  /** Leader 0 of 3 with entries 1..3 committed, compacted to an empty log after {3, 1}; follower 1 acked everything. */
  function compactedLeader(): MachineSolo {
    const solo = new MachineSolo(0, 3, new InMemoryPersistentState<Data>());
    solo.elect([1]);
    for (const x of ['a', 'b', 'c']) solo.server.propose(x);
    ackFrom(solo, 1);
    expect(solo.server.volatileState.commitIndex).toBe(3);
    expect(solo.server.compact()).toEqual({ index: 3, term: 1 });
    expect(solo.state.getLastLogEntry()).toBeUndefined();
    return solo;
  }

  function nextTo(solo: MachineSolo, to: ServerId, rounds = 6): AppendEntriesMessage<Data> | { type: 'installSnapshot' } | undefined {
    for (let round = 0; round < rounds; round++) {
      const mine = solo.take().filter((s) => s.to === to);
      const found = mine.find((s) => s.message.type === 'appendEntries' || s.message.type === 'installSnapshot');
      if (found !== undefined) return found.message as AppendEntriesMessage<Data>;
      solo.now += 60;
      solo.server.tick();
    }
    return undefined;
  }

  test('a rejection whose hint is the leader snapshot position is answered with AppendEntries checked against it, not the snapshot', () => {
    const solo = new MachineSolo(0, 3, new InMemoryPersistentState<Data>());
    solo.elect([1]);
    for (const x of ['a', 'b', 'c']) solo.server.propose(x);
    ackFrom(solo, 1);
    ackFrom(solo, 2);
    expect(solo.server.leaderState?.matchIndex).toEqual([3, 3, 3]);
    expect(solo.server.compact()).toEqual({ index: 3, term: 1 });
    expect(solo.state.getLastLogEntry()).toBeUndefined();
    solo.take();
    solo.server.propose('d'); // index 4: prev {3, 1}, the snapshot position
    solo.server.propose('e'); // index 5
    const toTwo = solo.take().filter((s) => s.to === 2 && s.message.type === 'appendEntries');
    expect(toTwo.length).toBeGreaterThan(0);
    const lastSent = toTwo[toTwo.length - 1]!.message as AppendEntriesMessage<Data>;
    expect(toTwo.map((s) => (s.message as AppendEntriesMessage<Data>).prevLogEntry.index)[0]).toBe(3);
    // the first is lost; follower 2 (log up to 3) rejects the second with the hint 3
    expect(toTwo.length).toBe(2);
    expect(lastSent.prevLogEntry).toEqual({ index: 4, term: 1 });
    lastSent.replyChannel({ follower: 2, followerTerm: 1, success: false, matchIndex: 3, hintTerm: 1 });
    const message = nextTo(solo, 2);
    expect(message?.type).toBe('appendEntries');
    const append = message as AppendEntriesMessage<Data>;
    expect(append.prevLogEntry).toEqual({ index: 3, term: 1 });
    expect(append.entries.map((e) => e.index)[0]).toBe(4);
  });

  test('a follower that needs an entry the leader compacted gets the snapshot', () => {
    const solo = compactedLeader();
    solo.take();
    let message = nextTo(solo, 2);
    for (let k = 0; k < 10 && message?.type === 'appendEntries'; k++) {
      message.replyChannel({ follower: 2, followerTerm: 1, success: false, matchIndex: 1, hintTerm: 1 });
      message = nextTo(solo, 2);
    }
    expect(message?.type).toBe('installSnapshot');
  });

  test('Figure 8 still holds after compaction: entries of an earlier term are committed only with one of the current term', () => {
    // server 0 compacted entries 1..3 (term 1), then got entries 4..5 of term 2, not committed
    const solo = compactedFollower(0, [1, 1, 1], 1);
    expect(solo.append({ term: 2, leaderId: 1, prev: { index: 3, term: 1 }, entries: entriesAt(4, [2, 2]), commit: 3 })[0]!.success).toBe(true);
    solo.elect([2]); // term 3
    expect(solo.server.currentTerm).toBe(3);
    ackFrom(solo, 2); // follower 2 now holds 4..5 too: a majority, but of term 2
    expect(solo.server.leaderState?.matchIndex[2]).toBe(5);
    expect(solo.server.volatileState.commitIndex).toBe(3);
    expect(solo.committedEntries.map((e) => e.index)).toEqual([1, 2, 3]);
    solo.server.propose('now'); // index 6, term 3
    ackFrom(solo, 2);
    expect(solo.server.volatileState.commitIndex).toBe(6);
    expect(solo.committedEntries.map((e) => e.index)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('a log that starts anywhere: votes', () => {
  test('the voter counts its snapshot position as its last entry in the up-to-date check', () => {
    const terms = [1, 1, 1, 1, 1, 2, 2, 2, 2, 2];
    const cases: Array<[{ index: number; term: number }, boolean]> = [
      [{ index: 9, term: 2 }, false],
      [{ index: 12, term: 1 }, false],
      [{ index: 0, term: 0 }, false],
      [{ index: 10, term: 2 }, true],
      [{ index: 11, term: 2 }, true],
      [{ index: 4, term: 3 }, true],
    ];
    for (const [last, granted] of cases) {
      const voter = compactedFollower(1, terms);
      const replies: RequestVoteReply[] = [];
      voter.server.processMessage({ type: 'requestVote', candidateTerm: 5, candidateId: 2, candidateLastLogEntry: last, replyChannel: (r) => void replies.push(r) });
      expect({ last, granted: replies[0]?.voteGranted }).toEqual({ last, granted });
    }
  });

  test('a candidate whose last entry was compacted asks for votes with its snapshot position', () => {
    const solo = compactedFollower(1, [1, 1, 2, 2]);
    solo.take();
    solo.server.triggerTimeout();
    const requests = solo.take().filter((s) => s.message.type === 'requestVote');
    expect(requests).toHaveLength(2);
    for (const { message } of requests) {
      if (message.type === 'requestVote') expect(message.candidateLastLogEntry).toEqual({ index: 4, term: 2 });
    }
  });

  test('a restarted leader with a compacted log can win the election and replicate', () => {
    const cluster = machineCluster(3, { maxLogEntries: 10 });
    const first = electLeader(cluster);
    proposeMany(cluster, 25);
    cluster.advance(300);
    expect(cluster.servers[first]!.snapshot.index).toBeGreaterThan(0);
    cluster.restart(first);
    const restarted = cluster.servers[first]!;
    expect(restarted.volatileState.commitIndex).toBe(restarted.snapshot.index);
    expect(restarted.snapshot.index).toBeGreaterThan(0);
    const installs: AddressedMessage<Data>[] = [];
    cluster.network.tap((m) => {
      if (m.message.type === 'installSnapshot') installs.push(m);
    });
    cluster.timeout(first);
    expect(cluster.leader()?.id).toBe(first);
    expect(cluster.propose('after')).toMatchObject({ type: 'appended', index: 26 });
    expect(cluster.runUntil(() => caughtUp(cluster, [0, 1, 2]), 5_000)).toBe(true);
    for (const id of [0, 1, 2]) expect(machineOf(cluster, id).items).toEqual([...Array.from({ length: 25 }, (_, k) => `x-${k}`), 'after']);
    expect(installs).toEqual([]);
  });

  test('when every log ends at its snapshot, the next proposal replicates by AppendEntries from the snapshot position', () => {
    const cluster = machineCluster(3);
    electLeader(cluster);
    proposeMany(cluster, 10);
    cluster.advance(300);
    for (const server of cluster.servers) expect(server.compact()).toEqual({ index: 10, term: server.currentTerm });
    const seen: AddressedMessage<Data>[] = [];
    cluster.network.tap((m) => void seen.push(m));
    expect(cluster.propose('eleven')).toMatchObject({ type: 'appended', index: 11 });
    expect(cluster.runUntil(() => caughtUp(cluster, [0, 1, 2]), 5_000)).toBe(true);
    expect(seen.some((m) => m.message.type === 'installSnapshot')).toBe(false);
    const appends = seen.flatMap((m) => (m.message.type === 'appendEntries' && m.message.entries.length > 0 ? [m.message] : []));
    expect(appends.length).toBeGreaterThan(0);
    expect(appends[0]!.prevLogEntry).toEqual({ index: 10, term: cluster.leader()!.currentTerm });
    for (const id of [0, 1, 2]) expect(machineOf(cluster, id).items.at(-1)).toBe('eleven');
  });
});
