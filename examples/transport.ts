/**
 * How to put `Server` on a real transport: every message crosses a "wire" as a JSON
 * string, and the reply callback is rebuilt on the far side from a correlation id. The
 * wire here is an in-process queue and the clock is virtual, so the example is
 * deterministic; swap `wire.push` for a socket write and `clock` for `performance.now`.
 */
import { InMemoryPersistentState, Server, seededRandom, type AppendEntriesReply, type Message, type RequestVoteReply, type ServerId } from '../lib';

type Reply = RequestVoteReply | AppendEntriesReply;
/** What crosses the wire: a request with a correlation id, or the reply to one. */
type Frame =
  | { readonly kind: 'request'; readonly from: ServerId; readonly to: ServerId; readonly callId: number; readonly body: Omit<Message<string>, 'replyChannel'> }
  | { readonly kind: 'reply'; readonly from: ServerId; readonly to: ServerId; readonly callId: number; readonly body: Reply };

/** One process of the cluster: a Server, its pending reply callbacks, and its side of the wire. */
class Node {
  readonly server: Server<string>;
  readonly #pending = new Map<number, (reply: Reply) => void>();
  #nextCallId = 1;

  constructor(id: ServerId, clusterSize: number, wire: string[], clock: () => number) {
    this.server = new Server<string>({
      id,
      clusterSize,
      clock,
      random: seededRandom(id + 1),
      persistentState: new InMemoryPersistentState<string>(), // a FilePersistentState in production
      // Outgoing: keep the reply callback here, send everything else.
      messageChannel: (to, message) => {
        const callId = this.#nextCallId++;
        const { replyChannel, ...body } = message;
        this.#pending.set(callId, replyChannel as (reply: Reply) => void);
        wire.push(JSON.stringify({ kind: 'request', from: id, to, callId, body } satisfies Frame));
      },
    });
  }

  /** Incoming: a request gets a fresh reply callback that writes the reply back to the wire. */
  receive(frame: Frame, wire: string[]): void {
    if (frame.kind === 'request') {
      const replyChannel = (reply: Reply): void => {
        wire.push(JSON.stringify({ kind: 'reply', from: frame.to, to: frame.from, callId: frame.callId, body: reply } satisfies Frame));
      };
      this.server.processMessage({ ...frame.body, replyChannel } as Message<string>);
    } else {
      const callback = this.#pending.get(frame.callId);
      this.#pending.delete(frame.callId); // a duplicate reply finds nothing: the Server copes either way
      callback?.(frame.body);
    }
  }
}

/** Runs three nodes over the JSON wire until a proposal is committed everywhere; returns each node's committed data. */
export function main(print: (line: string) => void = console.log): string[][] {
  let now = 0;
  const wire: string[] = [];
  const nodes = [0, 1, 2].map((id) => new Node(id, 3, wire, () => now));
  const committed: string[][] = nodes.map(() => []);
  nodes.forEach((node, id) => node.server.on('committed', (entries) => committed[id]?.push(...entries.map((e) => e.data))));

  // The host loop: deliver what is on the wire, else jump the clock to the next deadline and tick.
  const step = (): void => {
    const raw = wire.shift();
    if (raw !== undefined) {
      const frame = JSON.parse(raw) as Frame;
      nodes[frame.to]?.receive(frame, wire);
      return;
    }
    now = Math.min(...nodes.map((n) => n.server.nextDeadline()));
    nodes.forEach((n) => n.server.tick());
  };

  while (!nodes.some((n) => n.server.role === 'leader')) step();
  const leader = nodes.find((n) => n.server.role === 'leader')!.server;
  print(`t=${now.toFixed(1)} ms: server ${leader.id} leads term ${leader.currentTerm}`);
  leader.propose('hello over JSON');
  while (committed.some((c) => c.length === 0)) step();
  print(`t=${now.toFixed(1)} ms: committed on every node: ${JSON.stringify(committed)}`);
  return committed;
}

if (require.main === module) main();
