import { ConfigurationError } from './errors';
import type { ProposalRefusedError } from './errors';
import type { Message } from './messages';
import { holdsSnapshots, InMemoryPersistentState, type IPersistentState } from './persistent-state';
import { missingStateMachineMethod, type StateMachine } from './state-machine';
import type { ServerId } from './types';

/**
 * What a {@link Server} is built from. Only `id`, `clusterSize` and `messageChannel` are
 * required; every other option has a default.
 *
 * @example
 * ```ts
 * const options: ServerOptions<string> = {
 *   id: 0,
 *   clusterSize: 3,
 *   messageChannel: (to, message) => transport.send(to, message),
 *   electionTimeout: 300,
 *   heartbeatTimeout: 100,
 * };
 * ```
 */
export interface ServerOptions<T> {
  /** This server's id, an integer in `[0, clusterSize)`. */
  id: ServerId;
  /** Number of servers; they are `0 .. clusterSize - 1`. */
  clusterSize: number;
  /**
   * Hands a request to the server `to`. Must not call back into this server synchronously
   * (queue the delivery instead); the server has already persisted what the message
   * depends on when it calls this.
   */
  messageChannel: (to: ServerId, message: Message<T>) => void;
  /**
   * Where the term, vote and log live.
   * @default a new {@link InMemoryPersistentState}
   */
  persistentState?: IPersistentState<T>;
  /**
   * The clock in milliseconds, read by `tick`, `nextDeadline` and whenever a timer is reset.
   * @default performance.now
   */
  clock?: () => number;
  /**
   * Random numbers in `[0, 1)`, used only for election timeout jitter.
   * @default Math.random
   */
  random?: () => number;
  /**
   * Shortest election timeout in milliseconds.
   * @default 150
   */
  electionTimeout?: number;
  /**
   * Width of the jitter: each timeout is uniform in `[electionTimeout, electionTimeout + electionTimeoutRange)`.
   * @default 150
   */
  electionTimeoutRange?: number;
  /**
   * A leader's heartbeat period in milliseconds; must be below `electionTimeout`.
   * @default 50
   */
  heartbeatTimeout?: number;
  /**
   * Most entries in one AppendEntries message.
   * @default 100
   */
  maxEntriesPerMessage?: number;
  /**
   * Most bytes of entry data in one AppendEntries, as measured by `entrySize`; a message
   * always carries at least one entry, however large.
   * @default Infinity (only `maxEntriesPerMessage` limits a message)
   */
  maxBytesPerMessage?: number;
  /**
   * The size in bytes of one entry's data, for `maxBytesPerMessage` and `maxUncommittedBytes`.
   * With either bound set, a leader measures each proposed item once, in `propose`: a size
   * function that throws, or answers no finite number >= 0, makes `propose` throw
   * `InvalidArgumentError` and append nothing. An entry that cannot be measured later (one
   * received from another leader) is sent alone.
   * @default the UTF-8 length of a string, or of the JSON text of anything else (of `String(data)` when it has none: BigInt, circular)
   */
  entrySize?: (data: T) => number;
  /**
   * Most AppendEntries carrying entries that a leader keeps unanswered per follower while
   * replicating (pipelining, like etcd's MaxInflightMsgs). While probing a follower whose
   * log is not yet known to match, the leader keeps at most one.
   * @default 64
   */
  maxInflightMessages?: number;
  /**
   * Most entries in one `committed` event. When more are committed at once (a restarted
   * server learning a long committed log, say), one event of at most this many is emitted
   * per call and the rest in the following calls: `nextDeadline()` is then `clock()` until
   * `lastApplied` reaches `commitIndex`, so a host that ticks at its deadlines applies the
   * backlog in bounded steps (etcd's MaxCommittedSizePerReady, counted in entries).
   * @default Infinity (every committed entry in the event of the call that committed it)
   */
  maxCommittedEntriesPerEvent?: number;
  /**
   * Most bytes of entry data (by `entrySize`) a leader holds appended but not yet committed.
   * A proposal that would go past it throws {@link ProposalRefusedError} and appends
   * nothing; a leader with nothing uncommitted always accepts one proposal, so a
   * single large entry is never refused forever (etcd's MaxUncommittedEntriesSize).
   * @default Infinity (no limit)
   */
  maxUncommittedBytes?: number;
  /**
   * The application's state. When given, the server applies every committed entry to it
   * (the same entries the `committed` event reports), asks it for a snapshot when it
   * compacts the log, restores it from a leader's snapshot, and, when its store holds a
   * snapshot, restores it in the constructor.
   */
  stateMachine?: StateMachine<T>;
  /**
   * Upper bound of the log: once it holds more entries than this, the server compacts it
   * (snapshot at `lastApplied`, keeping `trailingLogEntries`), within the call that applied
   * the entry that crossed the bound or at the latest in the next `tick`. A log that holds
   * more than this because its entries cannot commit (followers down) is compacted again at
   * each commit, snapshotting the state each time: keep `maxUncommittedBytes` set if that
   * can happen for long. Needs `stateMachine`, and a store that holds snapshots.
   * @default Infinity (never compacts by itself; `compact()` still does)
   */
  maxLogEntries?: number;
  /**
   * Lower bound of the log: entries kept after a compaction, so that a follower slightly
   * behind gets entries rather than a whole snapshot.
   * @default a tenth of `maxLogEntries`, rounded down; 0 without it
   */
  trailingLogEntries?: number;
  /**
   * Most bytes of snapshot data in one InstallSnapshot message.
   * @default 1,048,576
   */
  maxSnapshotChunkBytes?: number;
  /**
   * Pre-vote (thesis §9.6): an election timeout first polls the others (a RequestVote with
   * `preVote: true` for `currentTerm + 1`) and only a majority of yes starts a real election,
   * so a server that cannot win (cut off, or with a stale log) never raises the term. While
   * polling the server stays a follower and forgets its leader. A voter refuses a poll while
   * it has heard from a current leader within `electionTimeout`. Recommended with
   * `checkQuorum` in production.
   * @default false
   */
  preVote?: boolean;
  /**
   * Check-quorum: a leader that has not heard from a majority (itself included) within
   * `electionTimeout` steps down; and a server that heard from a current leader within
   * `electionTimeout` refuses votes (without adopting the candidate's term) unless the
   * candidate runs for a leadership transfer. Recommended with `preVote` in production.
   * @default false
   */
  checkQuorum?: boolean;
  /**
   * How a leader makes a {@link Server.readIndex} read linearizable (thesis §6.4):
   * - `'safe'`: it waits for a majority to answer a heartbeat sent after the read arrived
   *   (reads that arrive before the same heartbeat share it);
   * - `'lease'`: while a majority answered messages it sent within the last
   *   `electionTimeout`, it answers at once, without a round of heartbeats. This assumes
   *   the servers' clocks advance at about the same rate (bounded drift): a follower's clock
   *   running much faster than the leader's could let it elect a new leader while the old
   *   one still thinks its lease holds. Needs `checkQuorum` (followers then refuse to vote
   *   while they hear from the leader, which is what the lease relies on).
   * @default 'safe'
   */
  readMode?: 'safe' | 'lease';
}

/** Every option of {@link ServerOptions} with its default filled in, checked. */
export interface ResolvedServerOptions<T> {
  readonly id: ServerId;
  readonly clusterSize: number;
  readonly messageChannel: (to: ServerId, message: Message<T>) => void;
  readonly persistentState: IPersistentState<T>;
  readonly clock: () => number;
  readonly random: () => number;
  readonly electionTimeout: number;
  readonly electionTimeoutRange: number;
  readonly heartbeatTimeout: number;
  readonly maxEntriesPerMessage: number;
  readonly maxInflightMessages: number;
  readonly maxBytesPerMessage: number;
  readonly entrySize: (data: T) => number;
  readonly maxCommittedEntriesPerEvent: number;
  readonly maxUncommittedBytes: number;
  readonly stateMachine: StateMachine<T> | undefined;
  readonly maxLogEntries: number;
  readonly trailingLogEntries: number;
  readonly maxSnapshotChunkBytes: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly readMode: 'safe' | 'lease';
}

/** The defaults of the optional numeric options of {@link ServerOptions}. */
export const SERVER_DEFAULTS = Object.freeze({
  electionTimeout: 150,
  electionTimeoutRange: 150,
  heartbeatTimeout: 50,
  maxEntriesPerMessage: 100,
  maxInflightMessages: 64,
  maxBytesPerMessage: Infinity,
  maxCommittedEntriesPerEvent: Infinity,
  maxUncommittedBytes: Infinity,
  maxLogEntries: Infinity,
  maxSnapshotChunkBytes: 1_048_576,
});

const OPTIONAL_PERSISTENT_STATE_METHODS = ['appendEntries', 'getLogEntries', 'sync', 'getSnapshot', 'saveSnapshot'] as const;
const PERSISTENT_STATE_METHODS = ['advanceToTerm', 'incrementTerm', 'vote', 'getLogEntry', 'getLastLogEntry', 'appendToLog', 'truncateLog'] as const;

/**
 * Checks options and fills in defaults, all in one place.
 * @throws {@link ConfigurationError} naming the first bad option and its value.
 */
export function resolveServerOptions<T>(options: ServerOptions<T>): ResolvedServerOptions<T> {
  if (typeof options !== 'object' || options === null) throw new ConfigurationError('options', options, 'an object');
  const clusterSize = options.clusterSize;
  if (!isInteger(clusterSize) || clusterSize < 1) throw new ConfigurationError('clusterSize', clusterSize, 'a positive integer');
  if (!isInteger(options.id) || options.id < 0 || options.id >= clusterSize) {
    throw new ConfigurationError('id', options.id, `an integer in [0, ${clusterSize})`);
  }
  checkFunction('messageChannel', options.messageChannel);
  if (options.clock !== undefined) checkFunction('clock', options.clock);
  if (options.random !== undefined) checkFunction('random', options.random);
  const electionTimeout = positiveNumber('electionTimeout', options.electionTimeout, SERVER_DEFAULTS.electionTimeout);
  const electionTimeoutRange = options.electionTimeoutRange ?? SERVER_DEFAULTS.electionTimeoutRange;
  if (typeof electionTimeoutRange !== 'number' || !Number.isFinite(electionTimeoutRange) || electionTimeoutRange < 0) {
    throw new ConfigurationError('electionTimeoutRange', electionTimeoutRange, 'a finite number >= 0');
  }
  const heartbeatTimeout = positiveNumber('heartbeatTimeout', options.heartbeatTimeout, SERVER_DEFAULTS.heartbeatTimeout);
  if (heartbeatTimeout >= electionTimeout) {
    throw new ConfigurationError('heartbeatTimeout', heartbeatTimeout, `below \`electionTimeout\` (${electionTimeout})`);
  }
  const maxEntriesPerMessage = positiveInteger('maxEntriesPerMessage', options.maxEntriesPerMessage, SERVER_DEFAULTS.maxEntriesPerMessage);
  const maxInflightMessages = positiveInteger('maxInflightMessages', options.maxInflightMessages, SERVER_DEFAULTS.maxInflightMessages);
  const maxBytesPerMessage = options.maxBytesPerMessage ?? SERVER_DEFAULTS.maxBytesPerMessage;
  if (typeof maxBytesPerMessage !== 'number' || Number.isNaN(maxBytesPerMessage) || maxBytesPerMessage <= 0) {
    throw new ConfigurationError('maxBytesPerMessage', maxBytesPerMessage, 'a number > 0');
  }
  const maxCommittedEntriesPerEvent = options.maxCommittedEntriesPerEvent ?? SERVER_DEFAULTS.maxCommittedEntriesPerEvent;
  if (maxCommittedEntriesPerEvent !== Infinity && (!isInteger(maxCommittedEntriesPerEvent) || maxCommittedEntriesPerEvent < 1)) {
    throw new ConfigurationError('maxCommittedEntriesPerEvent', maxCommittedEntriesPerEvent, 'a positive integer or Infinity');
  }
  const maxUncommittedBytes = options.maxUncommittedBytes ?? SERVER_DEFAULTS.maxUncommittedBytes;
  if (typeof maxUncommittedBytes !== 'number' || Number.isNaN(maxUncommittedBytes) || maxUncommittedBytes <= 0) {
    throw new ConfigurationError('maxUncommittedBytes', maxUncommittedBytes, 'a number > 0');
  }
  if (options.entrySize !== undefined) checkFunction('entrySize', options.entrySize);
  const persistentState = options.persistentState ?? new InMemoryPersistentState<T>();
  checkPersistentState(persistentState);
  const stateMachine = options.stateMachine;
  if (stateMachine !== undefined) {
    const missing = missingStateMachineMethod(stateMachine);
    if (missing !== undefined) throw new ConfigurationError(`stateMachine.${missing}`, (stateMachine as unknown as Record<string, unknown> | null)?.[missing], 'a function (stateMachine must implement StateMachine)');
  }
  const maxLogEntries = options.maxLogEntries ?? SERVER_DEFAULTS.maxLogEntries;
  if (maxLogEntries !== Infinity) {
    if (!isInteger(maxLogEntries) || maxLogEntries < 1) throw new ConfigurationError('maxLogEntries', maxLogEntries, 'a positive integer or Infinity');
    if (stateMachine === undefined) throw new ConfigurationError('maxLogEntries', maxLogEntries, 'left unset without `stateMachine` (compaction needs a state machine to snapshot)');
    if (!holdsSnapshots(persistentState)) throw new ConfigurationError('maxLogEntries', maxLogEntries, 'left unset: `persistentState` cannot hold snapshots (it lacks firstLogIndex, getSnapshot or saveSnapshot)');
  }
  const trailingLogEntries = options.trailingLogEntries ?? (maxLogEntries === Infinity ? 0 : Math.floor(maxLogEntries / 10));
  if (!isInteger(trailingLogEntries) || trailingLogEntries < 0) throw new ConfigurationError('trailingLogEntries', trailingLogEntries, 'an integer >= 0');
  if (trailingLogEntries >= maxLogEntries) throw new ConfigurationError('trailingLogEntries', trailingLogEntries, `below \`maxLogEntries\` (${maxLogEntries})`);
  const maxSnapshotChunkBytes = positiveInteger('maxSnapshotChunkBytes', options.maxSnapshotChunkBytes, SERVER_DEFAULTS.maxSnapshotChunkBytes);
  const preVote = optionalBoolean('preVote', options.preVote);
  const checkQuorum = optionalBoolean('checkQuorum', options.checkQuorum);
  const readMode = options.readMode === undefined ? 'safe' : options.readMode;
  if (readMode !== 'safe' && readMode !== 'lease') throw new ConfigurationError('readMode', readMode, '"safe" or "lease"');
  if (readMode === 'lease' && !checkQuorum) throw new ConfigurationError('readMode', readMode, '"safe" unless `checkQuorum` is on (a lease relies on followers refusing votes while they hear from the leader)');
  return {
    id: options.id,
    clusterSize,
    messageChannel: options.messageChannel,
    persistentState,
    clock: options.clock ?? (() => performance.now()),
    random: options.random ?? Math.random,
    electionTimeout,
    electionTimeoutRange,
    heartbeatTimeout,
    maxEntriesPerMessage,
    maxInflightMessages,
    maxBytesPerMessage,
    entrySize: options.entrySize ?? defaultEntrySize,
    maxCommittedEntriesPerEvent,
    maxUncommittedBytes,
    stateMachine,
    maxLogEntries,
    trailingLogEntries,
    maxSnapshotChunkBytes,
    preVote,
    checkQuorum,
    readMode,
  };
}

/** The UTF-8 length of a string, or of the JSON text of anything else. */
function defaultEntrySize(data: unknown): number {
  if (typeof data === 'string') return utf8Length(data);
  let text: string;
  try {
    text = JSON.stringify(data) ?? '';
  } catch {
    text = String(data); // BigInt or circular data: a size is all that is needed, never a failure
  }
  return utf8Length(text);
}

/** The UTF-8 length of a string without Buffer or TextEncoder, so the core runs in browsers (lone surrogates count 3, as in Buffer.byteLength). */
function utf8Length(text: string): number {
  let bytes = 0;
  for (let k = 0; k < text.length; k++) {
    const code = text.charCodeAt(k);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && k + 1 < text.length && (text.charCodeAt(k + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      k++;
    } else bytes += 3;
  }
  return bytes;
}

function isInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

function checkFunction(option: string, value: unknown): void {
  if (typeof value !== 'function') throw new ConfigurationError(option, value, 'a function');
}

function positiveNumber(option: string, value: number | undefined, fallback: number): number {
  const resolved = value ?? fallback;
  if (typeof resolved !== 'number' || !Number.isFinite(resolved) || resolved <= 0) {
    throw new ConfigurationError(option, resolved, 'a finite number > 0');
  }
  return resolved;
}

function optionalBoolean(option: string, value: boolean | undefined): boolean {
  if (value !== undefined && typeof value !== 'boolean') throw new ConfigurationError(option, value, 'a boolean');
  return value === true;
}

function positiveInteger(option: string, value: number | undefined, fallback: number): number {
  const resolved = value ?? fallback;
  if (!isInteger(resolved) || resolved < 1) throw new ConfigurationError(option, resolved, 'a positive integer');
  return resolved;
}

function checkPersistentState(state: unknown): void {
  if (typeof state !== 'object' || state === null) throw new ConfigurationError('persistentState', state, 'an IPersistentState object');
  const record = state as Record<string, unknown>;
  for (const method of PERSISTENT_STATE_METHODS) {
    if (typeof record[method] !== 'function') {
      throw new ConfigurationError(`persistentState.${method}`, record[method], 'a function (persistentState must implement IPersistentState)');
    }
  }
  for (const method of OPTIONAL_PERSISTENT_STATE_METHODS) {
    if (record[method] !== undefined && typeof record[method] !== 'function') {
      throw new ConfigurationError(`persistentState.${method}`, record[method], 'a function or absent (an optional method of IPersistentState)');
    }
  }
  const snapshotParts = [record.saveSnapshot !== undefined, record.getSnapshot !== undefined, record.firstLogIndex !== undefined];
  if (snapshotParts.some((part) => part) && !holdsSnapshots(state as IPersistentState<unknown>)) {
    throw new ConfigurationError('persistentState.firstLogIndex', record.firstLogIndex, 'a number, with getSnapshot and saveSnapshot functions: a store that holds snapshots implements all three');
  }
}
