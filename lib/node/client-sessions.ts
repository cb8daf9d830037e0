import type { WireValue } from '../net/peer-transport';

/**
 * A client session for a write (thesis §6.3): the same `clientId` and `sequence` on a retry
 * make the write apply at most once.
 */
export interface ClientSession {
  /** Identifies the client, 1 to 128 characters. */
  readonly clientId: string;
  /** The request's number in the client's session: a positive safe integer, new per request. */
  readonly sequence: number;
}

/**
 * What applying one command gave, as every replica records it: the state machine's result,
 * or a refusal that is the same on every replica.
 */
export type CommandOutcome =
  | { readonly ok: true; readonly result: WireValue }
  | { readonly ok: false; readonly code: 'SESSION_EXPIRED' | 'COMMAND_FAILED'; readonly message: string };

/** How a session sees a request before it is applied. */
export type SessionCheck = { readonly type: 'new' } | { readonly type: 'duplicate'; readonly outcome: CommandOutcome } | { readonly type: 'expired' };

/** The bounds of the client-session table a node keeps in its replicated state. */
export interface ClientSessionLimits {
  /** Most clients remembered; the one used least recently is forgotten first. @default 10,000 */
  readonly maxClients: number;
  /**
   * How far back a session remembers: the outcomes of its last `window` sequence numbers.
   * A request more than `window` below the session's highest is refused as expired, so a
   * client keeps fewer than `window` requests outstanding. @default 128
   */
  readonly window: number;
}

/** Default {@link ClientSessionLimits}. */
export const DEFAULT_SESSION_LIMITS: ClientSessionLimits = Object.freeze({ maxClients: 10_000, window: 128 });

interface SessionRecord {
  highest: number;
  readonly outcomes: Map<number, CommandOutcome>;
}

/**
 * The table of client sessions, part of the replicated state: every replica applies the same
 * entries in the same order, so every replica's table is the same, and it travels inside
 * snapshots. Deduplicates retried writes: a request already applied gets the outcome it got
 * then, without applying again.
 *
 * Memory is bounded by `maxClients × window` outcomes. A client forgotten because
 * `maxClients` others were used since is unknown again: a retry of one of its old requests
 * would apply twice (the thesis's sessions expire the same way); keep retries within a
 * few seconds, as the key-value service's clients do.
 */
export class ClientSessions {
  readonly limits: ClientSessionLimits;
  /** In least-recently-used order: a session used is moved to the end. */
  #sessions = new Map<string, SessionRecord>();

  /** Creates an empty table. */
  constructor(limits: ClientSessionLimits = DEFAULT_SESSION_LIMITS) {
    this.limits = limits;
  }

  /** Number of clients remembered. */
  get size(): number {
    return this.#sessions.size;
  }

  /** Whether `session`'s request is new, was applied already (with what outcome), or is too old to tell. */
  check(session: ClientSession): SessionCheck {
    const record = this.#sessions.get(session.clientId);
    if (record === undefined) return { type: 'new' };
    const outcome = record.outcomes.get(session.sequence);
    if (outcome !== undefined) return { type: 'duplicate', outcome };
    if (session.sequence <= record.highest - this.limits.window) return { type: 'expired' };
    return { type: 'new' };
  }

  /** Records the outcome of a request just applied. */
  record(session: ClientSession, outcome: CommandOutcome): void {
    let record = this.#sessions.get(session.clientId);
    if (record === undefined) {
      record = { highest: 0, outcomes: new Map() };
    } else {
      this.#sessions.delete(session.clientId);
    }
    this.#sessions.set(session.clientId, record);
    record.outcomes.set(session.sequence, outcome);
    if (session.sequence > record.highest) {
      record.highest = session.sequence;
      const oldest = record.highest - this.limits.window;
      for (const sequence of record.outcomes.keys()) if (sequence <= oldest) record.outcomes.delete(sequence);
    }
    if (this.#sessions.size > this.limits.maxClients) {
      const first = this.#sessions.keys().next();
      if (first.done !== true) this.#sessions.delete(first.value);
    }
  }

  /** The table as a JSON-able value, in its least-recently-used order, for a snapshot. */
  toWire(): WireValue {
    return [...this.#sessions].map(([clientId, record]) => [clientId, record.highest, [...record.outcomes].map(([sequence, outcome]) => [sequence, outcome as WireValue])]);
  }

  /**
   * Rebuilds a table from {@link ClientSessions.toWire}'s value.
   * @throws TypeError when the value is not one.
   */
  static fromWire(value: WireValue, limits: ClientSessionLimits = DEFAULT_SESSION_LIMITS): ClientSessions {
    const table = new ClientSessions(limits);
    if (!Array.isArray(value)) throw new TypeError('client sessions: expected an array');
    for (const item of value as readonly WireValue[]) {
      if (!Array.isArray(item) || item.length !== 3) throw new TypeError('client sessions: expected [clientId, highest, outcomes]');
      const [clientId, highest, outcomes] = item as readonly WireValue[];
      if (typeof clientId !== 'string' || typeof highest !== 'number' || !Array.isArray(outcomes)) throw new TypeError('client sessions: bad record');
      const record: SessionRecord = { highest, outcomes: new Map() };
      for (const pair of outcomes as readonly WireValue[]) {
        if (!Array.isArray(pair) || typeof pair[0] !== 'number') throw new TypeError('client sessions: bad outcome');
        record.outcomes.set(pair[0], pair[1] as CommandOutcome);
      }
      table.#sessions.set(clientId, record);
    }
    return table;
  }
}

/**
 * Checks a client session given by a caller.
 * @returns a reason when it is malformed, `undefined` when it is fine.
 */
export function invalidSessionReason(session: ClientSession): string | undefined {
  if (typeof session !== 'object' || session === null) return 'a session must be an object';
  if (typeof session.clientId !== 'string' || session.clientId.length < 1 || session.clientId.length > 128) return 'clientId must be 1 to 128 characters';
  if (!Number.isSafeInteger(session.sequence) || session.sequence < 1) return 'sequence must be a positive safe integer';
  return undefined;
}
