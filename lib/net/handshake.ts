/**
 * Mutual challenge-response authentication of a new connection between two members, run
 * before any Raft message is read.
 *
 * Every handshake message is one frame (`lib/net/frame.ts`) of at most
 * {@link MAX_HANDSHAKE_FRAME_BYTES} bytes whose payload is a UTF-8 JSON object with exactly
 * the fields shown. `D` is the dialer (the member with the lower id), `A` the acceptor,
 * `nD`/`nA` 32 random bytes in lowercase hex, `secret` the cluster's shared secret, and
 * `HMAC` HMAC-SHA256 in lowercase hex over the `|`-joined fields:
 *
 * ```text
 * D -> A  HELLO      {"v":1, "from":D, "to":A, "nonce":nD}
 * A -> D  CHALLENGE  {"nonce":nA, "proof":HMAC(secret, "acceptor|nD|nA|D|A")}
 * D -> A  PROOF      {"proof":HMAC(secret, "dialer|nD|nA|D|A")}
 * A -> D  OK         {"ok":true}
 * ```
 *
 * The acceptor sends CHALLENGE only when `from` is a member id other than its own and below
 * it (only the lower id dials), `to` is its own id, and, when the configured host of `from`
 * is an IP literal, the connection's remote address is that address (`::ffff:` prefixes
 * removed); otherwise it refuses the connection as a `'stranger'`. Each side compares the
 * other's proof with `timingSafeEqual`; a wrong proof is `'badSecret'`. A frame that is not
 * JSON or not the expected message is `'garbage'`, a longer one `'oversized'`. The acceptor
 * is authenticated once it has sent OK, the dialer once it has read OK; envelopes
 * (`lib/net/codec.ts`) follow on the same connection.
 *
 * @module
 */

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { RaftError } from '../errors';
import type { ServerId } from '../types';
import type { PeerAddress, RefusalReason, WireValue } from './peer-transport';

/** The protocol version in HELLO. */
export const HANDSHAKE_VERSION = 1;

/** Largest payload of a handshake frame. */
export const MAX_HANDSHAKE_FRAME_BYTES = 1024;

/** Random bytes in each side's nonce. */
export const NONCE_BYTES = 32;

/** A handshake failed; the connection is closed and counted under {@link HandshakeError.reason}. */
export class HandshakeError extends RaftError {
  /** The refusal counter this failure increments. */
  readonly reason: RefusalReason;

  /** Creates the error for a reason and a description. */
  constructor(reason: RefusalReason, message: string) {
    super(`handshake refused (${reason}): ${message}`, 'HANDSHAKE_REFUSED');
    this.reason = reason;
  }
}

/** What one side of a handshake knows about the cluster. */
export interface HandshakeConfig {
  /** This member's id. */
  readonly id: ServerId;
  /** Every member's address, indexed by id. */
  readonly peers: readonly PeerAddress[];
  /** The shared secret. */
  readonly secret: Uint8Array;
}

/** The next step of a handshake after a message was read. */
export interface HandshakeStep {
  /** The message to send now, if any. */
  readonly send: WireValue | null;
  /** Whether this side is authenticated (after sending `send`). */
  readonly done: boolean;
}

/** A decoded handshake message: a JSON object. */
export type HandshakeMessage = { readonly [key: string]: WireValue };

const utf8 = new TextDecoder('utf-8', { fatal: true });
const HEX_NONCE = /^[0-9a-f]{64}$/;
const HEX_PROOF = /^[0-9a-f]{64}$/;

/** The payload of a handshake message. */
export function encodeHandshakeMessage(message: WireValue): Buffer {
  return Buffer.from(JSON.stringify(message), 'utf8');
}

/**
 * Parses a handshake payload into a JSON object.
 *
 * @throws {@link HandshakeError} `'garbage'` when it is not one.
 */
export function decodeHandshakeMessage(payload: Uint8Array): HandshakeMessage {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(payload));
  } catch {
    throw new HandshakeError('garbage', 'handshake frame is not UTF-8 JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HandshakeError('garbage', 'handshake frame is not an object');
  }
  return value as HandshakeMessage;
}

/**
 * An address without the `::ffff:` prefix of an IPv4-mapped IPv6 address, lowercased.
 */
export function normalizeAddress(address: string): string {
  const lower = address.toLowerCase();
  return lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4 ? lower.slice(7) : lower;
}

/** Whether a remote address is the configured IP literal `host` (always true for a host name). */
export function addressMatches(host: string, remoteAddress: string | undefined): boolean {
  const configured = normalizeAddress(host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host);
  const family = isIP(configured);
  if (family === 0) return true;
  if (remoteAddress === undefined) return false;
  const remote = normalizeAddress(remoteAddress);
  if (family === 4) return remote === configured;
  if (isIP(remote) !== 6) return false;
  return expandIPv6(remote) === expandIPv6(configured);
}

function expandIPv6(address: string): string {
  const withoutZone = address.split('%')[0] ?? address;
  const [head = '', tail] = withoutZone.split('::');
  const headParts = head === '' ? [] : head.split(':');
  const tailParts = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? [] : new Array<string>(8 - headParts.length - tailParts.length).fill('0');
  return [...headParts, ...fill, ...tailParts].map((part) => part.replace(/^0+(?=.)/, '')).join(':');
}

/** A fresh nonce: {@link NONCE_BYTES} random bytes in lowercase hex. */
export function newNonce(): string {
  return randomBytes(NONCE_BYTES).toString('hex');
}

/** The proof one side sends: HMAC-SHA256 of `role|nonceD|nonceA|from|to`, lowercase hex. */
export function handshakeProof(
  secret: Uint8Array,
  role: 'acceptor' | 'dialer',
  dialerNonce: string,
  acceptorNonce: string,
  from: ServerId,
  to: ServerId,
): string {
  return createHmac('sha256', secret).update(`${role}|${dialerNonce}|${acceptorNonce}|${from}|${to}`).digest('hex');
}

function proofMatches(expected: string, given: WireValue | undefined): boolean {
  if (typeof given !== 'string' || !HEX_PROOF.test(given)) return false;
  return timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(given, 'hex'));
}

function exactKeys(message: HandshakeMessage, keys: readonly string[]): boolean {
  const own = Object.keys(message);
  return own.length === keys.length && keys.every((key) => Object.prototype.hasOwnProperty.call(message, key));
}

/** The dialer's side: sends HELLO, checks CHALLENGE, sends PROOF, waits for OK. */
export class DialerHandshake {
  private readonly nonce = newNonce();
  private state: 'hello' | 'challenged' | 'done' = 'hello';

  /** Creates the dialer's side of a connection to member `to`. */
  constructor(
    private readonly config: HandshakeConfig,
    /** The member dialed. */
    readonly to: ServerId,
  ) {}

  /** The HELLO message, sent first. */
  hello(): WireValue {
    return { v: HANDSHAKE_VERSION, from: this.config.id, to: this.to, nonce: this.nonce };
  }

  /**
   * Reads the acceptor's next message.
   *
   * @throws {@link HandshakeError} when it is wrong; the connection must be closed.
   */
  receive(message: HandshakeMessage): HandshakeStep {
    if (this.state === 'hello') {
      const { nonce, proof } = message;
      if (!exactKeys(message, ['nonce', 'proof']) || typeof nonce !== 'string' || !HEX_NONCE.test(nonce)) {
        throw new HandshakeError('garbage', 'expected CHALLENGE');
      }
      const expected = handshakeProof(this.config.secret, 'acceptor', this.nonce, nonce, this.config.id, this.to);
      if (!proofMatches(expected, proof)) throw new HandshakeError('badSecret', `member ${this.to} gave a wrong proof`);
      this.state = 'challenged';
      const mine = handshakeProof(this.config.secret, 'dialer', this.nonce, nonce, this.config.id, this.to);
      return { send: { proof: mine }, done: false };
    }
    if (this.state === 'challenged') {
      if (!exactKeys(message, ['ok']) || message['ok'] !== true) throw new HandshakeError('garbage', 'expected OK');
      this.state = 'done';
      return { send: null, done: true };
    }
    throw new HandshakeError('garbage', 'handshake message after the handshake');
  }
}

/** The acceptor's side: checks HELLO, sends CHALLENGE, checks PROOF, sends OK. */
export class AcceptorHandshake {
  private readonly nonce = newNonce();
  private state: 'hello' | 'challenged' | 'done' = 'hello';
  private dialerNonce = '';
  private dialer: ServerId = -1;

  /** Creates the acceptor's side of a connection from `remoteAddress`. */
  constructor(
    private readonly config: HandshakeConfig,
    private readonly remoteAddress: string | undefined,
  ) {}

  /** The dialer's id, once HELLO was accepted; -1 before. */
  get peer(): ServerId {
    return this.dialer;
  }

  /**
   * Reads the dialer's next message.
   *
   * @throws {@link HandshakeError} when it is wrong; the connection must be closed.
   */
  receive(message: HandshakeMessage): HandshakeStep {
    if (this.state === 'hello') {
      const { v, from, to, nonce } = message;
      if (
        !exactKeys(message, ['v', 'from', 'to', 'nonce']) ||
        v !== HANDSHAKE_VERSION ||
        typeof from !== 'number' ||
        typeof to !== 'number' ||
        typeof nonce !== 'string' ||
        !HEX_NONCE.test(nonce)
      ) {
        throw new HandshakeError('garbage', 'expected HELLO');
      }
      const { id, peers } = this.config;
      if (to !== id) throw new HandshakeError('stranger', `HELLO addressed to ${to}, this is ${id}`);
      const address = Number.isSafeInteger(from) && from >= 0 ? peers[from] : undefined;
      if (address === undefined || from === id) throw new HandshakeError('stranger', `unknown member ${from}`);
      if (from > id) throw new HandshakeError('stranger', `member ${from} must wait for ${id} to dial it`);
      if (!addressMatches(address.host, this.remoteAddress)) {
        throw new HandshakeError('stranger', `member ${from} is at ${address.host}, not ${this.remoteAddress ?? 'unknown'}`);
      }
      this.state = 'challenged';
      this.dialerNonce = nonce;
      this.dialer = from;
      const proof = handshakeProof(this.config.secret, 'acceptor', nonce, this.nonce, from, id);
      return { send: { nonce: this.nonce, proof }, done: false };
    }
    if (this.state === 'challenged') {
      if (!exactKeys(message, ['proof'])) throw new HandshakeError('garbage', 'expected PROOF');
      const expected = handshakeProof(this.config.secret, 'dialer', this.dialerNonce, this.nonce, this.dialer, this.config.id);
      if (!proofMatches(expected, message['proof'])) {
        throw new HandshakeError('badSecret', `member ${this.dialer} gave a wrong proof`);
      }
      this.state = 'done';
      return { send: { ok: true }, done: true };
    }
    throw new HandshakeError('garbage', 'handshake message after the handshake');
  }
}
