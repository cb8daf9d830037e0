// The key-value HTTP service every member runs (node:http), over a KvBackend:
//
//   PUT    /kv/{key}   body = the value (UTF-8)  -> 204 once committed and applied
//   GET    /kv/{key}   linearizable read          -> 200 with the stored bytes, 404 when absent
//   DELETE /kv/{key}                              -> 204 (also for a missing key)
//   GET    /status     -> 200, JSON: id, role, term, leaderId (null when none), commitIndex, lastApplied
//   GET    /metrics    -> 200, Prometheus text (content-type `text/plain; version=0.0.4`)
//
// Choices where the contract is silent:
// - The key is the raw path after `/kv/` percent-decoded as UTF-8 (`/` may appear literally or
//   as %2F; `+` stays `+`). Bad percent-encoding or invalid UTF-8: 400. A raw path byte outside
//   printable ASCII: 400. A query string on a /kv/ path: 400 (a `?` in a key must be sent as
//   %3F; ignoring it would silently address another key); /status and /metrics ignore a query.
//   `/kv/` (empty key): 400; `/kv` (no slash): 404 like any unknown path.
// - A key over 1,024 bytes of UTF-8: 414 (URI Too Long).
// - A value must be valid UTF-8 (else 400: the value is stored as a string, so other bytes
//   could not be given back exactly); a byte-order mark is kept as part of the value.
// - A value over 1 MiB: 413 as soon as the Content-Length says so (before reading any body, and
//   before `100 Continue` when the client expects one) or as soon as the running byte count of a
//   chunked body passes 1 MiB; the rest of the body is discarded, never buffered, and the
//   connection is closed after the response (`Connection: close`).
// - Methods: /kv/{key} takes GET, PUT, DELETE; /status and /metrics take GET; anything else on
//   those paths is 405 with `Allow`. HEAD is not supported (405). Path first, then method,
//   then key, then session headers, then body.
// - `Client-Id` / `Client-Sequence` on PUT and DELETE (both or neither; id 1 to 128 characters,
//   sequence a positive safe integer in decimal) become the backend's ClientSession; they are
//   ignored on GET. SessionExpiredError answers 409 Conflict.
// - Errors: NoLeaderError and NodeStoppedError 503 with `Retry-After: 1`; OutcomeUnknownError
//   504; a backend promise not settled within `requestTimeoutMs`: 504 for a write, 503 with
//   `Retry-After: 1` for a read; anything else 500 with the reason "internal error" (plus the
//   RaftError code when there is one; the message itself is not sent and nothing is logged:
//   pass `onError` to see it). Every error body is one line of text ending in a newline.
// - GET answers `Content-Type: text/plain; charset=utf-8` and `Cache-Control: no-store`.
// - Connection limits (options to change them): keep-alive idle 65 s; headers must arrive within
//   10 s and a whole request within 30 s (else 408 and close; checked every second); 60 s of
//   inactivity while a request is in progress closes the socket; 1,024 connections at most;
//   node's default 16 KiB header limit (431). So one connection holds at most ~1 MiB + 16 KiB.
// - A malformed request gets node's status (400, 408, 431) with a one-line body, then a close.

import * as http from 'node:http';
import type { Socket } from 'node:net';
import { RaftError } from '../errors';
import { NodeStoppedError, NoLeaderError, OutcomeUnknownError, SessionExpiredError } from '../node/node-errors';
import type { ClientSession, KvBackend } from './kv-backend';
import { PROMETHEUS_CONTENT_TYPE } from './metrics';

/** The longest key, in bytes of UTF-8. */
export const MAX_KEY_BYTES = 1024;
/** The largest value, in bytes (1 MiB). */
export const MAX_VALUE_BYTES = 1024 * 1024;
/** The longest `Client-Id`, in characters. */
export const MAX_CLIENT_ID_LENGTH = 128;

/** The route a request was for, as reported to {@link KvHttpOptions.onResponse}. */
export type KvHttpRoute = 'kv' | 'status' | 'metrics' | 'unknown';

/** Options of {@link createKvHttpServer}. */
export interface KvHttpOptions {
  /**
   * How long to wait for the backend before giving up on a request, in milliseconds (the
   * backend enforces its own deadline too): a write then answers 504 (its outcome is unknown),
   * a read 503 with `Retry-After`. Default 5000.
   */
  readonly requestTimeoutMs?: number;
  /**
   * Called once per response sent, with the request method (one of the standard methods
   * upper-cased, or `OTHER`), the status code, the seconds from the request's arrival to the
   * end of the response, and the route. For request metrics; exceptions it throws are ignored.
   * Not called when the client goes away before the response is sent.
   */
  readonly onResponse?: (method: string, status: number, seconds: number, route: KvHttpRoute) => void;
  /**
   * Called with an unexpected error (the ones answered 500, and errors of the connection or of
   * `onResponse`), for logging. Default: nothing is logged.
   */
  readonly onError?: (error: unknown) => void;
  /** Idle time before a keep-alive connection is closed, in milliseconds. Default 65000. */
  readonly keepAliveTimeoutMs?: number;
  /** Time allowed to receive a request's headers, in milliseconds. Default 10000. */
  readonly headersTimeoutMs?: number;
  /** Time allowed to receive a whole request (headers and body), in milliseconds. Default 30000. */
  readonly receiveTimeoutMs?: number;
  /**
   * Inactivity allowed on a connection while a request is being received or answered (a
   * client that stops sending, or stops reading the answer), in milliseconds; an idle
   * keep-alive connection is governed by `keepAliveTimeoutMs` instead. Default 60000.
   */
  readonly socketTimeoutMs?: number;
  /** The most connections open at once (more are refused). Default 1024. */
  readonly maxConnections?: number;
}

/** An answer to send: status, extra headers, body. */
interface Reply {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly contentType?: string;
}

/** A request refused on its face (bad path, method, key, headers, body). */
class BadRequest extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/** A backend call that took longer than `requestTimeoutMs`. */
class BackendTimeout extends Error {}

const STANDARD_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'CONNECT']);
const TEXT = 'text/plain; charset=utf-8';
const KV_ALLOW = 'GET, PUT, DELETE';
const DECIMAL = /^[1-9][0-9]*$/;

/** A one-line reason: newlines and other controls flattened, at most 200 characters, newline-terminated. */
function oneLine(reason: string): string {
  // eslint-disable-next-line no-control-regex
  const flat = reason.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return `${flat.length > 200 ? `${flat.slice(0, 197)}...` : flat}\n`;
}

/** Validates a non-negative integer option. */
function positiveOption(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`Expected \`${name}\` to be a positive integer, got ${String(value)}`);
  return value;
}

/** Parses the key of a `/kv/...` path (without the query, which is refused earlier). */
function parseKey(rawKey: string): string {
  if (rawKey.length === 0) throw new BadRequest(400, 'empty key');
  let key: string;
  try {
    key = decodeURIComponent(rawKey);
  } catch {
    throw new BadRequest(400, 'bad percent-encoding in key (it must be UTF-8)');
  }
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) throw new BadRequest(414, `key is ${bytes} bytes, over the limit of ${MAX_KEY_BYTES}`);
  return key;
}

/** The one value of a header, or undefined; a repeated header is refused. */
function singleHeader(req: http.IncomingMessage, name: 'Client-Id' | 'Client-Sequence'): string | undefined {
  const raw = req.headersDistinct[name.toLowerCase()];
  if (raw === undefined) return undefined;
  if (raw.length !== 1) throw new BadRequest(400, `${name} given more than once`);
  return raw[0];
}

/** Reads the optional `Client-Id` / `Client-Sequence` pair. */
function parseSession(req: http.IncomingMessage): ClientSession | undefined {
  const clientId = singleHeader(req, 'Client-Id');
  const sequenceText = singleHeader(req, 'Client-Sequence');
  if (clientId === undefined && sequenceText === undefined) return undefined;
  if (clientId === undefined || sequenceText === undefined) {
    throw new BadRequest(400, 'Client-Id and Client-Sequence must be given together');
  }
  if (clientId.length < 1 || clientId.length > MAX_CLIENT_ID_LENGTH) {
    throw new BadRequest(400, `Client-Id must be 1 to ${MAX_CLIENT_ID_LENGTH} characters`);
  }
  const sequence = Number(sequenceText);
  if (!DECIMAL.test(sequenceText) || !Number.isSafeInteger(sequence)) {
    throw new BadRequest(400, 'Client-Sequence must be a positive safe integer');
  }
  return { clientId, sequence };
}

/** Reads a PUT body with a running byte count; rejects with a 413 BadRequest past the limit. */
function readValue(req: http.IncomingMessage, res: http.ServerResponse, expectsContinue: boolean): Promise<string> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > MAX_VALUE_BYTES) {
    return Promise.reject(new BadRequest(413, `value is ${declared} bytes, over the limit of ${MAX_VALUE_BYTES}`));
  }
  if (expectsContinue) res.writeContinue();
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let done = false;
    const onData = (chunk: Buffer): void => {
      if (done) return;
      received += chunk.length;
      if (received > MAX_VALUE_BYTES) {
        done = true;
        chunks.length = 0;
        cleanup();
        req.resume(); // discard the rest; nothing more is kept
        reject(new BadRequest(413, `value is over the limit of ${MAX_VALUE_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      if (done) return;
      done = true;
      cleanup();
      const body = Buffer.concat(chunks, received);
      try {
        resolve(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body));
      } catch {
        reject(new BadRequest(400, 'value is not valid UTF-8'));
      }
    };
    const onError = (error: Error): void => {
      if (done) return;
      done = true;
      cleanup();
      reject(error);
    };
    const onClose = (): void => onError(new Error('the connection closed before the whole value arrived'));
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/**
 * Creates the key-value HTTP service over `backend` (see the SPEC's HTTP API): not listening
 * yet; call `listen` on it. Keep-alive connections are supported; headers, whole requests and
 * connection counts are bounded (see {@link KvHttpOptions}) so a slow client cannot hold
 * unbounded memory: at most 1 MiB of body and node's default header limit per connection.
 */
export function createKvHttpServer(backend: KvBackend, options: KvHttpOptions = {}): http.Server {
  const requestTimeoutMs = positiveOption('requestTimeoutMs', options.requestTimeoutMs, 5000);
  const keepAliveTimeout = positiveOption('keepAliveTimeoutMs', options.keepAliveTimeoutMs, 65_000);
  const headersTimeout = positiveOption('headersTimeoutMs', options.headersTimeoutMs, 10_000);
  const receiveTimeout = positiveOption('receiveTimeoutMs', options.receiveTimeoutMs, 30_000);
  const socketTimeout = positiveOption('socketTimeoutMs', options.socketTimeoutMs, 60_000);
  const maxConnections = positiveOption('maxConnections', options.maxConnections, 1024);
  const { onResponse, onError } = options;

  const report = (error: unknown): void => {
    if (onError === undefined) return;
    try {
      onError(error);
    } catch {
      // a failing logger must not take the server down
    }
  };

  /** Races a backend promise against `requestTimeoutMs`. */
  const withDeadline = <T>(promise: Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new BackendTimeout()), requestTimeoutMs);
      promise.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });

  /** Maps a failure of a request to the answer. */
  const failure = (error: unknown, write: boolean): Reply => {
    if (error instanceof BadRequest) return { status: error.status, headers: error.headers, body: error.message };
    if (error instanceof NoLeaderError || error instanceof NodeStoppedError) {
      return { status: 503, headers: { 'Retry-After': '1' }, body: error.message };
    }
    if (error instanceof OutcomeUnknownError) return { status: 504, body: error.message };
    if (error instanceof SessionExpiredError) return { status: 409, body: error.message };
    if (error instanceof BackendTimeout) {
      return write
        ? { status: 504, body: `no outcome within ${requestTimeoutMs} ms; the write may still be applied` }
        : { status: 503, headers: { 'Retry-After': '1' }, body: `no answer within ${requestTimeoutMs} ms` };
    }
    report(error);
    return { status: 500, body: error instanceof RaftError ? `internal error (${error.code})` : 'internal error' };
  };

  /** Handles one request; resolves to the answer. */
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse, expectsContinue: boolean, route: { name: KvHttpRoute }): Promise<Reply> => {
    const target = req.url ?? '';
    const queryAt = target.indexOf('?');
    const path = queryAt === -1 ? target : target.slice(0, queryAt);
    const method = req.method ?? '';

    if (path === '/status' || path === '/metrics') {
      route.name = path === '/status' ? 'status' : 'metrics';
      if (method !== 'GET') throw new BadRequest(405, `method ${method} not allowed on ${path}`, { Allow: 'GET' });
      if (route.name === 'metrics') return { status: 200, body: backend.metrics(), contentType: PROMETHEUS_CONTENT_TYPE };
      const status = backend.status();
      return { status: 200, body: `${JSON.stringify({ ...status, leaderId: status.leaderId ?? null })}\n`, contentType: 'application/json' };
    }
    if (!path.startsWith('/kv/')) throw new BadRequest(404, 'unknown path');
    route.name = 'kv';
    if (method !== 'GET' && method !== 'PUT' && method !== 'DELETE') {
      throw new BadRequest(405, `method ${method} not allowed on /kv/{key}`, { Allow: KV_ALLOW });
    }
    if (queryAt !== -1) throw new BadRequest(400, "query strings are not allowed on /kv/ (percent-encode '?' in a key as %3F)");
    const rawKey = path.slice('/kv/'.length);
    // eslint-disable-next-line no-control-regex
    if (/[^\x21-\x7e]/.test(rawKey)) throw new BadRequest(400, 'the key must be percent-encoded');
    const key = parseKey(rawKey);

    if (method === 'GET') {
      const value = await withDeadline(backend.get(key));
      if (value === undefined) return { status: 404, body: 'no such key' };
      return { status: 200, body: value, contentType: TEXT, headers: { 'Cache-Control': 'no-store' } };
    }
    const session = parseSession(req);
    if (method === 'DELETE') {
      await withDeadline(session === undefined ? backend.delete(key) : backend.delete(key, session));
      return { status: 204 };
    }
    const value = await readValue(req, res, expectsContinue);
    await withDeadline(session === undefined ? backend.put(key, value) : backend.put(key, value, session));
    return { status: 204 };
  };

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse, expectsContinue: boolean): void => {
    const started = process.hrtime.bigint();
    const route: { name: KvHttpRoute } = { name: 'unknown' };
    const write = req.method === 'PUT' || req.method === 'DELETE';
    if (onResponse !== undefined) {
      res.once('finish', () => {
        const method = req.method !== undefined && STANDARD_METHODS.has(req.method) ? req.method : 'OTHER';
        try {
          onResponse(method, res.statusCode, Number(process.hrtime.bigint() - started) / 1e9, route.name);
        } catch (error) {
          report(error);
        }
      });
    }
    handle(req, res, expectsContinue, route).then(
      (reply) => send(req, res, reply),
      (error: unknown) => send(req, res, failure(error, write)),
    );
  };

  // The header and whole-request deadlines are checked every connectionsCheckingInterval
  // (node's default is 30 s, which would let a slow client overstay them by that much).
  const server = http.createServer(
    { keepAliveTimeout, headersTimeout, requestTimeout: receiveTimeout, connectionsCheckingInterval: Math.min(1000, headersTimeout) },
    (req, res) => onRequest(req, res, false),
  );
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => onRequest(req, res, true));
  server.keepAliveTimeout = keepAliveTimeout;
  server.headersTimeout = headersTimeout;
  server.requestTimeout = receiveTimeout;
  server.maxConnections = maxConnections;
  server.timeout = socketTimeout; // with no 'timeout' listener, node destroys the socket
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, reason] =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large']
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'Request Timeout']
          : [400, 'Bad Request'];
    const body = oneLine(`malformed or incomplete request (${reason})`);
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: ${TEXT}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    socket.destroySoon();
  });
  return server;
}

/** Writes an answer, unless the client is gone. */
function send(req: http.IncomingMessage, res: http.ServerResponse, reply: Reply): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string | number> = { ...reply.headers };
  let body: Buffer | undefined;
  if (reply.status !== 204) {
    const text = reply.contentType === undefined ? oneLine(reply.body ?? '') : (reply.body ?? '');
    body = Buffer.from(text, 'utf8');
    headers['Content-Type'] = reply.contentType ?? TEXT;
    headers['Content-Length'] = body.length;
  }
  // A request whose body was refused or not read to the end: close after answering, so the
  // unread rest is never parsed as a next request and never buffered.
  if (!req.complete) {
    headers['Connection'] = 'close';
    req.resume();
  }
  res.writeHead(reply.status, headers);
  res.end(body);
}
