/**
 * SimulatedDiskState, the simulator's model of a disk: writes reach a live image at once and
 * a durable image only at sync(); a crash loses what was not synced (all of it, or all but a
 * prefix: a torn write) and puts the live image back to the durable one.
 */
import { InMemoryCluster, InMemoryPersistentState, InvalidArgumentError, SafetyChecker, Server, type IPersistentState, type Message } from '../../lib';
import { SimulatedDiskState } from '../../lib/simulation/disk';

function image(disk: SimulatedDiskState<string>) {
  const log: string[] = [];
  for (let index = 1; index <= disk.currentLogIndex; index++) log.push(`${disk.getLogEntry(index)?.term}:${disk.getLogEntry(index)?.data}`);
  return { term: disk.currentTerm, vote: disk.votedFor, log };
}

function durableImage(disk: SimulatedDiskState<string>) {
  const log: string[] = [];
  for (let index = 1; index <= disk.durableLastIndex; index++) log.push(`${disk.durableEntry(index)?.term}:${disk.durableEntry(index)?.data}`);
  return { term: disk.durableTerm, vote: disk.durableVote, log };
}

describe('SimulatedDiskState', () => {
  it('shows writes at once, makes them durable only at sync()', () => {
    const disk = new SimulatedDiskState<string>(0);
    disk.advanceToTerm(2);
    disk.vote(1);
    disk.appendToLog('a', 1);
    disk.appendEntries([{ data: 'b', term: 2 }, { data: 'c', term: 2 }]);
    expect(image(disk)).toEqual({ term: 2, vote: 1, log: ['1:a', '2:b', '2:c'] });
    expect(durableImage(disk)).toEqual({ term: 0, vote: undefined, log: [] });
    expect(disk.unsyncedWrites).toBe(5);
    disk.sync();
    expect(durableImage(disk)).toEqual({ term: 2, vote: 1, log: ['1:a', '2:b', '2:c'] });
    expect(disk.unsyncedWrites).toBe(0);
    expect(disk.syncCount).toBe(1);
  });

  it('a crash loses every unsynced write: term, vote, entries and truncations', () => {
    const disk = new SimulatedDiskState<string>(0);
    disk.advanceToTerm(1);
    disk.appendEntries([{ data: 'a', term: 1 }, { data: 'b', term: 1 }, { data: 'c', term: 1 }]);
    disk.sync();
    disk.incrementTerm();
    disk.vote(2);
    disk.truncateLog(1);
    disk.appendToLog('x', 2);
    expect(image(disk)).toEqual({ term: 2, vote: 2, log: ['1:a', '2:x'] });
    expect(disk.crash()).toEqual({ lost: 4, kept: 0 });
    expect(image(disk)).toEqual({ term: 1, vote: undefined, log: ['1:a', '1:b', '1:c'] });
    expect(durableImage(disk)).toEqual(image(disk));
    // The store goes on from the durable image.
    disk.appendToLog('d', 1);
    disk.sync();
    expect(image(disk).log).toEqual(['1:a', '1:b', '1:c', '1:d']);
  });

  it.each<[number, number, string[]]>([
    [0, 0, ['1:a']],
    [0.2, 0, ['1:a']],
    [0.25, 1, []],
    [0.5, 2, ['2:x']],
    [0.75, 3, ['2:x', '2:y']],
    [1, 3, ['2:x', '2:y']],
  ])('a torn write: crash(%f) keeps a prefix of %i of the 3 unsynced writes', (keep, kept, log) => {
    const disk = new SimulatedDiskState<string>(0);
    disk.appendToLog('a', 1);
    disk.sync();
    disk.truncateLog(0);
    disk.appendToLog('x', 2);
    disk.appendToLog('y', 2);
    expect(disk.crash(keep)).toEqual({ lost: 3 - kept, kept });
    expect(image(disk).log).toEqual(log);
    expect(disk.unsyncedWrites).toBe(0);
  });

  it('refuses bad writes as InMemoryPersistentState does, recording nothing', () => {
    const disk = new SimulatedDiskState<string>(0);
    disk.advanceToTerm(3);
    disk.sync();
    expect(() => disk.advanceToTerm(2)).toThrow(InvalidArgumentError);
    expect(() => disk.vote(-1)).toThrow(InvalidArgumentError);
    expect(() => disk.appendEntries([{ data: 'a', term: 2 }, { data: 'b', term: 1 }])).toThrow(InvalidArgumentError);
    expect(() => disk.truncateLog(-1)).toThrow(InvalidArgumentError);
    expect(() => disk.crash(2)).toThrow(InvalidArgumentError);
    expect(disk.unsyncedWrites).toBe(0);
    expect(image(disk)).toEqual({ term: 3, vote: undefined, log: [] });
  });

  it('reports writes and truncations to a SafetyChecker (Log Matching at the moment of the write)', () => {
    const checker = new SafetyChecker<string>();
    const a = new SimulatedDiskState<string>(0, checker);
    const b = new SimulatedDiskState<string>(1, checker);
    a.appendToLog('x', 1);
    b.appendToLog('y', 1);
    expect(checker.violation?.invariant).toBe('logMatching');
  });

  it('a Server calls its sync() before replying: after a vote, the vote and term are durable', () => {
    const disk = new SimulatedDiskState<string>(1);
    const replies: unknown[] = [];
    const server = new Server<string>({ id: 1, clusterSize: 3, messageChannel: () => undefined, clock: () => 0, persistentState: disk as IPersistentState<string> });
    const request: Message<string> = { type: 'requestVote', candidateTerm: 4, candidateId: 0, candidateLastLogEntry: { index: 0, term: 0 }, replyChannel: (reply) => replies.push(reply) };
    server.processMessage(request);
    expect(replies).toEqual([{ voter: 1, voterTerm: 4, voteGranted: true }]);
    expect([disk.durableTerm, disk.durableVote, disk.unsyncedWrites]).toEqual([4, 0, 0]);
    expect(disk.syncCount).toBeGreaterThan(0);
  });

  it('runs a whole cluster: what the servers replicate and commit is durable', () => {
    const disks: SimulatedDiskState<string>[] = [];
    const cluster = InMemoryCluster.make<string>(3, {
      seed: 8,
      persistentState: (id) => (disks[id] = new SimulatedDiskState<string>(id)) as IPersistentState<unknown>,
    });
    cluster.runUntil(() => cluster.leader() !== undefined, 10_000);
    for (let k = 0; k < 10; k++) cluster.propose(`v${k}`);
    cluster.advance(200);
    for (const disk of disks) {
      expect(disk.unsyncedWrites).toBe(0);
      expect(durableImage(disk)).toEqual(image(disk));
      expect(disk.durableLastIndex).toBe(10);
    }
  });
});

// ---------------------------------------------------------------- snapshots (log compaction)

/** The observable state of any store: term, vote, first index, last index, entries held, snapshot. */
function view(store: IPersistentState<string>) {
  const first = store.firstLogIndex ?? 1;
  const entries: string[] = [];
  for (let index = first; index <= store.currentLogIndex; index++) entries.push(`${index}:${store.getLogEntry(index)?.term}:${store.getLogEntry(index)?.data}`);
  const snapshot = store.getSnapshot?.();
  return {
    term: store.currentTerm,
    vote: store.votedFor,
    first,
    last: store.currentLogIndex,
    entries,
    compacted: first > 1 ? store.getLogEntry(first - 1) : undefined,
    snapshot: snapshot === undefined ? undefined : `${snapshot.lastIncluded.index}:${snapshot.lastIncluded.term}:${new TextDecoder().decode(snapshot.data)}`,
  };
}

const snap = (index: number, term: number, data = `s${index}`) => ({ lastIncluded: { index, term }, data: new TextEncoder().encode(data) });

/** A disk with entries 1..n of term 1 ('e1'..'en'), synced. */
function filledDisk(n: number, checker?: SafetyChecker<string>): SimulatedDiskState<string> {
  const disk = new SimulatedDiskState<string>(0, checker);
  disk.advanceToTerm(1);
  disk.appendEntries(Array.from({ length: n }, (_, k) => ({ data: `e${k + 1}`, term: 1 })));
  disk.sync();
  return disk;
}

describe('SimulatedDiskState snapshots', () => {
  it('has the semantics of InMemoryPersistentState: a random history of writes, syncs and snapshots gives the same live image', () => {
    let saved = 0;
    for (let seed = 1; seed <= 12; seed++) {
      let state = seed * 2654435761;
      const random = (): number => {
        state = (state * 1103515245 + 12345) % 2 ** 31;
        return state / 2 ** 31;
      };
      const disk = new SimulatedDiskState<string>(0);
      const reference = new InMemoryPersistentState<string>();
      let term = 1;
      disk.advanceToTerm(1);
      reference.advanceToTerm(1);
      for (let step = 0; step < 200; step++) {
        const draw = random();
        const both = (write: (store: IPersistentState<string>) => void): void => {
          let refused: unknown;
          try {
            write(reference);
          } catch (error) {
            refused = error;
          }
          if (refused === undefined) write(disk);
          else expect(() => write(disk)).toThrow(InvalidArgumentError);
        };
        if (draw < 0.4) {
          both((store) => store.appendToLog(`d${step}`, term));
        } else if (draw < 0.5) {
          term++;
          both((store) => store.advanceToTerm(term));
        } else if (draw < 0.6) {
          const finalIndex = reference.currentLogIndex - Math.floor(random() * 3);
          both((store) => store.truncateLog(finalIndex));
        } else if (draw < 0.8) {
          const last = reference.currentLogIndex;
          const index = Math.max(1, last - Math.floor(random() * 4) + (random() < 0.2 ? 3 : 0));
          const held = reference.getLogEntry(index);
          const position = { index, term: held?.term ?? term };
          const firstKept = reference.firstLogIndex + Math.floor(random() * Math.max(1, index + 1 - reference.firstLogIndex + 1));
          const count = disk.snapshotWrites;
          both((store) => store.saveSnapshot?.({ lastIncluded: position, data: new Uint8Array([step % 256]) }, firstKept));
          saved += disk.snapshotWrites - count;
        } else {
          disk.sync();
        }
        expect(view(disk)).toEqual(view(reference));
      }
    }
    expect(saved).toBeGreaterThan(100); // most snapshots drawn were taken, not refused
  });

  it('a snapshot is a pending write: a crash before sync() loses it, and the durable log it would have trimmed is still there', () => {
    const disk = filledDisk(6);
    disk.saveSnapshot(snap(4, 1), 4);
    expect(view(disk)).toMatchObject({ first: 4, last: 6, snapshot: '4:1:s4' });
    expect(disk.durableSnapshot).toBeUndefined();
    expect(disk.durableEntry(2)?.data).toBe('e2');
    expect(disk.crash()).toEqual({ lost: 1, kept: 0 });
    expect(view(disk)).toMatchObject({ first: 1, last: 6, snapshot: undefined });
    expect(view(disk).entries).toHaveLength(6);
  });

  it('a synced snapshot survives a crash, with the trailing entries it kept and the log after it', () => {
    const disk = filledDisk(8);
    disk.saveSnapshot(snap(6, 1), 4); // keeps 4..8
    disk.appendToLog('e9', 2);
    disk.sync();
    disk.appendToLog('lost', 2);
    disk.crash();
    expect(view(disk)).toEqual({
      term: 1,
      vote: undefined,
      first: 4,
      last: 9,
      entries: ['4:1:e4', '5:1:e5', '6:1:e6', '7:1:e7', '8:1:e8', '9:2:e9'],
      compacted: undefined,
      snapshot: '6:1:s6',
    });
    expect([disk.durableFirstIndex, disk.durableLastIndex]).toEqual([4, 9]);
    // and it goes on as the same store: appends after the crash, a later snapshot, another crash
    disk.appendToLog('e10', 2);
    disk.saveSnapshot(snap(10, 2), 11);
    disk.sync();
    disk.crash();
    expect(view(disk)).toMatchObject({ first: 11, last: 10, entries: [], snapshot: '10:2:s10' });
    disk.appendToLog('e11', 3);
    expect(disk.getLogEntry(11)).toEqual({ index: 11, term: 3, data: 'e11' });
  });

  it('keeps the whole log from index 1 when the snapshot keeps every entry, across a crash', () => {
    const disk = filledDisk(3);
    disk.saveSnapshot(snap(2, 1), 1);
    disk.sync();
    disk.crash();
    expect(view(disk)).toMatchObject({ first: 1, last: 3, snapshot: '2:1:s2' });
    expect(() => disk.truncateLog(1)).toThrow(InvalidArgumentError); // not below the snapshot
  });

  it('a torn crash keeps a prefix of the writes: the snapshot survives only with what came before it', () => {
    const before = filledDisk(5);
    before.appendToLog('e6', 1); // pending 1
    before.saveSnapshot(snap(6, 1), 7); // pending 2
    before.appendToLog('e7', 1); // pending 3
    expect(before.crash(0.5)).toEqual({ lost: 1, kept: 2 }); // floor(0.5 × 4) = 2
    expect(view(before)).toMatchObject({ first: 7, last: 6, entries: [], snapshot: '6:1:s6' });
    const cut = filledDisk(5);
    cut.appendToLog('e6', 1);
    cut.saveSnapshot(snap(6, 1), 7);
    expect(cut.crash(0.4)).toEqual({ lost: 1, kept: 1 });
    expect(view(cut)).toMatchObject({ first: 1, last: 6, snapshot: undefined });
  });

  it('a snapshot that does not match the log replaces it: every entry goes, the next append follows the snapshot', () => {
    const disk = filledDisk(4);
    disk.saveSnapshot(snap(6, 3), 7);
    expect(view(disk)).toMatchObject({ first: 7, last: 6, entries: [], snapshot: '6:3:s6' });
    expect(() => disk.appendToLog('x', 2)).toThrow(InvalidArgumentError); // below the snapshot's term
    disk.appendToLog('e7', 3);
    disk.sync();
    disk.crash();
    expect(view(disk)).toMatchObject({ first: 7, last: 7, entries: ['7:3:e7'], snapshot: '6:3:s6' });
  });

  it('refuses what InMemoryPersistentState refuses, and a refused snapshot is no write', () => {
    const disk = filledDisk(4);
    disk.saveSnapshot(snap(3, 1), 2);
    expect(() => disk.saveSnapshot(snap(2, 1), 2)).toThrow(InvalidArgumentError); // not above the current one
    expect(() => disk.saveSnapshot(snap(4, 1), 1)).toThrow(InvalidArgumentError); // firstKept before firstLogIndex
    expect(disk.unsyncedWrites).toBe(1);
    expect(disk.snapshotWrites).toBe(1);
  });

  it('tells the checker nothing for a compaction, the truncation for a snapshot that replaces the log, and the snapshot term before the next entry', () => {
    const checker = new SafetyChecker<string>();
    const truncated = jest.spyOn(checker, 'truncated');
    const stored = jest.spyOn(checker, 'entryStored');
    const disk = filledDisk(5, checker);
    disk.saveSnapshot(snap(5, 1), 6); // compaction: entries 1..5 dropped, none reported
    expect(truncated).not.toHaveBeenCalled();
    disk.appendToLog('e6', 2);
    expect(stored).toHaveBeenLastCalledWith(0, { index: 6, term: 2, data: 'e6' }, 1); // after the snapshot's term-1 entry
    disk.appendToLog('e7', 2);
    disk.saveSnapshot(snap(7, 3), 8); // entry 7 is of term 2 here: the log from 7 on is replaced
    expect(truncated).toHaveBeenCalledWith(0, 6);
    expect(checker.violation).toBeUndefined();
  });

  it('a server restarted over it restores its durable snapshot and starts from its index', () => {
    const restored: string[] = [];
    const disk = filledDisk(4);
    disk.saveSnapshot(snap(3, 1, 'state at 3'), 4);
    disk.sync();
    disk.saveSnapshot(snap(4, 1, 'lost'), 5); // never synced
    disk.crash();
    const server = new Server<string>({
      id: 0,
      clusterSize: 3,
      messageChannel: (_to: number, _message: Message<string>) => undefined,
      persistentState: disk,
      stateMachine: { apply: () => undefined, takeSnapshot: () => new Uint8Array(0), restoreSnapshot: (data) => restored.push(new TextDecoder().decode(data)) },
    });
    expect(restored).toEqual(['state at 3']);
    expect(server.volatileState).toEqual({ commitIndex: 3, lastApplied: 3 });
    expect(server.snapshot).toEqual({ index: 3, term: 1 });
  });
});
