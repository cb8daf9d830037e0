/**
 * SimulatedDiskState, the simulator's model of a disk: writes reach a live image at once and
 * a durable image only at sync(); a crash loses what was not synced (all of it, or all but a
 * prefix: a torn write) and puts the live image back to the durable one.
 */
import { InMemoryCluster, InvalidArgumentError, SafetyChecker, Server, type IPersistentState, type Message } from '../../lib';
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
