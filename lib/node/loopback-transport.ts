import type { PeerStats, PeerTransport, RefusalReason, RequestHandler, TransportStats, WireValue } from '../net/peer-transport';
import type { ServerId } from '../types';

/**
 * {@link PeerTransport}s for members in one process, for tests and examples: each request
 * and reply is delivered in a later macrotask (`setImmediate`), after a JSON round trip (so
 * what arrives is what a socket would carry), unless its link is cut. Works with fake timers.
 *
 * @example
 * ```ts
 * const network = new LoopbackNetwork(3);
 * const nodes = [0, 1, 2].map((id) => new RaftNode({ id, transport: network.transport(id), ... }));
 * network.cut(0);  // member 0 hears nobody and nobody hears it
 * ```
 */
export class LoopbackNetwork {
  /** Number of members. */
  readonly clusterSize: number;
  readonly #handlers: (RequestHandler | undefined)[];
  readonly #closed: boolean[];
  readonly #cut = new Set<ServerId>();

  /** Creates the network for `clusterSize` members. */
  constructor(clusterSize: number) {
    this.clusterSize = clusterSize;
    this.#handlers = new Array<RequestHandler | undefined>(clusterSize).fill(undefined);
    this.#closed = new Array<boolean>(clusterSize).fill(false);
  }

  /** The transport of member `id` (a new one after the previous was closed: a restart). */
  transport(id: ServerId): PeerTransport {
    this.#closed[id] = false;
    this.#handlers[id] = undefined;
    const network = this;
    let open = true;
    const stats: { -readonly [K in keyof PeerStats]: PeerStats[K] }[] = Array.from({ length: this.clusterSize }, () => ({ connected: true, framesSent: 0, framesReceived: 0, bytesSent: 0, bytesReceived: 0, framesDropped: 0, queuedBytes: 0 }));
    const refused: Record<RefusalReason, number> = { stranger: 0, badSecret: 0, garbage: 0, oversized: 0, handshakeTimeout: 0, overload: 0 };
    return {
      id,
      clusterSize: this.clusterSize,
      send(to: ServerId, body: WireValue, onReply?: (answer: WireValue) => void): boolean {
        if (!open || network.#cut.has(id) || network.#cut.has(to)) return false;
        const text = JSON.stringify(body);
        const peer = stats[to];
        if (peer !== undefined) {
          peer.framesSent++;
          peer.bytesSent += text.length;
        }
        setImmediate(() => {
          const handler = network.#handlers[to];
          if (!open || handler === undefined || network.#closed[to] === true || network.#cut.has(id) || network.#cut.has(to)) return;
          handler(id, JSON.parse(text) as WireValue, (answer) => {
            const replyText = JSON.stringify(answer);
            setImmediate(() => {
              if (!open || network.#cut.has(id) || network.#cut.has(to)) return;
              onReply?.(JSON.parse(replyText) as WireValue);
            });
          });
        });
        return true;
      },
      onRequest(handler: RequestHandler): void {
        network.#handlers[id] = handler;
      },
      stats(): TransportStats {
        return { peers: stats, refused };
      },
      close(): Promise<void> {
        open = false;
        network.#closed[id] = true;
        network.#handlers[id] = undefined;
        return Promise.resolve();
      },
    };
  }

  /** Cuts every link of member `id` (requests and replies to or from it are lost). */
  cut(id: ServerId): void {
    this.#cut.add(id);
  }

  /** Restores the links of member `id`. */
  restore(id: ServerId): void {
    this.#cut.delete(id);
  }
}
