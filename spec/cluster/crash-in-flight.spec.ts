/**
 * What a crash does to messages in flight. By default every message to or from the crashed
 * server is lost (SPEC). With `{ keepSentReplies: true }` (how the simulator crashes) the
 * replies it had already sent stay on the wire and may still arrive, even while it is down;
 * its requests and everything addressed to it are lost.
 */
import { InMemoryCluster, InvalidArgumentError } from '../../lib';

/** A manual cluster where server 0 asked for votes, servers 1 and 2 answered (replies waiting), and server 1 asks for votes too. */
function votingCluster() {
  const cluster = InMemoryCluster.make<string>(3, { seed: 1, delivery: 'manual' });
  cluster.timeout(0); // RequestVote 0→1, 0→2
  for (const to of [1, 2]) for (const { id } of cluster.network.undelivered(to)) cluster.network.deliver(to, id);
  cluster.timeout(1); // 1 asks too: RequestVote 1→0, 1→2 (requests from 1)
  return cluster;
}

describe('InMemoryCluster.crash and messages in flight', () => {
  it('by default, loses every message to or from the crashed server', () => {
    const cluster = votingCluster();
    expect(cluster.network.undelivered(0).map((m) => m.message.type).sort()).toEqual(['requestVote', 'requestVoteReply', 'requestVoteReply']);
    cluster.crash(1);
    expect(cluster.network.allUndelivered().map((m) => [m.from, m.to, m.message.type])).toEqual([[2, 0, 'requestVoteReply']]);
  });

  it('with keepSentReplies, the replies it sent survive and arrive while it is down; its requests are lost', () => {
    const cluster = votingCluster();
    cluster.crash(1, { keepSentReplies: true });
    const waiting = cluster.network.allUndelivered().map((m) => [m.from, m.to, m.message.type]);
    expect(waiting).toEqual([
      [1, 0, 'requestVoteReply'],
      [2, 0, 'requestVoteReply'],
    ]);
    const reply = cluster.network.undelivered(0).find((m) => m.from === 1);
    if (reply === undefined) throw new Error('reply lost');
    const before = cluster.network.deliveredCount;
    cluster.network.deliver(0, reply.id);
    expect(cluster.network.deliveredCount).toBe(before + 1);
    expect(cluster.isRunning(1)).toBe(false);
  });

  it('refuses options that are not an object, changing nothing', () => {
    const cluster = votingCluster();
    expect(() => cluster.crash(1, null as unknown as object)).toThrow(InvalidArgumentError);
    expect(cluster.isRunning(1)).toBe(true);
  });
});
