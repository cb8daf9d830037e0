// The key-value HTTP service over an in-memory fake backend, through the real node:http server
// on 127.0.0.1 (port 0), with http.request (and fetch where it matters). No sleeps: the only
// waiting is on the server's own short request timeout in the deadline tests.
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createKvHttpServer, MAX_KEY_BYTES, MAX_VALUE_BYTES, type KvHttpOptions, type KvHttpRoute } from '../../lib/kv/http-service';
import type { ClientSession, KvBackend, KvStatus } from '../../lib/kv/kv-backend';
import { NodeStoppedError, NoLeaderError, OutcomeUnknownError, SessionExpiredError } from '../../lib/node/node-errors';

/** An in-memory KvBackend recording every write it is asked for. */
class FakeBackend implements KvBackend {
  readonly data = new Map<string, string>();
  readonly writes: Array<{ op: 'put' | 'delete'; key: string; value?: string; session: ClientSession | undefined }> = [];
  readonly reads: string[] = [];
  /** When set, every call fails with it. */
  failure: Error | undefined;
  /** When true, every call returns a promise that never settles. */
  hang = false;
  statusNow: KvStatus = { id: 1, role: 'follower', term: 3, leaderId: null, commitIndex: 7, lastApplied: 6 };

  put(key: string, value: string, session?: ClientSession): Promise<void> {
    this.writes.push({ op: 'put', key, value, session });
    return this.settle(() => void this.data.set(key, value));
  }

  delete(key: string, session?: ClientSession): Promise<void> {
    this.writes.push({ op: 'delete', key, session });
    return this.settle(() => void this.data.delete(key));
  }

  get(key: string): Promise<string | undefined> {
    this.reads.push(key);
    return this.settle(() => this.data.get(key));
  }

  status(): KvStatus {
    return this.statusNow;
  }

  metrics(): string {
    return '# HELP raft_term Current term.\n# TYPE raft_term gauge\nraft_term 3\n';
  }

  private settle<T>(apply: () => T): Promise<T> {
    if (this.hang) return new Promise<T>(() => undefined);
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return Promise.resolve(apply());
  }
}

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  readonly text: string;
  readonly reusedSocket: boolean;
  readonly localPort: number | undefined;
}

interface RequestOptions {
  readonly method?: string;
  readonly path: string;
  readonly body?: string | Buffer;
  readonly headers?: http.OutgoingHttpHeaders;
  readonly agent?: http.Agent;
  /** Send the body in chunks of this many bytes (chunked transfer encoding, no Content-Length). */
  readonly chunked?: number;
}

let backend: FakeBackend;
let server: http.Server;
let port: number;
let responses: Array<{ method: string; status: number; seconds: number; route: KvHttpRoute }>;
let errors: unknown[];

async function start(options: KvHttpOptions = {}): Promise<void> {
  backend = new FakeBackend();
  responses = [];
  errors = [];
  server = createKvHttpServer(backend, {
    onResponse: (method, status, seconds, route) => responses.push({ method, status, seconds, route }),
    onError: (error) => errors.push(error),
    ...options,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
}

afterEach(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function request(options: RequestOptions): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { ...options.headers };
    const req = http.request(
      { host: '127.0.0.1', port, method: options.method ?? 'GET', path: options.path, headers, agent: options.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            text: body.toString('utf8'),
            reusedSocket: req.reusedSocket,
            localPort: req.socket?.localPort,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    const body = options.body === undefined ? undefined : Buffer.from(options.body);
    if (body !== undefined && options.chunked !== undefined) {
      for (let at = 0; at < body.length; at += options.chunked) req.write(body.subarray(at, at + options.chunked));
      req.end();
    } else {
      req.end(body);
    }
  });
}

/** An error answer: the status, and a body of one line of text ending in a newline. */
function expectError(answer: Answer, status: number, reason?: RegExp): void {
  expect(answer.status).toBe(status);
  expect(answer.headers['content-type']).toBe('text/plain; charset=utf-8');
  expect(answer.text).toMatch(/^[^\n]+\n$/);
  if (reason !== undefined) expect(answer.text).toMatch(reason);
}

const put = (path: string, body: string | Buffer, headers: http.OutgoingHttpHeaders = {}): Promise<Answer> =>
  request({ method: 'PUT', path, body, headers });

describe('KV HTTP service', () => {
  beforeEach(() => start());

  describe('PUT, GET, DELETE', () => {
    it('writes, reads back the exact bytes, deletes, then answers 404', async () => {
      const written = await put('/kv/greeting', 'hello, wörld');
      expect(written.status).toBe(204);
      expect(written.body.length).toBe(0);
      expect(backend.writes).toEqual([{ op: 'put', key: 'greeting', value: 'hello, wörld', session: undefined }]);

      const read = await request({ path: '/kv/greeting' });
      expect(read.status).toBe(200);
      expect(read.body.equals(Buffer.from('hello, wörld'))).toBe(true);
      expect(read.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(read.headers['content-length']).toBe(String(Buffer.byteLength('hello, wörld')));

      expect((await request({ method: 'DELETE', path: '/kv/greeting' })).status).toBe(204);
      expectError(await request({ path: '/kv/greeting' }), 404);
    });

    it('tells an empty value (200, empty body) from an absent key (404)', async () => {
      expect((await put('/kv/empty', '')).status).toBe(204);
      const empty = await request({ path: '/kv/empty' });
      expect(empty.status).toBe(200);
      expect(empty.body.length).toBe(0);
      expectError(await request({ path: '/kv/absent' }), 404);
    });

    it('answers 204 to a DELETE of a missing key', async () => {
      expect((await request({ method: 'DELETE', path: '/kv/never' })).status).toBe(204);
      expect(backend.writes).toEqual([{ op: 'delete', key: 'never', session: undefined }]);
    });

    it('keeps a byte-order mark and refuses a value that is not UTF-8', async () => {
      const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('x')]);
      expect((await put('/kv/bom', withBom)).status).toBe(204);
      expect((await request({ path: '/kv/bom' })).body.equals(withBom)).toBe(true);
      expectError(await put('/kv/bad', Buffer.from([0x61, 0xff, 0x62])), 400, /UTF-8/);
      expect(backend.data.has('bad')).toBe(false);
    });

    it('works through fetch', async () => {
      const base = `http://127.0.0.1:${port}`;
      expect((await fetch(`${base}/kv/f`, { method: 'PUT', body: 'v' })).status).toBe(204);
      const read = await fetch(`${base}/kv/f`);
      expect(read.status).toBe(200);
      expect(await read.text()).toBe('v');
    });
  });

  describe('keys', () => {
    it('percent-decodes keys, UTF-8 included', async () => {
      expect((await put('/kv/%E2%82%AC%20euro', 'sign')).status).toBe(204);
      expect(backend.data.get('€ euro')).toBe('sign');
      const viaFetch = await fetch(`http://127.0.0.1:${port}/kv/${encodeURIComponent('ключ')}`, { method: 'PUT', body: 'значение' });
      expect(viaFetch.status).toBe(204);
      expect(backend.data.get('ключ')).toBe('значение');
      expect((await request({ path: '/kv/%D0%BA%D0%BB%D1%8E%D1%87' })).text).toBe('значение');
      expect((await put('/kv/a+b', 'plus')).status).toBe(204);
      expect(backend.data.get('a+b')).toBe('plus');
    });

    it('takes "/" inside a key, literally or as %2F', async () => {
      expect((await put('/kv/dir/sub/leaf', 'one')).status).toBe(204);
      expect(backend.data.get('dir/sub/leaf')).toBe('one');
      const read = await request({ path: '/kv/dir%2Fsub%2Fleaf' });
      expect(read.status).toBe(200);
      expect(read.text).toBe('one');
      expect((await put('/kv//leading', 'two')).status).toBe(204);
      expect(backend.data.get('/leading')).toBe('two');
    });

    it('refuses bad percent-encoding with 400', async () => {
      expectError(await put('/kv/%ZZ', 'x'), 400, /percent-encoding/);
      expectError(await request({ path: '/kv/abc%' }), 400, /percent-encoding/);
      expectError(await request({ path: '/kv/%FF' }), 400, /percent-encoding/); // not UTF-8
      expectError(await request({ method: 'DELETE', path: '/kv/%C3' }), 400);
      expect(backend.writes).toEqual([]);
      expect(backend.reads).toEqual([]);
    });

    it('refuses an empty key with 400', async () => {
      expectError(await put('/kv/', 'x'), 400, /empty key/);
      expectError(await request({ path: '/kv/' }), 400, /empty key/);
      expect(backend.writes).toEqual([]);
    });

    it('takes a key of 1,024 bytes and refuses 1,025 with 414', async () => {
      const longest = 'k'.repeat(MAX_KEY_BYTES);
      expect((await put(`/kv/${longest}`, 'v')).status).toBe(204);
      expect(backend.data.get(longest)).toBe('v');
      expectError(await put(`/kv/${longest}x`, 'v'), 414, /1025 bytes/);
      expectError(await request({ path: `/kv/${longest}x` }), 414);
      // counted in bytes of UTF-8: 341 euro signs are 1,023 bytes
      const euros = '€'.repeat(341);
      expect((await put(`/kv/${encodeURIComponent(`${euros}a`)}`, 'v')).status).toBe(204);
      expectError(await put(`/kv/${encodeURIComponent(`${euros}ab`)}`, 'v'), 414);
      expect(backend.writes.map((w) => w.key)).toEqual([longest, `${euros}a`]);
    });

    it('refuses a query string on /kv/ and raw bytes outside ASCII', async () => {
      expectError(await put('/kv/a?b=c', 'x'), 400, /%3F/);
      expect((await put('/kv/a%3Fb', 'x')).status).toBe(204);
      expect(backend.data.get('a?b')).toBe('x');
      const raw = await rawExchange(Buffer.concat([Buffer.from('GET /kv/'), Buffer.from([0xc3, 0xa9]), Buffer.from(' HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')]));
      expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    });
  });

  describe('values', () => {
    it('takes a value of exactly 1 MiB', async () => {
      const value = 'v'.repeat(MAX_VALUE_BYTES);
      expect((await put('/kv/big', value)).status).toBe(204);
      expect(backend.data.get('big')?.length).toBe(MAX_VALUE_BYTES);
      const chunked = await request({ method: 'PUT', path: '/kv/big2', body: value, chunked: 64 * 1024 });
      expect(chunked.status).toBe(204);
      expect(backend.data.get('big2')).toBe(value);
      const read = await request({ path: '/kv/big' });
      expect(read.body.length).toBe(MAX_VALUE_BYTES);
    });

    it('refuses 1 MiB + 1 with 413 from the Content-Length, writes nothing, closes the connection', async () => {
      const answer = await put('/kv/big', 'v'.repeat(MAX_VALUE_BYTES + 1));
      expectError(answer, 413, /over the limit/);
      expect(answer.headers.connection).toBe('close');
      expect(backend.writes).toEqual([]);
    });

    it('refuses a chunked body as soon as it passes 1 MiB, writes nothing, closes the connection', async () => {
      const answer = await request({ method: 'PUT', path: '/kv/big', body: 'v'.repeat(MAX_VALUE_BYTES + 1), chunked: 64 * 1024 });
      expectError(answer, 413, /over the limit/);
      expect(answer.headers.connection).toBe('close');
      expect(backend.writes).toEqual([]);
    });

    it('refuses an announced oversized body before 100 Continue', async () => {
      const answer = await new Promise<{ status: number; continued: boolean }>((resolve, reject) => {
        let continued = false;
        const req = http.request({
          host: '127.0.0.1',
          port,
          method: 'PUT',
          path: '/kv/big',
          agent: false,
          headers: { Expect: '100-continue', 'Content-Length': MAX_VALUE_BYTES + 1 },
        });
        req.on('continue', () => {
          continued = true;
        });
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, continued }));
        });
        req.on('error', reject);
        req.flushHeaders();
      });
      expect(answer).toEqual({ status: 413, continued: false });
      expect(backend.writes).toEqual([]);
    });

    it('sends 100 Continue for an acceptable body', async () => {
      const answer = await new Promise<number>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, method: 'PUT', path: '/kv/c', agent: false, headers: { Expect: '100-continue', 'Content-Length': 2 } });
        req.on('continue', () => req.end('ok'));
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.flushHeaders();
      });
      expect(answer).toBe(204);
      expect(backend.data.get('c')).toBe('ok');
    });
  });

  describe('paths and methods', () => {
    it('answers 405 with Allow for a bad method on a valid path', async () => {
      const post = await request({ method: 'POST', path: '/kv/x', body: 'v' });
      expectError(post, 405);
      expect(post.headers.allow).toBe('GET, PUT, DELETE');
      const patch = await request({ method: 'PATCH', path: '/kv/x', body: 'v' });
      expectError(patch, 405);
      for (const path of ['/status', '/metrics']) {
        const answer = await request({ method: 'PUT', path, body: 'x' });
        expectError(answer, 405);
        expect(answer.headers.allow).toBe('GET');
      }
      expect((await request({ method: 'DELETE', path: '/status' })).headers.allow).toBe('GET');
      expect(backend.writes).toEqual([]);
    });

    it('answers 404 for an unknown path', async () => {
      for (const path of ['/', '/kv', '/kvx/a', '/status/x', '/metricsx', '/KV/a']) {
        expectError(await request({ path }), 404, /unknown path/);
      }
      expectError(await request({ method: 'POST', path: '/nowhere', body: 'x' }), 404);
    });

    it('answers a malformed request with 400 and a one-line reason', async () => {
      const raw = await rawExchange(Buffer.from('NOT A REQUEST\r\n\r\n'));
      expect(raw).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect(raw).toMatch(/\r\n\r\n[^\n]+\n$/);
    });
  });

  describe('/status and /metrics', () => {
    it('answers /status with the backend state, leaderId null when none', async () => {
      const answer = await request({ path: '/status' });
      expect(answer.status).toBe(200);
      expect(answer.headers['content-type']).toBe('application/json');
      expect(JSON.parse(answer.text)).toEqual({ id: 1, role: 'follower', term: 3, leaderId: null, commitIndex: 7, lastApplied: 6 });
      backend.statusNow = { id: 1, role: 'leader', term: 4, leaderId: 1, commitIndex: 9, lastApplied: 9 };
      expect(JSON.parse((await request({ path: '/status?verbose=1' })).text)).toMatchObject({ role: 'leader', leaderId: 1 });
    });

    it('answers /status with 200 even without a leader and with a failing backend', async () => {
      backend.failure = new NoLeaderError();
      expect((await request({ path: '/status' })).status).toBe(200);
    });

    it('answers /metrics in Prometheus text format 0.0.4', async () => {
      const answer = await request({ path: '/metrics' });
      expect(answer.status).toBe(200);
      expect(answer.headers['content-type']).toBe('text/plain; version=0.0.4');
      expect(answer.text).toBe(backend.metrics());
    });
  });

  describe('backend errors', () => {
    it('answers 503 with Retry-After when there is no leader (reads and writes)', async () => {
      backend.failure = new NoLeaderError();
      for (const answer of [await put('/kv/a', 'x'), await request({ path: '/kv/a' }), await request({ method: 'DELETE', path: '/kv/a' })]) {
        expectError(answer, 503, /no leader/);
        expect(answer.headers['retry-after']).toBe('1');
      }
    });

    it('answers 503 with Retry-After when the node is stopped', async () => {
      backend.failure = new NodeStoppedError();
      const answer = await put('/kv/a', 'x');
      expectError(answer, 503, /stopped/);
      expect(answer.headers['retry-after']).toBe('1');
    });

    it('answers 504 when the outcome of a write is unknown', async () => {
      backend.failure = new OutcomeUnknownError('leadership lost\nwhile waiting');
      const answer = await put('/kv/a', 'x');
      expectError(answer, 504, /leadership lost while waiting/);
      expect(answer.headers['retry-after']).toBeUndefined();
    });

    it('answers 409 when the client session expired', async () => {
      backend.failure = new SessionExpiredError('c1', 3);
      expectError(await put('/kv/a', 'x', { 'Client-Id': 'c1', 'Client-Sequence': '3' }), 409, /older than the session keeps/);
    });

    it('answers 500 with a generic one-line reason for anything else, and reports the error', async () => {
      const secret = new Error('password=hunter2\nstack');
      backend.failure = secret;
      const answer = await request({ path: '/kv/a' });
      expectError(answer, 500);
      expect(answer.text).toBe('internal error\n');
      expect(errors).toEqual([secret]);
    });

    it('answers 504 to a write and 503 to a read the backend does not settle within requestTimeoutMs', async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await start({ requestTimeoutMs: 30 });
      backend.hang = true;
      const [write, remove, read] = await Promise.all([put('/kv/a', 'x'), request({ method: 'DELETE', path: '/kv/a' }), request({ path: '/kv/a' })]);
      expectError(write, 504, /may still be applied/);
      expectError(remove, 504);
      expectError(read, 503);
      expect(read.headers['retry-after']).toBe('1');
    });
  });

  describe('client sessions', () => {
    it('passes Client-Id and Client-Sequence to the backend on PUT and DELETE', async () => {
      expect((await put('/kv/a', 'x', { 'Client-Id': 'client-1', 'Client-Sequence': '42' })).status).toBe(204);
      expect((await request({ method: 'DELETE', path: '/kv/a', headers: { 'Client-Id': 'client-1', 'Client-Sequence': '43' } })).status).toBe(204);
      expect(backend.writes.map((w) => w.session)).toEqual([
        { clientId: 'client-1', sequence: 42 },
        { clientId: 'client-1', sequence: 43 },
      ]);
      const longest = 'c'.repeat(128);
      expect((await put('/kv/b', 'y', { 'Client-Id': longest, 'Client-Sequence': String(Number.MAX_SAFE_INTEGER) })).status).toBe(204);
      expect(backend.writes[2]?.session).toEqual({ clientId: longest, sequence: Number.MAX_SAFE_INTEGER });
    });

    it('refuses bad session headers with 400 and writes nothing', async () => {
      const bad: http.OutgoingHttpHeaders[] = [
        { 'Client-Id': 'c' },
        { 'Client-Sequence': '1' },
        { 'Client-Id': 'c', 'Client-Sequence': '0' },
        { 'Client-Id': 'c', 'Client-Sequence': '-1' },
        { 'Client-Id': 'c', 'Client-Sequence': '1.5' },
        { 'Client-Id': 'c', 'Client-Sequence': '01' },
        { 'Client-Id': 'c', 'Client-Sequence': 'abc' },
        { 'Client-Id': 'c', 'Client-Sequence': '9007199254740992' },
        { 'Client-Id': 'c'.repeat(129), 'Client-Sequence': '1' },
        { 'Client-Id': '', 'Client-Sequence': '1' },
        { 'Client-Id': ['c', 'd'], 'Client-Sequence': '1' },
      ];
      for (const headers of bad) {
        expectError(await put('/kv/a', 'x', headers), 400, /Client-/);
        expectError(await request({ method: 'DELETE', path: '/kv/a', headers }), 400, /Client-/);
      }
      expect(backend.writes).toEqual([]);
    });

    it('ignores session headers on GET', async () => {
      expectError(await request({ path: '/kv/a', headers: { 'Client-Id': 'c' } }), 404);
    });
  });

  describe('connections and metrics hook', () => {
    it('serves two requests on one keep-alive socket', async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const first = await request({ method: 'PUT', path: '/kv/k', body: 'v', agent });
        const second = await request({ path: '/kv/k', agent });
        expect(first.status).toBe(204);
        expect(second.status).toBe(200);
        expect(first.reusedSocket).toBe(false);
        expect(second.reusedSocket).toBe(true);
        expect(second.localPort).toBe(first.localPort);
        expect(first.headers.connection).toBe('keep-alive');
      } finally {
        agent.destroy();
      }
    });

    it('keeps the connection after an error answered before any body was sent', async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        expect((await request({ path: '/kv/', agent })).status).toBe(400);
        const second = await request({ path: '/status', agent });
        expect(second.status).toBe(200);
        expect(second.reusedSocket).toBe(true);
      } finally {
        agent.destroy();
      }
    });

    it('sets bounded server timeouts', () => {
      expect(server.keepAliveTimeout).toBe(65_000);
      expect(server.headersTimeout).toBe(10_000);
      expect(server.requestTimeout).toBe(30_000);
      expect(server.maxConnections).toBe(1024);
      expect(server.timeout).toBe(60_000);
    });

    it('reports every response through onResponse', async () => {
      await put('/kv/a', 'x');
      await request({ path: '/kv/a' });
      await request({ method: 'POST', path: '/kv/a', body: 'x' });
      await request({ path: '/status' });
      await request({ path: '/nowhere' });
      expect(responses.map(({ method, status, route }) => [method, status, route])).toEqual([
        ['PUT', 204, 'kv'],
        ['GET', 200, 'kv'],
        ['POST', 405, 'kv'],
        ['GET', 200, 'status'],
        ['GET', 404, 'unknown'],
      ]);
      for (const { seconds } of responses) {
        expect(seconds).toBeGreaterThanOrEqual(0);
        expect(seconds).toBeLessThan(10);
      }
    });

    it('survives an onResponse hook that throws', async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await start({
        onResponse: () => {
          throw new Error('hook');
        },
      });
      expect((await put('/kv/a', 'x')).status).toBe(204);
      expect((await request({ path: '/kv/a' })).status).toBe(200);
      expect(errors.map((e) => (e as Error).message)).toEqual(['hook', 'hook']);
    });

    it('closes a connection whose headers never finish (slow loris) with 408', async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await start({ headersTimeoutMs: 100, receiveTimeoutMs: 200 });
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1', () => socket.write('GET /status HTTP/1.1\r\nHost: x\r\nX-Slow: '));
        const chunks: Buffer[] = [];
        socket.on('data', (chunk) => chunks.push(chunk));
        socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
        socket.on('error', reject);
      });
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    });

    it('closes a connection whose body never finishes with 408, writing nothing', async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await start({ headersTimeoutMs: 100, receiveTimeoutMs: 200 });
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1', () => socket.write('PUT /kv/a HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc'));
        const chunks: Buffer[] = [];
        socket.on('data', (chunk) => chunks.push(chunk));
        socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
        socket.on('error', reject);
      });
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      expect(backend.writes).toEqual([]);
    });

    it('refuses bad options', () => {
      expect(() => createKvHttpServer(new FakeBackend(), { requestTimeoutMs: 0 })).toThrow(/requestTimeoutMs/);
      expect(() => createKvHttpServer(new FakeBackend(), { maxConnections: 1.5 })).toThrow(/maxConnections/);
    });
  });
});

/** Sends raw bytes on a fresh connection and returns everything the server answers until it closes. */
function rawExchange(bytes: Buffer): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', reject);
  });
}
