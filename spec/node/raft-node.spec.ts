import { CommandFailedError, NoLeaderError, NodeStoppedError, OutcomeUnknownError, SessionExpiredError } from '../../lib/node/node-errors';
import { InvalidArgumentError } from '../../lib';
import { TestCluster } from './helpers';

describe('RaftNode: the promise API over a loopback network, on a fake clock', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('a proposal on the leader resolves with the state machine result once applied', async () => {
    const cluster = new TestCluster();
    cluster.start();
    const leader = await cluster.waitForLeader();
    const outcome = await cluster.settle(leader.propose({ add: 5 }));
    expect(outcome.value).toBe(5);
    expect(cluster.machines[leader.id]!.total).toBe(5);
    await cluster.waitFor(() => cluster.machines.every((machine) => machine.total === 5));
    await cluster.stopAll();
  });

  it('a proposal on a follower is forwarded to the leader and resolves with its result', async () => {
    const cluster = new TestCluster();
    cluster.start();
    const leader = await cluster.waitForLeader();
    await cluster.waitFor(() => cluster.nodes.every((node) => node.server.leaderId === leader.id));
    const follower = cluster.nodes.find((node) => node !== leader)!;
    expect((await cluster.settle(follower.propose({ add: 2 }))).value).toBe(2);
    expect((await cluster.settle(follower.propose({ add: 3 }))).value).toBe(5);
    expect(follower.counters.forwardedProposals).toBe(2);
    await cluster.stopAll();
  });

  it('proposals of one event-loop turn share one proposeAll and one sync (group commit)', async () => {
    const cluster = new TestCluster();
    cluster.start();
    const leader = await cluster.waitForLeader();
    await cluster.settle(leader.propose({ add: 1 }));
    const store = cluster.stores[leader.id]!;
    const before = store.syncs;
    const lastBefore = store.currentLogIndex;
    const results = Promise.all(Array.from({ length: 50 }, () => leader.propose({ add: 1 })));
    await jest.advanceTimersByTimeAsync(0);
    expect(store.currentLogIndex).toBe(lastBefore + 50);
    expect(store.syncs - before).toBe(1);
    const settled = await cluster.settle(results);
    expect(settled.value).toHaveLength(50);
    expect(new Set(settled.value).size).toBe(50);
    await cluster.stopAll();
  });

  it('a follower read resolves only once the follower has applied every write acknowledged before it', async () => {
    const cluster = new TestCluster();
    cluster.start();
    const leader = await cluster.waitForLeader();
    await cluster.waitFor(() => cluster.nodes.every((node) => node.server.leaderId === leader.id));
    const follower = cluster.nodes.find((node) => node !== leader)!;
    for (let i = 1; i <= 10; i++) await cluster.settle(leader.propose({ add: 1 }));
    const read = await cluster.settle(follower.readIndex());
    expect(read.error).toBeUndefined();
    expect(cluster.machines[follower.id]!.total).toBe(10);
    expect((await cluster.settle(leader.readIndex())).error).toBeUndefined();
    await cluster.stopAll();
  });

  it('a retried write with the same client session applies once and answers the first result', async () => {
    const cluster = new TestCluster();
    cluster.start();
    const leader = await cluster.waitForLeader();
    await cluster.waitFor(() => cluster.nodes.every((node) => node.server.leaderId === leader.id));
    const follower = cluster.nodes.find((node) => node !== leader)!;
    const session = { clientId: 'client-a', sequence: 1 };
    expect((await cluster.settle(leader.propose({ add: 7 }, { session }))).value).toBe(7);
    expect((await cluster.settle(follower.propose({ add: 7 }, { session }))).value).toBe(7);
    expect((await cluster.settle(leader.propose({ add: 7 }, { session }))).value).toBe(7);
    expect((await cluster.settle(leader.propose({ add: 1 }, { session: { clientId: 'client-a', sequence: 2 } }))).value).toBe(8);
    await cluster.waitFor(() => cluster.machines.every((machine) => machine.total === 8));
    for (const machine of cluster.machines) expect(machine.applied).toEqual([7, 1]);
    await cluster.stopAll();
  });

  it('a request older than the session window is refused as expired on every replica, applying nothing', async () => {
    const cluster = new TestCluster();
    cluster.start();
    const leader = await cluster.waitForLeader();
    for (let sequence = 1; sequence <= 130; sequence++) await cluster.settle(leader.propose({ add: 1 }, { session: { clientId: 'c', sequence } }));
    // the session keeps the outcomes of its last 128 sequence numbers: 3..130
    const old = await cluster.settle(leader.propose({ add: 100 }, { session: { clientId: 'c', sequence: 3 } }));
    expect(old.value).toBe(3);
    const expired = await cluster.settle(leader.propose({ add: 100 }, { session: { clientId: 'c', sequence: 2 } }));
    expect(expired.error).toBeInstanceOf(SessionExpiredError);
    expect(cluster.machines[leader.id]!.total).toBe(130);
    await cluster.stopAll();
  });

  it('a malformed session is refused with InvalidArgumentError and proposes nothing', async () => {
    const cluster = new TestCluster();
    cluster.start();
    const leader = await cluster.waitForLeader();
    const last = cluster.stores[leader.id]!.currentLogIndex;
    await expect(leader.propose({ add: 1 }, { session: { clientId: '', sequence: 1 } })).rejects.toThrow(InvalidArgumentError);
    await expect(leader.propose({ add: 1 }, { session: { clientId: 'x', sequence: 0 } })).rejects.toThrow(InvalidArgumentError);
    await jest.advanceTimersByTimeAsync(10);
    expect(cluster.stores[leader.id]!.currentLogIndex).toBe(last);
    await cluster.stopAll();
  });

  it('a command the state machine refuses rejects with CommandFailedError, the same on every replica', async () => {
    const cluster = new TestCluster();
    cluster.start();
    const leader = await cluster.waitForLeader();
    const refused = await cluster.settle(leader.propose({ add: -1 }));
    expect(refused.error).toBeInstanceOf(CommandFailedError);
    expect((await cluster.settle(leader.propose({ add: 2 }))).value).toBe(2);
    await cluster.stopAll();
  });

  it('without a known leader, proposals and reads reject with NoLeaderError at once (nothing proposed)', async () => {
    const cluster = new TestCluster();
    cluster.network.cut(0);
    cluster.start();
    const proposal = await cluster.settle(cluster.nodes[0]!.propose({ add: 1 }), 50);
    expect(proposal.error).toBeInstanceOf(NoLeaderError);
    const read = await cluster.settle(cluster.nodes[0]!.readIndex(), 50);
    expect(read.error).toBeInstanceOf(NoLeaderError);
    expect(cluster.stores[0]!.currentLogIndex).toBe(0);
    await cluster.stopAll();
  });

  it('a leader cut off from the others answers its proposal OutcomeUnknownError once the deadline passes', async () => {
    const cluster = new TestCluster(3, { checkQuorum: false }, 1000);
    cluster.start();
    const leader = await cluster.waitForLeader();
    cluster.network.cut(leader.id);
    const outcome = await cluster.settle(leader.propose({ add: 1 }));
    expect(outcome.error).toBeInstanceOf(OutcomeUnknownError);
    await cluster.stopAll();
  });

  it('an entry proposed by a deposed leader and replaced by the new leader fails with OutcomeUnknownError, before the deadline', async () => {
    const cluster = new TestCluster(3, { checkQuorum: false }, 60_000);
    cluster.start();
    const old = await cluster.waitForLeader();
    await cluster.settle(old.propose({ add: 1 }));
    cluster.network.cut(old.id);
    const lost = old.propose({ add: 100 });
    const lostOutcome = cluster.settle(lost, 30_000);
    await cluster.waitFor(() => cluster.nodes.some((node) => node !== old && node.server.role === 'leader'));
    const fresh = cluster.leader() === old ? cluster.nodes.find((node) => node !== old && node.server.role === 'leader')! : cluster.leader()!;
    await cluster.settle(fresh.propose({ add: 10 }));
    cluster.network.restore(old.id);
    const outcome = await lostOutcome;
    expect(outcome.error).toBeInstanceOf(OutcomeUnknownError);
    await cluster.waitFor(() => cluster.machines.every((machine) => machine.total === 11));
    await cluster.stopAll();
  });

  it('stop() on the leader hands leadership over before closing: a new leader well within one election timeout', async () => {
    const cluster = new TestCluster(3, { electionTimeout: 3000, electionTimeoutRange: 3000 });
    cluster.start();
    const leader = await cluster.waitForLeader();
    await cluster.settle(leader.propose({ add: 1 }));
    const stopping = leader.stop();
    const started = Date.now();
    await cluster.waitFor(() => cluster.nodes.some((node) => node !== leader && node.server.role === 'leader'), 2000);
    expect(Date.now() - started).toBeLessThan(3000);
    await cluster.settle(stopping);
    await expect(leader.propose({ add: 1 })).rejects.toThrow(NodeStoppedError);
    await cluster.stopAll();
  });

  it('a one-member cluster applies inside proposeAll and still resolves each proposal with its own result', async () => {
    const cluster = new TestCluster(1);
    cluster.start();
    await cluster.waitForLeader();
    const both = await cluster.settle(Promise.all([cluster.nodes[0]!.propose({ add: 1 }), cluster.nodes[0]!.propose({ add: 2 })]));
    expect(both.value).toEqual([1, 3]);
    await cluster.stopAll();
  });

  it('a member restarted after many compacted writes catches up through a snapshot, sessions included', async () => {
    const cluster = new TestCluster(3, { maxLogEntries: 20 });
    cluster.start();
    let leader = await cluster.waitForLeader();
    const behind = cluster.nodes.find((node) => node !== leader)!.id;
    await cluster.crash(behind);
    for (let sequence = 1; sequence <= 60; sequence++) await cluster.settle(leader.propose({ add: 1 }, { session: { clientId: 'c', sequence } }));
    expect(leader.server.snapshot.index).toBeGreaterThan(0);
    const restarted = cluster.restart(behind);
    await cluster.waitFor(() => cluster.machines[behind]!.total === 60);
    expect(restarted.server.snapshot.index).toBeGreaterThan(0);
    leader = cluster.leader()!;
    // the session table came with the snapshot: a retry through the restarted member applies nothing
    const retry = await cluster.settle(restarted.propose({ add: 1 }, { session: { clientId: 'c', sequence: 60 } }));
    expect(retry.value).toBe(60);
    await cluster.waitFor(() => cluster.machines.every((machine) => machine.total === 60));
    await cluster.stopAll();
  });

  it('a proposal forwarded to a leader that dies fails as soon as the follower stops knowing that leader, not at the deadline', async () => {
    const cluster = new TestCluster(3, {}, 60_000);
    cluster.start();
    const leader = await cluster.waitForLeader();
    await cluster.waitFor(() => cluster.nodes.every((node) => node.server.leaderId === leader.id));
    const follower = cluster.nodes.find((node) => node !== leader)!;
    await cluster.crash(leader.id); // the forward is sent, and lost with the leader
    const started = Date.now();
    const forwarded = await cluster.settle(follower.propose({ add: 1 }), 10_000);
    expect(forwarded.error).toBeInstanceOf(OutcomeUnknownError);
    expect(Date.now() - started).toBeLessThan(5_000);
    await cluster.waitFor(() => cluster.nodes.some((node) => node !== leader && node.server.role === 'leader' && follower.server.leaderId === node.id));
    expect((await cluster.settle(follower.propose({ add: 2 }))).value).toBe(2);
    await cluster.stopAll();
  });

  it('a read forwarded to a leader that dies fails with NoLeaderError (safe to retry) once the leader is forgotten', async () => {
    const cluster = new TestCluster(3, {}, 60_000);
    cluster.start();
    const leader = await cluster.waitForLeader();
    await cluster.waitFor(() => cluster.nodes.every((node) => node.server.leaderId === leader.id));
    const follower = cluster.nodes.find((node) => node !== leader)!;
    await cluster.crash(leader.id);
    const started = Date.now();
    const read = await cluster.settle(follower.readIndex(), 10_000);
    expect(read.error).toBeInstanceOf(NoLeaderError);
    expect(Date.now() - started).toBeLessThan(5_000);
    await cluster.stopAll();
  });
});
