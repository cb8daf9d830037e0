// Malformed InstallSnapshot messages and replies (SPEC Part 2, "Log compaction", with the
// Part 1 rule for bad input): InvalidMessageError naming the field, no reply, nothing changed.

import { InMemoryPersistentState, InvalidMessageError, type InstallSnapshotMessage, type InstallSnapshotReply, type Message } from '../../lib';
import { MachineSolo, ackFrom, encodeItems, entriesAt, type Data } from './helpers';

function follower(): MachineSolo {
  const solo = new MachineSolo(1, 3, new InMemoryPersistentState<Data>());
  solo.append({ term: 2, leaderId: 0, prev: { index: 0, term: 0 }, entries: entriesAt(1, [1, 2, 2]), commit: 1 });
  return solo;
}

const good = (replies: InstallSnapshotReply[]): Record<string, unknown> => ({
  type: 'installSnapshot',
  leaderTerm: 2,
  leaderId: 0,
  lastIncluded: { index: 5, term: 2 },
  offset: 0,
  data: encodeItems(['a', 'b', 'c', 'd', 'e']),
  done: true,
  replyChannel: (reply: InstallSnapshotReply) => void replies.push(reply),
});

describe('malformed InstallSnapshot', () => {
  test('a well-formed message is taken (control)', () => {
    const solo = follower();
    const replies: InstallSnapshotReply[] = [];
    solo.server.processMessage(good(replies) as unknown as Message<Data>);
    expect(replies).toHaveLength(1);
    expect(solo.server.snapshot).toEqual({ index: 5, term: 2 });
  });

  const cases: Array<[string, string, (m: Record<string, unknown>) => void]> = [
    ['lastIncluded missing', 'lastIncluded', (m) => delete m.lastIncluded],
    ['lastIncluded not an object', 'lastIncluded', (m) => (m.lastIncluded = 5)],
    ['lastIncluded.index negative', 'lastIncluded.index', (m) => (m.lastIncluded = { index: -1, term: 1 })],
    ['lastIncluded.index not an integer', 'lastIncluded.index', (m) => (m.lastIncluded = { index: 2.5, term: 1 })],
    ['lastIncluded.term a string', 'lastIncluded.term', (m) => (m.lastIncluded = { index: 5, term: '2' })],
    ['lastIncluded.index 0', 'lastIncluded.index', (m) => (m.lastIncluded = { index: 0, term: 0 })],
    ['lastIncluded.term above leaderTerm', 'lastIncluded.term', (m) => (m.lastIncluded = { index: 5, term: 3 })],
    ['offset negative', 'offset', (m) => (m.offset = -1)],
    ['offset not an integer', 'offset', (m) => (m.offset = 1.5)],
    ['offset a string', 'offset', (m) => (m.offset = '0')],
    ['data an array', 'data', (m) => (m.data = [1, 2, 3])],
    ['data a string', 'data', (m) => (m.data = 'abc')],
    ['data missing', 'data', (m) => delete m.data],
    ['done not a boolean', 'done', (m) => (m.done = 1)],
    ['done missing', 'done', (m) => delete m.done],
    ['replyChannel missing', 'replyChannel', (m) => delete m.replyChannel],
    ['replyChannel not a function', 'replyChannel', (m) => (m.replyChannel = {})],
    ['leaderId the receiver itself', 'leaderId', (m) => (m.leaderId = 1)],
    ['leaderId outside the cluster', 'leaderId', (m) => (m.leaderId = 3)],
    ['leaderTerm not an integer', 'leaderTerm', (m) => (m.leaderTerm = 2.5)],
  ];

  test.each(cases)('%s: InvalidMessageError naming `%s`, no reply, state unchanged', (_name, field, spoil) => {
    const solo = follower();
    const before = solo.observable();
    const replies: InstallSnapshotReply[] = [];
    const message = good(replies);
    spoil(message);
    let error: unknown;
    try {
      solo.server.processMessage(message as unknown as Message<Data>);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidMessageError);
    expect((error as InvalidMessageError).field).toBe(field);
    expect((error as Error).message).toContain(field);
    expect(replies).toEqual([]);
    expect(solo.observable()).toEqual(before);
    expect(solo.calls.filter((c) => c.startsWith('restoreSnapshot'))).toEqual([]);
  });

  test('a malformed chunk in the middle of a transfer leaves the transfer under way intact', () => {
    const solo = follower();
    const data = encodeItems(['a', 'b', 'c', 'd', 'e']);
    const replies: InstallSnapshotReply[] = [];
    solo.server.processMessage({ ...good(replies), data: data.slice(0, 6), done: false } as unknown as Message<Data>);
    expect(() => solo.server.processMessage({ ...good(replies), offset: 6, data: 'xx', done: true } as unknown as Message<Data>)).toThrow(InvalidMessageError);
    solo.server.processMessage({ ...good(replies), offset: 6, data: data.slice(6), done: true } as unknown as Message<Data>);
    expect(solo.installed.map((s) => s.data)).toEqual([data]);
  });
});

describe('malformed InstallSnapshotReply', () => {
  /** A leader (0 of 3) that compacted its log, and the InstallSnapshot it sent to follower 2. */
  function leaderSendingSnapshot(): { solo: MachineSolo; message: InstallSnapshotMessage } {
    const solo = new MachineSolo(0, 3, new InMemoryPersistentState<Data>(), { maxSnapshotChunkBytes: 4 });
    solo.elect([1]);
    for (const x of ['a', 'b', 'c']) solo.server.propose(x);
    ackFrom(solo, 1);
    expect(solo.server.volatileState.commitIndex).toBe(3);
    solo.server.compact();
    solo.take();
    solo.now += 1_000;
    solo.server.tick(); // heartbeats: follower 2 still needs entry 1, compacted
    let found: InstallSnapshotMessage | undefined;
    for (let round = 0; round < 5 && found === undefined; round++) {
      for (const { to, message } of solo.take()) {
        if (to !== 2) continue;
        if (message.type === 'installSnapshot') found = message;
        else if (message.type === 'appendEntries') message.replyChannel({ follower: 2, followerTerm: 1, success: false, matchIndex: 0 });
      }
      if (found === undefined) {
        solo.now += 100;
        solo.server.tick();
      }
    }
    if (found === undefined) throw new Error('the leader sent no InstallSnapshot to follower 2');
    return { solo, message: found };
  }

  test('the leader sends a chunk of at most maxSnapshotChunkBytes (control)', () => {
    const { message } = leaderSendingSnapshot();
    expect(message.offset).toBe(0);
    expect(message.data.length).toBeLessThanOrEqual(4);
    expect(message.done).toBe(false);
    expect(message.lastIncluded).toEqual({ index: 3, term: 1 });
  });

  test.each([
    ['not an object', 'reply', () => 42],
    ['followerTerm a string', 'followerTerm', (size: number) => ({ follower: 2, followerTerm: '1', success: true, bytesReceived: size })],
    ['success not a boolean', 'success', (size: number) => ({ follower: 2, followerTerm: 1, success: 'yes', bytesReceived: size })],
    ['bytesReceived negative', 'bytesReceived', () => ({ follower: 2, followerTerm: 1, success: true, bytesReceived: -1 })],
    ['bytesReceived beyond the snapshot', 'bytesReceived', () => ({ follower: 2, followerTerm: 1, success: true, bytesReceived: 1_000_000 })],
    ['bytesReceived not an integer', 'bytesReceived', () => ({ follower: 2, followerTerm: 1, success: true, bytesReceived: 1.5 })],
    ['from another follower', 'follower', (size: number) => ({ follower: 1, followerTerm: 1, success: true, bytesReceived: size })],
  ])('a reply %s handed to the leader replyChannel is an InvalidMessageError', (_name, field, build) => {
    const { solo, message } = leaderSendingSnapshot();
    const before = { term: solo.server.currentTerm, role: solo.server.role, leaderState: solo.server.leaderState, volatile: solo.server.volatileState };
    let error: unknown;
    try {
      (message.replyChannel as (r: unknown) => void)(build(message.data.length));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidMessageError);
    expect((error as InvalidMessageError).field).toContain(field === 'reply' ? '' : field);
    expect(solo.take()).toEqual([]);
    expect({ term: solo.server.currentTerm, role: solo.server.role, leaderState: solo.server.leaderState, volatile: solo.server.volatileState }).toEqual(before);
  });
});
