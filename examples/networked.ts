/**
 * Three Raft members over real TCP in one process: each has a `TcpTransport` (shared secret),
 * a `FilePersistentState` in its own directory and a `RaftNode` running a counter. The
 * program waits for a leader, adds through a follower (forwarded to the leader), reads
 * linearizably through another follower, retries a write with the same client session
 * (applied once), and stops every member, the leader last, handing leadership over.
 *
 * In production each member is its own process with the same code and its own id.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilePersistentState } from '../lib/storage';
import { RaftNode, TcpTransport, type NodeEntry, type NodeStateMachine, type PeerAddress } from '../lib/node';

/** A command: add `amount`; the result is the new total. */
type Add = { readonly amount: number };

/** The application's state: a counter. */
class Counter implements NodeStateMachine<Add, number> {
  total = 0;
  apply(command: Add): number {
    return (this.total += command.amount);
  }
  takeSnapshot(): Uint8Array {
    return Buffer.from(String(this.total));
  }
  restoreSnapshot(data: Uint8Array): void {
    this.total = Number(Buffer.from(data).toString());
  }
}

/** A port free now on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Runs the example; returns the counter of every member at the end. */
export async function main(print: (line: string) => void = console.log): Promise<number[]> {
  const dir = mkdtempSync(join(tmpdir(), 'raft-networked-'));
  const peers: PeerAddress[] = [];
  for (let id = 0; id < 3; id++) peers.push({ host: '127.0.0.1', port: await freePort() });
  const counters = peers.map(() => new Counter());
  const nodes: RaftNode<Add, number>[] = [];
  try {
    for (let id = 0; id < 3; id++) {
      const transport = await TcpTransport.listen({ id, peers, secret: 'correct horse battery staple' });
      const persistentState = FilePersistentState.open<NodeEntry<Add>>(join(dir, `member-${id}`));
      const node = new RaftNode<Add, number>({ id, transport, persistentState, stateMachine: counters[id]!, server: { electionTimeout: 300, electionTimeoutRange: 300, heartbeatTimeout: 50 } });
      node.start();
      nodes.push(node);
    }
    const leader = await new Promise<RaftNode<Add, number>>((resolve) => {
      const check = (): void => {
        const found = nodes.find((node) => node.status().role === 'leader');
        if (found !== undefined && nodes.every((node) => node.status().leaderId === found.id)) resolve(found);
        else setTimeout(check, 20);
      };
      check();
    });
    print(`member ${leader.id} leads term ${leader.status().term}`);
    const [first, second] = nodes.filter((node) => node !== leader) as [RaftNode<Add, number>, RaftNode<Add, number>];

    print(`add 5 through member ${first.id}: total ${await first.propose({ amount: 5 })}`);
    const session = { clientId: 'example-client', sequence: 1 };
    print(`add 10 with session 1: total ${await leader.propose({ amount: 10 }, { session })}`);
    print(`retry of session 1 through member ${second.id}: total ${await second.propose({ amount: 10 }, { session })} (applied once)`);
    await second.readIndex();
    print(`linearizable read on member ${second.id}: total ${counters[second.id]!.total}`);
    await Promise.all(nodes.map((node) => node.readIndex())); // every member has applied every write
  } finally {
    // The leader first: it hands leadership to a follower before closing.
    const leaderFirst = [...nodes].sort((a, b) => Number(b.status().role === 'leader') - Number(a.status().role === 'leader'));
    for (const [i, node] of leaderFirst.entries()) await node.stop(i === 0 ? {} : { transferTimeoutMs: 0 });
    rmSync(dir, { recursive: true, force: true });
  }
  const totals = counters.map((counter) => counter.total);
  print(`stopped; totals ${JSON.stringify(totals)}`);
  return totals;
}

if (require.main === module) void main();
