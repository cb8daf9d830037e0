/**
 * What goes inside a frame once a connection is authenticated: one envelope, encoded by a
 * {@link FrameCodec}.
 *
 * - request: `{t: 'q', i: <request id>, b: <body>}`
 * - reply:   `{t: 'r', i: <id of the request it answers>, b: <body>}`
 *
 * The request id is a non-negative safe integer chosen by the sender of the request; the
 * reply carries it back so the sender finds the `onReply` callback. Anything else (another
 * `t`, a missing or extra field, a bad id, bytes the codec cannot decode) is garbage and
 * closes the connection.
 *
 * @module
 */

import { RaftError } from '../errors';
import type { WireValue } from './peer-transport';

/** Bytes that are not a valid frame payload: undecodable, or not an envelope. */
export class GarbageFrameError extends RaftError {
  /** Creates the error with what was wrong. */
  constructor(message: string) {
    super(`garbage frame: ${message}`, 'GARBAGE_FRAME');
  }
}

/** Turns wire values into frame payloads and back. */
export interface FrameCodec {
  /** Encodes a value; the bytes must decode to an equal value. */
  encode(value: WireValue): Uint8Array;
  /**
   * Decodes a payload.
   *
   * @throws {@link GarbageFrameError} when the bytes are not a valid encoding.
   */
  decode(bytes: Uint8Array): WireValue;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The default codec: UTF-8 JSON, strict (invalid UTF-8 or JSON is garbage). */
export const JSON_FRAME_CODEC: FrameCodec = {
  encode(value: WireValue): Uint8Array {
    return Buffer.from(JSON.stringify(value), 'utf8');
  },
  decode(bytes: Uint8Array): WireValue {
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      throw new GarbageFrameError('invalid UTF-8');
    }
    try {
      return JSON.parse(text) as WireValue;
    } catch {
      throw new GarbageFrameError('invalid JSON');
    }
  },
};

/** A request or a reply, as carried inside one frame. */
export interface Envelope {
  /** `'q'` for a request, `'r'` for a reply. */
  readonly t: 'q' | 'r';
  /** The request id. */
  readonly i: number;
  /** The body. */
  readonly b: WireValue;
}

/** The wire value of an envelope. */
export function envelopeValue(t: 'q' | 'r', i: number, b: WireValue): WireValue {
  return { t, i, b };
}

/**
 * Checks that a decoded value is an envelope.
 *
 * @throws {@link GarbageFrameError} when it is not.
 */
export function toEnvelope(value: WireValue): Envelope {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new GarbageFrameError('not an object');
  }
  const record = value as { readonly [key: string]: WireValue };
  let keys = 0;
  for (const key in record) {
    if (!Object.prototype.hasOwnProperty.call(record, key)) continue;
    if (key !== 't' && key !== 'i' && key !== 'b') throw new GarbageFrameError(`unexpected field ${JSON.stringify(key)}`);
    keys++;
  }
  const t = record['t'];
  const i = record['i'];
  const b = record['b'];
  if (keys !== 3 || b === undefined) throw new GarbageFrameError('missing field');
  if (t !== 'q' && t !== 'r') throw new GarbageFrameError('unknown envelope type');
  if (typeof i !== 'number' || !Number.isSafeInteger(i) || i < 0) throw new GarbageFrameError('bad request id');
  return { t, i, b };
}
