import { InMemoryPersistentState, seededRandom } from '../../lib';
import type { WireValue } from '../../lib/net/peer-transport';
import { LoopbackNetwork } from '../../lib/node/loopback-transport';
import { RaftNode, type NodeServerOptions } from '../../lib/node/raft-node';
import type { NodeEntry, NodeStateMachine } from '../../lib/node/session-state-machine';

/** A command: add `amount` to the counter; the result is the new total. */
export type Add = { readonly add: number };

/** A counter state machine that also records every command it applied. */
export class Counter implements NodeStateMachine<Add, number> {
  total = 0;
  applied: number[] = [];
  apply(command: Add): number {
    if (command.add < 0) throw new Error('negative amounts are refused');
    this.applied.push(command.add);
    this.total += command.add;
    return this.total;
  }
  takeSnapshot(): Uint8Array {
    return Buffer.from(JSON.stringify({ total: this.total, applied: this.applied }));
  }
  restoreSnapshot(data: Uint8Array): void {
    const parsed = JSON.parse(Buffer.from(data).toString()) as { total: number; applied: number[] };
    this.total = parsed.total;
    this.applied = parsed.applied;
  }
}

/** An in-memory store that counts syncs. */
export class CountingState extends InMemoryPersistentState<NodeEntry<Add>> {
  syncs = 0;
  sync(): void {
    this.syncs++;
  }
}

/** Three (or n) nodes over a loopback network, on jest's fake clock. */
export class TestCluster {
  readonly network: LoopbackNetwork;
  readonly nodes: RaftNode<Add, number>[] = [];
  readonly machines: Counter[] = [];
  readonly stores: CountingState[] = [];
  readonly errors: Error[] = [];
  readonly #starts: number[] = [];

  constructor(readonly size = 3, readonly server: NodeServerOptions = {}, readonly requestTimeoutMs = 5000) {
    this.network = new LoopbackNetwork(size);
    for (let id = 0; id < size; id++) {
      this.stores.push(new CountingState());
      this.machines.push(new Counter());
      this.nodes.push(this.#build(id));
    }
  }

  #build(id: number): RaftNode<Add, number> {
    const node = new RaftNode<Add, number>({
      id,
      transport: this.network.transport(id),
      persistentState: this.stores[id]!,
      stateMachine: this.machines[id]!,
      // Seeded per member and per start, so every run draws the same timeouts.
      server: { heartbeatTimeout: 50, electionTimeout: 300, electionTimeoutRange: 300, random: seededRandom(1000 * (this.#starts[id] = (this.#starts[id] ?? 0) + 1) + id), ...this.server },
      requestTimeoutMs: this.requestTimeoutMs,
      clock: () => Date.now(),
    });
    node.on('error', (error) => this.errors.push(error));
    return node;
  }

  start(): void {
    for (const node of this.nodes) node.start();
  }

  /** Stops node `id` without hand-over (a crash of the process, keeping its store). */
  async crash(id: number): Promise<void> {
    const node = this.nodes[id]!;
    await node.stop({ transferTimeoutMs: 0 });
  }

  /** Starts node `id` again over its store, with a fresh state machine. */
  restart(id: number): RaftNode<Add, number> {
    this.machines[id] = new Counter();
    const node = this.#build(id);
    this.nodes[id] = node;
    node.start();
    return node;
  }

  leader(): RaftNode<Add, number> | undefined {
    return this.nodes.find((node) => node.server.role === 'leader');
  }

  async waitFor(condition: () => boolean, limitMs = 20_000): Promise<void> {
    for (let waited = 0; !condition(); waited += 10) {
      if (waited > limitMs) throw new Error(`condition not met within ${limitMs} ms of fake time`);
      await jest.advanceTimersByTimeAsync(10);
    }
  }

  async waitForLeader(): Promise<RaftNode<Add, number>> {
    await this.waitFor(() => this.leader() !== undefined);
    return this.leader()!;
  }

  /** Settles a promise while the fake clock runs. */
  async settle<V>(promise: Promise<V>, limitMs = 20_000): Promise<{ value?: V; error?: unknown }> {
    let outcome: { value?: V; error?: unknown } | undefined;
    promise.then((value) => (outcome = { value }), (error: unknown) => (outcome = { error }));
    await this.waitFor(() => outcome !== undefined, limitMs);
    return outcome!;
  }

  async stopAll(): Promise<void> {
    for (const node of this.nodes) await node.stop({ transferTimeoutMs: 0 });
  }
}

export function wire(value: unknown): WireValue {
  return value as WireValue;
}
