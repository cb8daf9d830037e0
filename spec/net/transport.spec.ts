import type { WireValue } from '../../lib/net/peer-transport';
import { JSON_FRAME_CODEC, type FrameCodec } from '../../lib/net/codec';
import { TcpTransport } from '../../lib/net/tcp-transport';
import { addresses, allConnected, cluster, RawClient, request, testOptions, waitFor } from './helpers';

jest.setTimeout(10000);

describe('TcpTransport', () => {
  let transports: TcpTransport[] = [];
  afterEach(async () => {
    await Promise.all(transports.map((t) => t.close()));
    transports = [];
  });

  it('exchanges requests and replies in both directions among three members, many in flight', async () => {
    const peers = await addresses(3);
    transports = await cluster(peers);
    for (const t of transports) t.onRequest((from, body, reply) => reply({ at: t.id, from, echo: body }));
    await allConnected(transports);

    const perPair = 1000;
    const promises: Promise<WireValue>[] = [];
    const expected: WireValue[] = [];
    for (const from of transports) {
      for (const to of transports) {
        if (from === to) continue;
        for (let n = 0; n < perPair; n++) {
          const body = { n, from: from.id, payload: 'x'.repeat(n % 50) };
          promises.push(request(from, to.id, body));
          expected.push({ at: to.id, from: from.id, echo: body });
        }
      }
    }
    expect(await Promise.all(promises)).toEqual(expected);
    for (const t of transports) {
      const stats = t.stats();
      expect(stats.peers[t.id]).toEqual({
        connected: false, framesSent: 0, framesReceived: 0, bytesSent: 0, bytesReceived: 0, framesDropped: 0, queuedBytes: 0,
      });
      for (const [id, peer] of stats.peers.entries()) {
        if (id === t.id) continue;
        expect(peer.connected).toBe(true);
        expect(peer.framesSent).toBe(2 * perPair); // requests out, replies out
        expect(peer.framesReceived).toBe(2 * perPair);
        expect(peer.framesDropped).toBe(0);
        expect(peer.bytesSent).toBe(transports[id]?.stats().peers[t.id]?.bytesReceived);
      }
      expect(Object.values(stats.refused).every((n) => n === 0)).toBe(true);
    }
  });

  it('keeps exactly one connection per pair of members', async () => {
    const peers = await addresses(4);
    transports = await cluster(peers);
    await allConnected(transports);
    for (const t of transports) t.onRequest((_from, body, reply) => reply(body));
    // Traffic both ways on every pair, then count the sockets each transport holds (tests only).
    await Promise.all(transports.flatMap((from) => transports.filter((to) => to !== from).map((to) => request(from, to.id, 1))));
    const sockets = (t: TcpTransport): number => (t as unknown as { connections: Set<unknown> }).connections.size;
    for (const t of transports) expect(sockets(t)).toBe(3);
    expect(transports.reduce((sum, t) => sum + t.stats().refused.stranger, 0)).toBe(0);
  });

  it('queues requests sent before the connection is up and delivers them in order', async () => {
    const peers = await addresses(2);
    transports = await cluster(peers);
    const seen: WireValue[] = [];
    transports[1]?.onRequest((_from, body, reply) => {
      seen.push(body);
      reply(body);
    });
    const replies = Array.from({ length: 20 }, (_, n) => request(transports[0] as TcpTransport, 1, n));
    expect(await Promise.all(replies)).toEqual(Array.from({ length: 20 }, (_, n) => n));
    expect(seen).toEqual(Array.from({ length: 20 }, (_, n) => n));
  });

  it('drops frames queued for an unconnected peer longer than maxQueueAgeMs, and sends the fresh ones', async () => {
    const peers = await addresses(2);
    let now = Date.now();
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => now);
    try {
      const dialer = await TcpTransport.listen(testOptions(0, peers, { maxQueueAgeMs: 1000 }));
      transports = [dialer];
      for (const n of [1, 2, 3]) expect(dialer.send(1, `old ${n}`)).toBe(true);
      now += 5000; // the peer stays down for five seconds of the transport's clock
      expect(dialer.send(1, 'fresh')).toBe(true);
      const acceptor = await TcpTransport.listen(testOptions(1, peers));
      transports.push(acceptor);
      const seen: WireValue[] = [];
      acceptor.onRequest((_from, body, reply) => {
        seen.push(body);
        reply(body);
      });
      expect(await request(dialer, 1, 'after')).toBe('after');
      expect(seen).toEqual(['fresh', 'after']);
      expect(dialer.stats().peers[1]?.framesDropped).toBe(3);
    } catch (error) {
      clock.mockRestore();
      throw error;
    }
    clock.mockRestore();
  });

  it('handles a request without onReply and a handler that replies later or never', async () => {
    const peers = await addresses(2);
    transports = await cluster(peers);
    const later: (() => void)[] = [];
    let oneWay = 0;
    transports[0]?.onRequest((_from, body, reply) => {
      if (body === 'one-way') oneWay++;
      else if (body === 'later') later.push(() => reply('done'));
      // 'never': no reply
    });
    await allConnected(transports);
    const t1 = transports[1] as TcpTransport;
    expect(t1.send(0, 'one-way')).toBe(true);
    let neverCalled = false;
    t1.send(0, 'never', () => {
      neverCalled = true;
    });
    const answer = request(t1, 0, 'later');
    await waitFor(() => later.length === 1 && oneWay === 1);
    later[0]?.();
    later[0]?.(); // a second reply is ignored
    expect(await answer).toBe('done');
    expect(neverCalled).toBe(false);
  });

  it('returns false for itself, unknown ids, and after close', async () => {
    const peers = await addresses(2);
    transports = await cluster(peers);
    const t0 = transports[0] as TcpTransport;
    expect(t0.send(0, 'self')).toBe(false);
    expect(t0.send(5, 'nobody')).toBe(false);
    expect(t0.send(-1, 'nobody')).toBe(false);
    await t0.close();
    expect(t0.send(1, 'closed')).toBe(false);
    expect(t0.clusterSize).toBe(2);
  });

  it('reconnects after a peer restarts, in either role, and forgets pending replies on loss', async () => {
    const peers = await addresses(3);
    transports = await cluster(peers);
    for (const t of transports) t.onRequest((_from, body, reply) => reply(body));
    await allConnected(transports);

    // Member 1 stops: 0 dials it (and must redial), 2 accepts from it.
    let forgotten = false;
    const t1 = transports[1] as TcpTransport;
    t1.onRequest(() => undefined); // holds the request without replying
    transports[0]?.send(1, 'pending', () => {
      forgotten = true;
    });
    await waitFor(() => (t1.stats().peers[0]?.framesReceived ?? 0) > 0);
    await t1.close();
    await waitFor(() => transports[0]?.stats().peers[1]?.connected === false && transports[2]?.stats().peers[1]?.connected === false);

    const restarted = await TcpTransport.listen(testOptions(1, peers));
    restarted.onRequest((_from, body, reply) => reply({ restarted: body }));
    transports[1] = restarted;
    await allConnected(transports);
    expect(await request(transports[0] as TcpTransport, 1, 'a')).toEqual({ restarted: 'a' });
    expect(await request(transports[2] as TcpTransport, 1, 'b')).toEqual({ restarted: 'b' });
    expect(await request(restarted, 0, 'c')).toBe('c');
    expect(await request(restarted, 2, 'd')).toBe('d');
    expect(forgotten).toBe(false);
  });

  it('forgets reply callbacks when the connection is lost and never calls them', async () => {
    const peers = await addresses(2);
    transports = await cluster(peers);
    const [t0, t1] = transports as [TcpTransport, TcpTransport];
    const held: ((answer: WireValue) => void)[] = [];
    t1.onRequest((_from, body, reply) => (body === 'hold' ? held.push(reply) : reply(body)));
    await allConnected(transports);
    let called = false;
    t0.send(1, 'hold', () => {
      called = true;
    });
    await waitFor(() => held.length === 1);
    // Cut the connection under both transports (tests only); member 0 redials.
    const connections = (t1 as unknown as { connections: Set<{ socket: import('node:net').Socket }> }).connections;
    const old = [...connections];
    for (const connection of old) connection.socket.destroy();
    await waitFor(() => connections.size === 1 && !old.some((connection) => connections.has(connection)), 2000, 'a new connection');
    await allConnected(transports);
    held[0]?.('late'); // its connection is gone: dropped
    expect(await request(t0, 1, 'fresh')).toBe('fresh');
    expect(called).toBe(false);
    expect(t1.stats().peers[0]?.framesDropped).toBe(1);
  });

  it('lets a new authenticated connection from the same peer replace the old one', async () => {
    const peers = await addresses(2);
    const t1 = await TcpTransport.listen(testOptions(1, peers)); // member 0 is played by raw sockets
    transports = [t1];
    const first = await RawClient.authenticated(t1.port, 0, 1, peers);
    await waitFor(() => t1.stats().peers[0]?.connected === true);
    const second = await RawClient.authenticated(t1.port, 0, 1, peers);
    await first.waitClosed();
    expect(second.closed).toBe(false);
    expect(t1.send(0, 'to the second')).toBe(true);
    const frame = JSON.parse((await second.nextFrame()).toString()) as { t: string; b: WireValue };
    expect(frame.t).toBe('q');
    expect(frame.b).toBe('to the second');
    second.destroy();
  });

  it('forgets reply callbacks after replyTimeoutMs and beyond maxPendingReplies', async () => {
    const peers = await addresses(2);
    transports = await cluster(peers, { replyTimeoutMs: 50, maxPendingReplies: 3 });
    const held: ((answer: WireValue) => void)[] = [];
    transports[1]?.onRequest((_from, _body, reply) => held.push(reply));
    await allConnected(transports);
    const answered: number[] = [];
    for (let n = 0; n < 5; n++) transports[0]?.send(1, n, () => answered.push(n));
    await waitFor(() => held.length === 5);
    held.forEach((reply, n) => reply(n));
    await waitFor(() => (transports[0]?.stats().peers[1]?.framesReceived ?? 0) === 5);
    expect(answered).toEqual([2, 3, 4]); // the two oldest were forgotten

    held.length = 0;
    const late: number[] = [];
    transports[0]?.send(1, 'late', () => late.push(1));
    await waitFor(() => held.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // past the timeout and a sweep
    held[0]?.('too late');
    await waitFor(() => (transports[0]?.stats().peers[1]?.framesReceived ?? 0) === 6);
    expect(late).toEqual([]);
  });

  it('uses a custom codec, and counts what it cannot decode as garbage', async () => {
    const peers = await addresses(2);
    let encoded = 0;
    const codec: FrameCodec = {
      encode(value) {
        encoded++;
        return Buffer.concat([Buffer.from([0x42]), JSON_FRAME_CODEC.encode(value)]);
      },
      decode(bytes) {
        if (bytes[0] !== 0x42) throw new Error('no magic byte'); // not a GarbageFrameError
        return JSON_FRAME_CODEC.decode(bytes.subarray(1));
      },
    };
    transports = await cluster(peers, { codec, reconnectDelayMs: { initial: 5 } });
    transports[1]?.onRequest((_from, body, reply) => reply([body, body]));
    expect(await request(transports[0] as TcpTransport, 1, 'c')).toEqual(['c', 'c']);
    expect(encoded).toBe(2);

    const raw = await RawClient.authenticated((transports[1] as TcpTransport).port, 0, 1, peers);
    raw.sendJson({ t: 'q', i: 0, b: 'plain JSON, no magic byte' });
    await raw.waitClosed();
    await waitFor(() => transports[1]?.stats().refused.garbage === 1);
    await allConnected(transports);
    expect(await request(transports[0] as TcpTransport, 1, 'd')).toEqual(['d', 'd']);
  });

  it('validates options', async () => {
    const peers = await addresses(2);
    await expect(TcpTransport.listen(testOptions(2, peers))).rejects.toThrow(/`id`/);
    await expect(TcpTransport.listen(testOptions(0, peers, { secret: '' }))).rejects.toThrow(/`secret`/);
    await expect(TcpTransport.listen(testOptions(0, peers, { maxQueueBytes: 0 }))).rejects.toThrow(/`maxQueueBytes`/);
    await expect(TcpTransport.listen(testOptions(0, []))).rejects.toThrow(/`peers`/);
    const first = await TcpTransport.listen(testOptions(0, peers));
    transports = [first];
    await expect(TcpTransport.listen(testOptions(0, peers))).rejects.toThrow(/EADDRINUSE/);
  });
});
