import { InMemoryCluster, InvalidMessageError, Server, type Message } from '../lib';

export function main(print: (line: string) => void = console.log): string[] {
  // 1. A whole cluster in one process, on a virtual clock with one seed.
  const cluster = InMemoryCluster.make<string>(3, { seed: 42 });
  cluster.runUntil(() => cluster.leader() !== undefined, 10_000);
  const leader = cluster.leader()!;
  print(`leader: server ${leader.id}, term ${leader.currentTerm}`);

  // 2. Propose through the leader; 'appended' means replication started, not committed.
  const result = cluster.propose('set x = 1');
  if (result.type === 'appended') print(`appended at index ${result.index}, term ${result.term}`);

  // 3. Followers answer 'forward' (or 'delay' while no leader is known).
  const follower = cluster.servers.find((s) => s.role === 'follower')!;
  print(`a follower says: ${JSON.stringify(follower.propose('set y = 2'))}`);

  // 4. Committed entries arrive as events, in index order, once per index.
  cluster.advance(100);
  const applied = cluster.committed(follower.id).map((e) => `${e.index}:${e.data}`);
  print(`server ${follower.id} committed ${applied.join(', ')}`);

  // 5. Faults: crash the leader; the others elect a new one in a later term.
  cluster.crash(leader.id);
  cluster.runUntil(() => cluster.leader() !== undefined, 10_000);
  print(`new leader: server ${cluster.leader()!.id}, term ${cluster.leader()!.currentTerm}`);

  // 6. A single Server, driven by hand: bad input is refused with a typed error.
  const sent: Message<string>[] = [];
  const lone = new Server<string>({ id: 0, clusterSize: 3, messageChannel: (_to, m) => sent.push(m), clock: () => 0 });
  try {
    lone.processMessage({ type: 'requestVote', candidateTerm: -1, candidateId: 1, candidateLastLogEntry: { index: 0, term: 0 }, replyChannel: () => {} });
  } catch (error) {
    if (error instanceof InvalidMessageError) print(`refused: ${error.message}`);
  }
  lone.triggerTimeout(); // stands for election: one RequestVote per peer
  print(`server 0 is ${lone.role} in term ${lone.currentTerm}, sent ${sent.length} vote requests`);
  return applied;
}

if (require.main === module) main();
