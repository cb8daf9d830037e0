// Shared helpers for the TCP transport tests: free loopback ports, bounded polling, clusters
// of transports, and a raw socket that speaks the wire protocol by hand.

import * as net from 'node:net';
import { encodeFrame, FrameDecoder } from '../../lib/net/frame';
import { decodeHandshakeMessage, DialerHandshake, encodeHandshakeMessage } from '../../lib/net/handshake';
import type { PeerAddress, WireValue } from '../../lib/net/peer-transport';
import { TcpTransport, type TcpTransportOptions } from '../../lib/net/tcp-transport';

export const HOST = '127.0.0.1';
export const SECRET = 'test secret';

/** `count` distinct free ports on 127.0.0.1 (listens on port 0, then closes). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const server = net.createServer();
          server.once('error', reject);
          server.listen(0, HOST, () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  return ports;
}

/** Polls `condition` every 5 ms until it holds; fails after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Addresses for `count` members on free loopback ports. */
export async function addresses(count: number): Promise<PeerAddress[]> {
  return (await freePorts(count)).map((port) => ({ host: HOST, port }));
}

/** Fast defaults for tests. */
export function testOptions(id: number, peers: readonly PeerAddress[], extra: Partial<TcpTransportOptions> = {}): TcpTransportOptions {
  return {
    id,
    peers,
    secret: SECRET,
    handshakeTimeoutMs: 500, // short, yet far above a loopback handshake on a loaded machine
    reconnectDelayMs: { initial: 10, max: 100 },
    ...extra,
  };
}

/** Starts one transport per address. */
export async function cluster(peers: readonly PeerAddress[], extra: Partial<TcpTransportOptions> = {}): Promise<TcpTransport[]> {
  return Promise.all(peers.map((_, id) => TcpTransport.listen(testOptions(id, peers, extra))));
}

/** Waits until every pair of transports is connected. */
export async function allConnected(transports: readonly TcpTransport[], timeoutMs = 5000): Promise<void> {
  await waitFor(
    () => transports.every((t) => t.stats().peers.every((peer, id) => id === t.id || peer.connected)),
    timeoutMs,
    'all connected',
  );
}

/** Sends a request and resolves with the reply. */
export function request(from: TcpTransport, to: number, body: WireValue): Promise<WireValue> {
  return new Promise((resolve, reject) => {
    if (!from.send(to, body, resolve)) reject(new Error('dropped'));
  });
}

/** A raw TCP client with a frame decoder and a log of received payloads. */
export class RawClient {
  readonly frames: Buffer[] = [];
  readonly decoder = new FrameDecoder(1 << 30);
  closed = false;
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.decoder.push(chunk, (payload) => this.frames.push(Buffer.from(payload)));
      this.wake();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  /** Connects to a port on 127.0.0.1 (optionally from a given local address). */
  static connect(port: number, localAddress?: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: HOST, port, ...(localAddress === undefined ? {} : { localAddress }) });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawClient(socket));
      });
    });
  }

  /** Connects and authenticates as member `from` to member `to`. */
  static async authenticated(port: number, from: number, to: number, peers: readonly PeerAddress[], secret = SECRET): Promise<RawClient> {
    const client = await RawClient.connect(port);
    const handshake = new DialerHandshake({ id: from, peers, secret: Buffer.from(secret) }, to);
    client.sendJson(handshake.hello());
    const challenge = await client.nextFrame();
    const step = handshake.receive(decodeHandshakeMessage(challenge));
    if (step.send !== null) client.sendJson(step.send);
    const ok = await client.nextFrame();
    if (!handshake.receive(decodeHandshakeMessage(ok)).done) throw new Error('handshake not done');
    return client;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  /** Writes a frame whose payload is `value` as JSON. */
  sendJson(value: WireValue): void {
    this.socket.write(encodeFrame(encodeHandshakeMessage(value)));
  }

  /** The next received payload (fails on close or after 5 s). */
  async nextFrame(timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = this.frames.shift();
      if (frame !== undefined) return frame;
      if (this.closed) throw new Error('closed');
      if (Date.now() > deadline) throw new Error('timed out waiting for a frame');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves once the server has closed the connection (fails after `timeoutMs`). */
  async waitClosed(timeoutMs = 5000): Promise<void> {
    await waitFor(() => this.closed, timeoutMs, 'the connection to close');
  }

  /** Closes the socket. */
  destroy(): void {
    this.socket.destroy();
  }
}
