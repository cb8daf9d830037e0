import { RaftError } from '../errors';

/**
 * No leader is known, or the leader could not be reached: nothing was proposed, so the
 * request is safe to retry (the key-value service answers 503 with `Retry-After`).
 */
export class NoLeaderError extends RaftError {
  /** Creates the error with what was being attempted (`code` is for subclasses). */
  constructor(message = 'no leader is known; nothing was proposed', code = 'NO_LEADER') {
    super(message, code);
  }
}

/**
 * A proposal left this member but its outcome is unknown: leadership was lost, or the entry
 * was not applied within the deadline. It may still be applied; retry with the same client
 * session to apply it at most once (the key-value service answers 504).
 */
export class OutcomeUnknownError extends RaftError {
  /** Creates the error with the reason the outcome is unknown. */
  constructor(message: string) {
    super(message, 'OUTCOME_UNKNOWN');
  }
}

/**
 * A client session's request was too old to tell whether it was applied: the session has
 * moved more than its window past it, or the session was evicted (thesis §6.3).
 */
export class SessionExpiredError extends RaftError {
  /** Creates the error for one client and sequence number. */
  constructor(clientId: string, sequence: number) {
    super(`session ${JSON.stringify(clientId)}: request ${sequence} is older than the session keeps`, 'SESSION_EXPIRED');
  }
}

/** The node is stopping or stopped: nothing was proposed. */
export class NodeStoppedError extends RaftError {
  /** Creates the error. */
  constructor() {
    super('the node is stopped', 'NODE_STOPPED');
  }
}

/**
 * The application's state machine threw while applying the command: the same on every
 * replica, so the command is applied (as a failure) and retrying it gives the same error.
 */
export class CommandFailedError extends RaftError {
  /** Creates the error with the state machine's message. */
  constructor(message: string) {
    super(message, 'COMMAND_FAILED');
  }
}

/**
 * The leader holds as much uncommitted data as it may (`maxUncommittedBytes`): nothing was
 * proposed; retry after a moment. A kind of {@link NoLeaderError}, so a service answers it
 * the same way (503 with `Retry-After`).
 */
export class OverloadedError extends NoLeaderError {
  /** Creates the error. */
  constructor(message = 'the leader holds too much uncommitted data; nothing was proposed') {
    super(message, 'OVERLOADED');
  }
}
