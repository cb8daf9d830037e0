import type { WireValue } from '../net/peer-transport';
import type { StateMachine } from '../state-machine';
import type { LogEntry, LogIndex, Term } from '../types';
import { ClientSessions, type ClientSession, type ClientSessionLimits, type CommandOutcome, DEFAULT_SESSION_LIMITS } from './client-sessions';

/**
 * The application's state behind a {@link RaftNode}: commands in, results out. Results and
 * commands cross the wire between members, so both are JSON-able. Every replica applies the
 * same commands in the same order, so `apply` must be deterministic (no clock, no random);
 * an error it throws is the command's outcome on every replica (the proposer's promise
 * rejects with {@link CommandFailedError}).
 *
 * @example
 * ```ts
 * class Counter implements NodeStateMachine<number, number> {
 *   total = 0;
 *   apply(amount: number): number { return (this.total += amount); }
 *   takeSnapshot(): Uint8Array { return Buffer.from(String(this.total)); }
 *   restoreSnapshot(data: Uint8Array): void { this.total = Number(Buffer.from(data).toString()); }
 * }
 * ```
 */
export interface NodeStateMachine<C extends WireValue, R extends WireValue> {
  /** Applies one committed command and returns its result. */
  apply(command: C): R;
  /** The state after every command applied so far, as bytes. */
  takeSnapshot(): Uint8Array;
  /** Replaces the whole state with what `data` (from `takeSnapshot`) describes. */
  restoreSnapshot(data: Uint8Array): void;
}

/** What a {@link RaftNode} stores in each log entry: the command and, for a retry-safe write, its session. */
export interface NodeEntry<C extends WireValue> {
  /** The application's command. */
  readonly command: C;
  /** The client session, when the proposer gave one. */
  readonly session?: ClientSession;
}

/** Called with each applied entry's outcome, for the proposer waiting on it. */
export type AppliedListener = (index: LogIndex, term: Term, outcome: CommandOutcome) => void;

/**
 * The `StateMachine` a node's `Server` drives: it deduplicates retried writes with the
 * {@link ClientSessions} table, applies the rest to the application's machine, tells the
 * node every outcome, and puts the application's state and the session table together in
 * one snapshot.
 */
export class SessionStateMachine<C extends WireValue, R extends WireValue> implements StateMachine<NodeEntry<C>> {
  readonly #application: NodeStateMachine<C, R>;
  readonly #limits: ClientSessionLimits;
  readonly #onApplied: AppliedListener;
  #sessions: ClientSessions;

  /** Wraps `application`; `onApplied` hears every outcome. */
  constructor(application: NodeStateMachine<C, R>, onApplied: AppliedListener, limits: ClientSessionLimits = DEFAULT_SESSION_LIMITS) {
    this.#application = application;
    this.#onApplied = onApplied;
    this.#limits = limits;
    this.#sessions = new ClientSessions(limits);
  }

  /** The session table (read-only use: tests and metrics). */
  get sessions(): ClientSessions {
    return this.#sessions;
  }

  /** Applies one entry, once per session request. */
  apply(entry: LogEntry<NodeEntry<C>>): void {
    const { command, session } = entry.data;
    let outcome: CommandOutcome;
    if (session === undefined) {
      outcome = this.#run(command);
    } else {
      const seen = this.#sessions.check(session);
      if (seen.type === 'duplicate') outcome = seen.outcome;
      else if (seen.type === 'expired') outcome = { ok: false, code: 'SESSION_EXPIRED', message: `request ${session.sequence} of session ${JSON.stringify(session.clientId)} is older than the session keeps` };
      else {
        outcome = this.#run(command);
        this.#sessions.record(session, outcome);
      }
    }
    this.#onApplied(entry.index, entry.term, outcome);
  }

  /** The application's snapshot and the session table, as one JSON document. */
  takeSnapshot(): Uint8Array {
    const application = Buffer.from(this.#application.takeSnapshot()).toString('base64');
    return Buffer.from(JSON.stringify({ version: 1, application, sessions: this.#sessions.toWire() }));
  }

  /** Restores both from {@link SessionStateMachine.takeSnapshot}'s bytes. */
  restoreSnapshot(data: Uint8Array): void {
    const parsed = JSON.parse(Buffer.from(data).toString('utf8')) as { version?: unknown; application?: unknown; sessions?: WireValue };
    if (parsed.version !== 1 || typeof parsed.application !== 'string' || parsed.sessions === undefined) throw new TypeError('not a node snapshot (version 1)');
    const sessions = ClientSessions.fromWire(parsed.sessions, this.#limits);
    this.#application.restoreSnapshot(new Uint8Array(Buffer.from(parsed.application, 'base64')));
    this.#sessions = sessions;
  }

  #run(command: C): CommandOutcome {
    try {
      return { ok: true, result: this.#application.apply(command) };
    } catch (error) {
      return { ok: false, code: 'COMMAND_FAILED', message: error instanceof Error ? error.message : String(error) };
    }
  }
}
