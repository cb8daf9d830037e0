// The follower's side of InstallSnapshot (SPEC Part 2, "Log compaction"), driven with
// hand-built messages to one Server: suffix kept or dropped, old and stale snapshots,
// chunks that must never mix two snapshots.

import { InMemoryPersistentState } from '../../lib';
import { MachineSolo, decodeItems, encodeItems, entriesAt, type Data } from './helpers';

/** A follower (id 1 of 3) whose log holds entries of `terms`, committed up to `commit`. */
function follower(terms: number[], commit: number, leaderTerm = Math.max(1, ...terms)): MachineSolo {
  const solo = new MachineSolo(1, 3, new InMemoryPersistentState<Data>());
  const replies = solo.append({ term: leaderTerm, leaderId: 0, prev: { index: 0, term: 0 }, entries: entriesAt(1, terms), commit });
  expect(replies).toHaveLength(1);
  expect(replies[0]!.success).toBe(true);
  expect(solo.server.volatileState.commitIndex).toBe(commit);
  return solo;
}

const snapshotItems = (n: number): string[] => Array.from({ length: n }, (_, k) => `snap-${k + 1}`);

function chunks(data: Uint8Array, size: number): Uint8Array[] {
  const result: Uint8Array[] = [];
  for (let offset = 0; offset < data.length; offset += size) result.push(data.slice(offset, offset + size));
  return result;
}

describe('InstallSnapshot, receiver', () => {
  test('a completed snapshot restores the state machine, sets commitIndex and lastApplied to lastIncluded.index, then emits snapshotInstalled', () => {
    const solo = follower([1, 1], 1);
    const data = encodeItems(snapshotItems(5));
    const replies = solo.install({ term: 1, leaderId: 0, last: { index: 5, term: 1 }, data });
    expect(replies).toEqual([{ follower: 1, followerTerm: 1, success: true, bytesReceived: data.length }]);
    expect(solo.machine.items).toEqual(snapshotItems(5));
    expect(solo.server.volatileState).toEqual({ commitIndex: 5, lastApplied: 5 });
    expect(solo.server.snapshot).toEqual({ index: 5, term: 1 });
    expect(solo.installed).toEqual([{ lastIncluded: { index: 5, term: 1 }, data }]);
    const tail = solo.calls.slice(solo.calls.indexOf('restoreSnapshot 5'));
    expect(tail).toEqual(['restoreSnapshot 5', 'snapshotInstalled 5']);
    // entries covered by the snapshot are never emitted
    expect(solo.committedEntries.map((e) => e.index)).toEqual([1]);
  });

  test('AppendEntries resume right after the installed snapshot', () => {
    const solo = follower([1], 1);
    solo.install({ term: 1, leaderId: 0, last: { index: 5, term: 1 }, data: encodeItems(snapshotItems(5)) });
    const replies = solo.append({ term: 1, leaderId: 0, prev: { index: 5, term: 1 }, entries: entriesAt(6, [1, 1]), commit: 7 });
    expect(replies[0]).toMatchObject({ success: true, matchIndex: 7 });
    expect(solo.committedEntries.map((e) => e.index)).toEqual([1, 6, 7]);
    expect(solo.machine.items).toEqual([...snapshotItems(5), '6@1', '7@1']);
  });

  test('a follower keeps a log suffix that matches the snapshot', () => {
    const solo = follower([1, 1, 1, 1, 1, 1, 1, 1], 2);
    solo.install({ term: 1, leaderId: 0, last: { index: 5, term: 1 }, data: encodeItems(snapshotItems(5)) });
    expect(solo.server.snapshot).toEqual({ index: 5, term: 1 });
    expect(solo.state.currentLogIndex).toBe(8);
    for (let i = 1; i <= 5; i++) expect(solo.state.getLogEntry(i)).toBeUndefined();
    for (let i = 6; i <= 8; i++) expect(solo.state.getLogEntry(i)).toEqual({ index: i, term: 1, data: `${i}@1` });
    expect(solo.server.volatileState).toEqual({ commitIndex: 5, lastApplied: 5 });
  });

  test('a follower drops a log suffix that conflicts with the snapshot', () => {
    const solo = follower([1, 1, 2, 2, 2, 2, 2, 2], 2, 2);
    solo.install({ term: 3, leaderId: 2, last: { index: 5, term: 3 }, data: encodeItems(snapshotItems(5)) });
    expect(solo.server.snapshot).toEqual({ index: 5, term: 3 });
    expect(solo.state.currentLogIndex).toBe(5);
    for (let i = 1; i <= 8; i++) expect(solo.state.getLogEntry(i)).toBeUndefined();
    // the next AppendEntries is checked against the snapshot's position
    const replies = solo.append({ term: 3, leaderId: 2, prev: { index: 5, term: 3 }, entries: entriesAt(6, [3]), commit: 6 });
    expect(replies[0]).toMatchObject({ success: true, matchIndex: 6 });
    expect(solo.state.getLogEntry(6)).toEqual({ index: 6, term: 3, data: '6@3' });
  });

  test('a follower whose log is shorter than the snapshot ends with an empty log after it', () => {
    const solo = follower([1, 1], 1);
    solo.install({ term: 1, leaderId: 0, last: { index: 9, term: 1 }, data: encodeItems(snapshotItems(9)) });
    expect(solo.state.currentLogIndex).toBe(9);
    expect(solo.state.getLogEntry(2)).toBeUndefined();
    expect(solo.state.getLastLogEntry()).toBeUndefined();
  });

  test('a snapshot at or behind the follower commitIndex is answered success and changes nothing', () => {
    const solo = follower([1, 1, 1, 1, 1, 1], 5);
    const before = solo.observable();
    const calls = solo.calls.length;
    for (const index of [3, 5]) {
      const data = encodeItems(['other']);
      const replies = solo.install({ term: 1, leaderId: 0, last: { index, term: 1 }, data });
      expect(replies).toHaveLength(1);
      expect(replies[0]).toMatchObject({ follower: 1, followerTerm: 1, success: true });
    }
    expect(solo.observable()).toEqual(before);
    expect(solo.calls.length).toBe(calls);
    expect(solo.installed).toEqual([]);
    expect((solo.state as InMemoryPersistentState<Data>).getSnapshot()).toBeUndefined();
  });

  test('a snapshot of a stale term is answered success false with the receiver term, and changes nothing', () => {
    const solo = follower([1, 1, 3], 1, 3);
    const before = solo.observable();
    const replies = solo.install({ term: 2, leaderId: 2, last: { index: 9, term: 2 }, data: encodeItems(snapshotItems(9)) });
    expect(replies).toEqual([{ follower: 1, followerTerm: 3, success: false, bytesReceived: 0 }]);
    expect(solo.observable()).toEqual(before);
    expect(solo.installed).toEqual([]);
    expect(solo.server.leaderId).toBe(0);
  });

  test('chunks out of order are refused and never mixed: the installed data is exactly the snapshot', () => {
    const solo = follower([1], 1);
    const data = encodeItems(snapshotItems(6));
    const parts = chunks(data, 8);
    expect(parts.length).toBeGreaterThan(3);
    const last = { index: 6, term: 1 };
    const send = (k: number) => solo.install({ term: 1, leaderId: 0, last, offset: k * 8, data: parts[k]!, done: k === parts.length - 1 });
    expect(send(0)[0]).toMatchObject({ success: true, bytesReceived: 8 });
    expect(send(2)[0]).toMatchObject({ success: false, bytesReceived: 8 }); // skipped chunk 1
    expect(send(1)[0]).toMatchObject({ success: true, bytesReceived: 16 });
    expect(send(1)[0]).toMatchObject({ success: false, bytesReceived: 16 }); // duplicate
    for (let k = 2; k < parts.length; k++) send(k);
    expect(solo.installed).toHaveLength(1);
    expect(solo.installed[0]!.data).toEqual(data);
    expect(solo.machine.items).toEqual(snapshotItems(6));
  });

  test('a chunk at a wrong offset is refused with the bytes held', () => {
    const solo = follower([1], 1);
    const data = encodeItems(snapshotItems(4));
    const last = { index: 4, term: 1 };
    solo.install({ term: 1, leaderId: 0, last, offset: 0, data: data.slice(0, 10), done: false });
    const replies = solo.install({ term: 1, leaderId: 0, last, offset: 7, data: data.slice(7), done: true });
    expect(replies[0]).toMatchObject({ success: false, bytesReceived: 10 });
    expect(solo.installed).toEqual([]);
    expect(solo.server.snapshot).toEqual({ index: 0, term: 0 });
    solo.install({ term: 1, leaderId: 0, last, offset: 10, data: data.slice(10), done: true });
    expect(solo.installed[0]!.data).toEqual(data);
  });

  test('a chunk of a different lastIncluded mid-transfer is not mixed into the transfer under way', () => {
    const solo = follower([1], 1);
    const a = encodeItems(snapshotItems(5));
    const b = encodeItems(snapshotItems(6).map((x) => x.toUpperCase()));
    solo.install({ term: 1, leaderId: 0, last: { index: 5, term: 1 }, offset: 0, data: a.slice(0, 10), done: false });
    const replies = solo.install({ term: 1, leaderId: 0, last: { index: 6, term: 1 }, offset: 10, data: b.slice(10), done: true });
    expect(replies[0]!.success).toBe(false);
    expect(solo.installed).toEqual([]);
    // restarting B from 0 works and installs exactly B
    solo.install({ term: 1, leaderId: 0, last: { index: 6, term: 1 }, offset: 0, data: b, done: true });
    expect(solo.installed).toHaveLength(1);
    expect(solo.installed[0]!.data).toEqual(b);
    expect(solo.server.snapshot).toEqual({ index: 6, term: 1 });
  });

  test('chunks of an older term after a new term transfer started are refused; the installed data is the new one', () => {
    const solo = follower([1], 1);
    const old = encodeItems(snapshotItems(5));
    const fresh = encodeItems(snapshotItems(5).map((x) => `${x}!`));
    const last = { index: 5, term: 1 };
    solo.install({ term: 1, leaderId: 0, last, offset: 0, data: old.slice(0, 10), done: false });
    solo.install({ term: 2, leaderId: 2, last, offset: 0, data: fresh.slice(0, 10), done: false });
    const stale = solo.install({ term: 1, leaderId: 0, last, offset: 10, data: old.slice(10), done: true });
    expect(stale).toEqual([{ follower: 1, followerTerm: 2, success: false, bytesReceived: 0 }]);
    expect(solo.installed).toEqual([]);
    solo.install({ term: 2, leaderId: 2, last, offset: 10, data: fresh.slice(10), done: true });
    expect(solo.installed).toHaveLength(1);
    expect(solo.installed[0]!.data).toEqual(fresh);
  });

  test('the same snapshot continued by a leader of a new term at a non-zero offset is not mixed with the old chunks', () => {
    const solo = follower([1], 1);
    const old = encodeItems(snapshotItems(5));
    const fresh = encodeItems(snapshotItems(5).map((x) => `${x}?`));
    const last = { index: 5, term: 1 };
    solo.install({ term: 1, leaderId: 0, last, offset: 0, data: old.slice(0, 10), done: false });
    const replies = solo.install({ term: 2, leaderId: 2, last, offset: 10, data: fresh.slice(10), done: true });
    expect(replies[0]).toMatchObject({ success: false, bytesReceived: 0 });
    expect(solo.installed).toEqual([]);
    solo.install({ term: 2, leaderId: 2, last, offset: 0, data: fresh, done: true });
    expect(solo.installed.map((s) => decodeItems(s.data))).toEqual([snapshotItems(5).map((x) => `${x}?`)]);
  });

  test('a restarted follower has no partial transfer: a continuing chunk is refused with bytesReceived 0', () => {
    const solo = follower([1], 1);
    const data = encodeItems(snapshotItems(5));
    const last = { index: 5, term: 1 };
    solo.install({ term: 1, leaderId: 0, last, offset: 0, data: data.slice(0, 10), done: false });
    solo.restart();
    const replies = solo.install({ term: 1, leaderId: 0, last, offset: 10, data: data.slice(10), done: true });
    expect(replies[0]).toMatchObject({ success: false, bytesReceived: 0 });
    solo.install({ term: 1, leaderId: 0, last, offset: 0, data, done: true });
    expect(solo.installed[0]!.data).toEqual(data);
  });
});
