import type { ServerId } from '../types';

/**
 * A value that crosses the wire between members: what JSON can hold. Raft messages are
 * turned into wire values (and back) by `lib/node/raft-wire.ts`; snapshot bytes travel as
 * base64 strings.
 */
export type WireValue = null | boolean | number | string | readonly WireValue[] | { readonly [key: string]: WireValue };

/** Where a member listens for its peers. */
export interface PeerAddress {
  /** Host name or IP address (the transport binds to it for its own entry). */
  readonly host: string;
  /** TCP port. */
  readonly port: number;
}

/**
 * The transport's counters, per peer and for refused connections, read by `/metrics`.
 * Every figure only grows, but `connected` and `queuedBytes`.
 */
export interface TransportStats {
  /** Indexed by peer id; this member's own slot is all zeros. */
  readonly peers: readonly PeerStats[];
  /** Connections closed before or while authenticating, by reason. */
  readonly refused: Readonly<Record<RefusalReason, number>>;
}

/** Traffic with one peer. */
export interface PeerStats {
  /** Whether an authenticated connection to the peer is open now. */
  readonly connected: boolean;
  /** Frames written to the peer's connection. */
  readonly framesSent: number;
  /** Frames read from the peer's connection (after authentication). */
  readonly framesReceived: number;
  /** Bytes written, frame headers included. */
  readonly bytesSent: number;
  /** Bytes read, frame headers included. */
  readonly bytesReceived: number;
  /** Frames dropped because the peer's send queue was full or the peer was unreachable. */
  readonly framesDropped: number;
  /** Bytes waiting in the send queue now. */
  readonly queuedBytes: number;
}

/**
 * Why a connection was refused and closed: an unknown member id or address, a wrong secret,
 * bytes that are not the protocol, a frame over the limit, no finished handshake in time, or
 * too many sockets open at once (`overload`, before anything was read).
 */
export type RefusalReason = 'stranger' | 'badSecret' | 'garbage' | 'oversized' | 'handshakeTimeout' | 'overload';

/** Handles a request from a peer; calls `reply` at most once with the answer. */
export type RequestHandler = (from: ServerId, body: WireValue, reply: (answer: WireValue) => void) => void;

/**
 * Request/reply messaging between the members of one cluster, as `RaftNode` uses it.
 * Delivery is best effort: a request or reply may be lost (then `onReply` is never called),
 * never duplicated, never altered.
 */
export interface PeerTransport {
  /** This member's id. */
  readonly id: ServerId;
  /** Number of members, this one included. */
  readonly clusterSize: number;
  /**
   * Sends `body` to peer `to`; `onReply`, when given, is called at most once with the
   * peer's answer. Returns `false` when the request was dropped at once (queue full, or no
   * connection and none coming).
   */
  send(to: ServerId, body: WireValue, onReply?: (answer: WireValue) => void): boolean;
  /** Sets the handler of requests from peers (one handler; a second call replaces it). */
  onRequest(handler: RequestHandler): void;
  /** The counters. */
  stats(): TransportStats;
  /** Closes every connection and the listening socket; pending `onReply` are never called. */
  close(): Promise<void>;
}
