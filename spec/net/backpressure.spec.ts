import { TcpTransport } from '../../lib/net/tcp-transport';
import { addresses, allConnected, RawClient, request, testOptions, waitFor } from './helpers';

jest.setTimeout(15000);

const MAX_QUEUE = 1024 * 1024;
const BODY = 'x'.repeat(64 * 1024);
const TOTAL = 200 * 1024 * 1024;

function externalAndHeap(): number {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/** Sends TOTAL bytes from `from` to `to`, yielding between batches; checks the queue bound as it goes. */
async function flood(from: TcpTransport, to: number): Promise<{ accepted: number; maxQueued: number; peakGrowth: number }> {
  const before = externalAndHeap();
  let accepted = 0;
  let maxQueued = 0;
  let peakGrowth = 0;
  for (let sent = 0; sent < TOTAL; ) {
    for (let n = 0; n < 32; n++, sent += BODY.length) if (from.send(to, BODY)) accepted++;
    const queued = from.stats().peers[to]?.queuedBytes ?? 0;
    maxQueued = Math.max(maxQueued, queued);
    peakGrowth = Math.max(peakGrowth, externalAndHeap() - before);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { accepted, maxQueued, peakGrowth };
}

describe('TcpTransport memory bounds', () => {
  it('keeps the sender bounded when the peer stops reading', async () => {
    const peers = await addresses(2);
    const sender = await TcpTransport.listen(testOptions(1, peers, { maxQueueBytes: MAX_QUEUE }));
    try {
      const reader = await RawClient.authenticated(sender.port, 0, 1, peers);
      await waitFor(() => sender.stats().peers[0]?.connected === true);
      reader.socket.pause();
      const { accepted, maxQueued, peakGrowth } = await flood(sender, 0);
      const stats = sender.stats().peers[0];
      expect(stats?.connected).toBe(true);
      expect(maxQueued).toBeLessThanOrEqual(MAX_QUEUE);
      expect(stats?.queuedBytes).toBeLessThanOrEqual(MAX_QUEUE);
      expect(stats?.framesDropped).toBeGreaterThan(0);
      expect((stats?.framesDropped ?? 0) + accepted).toBe(TOTAL / BODY.length);
      // 200 MB went through send(); far less than that may stay alive at once.
      expect(peakGrowth).toBeLessThan(100 * 1024 * 1024);
      reader.destroy();
    } finally {
      await sender.close();
    }
  });

  it('keeps the sender bounded when a transport peer stops reading, and recovers when it resumes', async () => {
    const peers = await addresses(2);
    const [t0, t1] = await Promise.all([
      TcpTransport.listen(testOptions(0, peers, { maxQueueBytes: MAX_QUEUE })),
      TcpTransport.listen(testOptions(1, peers)),
    ]);
    try {
      const a = t0 as TcpTransport;
      const b = t1 as TcpTransport;
      let received = 0;
      b.onRequest((_from, body, reply) => {
        received++;
        reply(typeof body === 'string' ? body.length : -1);
      });
      await allConnected([a, b]);
      // Reach into b's accepted socket to stop reading (tests only).
      const connections = (b as unknown as { connections: Set<{ socket: import('node:net').Socket }> }).connections;
      const sockets = [...connections].map((c) => c.socket);
      expect(sockets).toHaveLength(1);
      sockets[0]?.pause();
      const { maxQueued } = await flood(a, 1);
      expect(maxQueued).toBeLessThanOrEqual(MAX_QUEUE);
      expect(a.stats().peers[1]?.framesDropped).toBeGreaterThan(0);
      sockets[0]?.resume();
      await waitFor(() => a.stats().peers[1]?.queuedBytes === 0, 5000, 'the queue to drain');
      expect(await request(a, 1, 'after')).toBe(5);
      expect(received).toBeGreaterThan(0);
    } finally {
      await Promise.all([t0?.close(), t1?.close()]);
    }
  });

  it('keeps the waiting queue bounded while a peer is unreachable', async () => {
    const peers = await addresses(2); // member 1 never starts
    const lonely = await TcpTransport.listen(testOptions(0, peers, { maxQueueBytes: MAX_QUEUE }));
    try {
      let accepted = 0;
      for (let n = 0; n < 1000; n++) if (lonely.send(1, BODY)) accepted++;
      const stats = lonely.stats().peers[1];
      expect(stats?.queuedBytes).toBeLessThanOrEqual(MAX_QUEUE);
      expect(accepted).toBe(Math.floor(MAX_QUEUE / (BODY.length + 30))); // envelope and header: under 30 bytes
      expect(stats?.framesDropped).toBe(1000 - accepted);
      expect(stats?.connected).toBe(false);
    } finally {
      await lonely.close();
    }
  });
});
