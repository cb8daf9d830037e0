// Server.compact() (SPEC Part 2, "Log compaction").

import { InMemoryPersistentState, InvalidArgumentError } from '../../lib';
import { minimalState } from '../paper/harness';
import { MachineSolo, decodeItems, encodeItems, type Data } from './helpers';

function singleLeader(options: { withMachine?: boolean; trailingLogEntries?: number; state?: InMemoryPersistentState<Data> } = {}): MachineSolo {
  const extra = options.trailingLogEntries === undefined ? {} : { trailingLogEntries: options.trailingLogEntries };
  const solo = new MachineSolo(0, 1, options.state ?? new InMemoryPersistentState<Data>(), extra, options.withMachine ?? true);
  solo.elect([]);
  return solo;
}

describe('compact()', () => {
  test('with a stateMachine: snapshots stateMachine.takeSnapshot() at lastApplied and returns its lastIncluded', () => {
    const solo = singleLeader();
    for (const x of ['a', 'b', 'c']) solo.server.propose(x);
    const position = solo.server.compact();
    expect(position).toEqual({ index: 3, term: 1 });
    expect(solo.server.snapshot).toEqual(position);
    expect(solo.machine.snapshots).toBe(1);
    const stored = (solo.state as InMemoryPersistentState<Data>).getSnapshot()!;
    expect(stored.lastIncluded).toEqual(position);
    expect(decodeItems(stored.data)).toEqual(['a', 'b', 'c']);
    // trailingLogEntries is 0 without maxLogEntries: every entry it covers is dropped
    for (let i = 1; i <= 3; i++) expect(solo.state.getLogEntry(i)).toBeUndefined();
    expect(solo.state.currentLogIndex).toBe(3);
  });

  test('with data: stores the given bytes (not the state machine) as the snapshot', () => {
    const solo = singleLeader({ withMachine: false });
    for (const x of ['a', 'b']) solo.server.propose(x);
    const bytes = encodeItems(['given']);
    const position = solo.server.compact(bytes);
    expect(position).toEqual({ index: 2, term: 1 });
    const stored = (solo.state as InMemoryPersistentState<Data>).getSnapshot()!;
    expect(decodeItems(stored.data)).toEqual(['given']);
    expect(solo.machine.snapshots).toBe(0);
  });

  test('with data and a stateMachine, the data is the snapshot', () => {
    const solo = singleLeader();
    solo.server.propose('a');
    solo.server.compact(encodeItems(['from data']));
    expect(decodeItems((solo.state as InMemoryPersistentState<Data>).getSnapshot()!.data)).toEqual(['from data']);
    expect(solo.machine.snapshots).toBe(0);
  });

  test('keeps the last trailingLogEntries entries', () => {
    const solo = singleLeader({ trailingLogEntries: 2 });
    for (const x of ['a', 'b', 'c', 'd', 'e']) solo.server.propose(x);
    solo.server.compact();
    expect(solo.state.getLogEntry(3)).toBeUndefined();
    expect(solo.state.getLogEntry(4)?.data).toBe('d');
    expect(solo.state.getLogEntry(5)?.data).toBe('e');
  });

  test('without data and without a stateMachine is an InvalidArgumentError, and changes nothing', () => {
    const solo = singleLeader({ withMachine: false });
    solo.server.propose('a');
    const before = solo.observable();
    expect(() => solo.server.compact()).toThrow(InvalidArgumentError);
    expect(solo.observable()).toEqual(before);
    expect(solo.server.snapshot).toEqual({ index: 0, term: 0 });
  });

  test.each([
    ['a string', 'bytes'],
    ['an array of numbers', [1, 2, 3]],
    ['an ArrayBuffer', new ArrayBuffer(4)],
    ['null', null],
    ['a number', 7],
  ])('with data that is not a Uint8Array (%s) is an InvalidArgumentError, and changes nothing', (_name, data) => {
    const solo = singleLeader();
    solo.server.propose('a');
    const before = solo.observable();
    expect(() => solo.server.compact(data as unknown as Uint8Array)).toThrow(InvalidArgumentError);
    expect(solo.observable()).toEqual(before);
  });

  test('on a store that cannot hold snapshots is an InvalidArgumentError', () => {
    const solo = new MachineSolo(0, 1, minimalState());
    solo.elect([]);
    solo.server.propose('a');
    expect(() => solo.server.compact()).toThrow(InvalidArgumentError);
    expect(() => solo.server.compact(encodeItems(['x']))).toThrow(InvalidArgumentError);
    expect(solo.server.snapshot).toEqual({ index: 0, term: 0 });
    expect(solo.state.getLogEntry(1)?.data).toBe('a');
    // the server still works without compaction
    expect(solo.server.propose('b')).toEqual({ type: 'appended', index: 2, term: 1 });
    expect(solo.machine.items).toEqual(['a', 'b']);
  });

  test('nothing applied since the last snapshot: returns the same position and changes nothing', () => {
    const solo = singleLeader();
    solo.server.propose('a');
    solo.server.propose('b');
    const first = solo.server.compact();
    const before = solo.observable();
    const snapshotsTaken = solo.machine.snapshots;
    const stored = (solo.state as InMemoryPersistentState<Data>).getSnapshot();
    expect(solo.server.compact()).toEqual(first);
    expect(solo.server.compact(encodeItems(['other']))).toEqual(first);
    expect(solo.observable()).toEqual(before);
    expect(solo.machine.snapshots).toBe(snapshotsTaken);
    expect((solo.state as InMemoryPersistentState<Data>).getSnapshot()).toBe(stored);
  });

  test('nothing ever applied: returns {index: 0, term: 0} and changes nothing', () => {
    const solo = new MachineSolo(0, 3);
    const before = solo.observable();
    expect(solo.server.compact()).toEqual({ index: 0, term: 0 });
    expect(solo.observable()).toEqual(before);
    expect(solo.machine.snapshots).toBe(0);
  });

  test('only applied entries are compacted: entries after lastApplied stay', () => {
    const solo = new MachineSolo(0, 3);
    solo.elect([1]);
    solo.take();
    solo.server.propose('a');
    const [toOne] = solo.take().filter((s) => s.to === 1 && s.message.type === 'appendEntries');
    if (toOne === undefined || toOne.message.type !== 'appendEntries') throw new Error('no AppendEntries');
    toOne.message.replyChannel({ follower: 1, followerTerm: 1, success: true, matchIndex: 1 });
    expect(solo.server.volatileState.commitIndex).toBe(1);
    solo.server.propose('b'); // not committed
    expect(solo.server.compact()).toEqual({ index: 1, term: 1 });
    expect(solo.state.getLogEntry(2)?.data).toBe('b');
    expect(solo.state.currentLogIndex).toBe(2);
  });
});
