import type { RefusalReason } from '../../lib/net/peer-transport';
import { encodeFrame, frameHeader } from '../../lib/net/frame';
import { TcpTransport } from '../../lib/net/tcp-transport';
import * as net from 'node:net';
import { addresses, HOST, RawClient, request, testOptions, waitFor } from './helpers';
import type { PeerAddress } from '../../lib/net/peer-transport';

jest.setTimeout(10000);

const NONCE = 'ab'.repeat(32);

describe('TcpTransport refusals', () => {
  let peers: PeerAddress[];
  let t0: TcpTransport;
  let t1: TcpTransport;
  const extra: TcpTransport[] = [];

  beforeEach(async () => {
    peers = await addresses(3); // member 2 is never started
    [t0, t1] = await Promise.all([TcpTransport.listen(testOptions(0, peers)), TcpTransport.listen(testOptions(1, peers))]);
    for (const t of [t0, t1]) t.onRequest((_from, body, reply) => reply(body));
    await waitFor(() => t0.stats().peers[1]?.connected === true && t1.stats().peers[0]?.connected === true);
  });

  afterEach(async () => {
    await Promise.all([t0.close(), t1.close(), ...extra.map((t) => t.close())]);
    extra.length = 0;
  });

  /** The legitimate pair still exchanges requests, and its connection survived. */
  async function stillWorks(): Promise<void> {
    expect(t0.stats().peers[1]?.connected).toBe(true);
    expect(await request(t0, 1, 'still')).toBe('still');
    expect(await request(t1, 0, 'works')).toBe('works');
  }

  function only(transport: TcpTransport, reason: RefusalReason, count = 1): void {
    const refused = transport.stats().refused;
    for (const [key, value] of Object.entries(refused)) expect([key, value]).toEqual([key, key === reason ? count : 0]);
  }

  async function refusedWith(client: RawClient, reason: RefusalReason, by: TcpTransport = t1): Promise<void> {
    await client.waitClosed();
    await waitFor(() => by.stats().refused[reason] === 1, 2000, reason);
    only(by, reason);
    await stillWorks();
  }

  it('refuses a HELLO from an unknown id as a stranger', async () => {
    const client = await RawClient.connect(t1.port);
    client.sendJson({ v: 1, from: 9, to: 1, nonce: NONCE });
    await refusedWith(client, 'stranger');
  });

  it('refuses a HELLO addressed to another member, or from a higher id, as a stranger', async () => {
    const wrongTo = await RawClient.connect(t1.port);
    wrongTo.sendJson({ v: 1, from: 0, to: 2, nonce: NONCE });
    await refusedWith(wrongTo, 'stranger');
    const higher = await RawClient.connect(t1.port);
    higher.sendJson({ v: 1, from: 2, to: 1, nonce: NONCE });
    await higher.waitClosed();
    await waitFor(() => t1.stats().refused.stranger === 2);
  });

  it('refuses a member id coming from another address as a stranger', async () => {
    const client = await RawClient.connect(t1.port, '127.0.0.2');
    client.sendJson({ v: 1, from: 0, to: 1, nonce: NONCE });
    await refusedWith(client, 'stranger');
  });

  it('refuses a wrong proof from a dialer as badSecret', async () => {
    const client = await RawClient.connect(t1.port);
    client.sendJson({ v: 1, from: 0, to: 1, nonce: NONCE });
    const challenge = JSON.parse((await client.nextFrame()).toString()) as Record<string, string>;
    expect(Object.keys(challenge).sort()).toEqual(['nonce', 'proof']);
    client.sendJson({ proof: 'cd'.repeat(32) });
    await refusedWith(client, 'badSecret');
  });

  it('counts badSecret when a member with another secret answers the dial', async () => {
    // Member 2 runs with the wrong secret; member 0 dials it and refuses its proof.
    const impostor = await TcpTransport.listen(testOptions(2, peers, { secret: 'wrong secret' }));
    extra.push(impostor);
    await waitFor(() => (t0.stats().refused.badSecret ?? 0) >= 1, 3000, 'badSecret at the dialer');
    expect(t0.stats().peers[2]?.connected).toBe(false);
    expect(impostor.stats().peers.every((peer) => !peer.connected)).toBe(true);
    await stillWorks();
  });

  it('closes connections past maxConnections before reading anything, as overload; the member and its peer are unaffected', async () => {
    const crowded = await TcpTransport.listen(testOptions(2, peers, { maxConnections: 3, handshakeTimeoutMs: 300 }));
    extra.push(crowded);
    crowded.onRequest((_from, body, reply) => reply(body));
    // Members 0 and 1 dial member 2: two of its three places. Then a crowd of silent sockets.
    await waitFor(() => crowded.stats().peers[0]?.connected === true && crowded.stats().peers[1]?.connected === true, 5000, 'members connected');
    const crowd = await Promise.all(Array.from({ length: 6 }, () => RawClient.connect(crowded.port)));
    await waitFor(() => crowded.stats().refused.overload >= 5, 3000, 'overload refusals');
    expect(crowded.stats().refused.overload).toBe(5);
    await Promise.all(crowd.map((client) => client.waitClosed())); // the one admitted runs out of handshake time
    expect(crowded.stats().refused.handshakeTimeout).toBe(1);
    expect(await request(t0, 2, 'through')).toBe('through');
    expect(await request(crowded, 1, 'and back')).toBe('and back');
  });

  it('refuses a maxConnections below the number of members', async () => {
    await expect(TcpTransport.listen(testOptions(2, peers, { maxConnections: 2 }))).rejects.toThrow(/maxConnections/);
  });

  it('refuses undecodable handshake bytes as garbage', async () => {
    const client = await RawClient.connect(t1.port);
    client.socket.write(encodeFrame(Buffer.from('hello')));
    await refusedWith(client, 'garbage');
  });

  it('refuses a handshake message of the wrong shape as garbage', async () => {
    const client = await RawClient.connect(t1.port);
    client.sendJson({ hello: 'there' });
    await refusedWith(client, 'garbage');
  });

  it('refuses garbage after authentication, and a bad envelope', async () => {
    const client = await RawClient.authenticated(t1.port, 0, 1, peers);
    // The raw client replaced t0's connection; t0 redials and replaces it back later.
    client.socket.write(encodeFrame(Buffer.from('{"t":"q","i":1}')));
    await client.waitClosed();
    await waitFor(() => t1.stats().refused.garbage === 1);
    await waitFor(() => t0.stats().peers[1]?.connected === true && t1.stats().peers[0]?.connected === true);
    await stillWorks();
  });

  it('refuses an oversized length prefix during the handshake', async () => {
    const client = await RawClient.connect(t1.port);
    client.socket.write(frameHeader(0xffffffff));
    await refusedWith(client, 'oversized');
  });

  it('refuses a frame above maxFrameBytes after authentication', async () => {
    const pair = await addresses(2); // member 0 is played by a raw socket
    const small = await TcpTransport.listen(testOptions(1, pair, { maxFrameBytes: 1000 }));
    extra.push(small);
    const client = await RawClient.authenticated(small.port, 0, 1, pair);
    await waitFor(() => small.stats().peers[0]?.connected === true);
    client.socket.write(frameHeader(1001));
    await client.waitClosed();
    await waitFor(() => small.stats().refused.oversized === 1);
    only(small, 'oversized');
    expect(small.send(0, 'x'.repeat(2000))).toBe(false); // the sender drops what the receiver would refuse
    expect(small.stats().peers[0]?.framesDropped).toBe(1);
  });

  it('refuses a socket that says nothing after handshakeTimeoutMs', async () => {
    const client = await RawClient.connect(t1.port);
    await refusedWith(client, 'handshakeTimeout');
  });

  it('refuses a socket that stops half-way through the handshake', async () => {
    const client = await RawClient.connect(t1.port);
    client.sendJson({ v: 1, from: 0, to: 1, nonce: NONCE });
    await client.nextFrame();
    await refusedWith(client, 'handshakeTimeout');
  });

  describe('on the dialing side', () => {
    /** Listens on member 2's address with a raw server that handles each socket with `onSocket`. */
    async function rawMember2(onSocket: (socket: net.Socket) => void): Promise<net.Server> {
      const server = net.createServer((socket) => {
        socket.on('error', () => undefined);
        onSocket(socket);
      });
      await new Promise<void>((resolve) => server.listen(peers[2]?.port, HOST, resolve));
      return server;
    }

    async function closeServer(server: net.Server, sockets: net.Socket[]): Promise<void> {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }

    it('counts handshakeTimeout when the acceptor says nothing, and garbage when it answers junk', async () => {
      const sockets: net.Socket[] = [];
      let mode: 'silent' | 'junk' = 'silent';
      const server = await rawMember2((socket) => {
        sockets.push(socket);
        if (mode === 'junk') socket.once('data', () => socket.write(encodeFrame(Buffer.from('junk'))));
      });
      try {
        await waitFor(() => t0.stats().refused.handshakeTimeout >= 1, 3000, 'handshakeTimeout at the dialer');
        mode = 'junk';
        await waitFor(() => t0.stats().refused.garbage >= 1 && t1.stats().refused.garbage >= 1, 3000, 'garbage at the dialers');
        expect(t0.stats().peers[2]?.connected).toBe(false);
        await stillWorks();
      } finally {
        await closeServer(server, sockets);
      }
    });

    it('counts nothing when the peer hangs up or is not listening', async () => {
      const sockets: net.Socket[] = [];
      const server = await rawMember2((socket) => {
        sockets.push(socket);
        socket.destroy();
      });
      try {
        await waitFor(() => sockets.length >= 6, 3000, 'redials'); // both 0 and 1 dial member 2
        for (const t of [t0, t1]) expect(Object.values(t.stats().refused)).toEqual([0, 0, 0, 0, 0, 0]);
        await stillWorks();
      } finally {
        await closeServer(server, sockets);
      }
    });
  });
});
