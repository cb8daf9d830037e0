import type { RaftError } from '../errors';
import type { WireValue } from '../net/peer-transport';
import { invalidSessionReason, type ClientSession, type CommandOutcome } from './client-sessions';
import { CommandFailedError, NoLeaderError, NodeStoppedError, OutcomeUnknownError, OverloadedError, SessionExpiredError } from './node-errors';

/**
 * The outcome of one proposal as the node passes it around and as it crosses between
 * members in a forwarded batch's answer: what applying it gave (every replica the same), or
 * why it was not (or may not have been) applied.
 */
export type Settled = CommandOutcome | { readonly ok: false; readonly code: 'NO_LEADER' | 'OVERLOADED' | 'OUTCOME_UNKNOWN' | 'NODE_STOPPED'; readonly message: string };

/** The outcome that stands for a failure, by the error's kind. */
export function settledFrom(error: Error): Settled {
  if (error instanceof OverloadedError) return { ok: false, code: 'OVERLOADED', message: error.message };
  if (error instanceof NoLeaderError) return { ok: false, code: 'NO_LEADER', message: error.message };
  if (error instanceof NodeStoppedError) return { ok: false, code: 'NODE_STOPPED', message: error.message };
  return { ok: false, code: 'OUTCOME_UNKNOWN', message: error.message };
}

/** The typed error a caller of `propose` gets for a failed outcome. */
export function errorFor(outcome: Exclude<Settled, { ok: true }>, session: ClientSession | undefined): RaftError {
  switch (outcome.code) {
    case 'NO_LEADER':
      return new NoLeaderError(outcome.message);
    case 'OVERLOADED':
      return new OverloadedError(outcome.message);
    case 'NODE_STOPPED':
      return new NodeStoppedError();
    case 'SESSION_EXPIRED':
      return new SessionExpiredError(session?.clientId ?? '', session?.sequence ?? 0);
    case 'COMMAND_FAILED':
      return new CommandFailedError(outcome.message);
    default:
      return new OutcomeUnknownError(outcome.message);
  }
}

/** The outcomes in a leader's answer to a forwarded batch of `count` proposals; `[]` when malformed. */
export function readOutcomes(answer: WireValue, count: number): readonly (Settled | undefined)[] {
  const outcomes = typeof answer === 'object' && answer !== null && !Array.isArray(answer) ? (answer as { readonly outcomes?: WireValue }).outcomes : undefined;
  if (!Array.isArray(outcomes) || outcomes.length !== count) return [];
  return (outcomes as readonly WireValue[]).map((outcome) => (typeof outcome === 'object' && outcome !== null && 'ok' in outcome ? (outcome as unknown as Settled) : undefined));
}

/** Whether a forwarded item looks like a node entry: a command and, optionally, a valid session. */
export function isNodeEntry(value: WireValue): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !('command' in value)) return false;
  const session = (value as { readonly session?: WireValue }).session;
  return session === undefined || (typeof session === 'object' && session !== null && invalidSessionReason(session as unknown as ClientSession) === undefined);
}
