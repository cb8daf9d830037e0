import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { FilePersistentState } from '../storage/file-persistent-state';
import type { PeerAddress } from '../net/peer-transport';
import { TcpTransport, type TcpTlsOptions } from '../net/tcp-transport';
import { RaftNode, type NodeServerOptions } from '../node/raft-node';
import type { ClientSession } from '../node/client-sessions';
import type { NodeEntry } from '../node/session-state-machine';
import type { ServerId } from '../types';
import { createKvHttpServer } from './http-service';
import type { KvBackend, KvStatus } from './kv-backend';
import { KvMetrics } from './kv-metrics';
import { KvStore, type KvWrite } from './kv-store';

/** What one member of the key-value service is started with (the `npm run kv` flags). */
export interface KvMemberOptions {
  /** This member's id: its position in `peers`. */
  readonly id: ServerId;
  /** Every member's Raft address, by id. */
  readonly peers: readonly PeerAddress[];
  /** Where the HTTP API listens (port 0: any free port). */
  readonly http: PeerAddress;
  /** The data directory (the Raft store goes in `raft/` under it). */
  readonly dataDir: string;
  /** The secret the members share. */
  readonly secret: string;
  /** Mutual TLS between members, when wanted. */
  readonly tls?: TcpTlsOptions;
  /** Raft settings beyond the node's defaults. */
  readonly server?: NodeServerOptions;
  /** Deadline of one HTTP request's proposal or read, in milliseconds. @default 5000 */
  readonly requestTimeoutMs?: number;
}

/** A running member: its node, store and HTTP server. */
export interface KvMember {
  /** The Raft node. */
  readonly node: RaftNode<KvWrite, null>;
  /** The key-value state. */
  readonly store: KvStore;
  /** The HTTP server. */
  readonly http: HttpServer;
  /** Where the HTTP API listens, as `http://host:port`. */
  readonly url: string;
  /** Hands leadership away (when leading), then closes the HTTP server, the node, the transport and the store. */
  stop(): Promise<void>;
}

/**
 * The {@link KvBackend} of one member: writes are proposals to its {@link RaftNode} (a
 * follower's are forwarded to the leader over the peer transport), reads wait for
 * `readIndex` and then read the local {@link KvStore}.
 */
export class RaftKvBackend implements KvBackend {
  readonly #node: RaftNode<KvWrite, null>;
  readonly #store: KvStore;
  readonly #metrics: KvMetrics;

  /** Serves `store` through `node`; `metrics` renders `/metrics`. */
  constructor(node: RaftNode<KvWrite, null>, store: KvStore, metrics: KvMetrics) {
    this.#node = node;
    this.#store = store;
    this.#metrics = metrics;
  }

  /** Proposes a put; resolves once it is applied. */
  async put(key: string, value: string, session?: ClientSession): Promise<void> {
    await this.#node.propose({ op: 'put', key, value }, session === undefined ? {} : { session });
  }

  /** Proposes a delete; resolves once it is applied. */
  async delete(key: string, session?: ClientSession): Promise<void> {
    await this.#node.propose({ op: 'delete', key }, session === undefined ? {} : { session });
  }

  /** A linearizable read of `key`. */
  async get(key: string): Promise<string | undefined> {
    await this.#node.readIndex();
    return this.#store.get(key);
  }

  /** The member's Raft state. */
  status(): KvStatus {
    const { id, role, term, leaderId, commitIndex, lastApplied } = this.#node.status();
    return { id, role, term, leaderId, commitIndex, lastApplied };
  }

  /** Prometheus text. */
  metrics(): string {
    return this.#metrics.text();
  }
}

/**
 * Starts one member of the key-value service: opens its store, listens for peers (with the
 * shared secret, and TLS when given), starts its Raft node and its HTTP API.
 *
 * @example
 * ```ts
 * const member = await startKvMember({
 *   id: 0, peers: [{ host: '127.0.0.1', port: 7000 }, { host: '127.0.0.1', port: 7001 }, { host: '127.0.0.1', port: 7002 }],
 *   http: { host: '127.0.0.1', port: 8000 }, dataDir: '/var/lib/kv-0', secret,
 * });
 * console.log(member.url);
 * process.on('SIGTERM', () => void member.stop());
 * ```
 */
export async function startKvMember(options: KvMemberOptions): Promise<KvMember> {
  const metrics = new KvMetrics();
  const persistentState = FilePersistentState.open<NodeEntry<KvWrite>>(join(options.dataDir, 'raft'), { onSync: (seconds) => metrics.fsyncSeconds.observe(seconds) });
  let transport: TcpTransport;
  try {
    transport = await TcpTransport.listen({ id: options.id, peers: options.peers, secret: options.secret, ...(options.tls === undefined ? {} : { tls: options.tls }) });
  } catch (error) {
    persistentState.close();
    throw error;
  }
  const store = new KvStore();
  const node = new RaftNode<KvWrite, null>({
    id: options.id,
    transport,
    persistentState,
    stateMachine: store,
    ...(options.server === undefined ? {} : { server: options.server }),
    requestTimeoutMs: options.requestTimeoutMs ?? 5000,
  });
  metrics.watch(node, transport);
  node.start();
  const backend = new RaftKvBackend(node, store, metrics);
  const http = createKvHttpServer(backend, { requestTimeoutMs: (options.requestTimeoutMs ?? 5000) + 500, onResponse: metrics.http.onResponse });
  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.http.port, options.http.host, () => {
        http.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await node.stop({ transferTimeoutMs: 0 });
    throw error;
  }
  const address = http.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let stopping: Promise<void> | undefined;
  return {
    node,
    store,
    http,
    url: `http://${host}:${address.port}`,
    stop: () => {
      stopping ??= (async () => {
        await node.stop();
        http.closeAllConnections();
        await new Promise<void>((resolve) => http.close(() => resolve()));
      })();
      return stopping;
    },
  };
}
