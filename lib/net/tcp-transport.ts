/**
 * A {@link PeerTransport} over TCP (optionally mutual TLS) for the members of one cluster.
 *
 * - One connection per pair of members: the member with the lower id dials the higher one
 *   (and redials with exponential backoff and jitter while the transport is open); the
 *   higher one accepts. A new authenticated connection from a peer replaces the old one.
 * - Every connection is authenticated by the challenge-response of `lib/net/handshake.ts`
 *   before anything else is read; with TLS, that handshake runs inside the TLS session.
 * - Frames are length-prefixed (`lib/net/frame.ts`); after authentication each carries one
 *   request or reply envelope (`lib/net/codec.ts`). Requests and replies flow both ways,
 *   many in flight at once.
 * - Memory is bounded per peer: at most `maxQueueBytes` waiting to be written (frames beyond
 *   are dropped and counted), at most `maxPendingReplies` reply callbacks (forgotten after
 *   `replyTimeoutMs`), and at most `maxFrameBytes` of one incoming frame.
 *
 * @module
 */

import * as net from 'node:net';
import * as tls from 'node:tls';
import { ConfigurationError } from '../errors';
import type { ServerId } from '../types';
import { envelopeValue, GarbageFrameError, JSON_FRAME_CODEC, toEnvelope, type FrameCodec } from './codec';
import { DEFAULT_MAX_FRAME_BYTES, FRAME_HEADER_BYTES, FrameDecoder, FrameTooLargeError, frameHeader } from './frame';
import {
  AcceptorHandshake,
  decodeHandshakeMessage,
  DialerHandshake,
  encodeHandshakeMessage,
  HandshakeError,
  MAX_HANDSHAKE_FRAME_BYTES,
  type HandshakeConfig,
} from './handshake';
import type {
  PeerAddress,
  PeerStats,
  PeerTransport,
  RefusalReason,
  RequestHandler,
  TransportStats,
  WireValue,
} from './peer-transport';

/** Certificates for mutual TLS between members (PEM). */
export interface TcpTlsOptions {
  /** This member's private key. */
  readonly key: string | Buffer;
  /** This member's certificate (chain). */
  readonly cert: string | Buffer;
  /** The certificate authorities that sign members' certificates. */
  readonly ca: string | Buffer | readonly (string | Buffer)[];
}

/**
 * Backoff between attempts to dial a peer: the n-th retry waits a random time between half
 * and all of `min(max, initial * 2^n)`; a successful handshake starts over at `initial`.
 */
export interface ReconnectDelay {
  /** Delay before the first retry, in milliseconds (default 50). */
  readonly initial?: number;
  /** Largest delay, in milliseconds (default 2000). */
  readonly max?: number;
}

/** Options of {@link TcpTransport.listen}. */
export interface TcpTransportOptions {
  /** This member's id: an index into `peers`. */
  readonly id: ServerId;
  /** Every member's address, indexed by id (this member's own entry is where it listens). */
  readonly peers: readonly PeerAddress[];
  /** The secret shared by the members (a non-empty string, UTF-8, or bytes). */
  readonly secret: string | Uint8Array;
  /**
   * Mutual TLS: both sides present certificates signed by `ca` and reject peers that do not
   * (`requestCert` and `rejectUnauthorized`). The dialer also checks that the acceptor's
   * certificate names its configured host. The HMAC handshake still runs inside.
   */
  readonly tls?: TcpTlsOptions;
  /** Largest frame payload accepted after authentication (default 16 MiB). */
  readonly maxFrameBytes?: number;
  /** Largest number of bytes waiting to be written to one peer (default 16 MiB). */
  readonly maxQueueBytes?: number;
  /** Largest number of reply callbacks waiting per peer; the oldest is forgotten beyond it (default 65536). */
  readonly maxPendingReplies?: number;
  /**
   * Most sockets the listening side keeps open at once, authenticated peers and connections
   * still authenticating together (default 64). Beyond it a new connection is closed before
   * anything is read and counted as `overload`: a flood of connections costs a bounded amount
   * of memory, and a peer gets in again once the strangers' handshake time has run out.
   */
  readonly maxConnections?: number;
  /** Time a new connection has to complete authentication, in milliseconds (default 2000). */
  readonly handshakeTimeoutMs?: number;
  /** Time after which a reply callback is forgotten, in milliseconds (default 30000). */
  readonly replyTimeoutMs?: number;
  /**
   * Age after which a frame queued for an unconnected peer is dropped instead of sent once the
   * connection comes up, in milliseconds (default 1000). A peer that was down gets no stale
   * AppendEntries or forwarded requests from before; Raft sends again what still matters.
   */
  readonly maxQueueAgeMs?: number;
  /** Backoff between attempts to dial a peer (default 50 ms doubling up to 2000 ms, with jitter). */
  readonly reconnectDelayMs?: ReconnectDelay;
  /** Encoding of envelopes inside frames (default {@link JSON_FRAME_CODEC}). */
  readonly codec?: FrameCodec;
}

/** Default of {@link TcpTransportOptions.maxQueueBytes}: 16 MiB. */
export const DEFAULT_MAX_QUEUE_BYTES = 16 * 1024 * 1024;
/** Default of {@link TcpTransportOptions.maxPendingReplies}. */
export const DEFAULT_MAX_PENDING_REPLIES = 65536;
/** Default of {@link TcpTransportOptions.handshakeTimeoutMs}. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 2000;
/** Default of {@link TcpTransportOptions.maxConnections}. */
export const DEFAULT_MAX_CONNECTIONS = 64;
/** Default of {@link TcpTransportOptions.maxQueueAgeMs}. */
export const DEFAULT_MAX_QUEUE_AGE_MS = 1000;
/** Default of {@link TcpTransportOptions.replyTimeoutMs}. */
export const DEFAULT_REPLY_TIMEOUT_MS = 30000;
/** Idle time before TCP keep-alive probes start on a connection. */
const KEEPALIVE_DELAY_MS = 5000;

/** Default of {@link TcpTransportOptions.reconnectDelayMs}. */
export const DEFAULT_RECONNECT_DELAY_MS: Required<ReconnectDelay> = { initial: 50, max: 2000 };

interface PendingReply {
  readonly callback: (answer: WireValue) => void;
  readonly deadline: number;
}

/** Everything the transport keeps about one peer. */
class PeerSlot {
  connection: Connection | null = null;
  /** Frames waiting for a connection (header and payload separately). */
  queue: Uint8Array[] = [];
  /** When each queued frame was queued (`Date.now()`), in queue order. */
  queueTimes: number[] = [];
  queueFrames = 0;
  queueBytes = 0;
  readonly pending = new Map<number, PendingReply>();
  framesSent = 0;
  framesReceived = 0;
  bytesSent = 0;
  bytesReceived = 0;
  framesDropped = 0;
  dialAttempts = 0;
  dialTimer: NodeJS.Timeout | null = null;
  dialing: Connection | null = null;

  constructor(
    readonly id: ServerId,
    readonly address: PeerAddress,
  ) {}
}

type Socket = net.Socket | tls.TLSSocket;

/** One socket, from connect to close. */
class Connection {
  readonly decoder = new FrameDecoder(MAX_HANDSHAKE_FRAME_BYTES);
  /** The peer, known from the start for a dialer, after HELLO for an acceptor. */
  peer: ServerId;
  /** Whether the socket is connected (TLS: the TLS session is up); always true for accepted sockets. */
  connected: boolean;
  authenticated = false;
  closed = false;
  handshakeTimer: NodeJS.Timeout | null = null;
  /** Frames gathered during this tick, written together on the next `setImmediate`. */
  gathered: Uint8Array[] = [];
  gatheredFrames = 0;
  gatheredBytes = 0;
  flushScheduled = false;

  constructor(
    readonly socket: Socket,
    readonly handshake: DialerHandshake | AcceptorHandshake,
    peer: ServerId,
    connected: boolean,
  ) {
    this.peer = peer;
    this.connected = connected;
  }

  /** Bytes accepted for this socket and not yet handed to the kernel. */
  get queuedBytes(): number {
    return this.socket.writableLength + this.gatheredBytes;
  }
}

/**
 * The TCP transport: create one per member with {@link TcpTransport.listen}, hand it to the
 * node, and {@link TcpTransport.close} it on shutdown.
 *
 * @example
 * ```ts
 * const transport = await TcpTransport.listen({
 *   id: 0,
 *   peers: [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7000 }, { host: '10.0.0.3', port: 7000 }],
 *   secret: process.env.RAFT_SECRET ?? '',
 * });
 * transport.onRequest((from, body, reply) => reply({ echo: body }));
 * transport.send(1, 'ping', (answer) => console.log(answer));
 * ```
 */
export class TcpTransport implements PeerTransport {
  /** This member's id. */
  readonly id: ServerId;
  /** Number of members, this one included. */
  readonly clusterSize: number;
  private readonly peers: readonly PeerAddress[];
  private readonly slots: (PeerSlot | null)[];
  private readonly handshakeConfig: HandshakeConfig;
  private readonly tlsOptions: TcpTlsOptions | undefined;
  private readonly maxFrameBytes: number;
  private readonly maxQueueBytes: number;
  private readonly maxPendingReplies: number;
  private readonly handshakeTimeoutMs: number;
  private readonly replyTimeoutMs: number;
  private readonly maxQueueAgeMs: number;
  private readonly maxConnections: number;
  private readonly reconnectDelay: Required<ReconnectDelay>;
  private readonly codec: FrameCodec;
  private readonly refused: Record<RefusalReason, number> = {
    stranger: 0,
    badSecret: 0,
    garbage: 0,
    oversized: 0,
    handshakeTimeout: 0,
    overload: 0,
  };
  private readonly connections = new Set<Connection>();
  /** Every socket the server accepted and has not seen close (TLS ones included before their handshake). */
  private readonly accepted = new Set<net.Socket>();
  private server: net.Server | null = null;
  private handler: RequestHandler | null = null;
  private nextRequestId = 0;
  private sweepTimer: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;

  private constructor(options: TcpTransportOptions) {
    const { id, peers } = options;
    if (!Array.isArray(peers) || peers.length === 0) throw new ConfigurationError('peers', peers, 'a non-empty array of addresses');
    peers.forEach((peer: PeerAddress, index: number) => {
      if (peer === null || typeof peer !== 'object' || typeof peer.host !== 'string' || peer.host === '') {
        throw new ConfigurationError(`peers[${index}].host`, peer?.host, 'a host name or IP address');
      }
      if (!Number.isInteger(peer.port) || peer.port < 0 || peer.port > 65535) {
        throw new ConfigurationError(`peers[${index}].port`, peer.port, 'a TCP port');
      }
    });
    if (!Number.isSafeInteger(id) || id < 0 || id >= peers.length) {
      throw new ConfigurationError('id', id, `an index into \`peers\` (0 to ${peers.length - 1})`);
    }
    const secret = typeof options.secret === 'string' ? Buffer.from(options.secret, 'utf8') : options.secret;
    if (!(secret instanceof Uint8Array) || secret.length === 0) {
      throw new ConfigurationError('secret', options.secret, 'a non-empty string or byte array');
    }
    this.id = id;
    this.clusterSize = peers.length;
    this.peers = peers.map((peer) => ({ host: peer.host, port: peer.port }));
    this.handshakeConfig = { id, peers: this.peers, secret: Uint8Array.from(secret) };
    this.tlsOptions = options.tls;
    this.maxFrameBytes = positive('maxFrameBytes', options.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES, 0xffff_ffff);
    this.maxQueueBytes = positive('maxQueueBytes', options.maxQueueBytes, DEFAULT_MAX_QUEUE_BYTES);
    this.maxPendingReplies = positive('maxPendingReplies', options.maxPendingReplies, DEFAULT_MAX_PENDING_REPLIES);
    this.handshakeTimeoutMs = positive('handshakeTimeoutMs', options.handshakeTimeoutMs, DEFAULT_HANDSHAKE_TIMEOUT_MS);
    this.replyTimeoutMs = positive('replyTimeoutMs', options.replyTimeoutMs, DEFAULT_REPLY_TIMEOUT_MS);
    this.maxQueueAgeMs = positive('maxQueueAgeMs', options.maxQueueAgeMs, DEFAULT_MAX_QUEUE_AGE_MS);
    this.maxConnections = positive('maxConnections', options.maxConnections, DEFAULT_MAX_CONNECTIONS);
    if (!Number.isSafeInteger(this.maxConnections) || this.maxConnections < this.peers.length) {
      throw new ConfigurationError('maxConnections', options.maxConnections, `an integer >= the number of members (${this.peers.length})`);
    }
    const delay = options.reconnectDelayMs ?? DEFAULT_RECONNECT_DELAY_MS;
    const initial = positive('reconnectDelayMs.initial', delay.initial, DEFAULT_RECONNECT_DELAY_MS.initial);
    const max = positive('reconnectDelayMs.max', delay.max, Math.max(DEFAULT_RECONNECT_DELAY_MS.max, initial));
    if (max < initial) throw new ConfigurationError('reconnectDelayMs.max', max, `at least \`reconnectDelayMs.initial\` (${initial})`);
    this.reconnectDelay = { initial, max };
    this.codec = options.codec ?? JSON_FRAME_CODEC;
    this.slots = this.peers.map((address, peer) => (peer === id ? null : new PeerSlot(peer, address)));
  }

  /**
   * Creates a transport listening on `peers[id]` and starts dialing the members with higher
   * ids. Resolves once listening.
   *
   * @throws `ConfigurationError` (from `lib/errors.ts`) for invalid options; rejects when the address cannot be bound.
   */
  static async listen(options: TcpTransportOptions): Promise<TcpTransport> {
    const transport = new TcpTransport(options);
    await transport.start();
    return transport;
  }

  /** The port the transport listens on (useful when `peers[id].port` is 0). */
  get port(): number {
    const address = this.server?.address();
    return address !== null && typeof address === 'object' ? address.port : 0;
  }

  /**
   * Sends `body` to peer `to` as a request; `onReply`, when given, is called at most once
   * with the answer. Queues it (up to `maxQueueBytes`) while the peer is not connected.
   * Returns `false`, counting a dropped frame, when the peer's queue is full or the frame is
   * above `maxFrameBytes`; `false` also for this member's own id, an unknown id, or after
   * {@link TcpTransport.close}.
   */
  send(to: ServerId, body: WireValue, onReply?: (answer: WireValue) => void): boolean {
    const slot = this.closing === null ? this.slots[to] : undefined;
    if (slot === undefined || slot === null) return false;
    const requestId = this.nextRequestId++;
    if (!this.enqueue(slot, slot.connection, envelopeValue('q', requestId, body))) return false;
    if (onReply !== undefined) {
      slot.pending.set(requestId, { callback: onReply, deadline: Date.now() + this.replyTimeoutMs });
      if (slot.pending.size > this.maxPendingReplies) {
        const oldest = slot.pending.keys().next();
        if (oldest.done !== true) slot.pending.delete(oldest.value);
      }
    }
    return true;
  }

  /** Sets the handler of requests from peers (a second call replaces it); requests arriving without one are dropped. */
  onRequest(handler: RequestHandler): void {
    this.handler = handler;
  }

  /** A snapshot of the counters, per peer and for refused connections. */
  stats(): TransportStats {
    const peers: PeerStats[] = this.slots.map((slot) =>
      slot === null
        ? { connected: false, framesSent: 0, framesReceived: 0, bytesSent: 0, bytesReceived: 0, framesDropped: 0, queuedBytes: 0 }
        : {
            connected: slot.connection !== null,
            framesSent: slot.framesSent,
            framesReceived: slot.framesReceived,
            bytesSent: slot.bytesSent,
            bytesReceived: slot.bytesReceived,
            framesDropped: slot.framesDropped,
            queuedBytes: slot.connection !== null ? slot.connection.queuedBytes : slot.queueBytes,
          },
    );
    return { peers, refused: { ...this.refused } };
  }

  /** Closes every connection and the listening socket; resolves once the server is closed. Pending `onReply` are never called. */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    this.closing = new Promise<void>((resolve) => {
      if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
      for (const slot of this.slots) {
        if (slot === null) continue;
        if (slot.dialTimer !== null) clearTimeout(slot.dialTimer);
        slot.dialTimer = null;
        slot.pending.clear();
        slot.queue = [];
        slot.queueTimes = [];
        slot.queueBytes = 0;
        slot.queueFrames = 0;
      }
      for (const connection of [...this.connections]) this.drop(connection);
      for (const socket of this.accepted) socket.destroy();
      this.accepted.clear();
      const server = this.server;
      if (server === null) resolve();
      else server.close(() => resolve());
    });
    return this.closing;
  }

  // ---- startup ------------------------------------------------------------------------

  private start(): Promise<void> {
    const own = this.peers[this.id] as PeerAddress;
    const server = this.tlsOptions === undefined ? net.createServer() : this.createTlsServer(this.tlsOptions);
    this.server = server;
    // Node closes a connection past maxConnections before it is handed over ('drop').
    server.maxConnections = this.maxConnections;
    server.on('drop', () => {
      if (this.closing === null) this.refused.overload++;
    });
    server.on('connection', (socket: net.Socket) => {
      if (this.closing !== null) {
        socket.destroy();
        return;
      }
      this.accepted.add(socket);
      socket.once('close', () => this.accepted.delete(socket));
      // Errors are handled by the connection (or the TLS server) that wraps the socket.
      socket.on('error', () => undefined);
    });
    if (this.tlsOptions === undefined) {
      server.on('connection', (socket: net.Socket) => this.accept(socket));
    } else {
      server.on('secureConnection', (socket: tls.TLSSocket) => this.accept(socket));
      server.on('tlsClientError', (error: Error & { code?: string }, socket: tls.TLSSocket) => {
        socket.destroy();
        if (this.closing !== null) return;
        const reason = tlsRefusal(error, socket);
        if (reason !== null) this.refused[reason]++;
      });
    }
    return new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => {
        this.server = null;
        this.closing = Promise.resolve();
        reject(error);
      };
      server.once('error', onError);
      server.listen({ host: own.host, port: own.port }, () => {
        server.off('error', onError);
        // A listening server has nothing to report that should stop it; failures are per socket.
        server.on('error', () => undefined);
        this.sweepTimer = setInterval(() => this.sweep(), Math.max(10, Math.min(1000, this.replyTimeoutMs / 2)));
        this.sweepTimer.unref();
        for (const slot of this.slots) if (slot !== null && slot.id > this.id) this.dial(slot);
        resolve();
      });
    });
  }

  private createTlsServer(options: TcpTlsOptions): tls.Server {
    return tls.createServer({
      key: options.key,
      cert: options.cert,
      ca: caList(options.ca),
      requestCert: true,
      rejectUnauthorized: true,
      handshakeTimeout: this.handshakeTimeoutMs,
    });
  }

  // ---- connections ------------------------------------------------------------------------

  private accept(socket: Socket): void {
    if (this.closing !== null) {
      socket.destroy();
      return;
    }
    const connection = new Connection(socket, new AcceptorHandshake(this.handshakeConfig, socket.remoteAddress), -1, true);
    this.attach(connection);
  }

  private dial(slot: PeerSlot): void {
    slot.dialTimer = null;
    if (this.closing !== null || slot.connection !== null || slot.dialing !== null) return;
    const { host, port } = slot.address;
    const tlsOptions = this.tlsOptions;
    const socket =
      tlsOptions === undefined
        ? net.connect({ host, port })
        : tls.connect({
            host,
            port,
            key: tlsOptions.key,
            cert: tlsOptions.cert,
            ca: caList(tlsOptions.ca),
            rejectUnauthorized: true,
            ...(net.isIP(host) === 0 ? { servername: host } : {}),
          });
    const handshake = new DialerHandshake(this.handshakeConfig, slot.id);
    const connection = new Connection(socket, handshake, slot.id, false);
    slot.dialing = connection;
    this.attach(connection);
    const ready = tlsOptions === undefined ? 'connect' : 'secureConnect';
    socket.once(ready, () => {
      if (connection.closed) return;
      // The handshake clock restarts once connected: an unreachable peer is not a refusal.
      connection.connected = true;
      this.startHandshakeClock(connection);
      this.writeHandshake(connection, handshake.hello());
    });
  }

  private scheduleDial(slot: PeerSlot): void {
    if (this.closing !== null || slot.id < this.id || slot.dialTimer !== null || slot.connection !== null || slot.dialing !== null) {
      return;
    }
    const { initial, max } = this.reconnectDelay;
    const ceiling = Math.min(max, initial * 2 ** Math.min(slot.dialAttempts, 30));
    slot.dialAttempts++;
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    slot.dialTimer = setTimeout(() => this.dial(slot), delay);
  }

  /** Wires a socket's events to its connection and starts the handshake clock. */
  private attach(connection: Connection): void {
    const { socket } = connection;
    this.connections.add(connection);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_DELAY_MS);
    this.startHandshakeClock(connection);
    socket.on('data', (chunk: Buffer) => this.onData(connection, chunk));
    socket.on('error', (error: Error & { code?: string }) => {
      // A dialer that rejects the acceptor's certificate refuses a stranger.
      if (!connection.authenticated && connection.handshake instanceof DialerHandshake && isCertificateError(error)) {
        this.refuse(connection, 'stranger');
      } else {
        this.drop(connection);
      }
    });
    socket.on('close', () => this.drop(connection));
    socket.on('end', () => this.drop(connection));
  }

  /**
   * (Re)starts the time a connection has to authenticate. A dialer still connecting when it
   * runs out is closed without counting a refusal (the peer is just unreachable).
   */
  private startHandshakeClock(connection: Connection): void {
    if (connection.handshakeTimer !== null) clearTimeout(connection.handshakeTimer);
    connection.handshakeTimer = setTimeout(() => {
      if (connection.connected) this.refuse(connection, 'handshakeTimeout');
      else this.drop(connection);
    }, this.handshakeTimeoutMs);
  }

  private onData(connection: Connection, chunk: Buffer): void {
    if (connection.closed) return;
    try {
      connection.decoder.push(chunk, (payload) => this.onFrame(connection, payload));
    } catch (error) {
      if (error instanceof FrameTooLargeError) this.refuse(connection, 'oversized');
      else if (error instanceof HandshakeError) this.refuse(connection, error.reason);
      else if (error instanceof GarbageFrameError) this.refuse(connection, 'garbage');
      else {
        this.drop(connection);
        throw error;
      }
    }
  }

  private onFrame(connection: Connection, payload: Uint8Array): void {
    if (connection.closed) return;
    if (!connection.authenticated) {
      const step = connection.handshake.receive(decodeHandshakeMessage(payload));
      if (step.send !== null) this.writeHandshake(connection, step.send);
      if (step.done) this.authenticated(connection);
      return;
    }
    const slot = this.slots[connection.peer];
    if (slot === undefined || slot === null || slot.connection !== connection) return;
    slot.framesReceived++;
    slot.bytesReceived += FRAME_HEADER_BYTES + payload.length;
    let decoded: WireValue;
    try {
      decoded = this.codec.decode(payload);
    } catch (error) {
      throw error instanceof GarbageFrameError ? error : new GarbageFrameError(String(error));
    }
    const envelope = toEnvelope(decoded);
    if (envelope.t === 'q') {
      const handler = this.handler;
      if (handler === null) return;
      let replied = false;
      const requestId = envelope.i;
      const from = connection.peer;
      deliver(() =>
        handler(from, envelope.b, (answer: WireValue) => {
          if (replied) return;
          replied = true;
          if (slot.connection !== connection || connection.closed) {
            slot.framesDropped++;
            return;
          }
          this.enqueue(slot, connection, envelopeValue('r', requestId, answer));
        }),
      );
      return;
    }
    const pending = slot.pending.get(envelope.i);
    if (pending === undefined) return;
    slot.pending.delete(envelope.i);
    deliver(() => pending.callback(envelope.b));
  }

  private authenticated(connection: Connection): void {
    if (connection.handshake instanceof AcceptorHandshake) connection.peer = connection.handshake.peer;
    const slot = this.slots[connection.peer];
    if (slot === undefined || slot === null) {
      this.drop(connection);
      return;
    }
    if (connection.handshakeTimer !== null) clearTimeout(connection.handshakeTimer);
    connection.handshakeTimer = null;
    connection.authenticated = true;
    connection.decoder.maxFrameBytes = this.maxFrameBytes;
    if (slot.dialing === connection) slot.dialing = null;
    slot.dialAttempts = 0;
    const previous = slot.connection;
    slot.connection = connection;
    if (previous !== null) {
      // The new connection replaces the old one; requests sent on the old one get no reply.
      slot.pending.clear();
      this.drop(previous);
    }
    // Frames queued while there was no connection go out first, in order, but for stale ones.
    this.dropStaleQueued(slot);
    if (slot.queue.length > 0) {
      connection.gathered = slot.queue;
      connection.gatheredBytes = slot.queueBytes;
      connection.gatheredFrames = slot.queueFrames;
      slot.queue = [];
      slot.queueTimes = [];
      slot.queueBytes = 0;
      slot.queueFrames = 0;
      this.scheduleFlush(slot, connection);
    }
  }

  /** Drops the frames queued for `slot` longer than `maxQueueAgeMs` ago (the oldest are first). */
  private dropStaleQueued(slot: PeerSlot): void {
    const oldest = Date.now() - this.maxQueueAgeMs;
    let stale = 0;
    while (stale < slot.queueTimes.length && (slot.queueTimes[stale] as number) < oldest) stale++;
    if (stale === 0) return;
    for (let frame = 0; frame < stale; frame++) {
      slot.queueBytes -= (slot.queue[2 * frame] as Uint8Array).length + (slot.queue[2 * frame + 1] as Uint8Array).length;
    }
    slot.queue = slot.queue.slice(2 * stale);
    slot.queueTimes = slot.queueTimes.slice(stale);
    slot.queueFrames -= stale;
    slot.framesDropped += stale;
  }

  /** Closes a connection for a reason and counts it. */
  private refuse(connection: Connection, reason: RefusalReason): void {
    if (connection.closed) return;
    if (this.closing === null) this.refused[reason]++;
    this.drop(connection);
  }

  /** Closes a connection (idempotent); forgets its replies and redials if it was ours to dial. */
  private drop(connection: Connection): void {
    if (connection.closed) return;
    connection.closed = true;
    connection.decoder.close();
    const lost = connection.gatheredFrames;
    connection.gathered = [];
    connection.gatheredBytes = 0;
    connection.gatheredFrames = 0;
    if (connection.handshakeTimer !== null) clearTimeout(connection.handshakeTimer);
    connection.handshakeTimer = null;
    this.connections.delete(connection);
    connection.socket.destroy();
    const slot = connection.peer >= 0 ? this.slots[connection.peer] : undefined;
    if (slot === undefined || slot === null) return;
    slot.framesDropped += lost;
    if (slot.dialing === connection) slot.dialing = null;
    if (slot.connection === connection) {
      slot.connection = null;
      slot.pending.clear();
    }
    this.scheduleDial(slot);
  }

  // ---- writing ------------------------------------------------------------------------------

  private writeHandshake(connection: Connection, message: WireValue): void {
    const payload = encodeHandshakeMessage(message);
    connection.socket.write(Buffer.concat([frameHeader(payload.length), payload]));
  }

  /**
   * Encodes an envelope and queues it on `connection` (or the peer's waiting queue when null).
   * Returns false, counting a dropped frame, when it does not fit.
   */
  private enqueue(slot: PeerSlot, connection: Connection | null, value: WireValue): boolean {
    const payload = this.codec.encode(value);
    const size = FRAME_HEADER_BYTES + payload.length;
    if (payload.length > this.maxFrameBytes) {
      slot.framesDropped++;
      return false;
    }
    if (connection === null) {
      if (slot.queueBytes + size > this.maxQueueBytes) this.dropStaleQueued(slot);
      if (slot.queueBytes + size > this.maxQueueBytes) {
        slot.framesDropped++;
        return false;
      }
      slot.queue.push(frameHeader(payload.length), payload);
      slot.queueTimes.push(Date.now());
      slot.queueBytes += size;
      slot.queueFrames++;
      return true;
    }
    if (connection.queuedBytes + size > this.maxQueueBytes) {
      slot.framesDropped++;
      return false;
    }
    connection.gathered.push(frameHeader(payload.length), payload);
    connection.gatheredBytes += size;
    connection.gatheredFrames++;
    this.scheduleFlush(slot, connection);
    return true;
  }

  private scheduleFlush(slot: PeerSlot, connection: Connection): void {
    if (connection.flushScheduled) return;
    connection.flushScheduled = true;
    setImmediate(() => {
      connection.flushScheduled = false;
      if (connection.closed || connection.gathered.length === 0) return;
      const parts = connection.gathered;
      const bytes = connection.gatheredBytes;
      const frames = connection.gatheredFrames;
      connection.gathered = [];
      connection.gatheredBytes = 0;
      connection.gatheredFrames = 0;
      connection.socket.write(parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts, bytes));
      slot.framesSent += frames;
      slot.bytesSent += bytes;
    });
  }

  // ---- reply timeouts ---------------------------------------------------------------------------

  private sweep(): void {
    const now = Date.now();
    for (const slot of this.slots) {
      if (slot === null) continue;
      // Deadlines grow with insertion order, so the expired ones come first.
      for (const [requestId, pending] of slot.pending) {
        if (pending.deadline > now) break;
        slot.pending.delete(requestId);
      }
    }
  }
}

function positive(option: string, value: number | undefined, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > max) {
    throw new ConfigurationError(option, value, `a positive number up to ${max}`);
  }
  return value;
}

function caList(ca: TcpTlsOptions['ca']): string | Buffer | (string | Buffer)[] {
  return typeof ca === 'string' || Buffer.isBuffer(ca) ? ca : [...ca];
}

/**
 * The refusal counter of a TLS handshake the server failed: a missing or untrusted client
 * certificate is a stranger; a timeout is a timeout; a peer hanging up is not counted (it is
 * the peer refusing us); anything else is bytes that are not TLS: garbage.
 */
function tlsRefusal(error: Error & { code?: string }, socket: tls.TLSSocket): RefusalReason | null {
  if (socket.authorizationError !== undefined && socket.authorizationError !== null) return 'stranger';
  if (error.code === 'ERR_TLS_HANDSHAKE_TIMEOUT') return 'handshakeTimeout';
  if (isCertificateError(error)) return 'stranger';
  if (error.code === 'ECONNRESET' || error.code === 'EPIPE') return null;
  return 'garbage';
}

/** Whether a TLS error is about the peer's certificate (missing, untrusted, or for another host). */
function isCertificateError(error: Error & { code?: string }): boolean {
  // An alert is the peer complaining about us, not us refusing the peer.
  if ((error.code ?? '').includes('ALERT')) return false;
  return /CERT|SELF_SIGNED|UNABLE_TO_|ALTNAME|CA_/i.test(error.code ?? '') || /certificate/i.test(error.message);
}

/**
 * Calls user code (a request handler or a reply callback) so that a throw cannot leave the
 * transport half-way through a chunk: the error is rethrown on its own turn.
 */
function deliver(call: () => void): void {
  try {
    call();
  } catch (error) {
    setImmediate(() => {
      throw error;
    });
  }
}
