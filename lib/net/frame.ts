/**
 * Length-prefixed frames, the unit of everything the TCP transport writes.
 *
 * ## Wire format (lib/net)
 *
 * A connection between two members carries a sequence of frames and nothing else:
 *
 * ```text
 * +--------+--------+--------+--------+=============================+
 * |   payload length, uint32, big-endian |   payload (length bytes)  |
 * +--------+--------+--------+--------+=============================+
 * ```
 *
 * - The length counts the payload only, not the 4-byte header; 0 is a valid length.
 * - The receiver refuses a declared length above its limit as soon as the 4 header bytes
 *   have arrived, before buffering any of the payload ({@link FrameTooLargeError}); the
 *   connection is then closed. The limit is 1 KiB while authenticating
 *   (`lib/net/handshake.ts`) and `maxFrameBytes` (default 16 MiB) afterwards.
 * - While authenticating, payloads are UTF-8 JSON handshake messages. Afterwards each payload
 *   is one envelope encoded by the transport's `FrameCodec` (`lib/net/codec.ts`, JSON by
 *   default): a request `{t:'q', i, b}` or a reply `{t:'r', i, b}`.
 *
 * ## The pieces of lib/net
 *
 * - `peer-transport.ts`: the `PeerTransport` interface the Raft node uses.
 * - `frame.ts` (this file): framing, {@link FrameDecoder}.
 * - `codec.ts`: `FrameCodec`, `JSON_FRAME_CODEC`, the request/reply envelope.
 * - `handshake.ts`: the challenge-response that authenticates a connection:
 *   HELLO `{v:1, from, to, nonce}` from the dialer, CHALLENGE `{nonce, proof}` from the
 *   acceptor, PROOF `{proof}` from the dialer, OK `{ok:true}` from the acceptor, proofs being
 *   HMAC-SHA256 of the shared secret over both nonces and both ids.
 * - `tcp-transport.ts`: `TcpTransport`, one connection per pair of members (the lower id
 *   dials, the higher accepts; a newer authenticated connection replaces an older one),
 *   optional mutual TLS underneath, bounded send queues, reply callbacks forgotten on loss
 *   of the connection or after a timeout.
 *
 * A connection that fails any check (unknown or misplaced member, wrong secret, garbage,
 * oversized frame, no handshake in time) is closed and counted under its refusal reason in
 * `TransportStats.refused`; the listening socket carries on.
 *
 * @module
 */

import { RaftError } from '../errors';

/** Bytes of the length prefix in front of every frame's payload. */
export const FRAME_HEADER_BYTES = 4;

/** The largest length a 4-byte unsigned prefix can declare. */
export const MAX_FRAME_LENGTH = 0xffff_ffff;

/** Default largest payload accepted after authentication: 16 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/**
 * A frame declared (or would declare) a payload longer than the limit. Thrown by
 * {@link FrameDecoder.push} before any of that payload is buffered, and by
 * {@link encodeFrame} for a payload the header cannot describe.
 */
export class FrameTooLargeError extends RaftError {
  /** The declared payload length. */
  readonly declared: number;
  /** The limit it exceeds. */
  readonly limit: number;

  /** Creates the error for a declared length and the limit. */
  constructor(declared: number, limit: number) {
    super(`frame of ${declared} bytes exceeds the limit of ${limit} bytes`, 'FRAME_TOO_LARGE');
    this.declared = declared;
    this.limit = limit;
  }
}

/** The 4-byte big-endian header for a payload of `length` bytes. */
export function frameHeader(length: number): Buffer {
  if (!Number.isSafeInteger(length) || length < 0 || length > MAX_FRAME_LENGTH) {
    throw new FrameTooLargeError(length, MAX_FRAME_LENGTH);
  }
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUInt32BE(length, 0);
  return header;
}

/** One frame, header and payload, in a single buffer. */
export function encodeFrame(payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frameHeader(payload.length).copy(frame, 0);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * Splits a byte stream into frame payloads. Chunks may cut frames anywhere or pack many
 * frames together; {@link FrameDecoder.push} calls `onFrame` once per complete payload, in
 * order. Memory stays bounded: the decoder keeps at most 3 header bytes, or one partial
 * payload of at most {@link FrameDecoder.maxFrameBytes} bytes, allocated only after the
 * declared length has been checked against the limit.
 *
 * The limit is read again for every header, so `onFrame` may change it (the transport raises
 * it from the handshake limit to `maxFrameBytes` once authenticated), and `onFrame` may call
 * {@link FrameDecoder.close} to discard the rest of the chunk.
 */
export class FrameDecoder {
  /** Largest payload accepted; a larger declared length makes `push` throw. */
  maxFrameBytes: number;
  private readonly header = Buffer.alloc(FRAME_HEADER_BYTES);
  private headerFill = 0;
  private payload: Buffer | null = null;
  private payloadFill = 0;
  private closed = false;

  /** Creates a decoder accepting payloads up to `maxFrameBytes` bytes. */
  constructor(maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Bytes held for the frame in progress (header bytes plus partial payload). */
  get bufferedBytes(): number {
    return this.headerFill + this.payloadFill;
  }

  /** Whether {@link FrameDecoder.close} was called (or a refusal was thrown). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Stops decoding: drops what is buffered, and every later `push` is ignored. */
  close(): void {
    this.closed = true;
    this.payload = null;
    this.headerFill = 0;
    this.payloadFill = 0;
  }

  /**
   * Feeds a chunk, calling `onFrame` for each payload it completes. A payload passed to
   * `onFrame` may share memory with `chunk`; copy it to keep it past the call.
   *
   * @throws {@link FrameTooLargeError} when a header declares more than `maxFrameBytes`;
   * the decoder is closed then.
   */
  push(chunk: Uint8Array, onFrame: (payload: Uint8Array) => void): void {
    let offset = 0;
    const length = chunk.length;
    while (!this.closed && offset < length) {
      if (this.payload === null) {
        // Fast path: a whole header (and perhaps payload) inside the chunk.
        if (this.headerFill === 0 && length - offset >= FRAME_HEADER_BYTES) {
          const declared = readUInt32BE(chunk, offset);
          this.check(declared);
          offset += FRAME_HEADER_BYTES;
          if (length - offset >= declared) {
            const payload = chunk.subarray(offset, offset + declared);
            offset += declared;
            onFrame(payload);
            continue;
          }
          this.startPayload(declared);
          continue;
        }
        const take = Math.min(FRAME_HEADER_BYTES - this.headerFill, length - offset);
        this.header.set(chunk.subarray(offset, offset + take), this.headerFill);
        this.headerFill += take;
        offset += take;
        if (this.headerFill < FRAME_HEADER_BYTES) return;
        const declared = this.header.readUInt32BE(0);
        this.headerFill = 0;
        this.check(declared);
        if (declared === 0) {
          onFrame(new Uint8Array(0));
          continue;
        }
        this.startPayload(declared);
        continue;
      }
      const take = Math.min(this.payload.length - this.payloadFill, length - offset);
      this.payload.set(chunk.subarray(offset, offset + take), this.payloadFill);
      this.payloadFill += take;
      offset += take;
      if (this.payloadFill === this.payload.length) {
        const payload = this.payload;
        this.payload = null;
        this.payloadFill = 0;
        onFrame(payload);
      }
    }
  }

  private check(declared: number): void {
    if (declared > this.maxFrameBytes) {
      this.close();
      throw new FrameTooLargeError(declared, this.maxFrameBytes);
    }
  }

  private startPayload(declared: number): void {
    this.payload = Buffer.allocUnsafe(declared);
    this.payloadFill = 0;
  }
}

function readUInt32BE(bytes: Uint8Array, offset: number): number {
  return (
    ((bytes[offset] ?? 0) * 0x100_0000) +
    (((bytes[offset + 1] ?? 0) << 16) | ((bytes[offset + 2] ?? 0) << 8) | (bytes[offset + 3] ?? 0))
  );
}
