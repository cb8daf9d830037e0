import { GarbageFrameError, JSON_FRAME_CODEC, toEnvelope } from '../../lib/net/codec';
import { encodeFrame, FrameDecoder, FrameTooLargeError, frameHeader } from '../../lib/net/frame';
import {
  AcceptorHandshake,
  addressMatches,
  decodeHandshakeMessage,
  DialerHandshake,
  HandshakeError,
  normalizeAddress,
} from '../../lib/net/handshake';
import type { PeerAddress } from '../../lib/net/peer-transport';

function decodeAll(decoder: FrameDecoder, chunks: readonly Uint8Array[]): string[] {
  const out: string[] = [];
  for (const chunk of chunks) decoder.push(chunk, (payload) => out.push(Buffer.from(payload).toString('utf8')));
  return out;
}

const payloads = ['', 'a', 'hello', 'x'.repeat(300), '{"t":"q"}', 'é漢字'];
const stream = Buffer.concat(payloads.map((p) => encodeFrame(Buffer.from(p, 'utf8'))));

describe('FrameDecoder', () => {
  it('decodes frames packed into one chunk', () => {
    expect(decodeAll(new FrameDecoder(), [stream])).toEqual(payloads);
  });

  it('decodes frames split at every possible point', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      expect(decodeAll(new FrameDecoder(), [stream.subarray(0, cut), stream.subarray(cut)])).toEqual(payloads);
    }
  });

  it('decodes a stream fed one byte at a time', () => {
    const chunks = Array.from(stream, (byte) => Uint8Array.of(byte));
    const decoder = new FrameDecoder();
    expect(decodeAll(decoder, chunks)).toEqual(payloads);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('decodes random chunkings', () => {
    let seed = 7;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 200; round++) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < stream.length; ) {
        const size = 1 + Math.floor(random() * 40);
        chunks.push(stream.subarray(at, at + size));
        at += size;
      }
      expect(decodeAll(new FrameDecoder(), chunks)).toEqual(payloads);
    }
  });

  it('refuses a declared length above the limit before buffering the payload', () => {
    const decoder = new FrameDecoder(100);
    const header = frameHeader(101);
    let error: unknown;
    try {
      decoder.push(header, () => undefined);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(FrameTooLargeError);
    expect((error as FrameTooLargeError).declared).toBe(101);
    expect((error as FrameTooLargeError).limit).toBe(100);
    expect(decoder.isClosed).toBe(true);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('refuses a 4 GiB length prefix split across chunks', () => {
    const decoder = new FrameDecoder(1024);
    decoder.push(Uint8Array.of(0xff, 0xff), () => undefined);
    expect(() => decoder.push(Uint8Array.of(0xff, 0xff), () => undefined)).toThrow(FrameTooLargeError);
  });

  it('accepts a frame of exactly the limit and keeps at most one partial frame', () => {
    const decoder = new FrameDecoder(1000);
    const frame = encodeFrame(Buffer.alloc(1000, 1));
    const out: number[] = [];
    decoder.push(frame.subarray(0, 500), (p) => out.push(p.length));
    expect(decoder.bufferedBytes).toBeLessThanOrEqual(1000);
    decoder.push(frame.subarray(500), (p) => out.push(p.length));
    expect(out).toEqual([1000]);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('reads the limit again for each frame, and stops after close', () => {
    const decoder = new FrameDecoder(4);
    const chunk = Buffer.concat([encodeFrame(Buffer.from('ab')), encodeFrame(Buffer.from('long payload')), encodeFrame(Buffer.from('c'))]);
    const out: string[] = [];
    decoder.push(chunk, (p) => {
      out.push(Buffer.from(p).toString());
      decoder.maxFrameBytes = 100;
    });
    expect(out).toEqual(['ab', 'long payload', 'c']);
    const closing = new FrameDecoder();
    const seen: string[] = [];
    closing.push(chunk, (p) => {
      seen.push(Buffer.from(p).toString());
      closing.close();
    });
    expect(seen).toEqual(['ab']);
  });
});

describe('JSON_FRAME_CODEC and envelopes', () => {
  it('round-trips wire values', () => {
    const value = { t: 'q', i: 3, b: { a: [1, 'two', null, true, { c: 1.5 }] } };
    expect(JSON_FRAME_CODEC.decode(JSON_FRAME_CODEC.encode(value))).toEqual(value);
    expect(toEnvelope(value)).toEqual(value);
  });

  it('throws GarbageFrameError on undecodable bytes', () => {
    expect(() => JSON_FRAME_CODEC.decode(Buffer.from('{nope'))).toThrow(GarbageFrameError);
    expect(() => JSON_FRAME_CODEC.decode(Uint8Array.of(0x22, 0xff, 0xfe, 0x22))).toThrow(GarbageFrameError);
  });

  it('refuses values that are not envelopes', () => {
    for (const bad of [null, 1, 'q', [], {}, { t: 'x', i: 1, b: 1 }, { t: 'q', i: -1, b: 1 }, { t: 'q', i: 1.5, b: 1 },
      { t: 'q', i: '1', b: 1 }, { t: 'q', i: 1 }, { t: 'r', i: 1, b: 1, extra: 1 }]) {
      expect(() => toEnvelope(bad)).toThrow(GarbageFrameError);
    }
  });
});

describe('handshake', () => {
  const peers: PeerAddress[] = [
    { host: '127.0.0.1', port: 1 },
    { host: 'node-b.example', port: 2 },
    { host: 'node-c.example', port: 3 },
  ];
  const secret = Buffer.from('s');
  const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

  function run(dialerSecret: Buffer, acceptorSecret: Buffer, from = 0, to = 1, remote = '::ffff:127.0.0.1'): boolean {
    const dialer = new DialerHandshake({ id: from, peers, secret: dialerSecret }, to);
    const acceptor = new AcceptorHandshake({ id: to, peers, secret: acceptorSecret }, remote);
    const challenge = acceptor.receive(decodeHandshakeMessage(json(dialer.hello())));
    const proof = dialer.receive(decodeHandshakeMessage(json(challenge.send)));
    const ok = acceptor.receive(decodeHandshakeMessage(json(proof.send)));
    expect(ok.done).toBe(true);
    expect(acceptor.peer).toBe(from);
    return dialer.receive(decodeHandshakeMessage(json(ok.send))).done;
  }

  function reason(call: () => unknown): string {
    try {
      call();
    } catch (error) {
      if (error instanceof HandshakeError) return error.reason;
      throw error;
    }
    return 'none';
  }

  it('authenticates both sides with the same secret', () => {
    expect(run(secret, secret)).toBe(true);
    expect(run(secret, secret, 1, 2, '10.9.9.9')).toBe(true); // host name: any address
  });

  it('refuses a wrong secret on either side', () => {
    expect(reason(() => run(secret, Buffer.from('other')))).toBe('badSecret');
  });

  it('refuses strangers', () => {
    const acceptor = (remote = '127.0.0.1'): AcceptorHandshake => new AcceptorHandshake({ id: 1, peers, secret }, remote);
    const hello = (from: number, to: number): Record<string, string | number> => ({ v: 1, from, to, nonce: 'a'.repeat(64) });
    expect(reason(() => acceptor().receive(hello(7, 1)))).toBe('stranger');
    expect(reason(() => acceptor().receive(hello(1, 1)))).toBe('stranger');
    expect(reason(() => acceptor().receive(hello(2, 1)))).toBe('stranger');
    expect(reason(() => acceptor().receive(hello(0, 2)))).toBe('stranger');
    expect(reason(() => acceptor('127.0.0.2').receive(hello(0, 1)))).toBe('stranger');
    expect(reason(() => acceptor().receive({ v: 2, from: 0, to: 1, nonce: 'a'.repeat(64) }))).toBe('garbage');
    expect(reason(() => acceptor().receive({ v: 1, from: 0, to: 1, nonce: 'short' }))).toBe('garbage');
    expect(reason(() => decodeHandshakeMessage(Buffer.from('[1]')))).toBe('garbage');
  });

  it('normalizes addresses', () => {
    expect(normalizeAddress('::FFFF:10.0.0.1')).toBe('10.0.0.1');
    expect(addressMatches('10.0.0.1', '::ffff:10.0.0.1')).toBe(true);
    expect(addressMatches('::ffff:10.0.0.1', '10.0.0.1')).toBe(true);
    expect(addressMatches('10.0.0.1', '10.0.0.2')).toBe(false);
    expect(addressMatches('fe80::1', 'FE80:0:0:0:0:0:0:1')).toBe(true);
    expect(addressMatches('[::1]', '::1')).toBe(true);
    expect(addressMatches('::1', '::2')).toBe(false);
    expect(addressMatches('db.example', undefined)).toBe(true);
    expect(addressMatches('10.0.0.1', undefined)).toBe(false);
  });
});
