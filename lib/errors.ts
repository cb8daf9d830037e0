/**
 * The base class of every error this library throws on purpose. Catch it to tell a
 * Raft-level refusal from a bug elsewhere; look at {@link RaftError.code} for the kind.
 *
 * @example
 * ```ts
 * try {
 *   server.processMessage(untrusted);
 * } catch (error) {
 *   if (error instanceof RaftError) console.warn(error.code, error.message);
 *   else throw error;
 * }
 * ```
 */
export class RaftError extends Error {
  /** A stable, machine-readable kind, one per subclass. */
  readonly code: string;

  /** Creates an error with a message and a machine-readable code. */
  constructor(message: string, code = 'RAFT_ERROR') {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * Thrown by a constructor when an option is missing, of the wrong type or out of range.
 * The message names the option and the value, as in
 * "Expected `heartbeatTimeout` to be below `electionTimeout` (150), got 200".
 */
export class ConfigurationError extends RaftError {
  /** The name of the offending option. */
  readonly option: string;
  /** The value that was given for it. */
  readonly value: unknown;

  /** Creates the error for one option. */
  constructor(option: string, value: unknown, expectation: string) {
    super(`Expected \`${option}\` to be ${expectation}, got ${describe(value)}`, 'CONFIGURATION');
    this.option = option;
    this.value = value;
  }
}

/**
 * Thrown by `Server.processMessage` (and by the reply callbacks a server hands out) when a
 * message or reply is malformed: unknown type, a field of the wrong type or out of range,
 * an id outside the cluster, entries that are not contiguous. The receiver's state is
 * unchanged and no reply is sent.
 */
export class InvalidMessageError extends RaftError {
  /** The path of the offending field, such as `entries[2].term`. */
  readonly field: string;

  /** Creates the error for one field. */
  constructor(field: string, value: unknown, expectation: string) {
    super(`Invalid message: expected \`${field}\` to be ${expectation}, got ${describe(value)}`, 'INVALID_MESSAGE');
    this.field = field;
  }
}

/**
 * Thrown when a method is called with an argument it cannot accept: a server id outside
 * the cluster, an unknown message id, a term that would move backwards in persistent state.
 * Nothing is changed by the failed call.
 */
export class InvalidArgumentError extends RaftError {
  /** Creates the error with a message that names the argument and the value. */
  constructor(message: string) {
    super(message, 'INVALID_ARGUMENT');
  }
}

/**
 * Thrown out of a server call (`processMessage`, `tick`, `propose`, ...) when one or more
 * event listeners threw. The call itself completed: the server's state is consistent, every
 * event of the call was delivered to every listener, and `lastApplied` counts only what the
 * `committed` listeners were given. So a `propose` that throws this has appended its entry:
 * do not retry it. `cause` is the first listener's error; `errors` holds them all, in order.
 */
export class ListenerError extends RaftError {
  /** Every error the listeners threw during the call, in the order they were thrown. */
  readonly errors: readonly unknown[];

  /** Creates the error for the listener errors of one call. */
  constructor(errors: readonly unknown[]) {
    const first = errors[0];
    const what = first instanceof Error ? first.message : describe(first);
    super(`${errors.length === 1 ? 'An event listener' : `${errors.length} event listeners`} threw (the server call itself completed): ${what}`, 'LISTENER');
    this.errors = errors;
    (this as { cause?: unknown }).cause = first;
  }
}

/**
 * Thrown when a server is called while it is in the middle of handling another input: a
 * `messageChannel` or `replyChannel` that calls straight back into the server (or into the
 * sender of a request, through its reply callback) instead of queueing the delivery. The
 * inner call changes nothing. Event listeners may call the server: events are emitted after
 * the step that raised them is over.
 */
export class ReentrancyError extends RaftError {
  /** Creates the error naming the refused call. */
  constructor(call: string) {
    super(`Server.${call} was called while the server was still handling another input; channels must queue deliveries, not call back synchronously`, 'REENTRANCY');
  }
}

/**
 * Thrown by `propose` / `proposeAll` on a leader when the proposal would put more than
 * `maxUncommittedBytes` of uncommitted entry data in its log (etcd's ErrProposalDropped).
 * Nothing was appended: retry once entries commit, or forward elsewhere. Only a server with
 * that option set throws it, so `ProposeResult` keeps its three outcomes.
 */
export class ProposalRefusedError extends RaftError {
  /** Why the proposal was refused. */
  readonly reason: 'uncommittedLimit';

  /** Creates the error for a proposal of `bytes` bytes over a limit of `limit`. */
  constructor(bytes: number, uncommitted: number, limit: number) {
    super(`Proposal refused: ${bytes} more bytes would put ${uncommitted + bytes} bytes of uncommitted entries in the log, above maxUncommittedBytes (${limit}); nothing was appended`, 'PROPOSAL_REFUSED');
    this.reason = 'uncommittedLimit';
  }
}

/** Renders a value for an error message: strings quoted, functions and objects by kind. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (value === null) return 'null';
  if (typeof value === 'object') {
    try {
      if (Array.isArray(value)) return `an array of length ${String(value.length)}`;
    } catch {
      return 'an unreadable object (a revoked Proxy, or one whose traps throw)';
    }
    return 'an object';
  }
  return String(value);
}

/**
 * Thrown by `FilePersistentState.open` when stored state is damaged anywhere but in a record
 * torn by a crash at the very end of the log (which is cut off silently, as it was never
 * acknowledged). Names the file and the byte offset of the damage; nothing is dropped.
 */
export class CorruptStateError extends RaftError {
  /** The damaged file. */
  readonly file: string;
  /** Byte offset of the damage in that file. */
  readonly offset: number;

  /** Creates the error for one place in one file. */
  constructor(file: string, offset: number, problem: string) {
    super(`Corrupt Raft state in ${file} at byte ${offset}: ${problem}`, 'CORRUPT_STATE');
    this.file = file;
    this.offset = offset;
  }
}

/**
 * Thrown when durable storage cannot be used: the directory is locked by another open
 * store, is not writable, or an I/O call failed, or the store was closed. `reason` says which.
 */
export class StorageError extends RaftError {
  /** What went wrong, broadly. */
  readonly reason: 'locked' | 'io' | 'closed';
  /** The file or directory concerned. */
  readonly path: string;

  /** Creates the error; `cause` is the underlying I/O error, if any. */
  constructor(reason: 'locked' | 'io' | 'closed', path: string, message: string, cause?: unknown) {
    super(message, 'STORAGE');
    this.reason = reason;
    this.path = path;
    if (cause !== undefined) (this as { cause?: unknown }).cause = cause;
  }
}
