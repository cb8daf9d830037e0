import { InvalidMessageError } from './errors';
import type { AppendEntriesMessage, AppendEntriesReply, InstallSnapshotMessage, InstallSnapshotReply, Message, RequestVoteMessage, RequestVoteReply, TimeoutNowMessage, TimeoutNowReply } from './messages';
import type { LogEntry, LogPosition, ServerId } from './types';

/*
 * Validation reads every field of its input exactly once, checks the value it read, and
 * builds a plain copy out of those values (not frozen: the copy is the receiver's own and
 * never handed to anyone else, and freezing costs more than the copy). Callers act on
 * the copy, never on the original: a getter or a Proxy cannot show validation one value and the server another, and nothing a
 * peer sent is read again later. Anything that goes wrong while reading (a getter or Proxy
 * trap that throws, a revoked Proxy) and any value of the wrong kind (Symbol, BigInt,
 * object, ...) becomes an InvalidMessageError naming the field's path; no other error
 * escapes from here, and no user code runs while an error is described.
 */

/**
 * What a receiver needs to know to judge a message: its own id and the cluster's size.
 */
export interface Receiver {
  readonly id: ServerId;
  readonly clusterSize: number;
}

/**
 * Checks every field of a request before a server acts on it, and returns a plain
 * copy holding exactly the fields of {@link RequestVoteMessage} or
 * {@link AppendEntriesMessage} (with `entries` a new array of new plain
 * `{ index, term, data }` objects; `data` itself is the sender's reference). Each field of
 * `message` is read once; the server must act on the returned copy, not on `message`.
 * @throws {@link InvalidMessageError} naming the first bad field (or the first field that
 * could not be read); nothing else is thrown.
 */
export function validateMessage<T>(message: Message<T>, receiver: Receiver): Message<T>;
export function validateMessage<T = unknown>(message: unknown, receiver: Receiver): Message<T>;
export function validateMessage<T>(message: unknown, receiver: Receiver): Message<T> {
  const source = checkObject('message', message, 'an object');
  const type = read(source, 'type', 'type');
  if (type === 'requestVote') return validateRequestVote(source, receiver);
  if (type === 'appendEntries') return validateAppendEntries<T>(source, receiver);
  if (type === 'installSnapshot') return validateInstallSnapshot(source, receiver);
  if (type === 'timeoutNow') return validateTimeoutNow(source, receiver);
  throw invalid('type', type, '"requestVote", "appendEntries", "installSnapshot" or "timeoutNow"');
}

/**
 * Checks a vote reply that should come from `expectedVoter` for a request of `requestTerm`,
 * and returns a plain copy `{ voter, voterTerm, voteGranted }`. Each field of `reply`
 * is read once; the caller must act on the returned copy. For a pre-vote (`preVote`), the
 * voter answers with its own term, which may be below the poll's, and is below it when the
 * pre-vote is granted.
 * @throws {@link InvalidMessageError} naming the first bad field; nothing else is thrown.
 */
export function validateRequestVoteReply(reply: unknown, expectedVoter: ServerId, requestTerm: number, preVote = false): RequestVoteReply {
  const source = checkObject('reply', reply, 'an object') as { readonly [K in keyof RequestVoteReply]?: unknown };
  let field = 'voter';
  let rawVoter: unknown, rawVoterTerm: unknown, rawVoteGranted: unknown;
  try {
    rawVoter = source.voter;
    field = 'voterTerm';
    rawVoterTerm = source.voterTerm;
    field = 'voteGranted';
    rawVoteGranted = source.voteGranted;
  } catch (error) {
    throw unreadable(field, error);
  }
  const voter = checkSender('voter', rawVoter, expectedVoter);
  const voterTerm = checkTerm('voterTerm', rawVoterTerm);
  const voteGranted = checkBoolean('voteGranted', rawVoteGranted);
  if (preVote) {
    // A poll changes no term: the voter answers with its own, below the poll's when it says yes.
    if (voteGranted && voterTerm >= requestTerm) throw invalid('voterTerm', voterTerm, `below the poll's term (${requestTerm}) when the pre-vote is granted`);
    return { voter, voterTerm, voteGranted };
  }
  // A refusal may carry a term below the request's: a voter under check-quorum refuses
  // without adopting the candidate's term (SPEC Part 2). A grant is always of the request's term.
  if (voteGranted && voterTerm !== requestTerm) {
    throw invalid('voterTerm', voterTerm, `the request's term (${requestTerm}) when the vote is granted`);
  }
  return { voter, voterTerm, voteGranted };
}

/**
 * Checks an AppendEntries reply that should come from `expectedFollower` for a request of
 * `requestTerm` whose entries end at `lastSentIndex`, and returns a plain copy
 * `{ follower, followerTerm, success, matchIndex }`, plus `hintTerm` when the reply has one.
 * Each field of `reply` is read once; the caller must act on the returned copy.
 *
 * `hintTerm`, success or not, must be absent (or `undefined`) or an integer in
 * `[0, followerTerm]` that agrees with `matchIndex` as a log position does: 0 exactly when
 * `matchIndex` is 0. It is kept in the copy on success too; the leader ignores it there.
 * @throws {@link InvalidMessageError} naming the first bad field; nothing else is thrown.
 */
export function validateAppendEntriesReply(
  reply: unknown,
  expectedFollower: ServerId,
  requestTerm: number,
  lastSentIndex: number,
): AppendEntriesReply {
  const source = checkObject('reply', reply, 'an object') as { readonly [K in keyof AppendEntriesReply]?: unknown };
  let field = 'follower';
  let rawFollower: unknown, rawFollowerTerm: unknown, rawSuccess: unknown, rawMatchIndex: unknown, rawHintTerm: unknown;
  try {
    rawFollower = source.follower;
    field = 'followerTerm';
    rawFollowerTerm = source.followerTerm;
    field = 'success';
    rawSuccess = source.success;
    field = 'matchIndex';
    rawMatchIndex = source.matchIndex;
    field = 'hintTerm';
    rawHintTerm = source.hintTerm;
  } catch (error) {
    throw unreadable(field, error);
  }
  const follower = checkSender('follower', rawFollower, expectedFollower);
  const followerTerm = checkTerm('followerTerm', rawFollowerTerm);
  checkReplyTerm('followerTerm', followerTerm, requestTerm);
  const success = checkBoolean('success', rawSuccess);
  const matchIndex = checkIndex('matchIndex', rawMatchIndex);
  if (success && followerTerm !== requestTerm) {
    throw invalid('followerTerm', followerTerm, `the request's term (${requestTerm}) on success`);
  }
  if (success && matchIndex !== lastSentIndex) {
    throw invalid('matchIndex', matchIndex, `prevLogEntry.index + entries.length (${lastSentIndex}) on success`);
  }
  if (rawHintTerm === undefined) return { follower, followerTerm, success, matchIndex };
  if (!isNonNegativeInteger(rawHintTerm) || rawHintTerm > followerTerm) {
    throw invalid('hintTerm', rawHintTerm, `absent or an integer in [0, followerTerm (${followerTerm})]`);
  }
  if ((matchIndex === 0) !== (rawHintTerm === 0)) {
    throw invalid('hintTerm', rawHintTerm, matchIndex === 0 ? '0 when matchIndex is 0' : 'at least 1 when matchIndex is above 0');
  }
  return { follower, followerTerm, success, matchIndex, hintTerm: rawHintTerm };
}

/**
 * Checks an InstallSnapshot reply that should come from `expectedFollower` for a chunk of a
 * request of `requestTerm` whose snapshot has `snapshotBytes` bytes, and returns a plain
 * copy `{ follower, followerTerm, success, bytesReceived }`. `bytesReceived` is an integer in
 * `[0, snapshotBytes]`. Each field of `reply` is read once; the caller must act on the copy.
 * @throws {@link InvalidMessageError} naming the first bad field; nothing else is thrown.
 */
export function validateInstallSnapshotReply(reply: unknown, expectedFollower: ServerId, requestTerm: number, snapshotBytes: number): InstallSnapshotReply {
  const source = checkObject('reply', reply, 'an object') as { readonly [K in keyof InstallSnapshotReply]?: unknown };
  let field = 'follower';
  let rawFollower: unknown, rawFollowerTerm: unknown, rawSuccess: unknown, rawBytes: unknown;
  try {
    rawFollower = source.follower;
    field = 'followerTerm';
    rawFollowerTerm = source.followerTerm;
    field = 'success';
    rawSuccess = source.success;
    field = 'bytesReceived';
    rawBytes = source.bytesReceived;
  } catch (error) {
    throw unreadable(field, error);
  }
  const follower = checkSender('follower', rawFollower, expectedFollower);
  const followerTerm = checkTerm('followerTerm', rawFollowerTerm);
  checkReplyTerm('followerTerm', followerTerm, requestTerm);
  const success = checkBoolean('success', rawSuccess);
  if (success && followerTerm !== requestTerm) {
    throw invalid('followerTerm', followerTerm, `the request's term (${requestTerm}) on success`);
  }
  if (!isNonNegativeInteger(rawBytes) || rawBytes > snapshotBytes) {
    throw invalid('bytesReceived', rawBytes, `an integer in [0, ${snapshotBytes}] (the snapshot's size)`);
  }
  return { follower, followerTerm, success, bytesReceived: rawBytes };
}

/**
 * Checks a TimeoutNow reply that should come from `expectedFollower` for a request of
 * `requestTerm`, and returns a plain copy `{ follower, followerTerm }`.
 * @throws {@link InvalidMessageError} naming the first bad field; nothing else is thrown.
 */
export function validateTimeoutNowReply(reply: unknown, expectedFollower: ServerId, requestTerm: number): TimeoutNowReply {
  const source = checkObject('reply', reply, 'an object') as { readonly [K in keyof TimeoutNowReply]?: unknown };
  let field = 'follower';
  let rawFollower: unknown, rawFollowerTerm: unknown;
  try {
    rawFollower = source.follower;
    field = 'followerTerm';
    rawFollowerTerm = source.followerTerm;
  } catch (error) {
    throw unreadable(field, error);
  }
  const follower = checkSender('follower', rawFollower, expectedFollower);
  const followerTerm = checkTerm('followerTerm', rawFollowerTerm);
  checkReplyTerm('followerTerm', followerTerm, requestTerm);
  return { follower, followerTerm };
}

// ------------------------------------------------------------------ the requests

function validateRequestVote(source: object, receiver: Receiver): RequestVoteMessage {
  const fields = source as { readonly [K in keyof RequestVoteMessage]?: unknown };
  let field = 'candidateTerm';
  let rawTerm: unknown, rawId: unknown, rawLast: unknown, rawPreVote: unknown, rawTransfer: unknown, rawReplyChannel: unknown;
  try {
    rawTerm = fields.candidateTerm;
    field = 'candidateId';
    rawId = fields.candidateId;
    field = 'candidateLastLogEntry';
    rawLast = fields.candidateLastLogEntry;
    field = 'preVote';
    rawPreVote = fields.preVote;
    field = 'leadershipTransfer';
    rawTransfer = fields.leadershipTransfer;
    field = 'replyChannel';
    rawReplyChannel = fields.replyChannel;
  } catch (error) {
    throw unreadable(field, error);
  }
  const candidateTerm = checkTerm('candidateTerm', rawTerm);
  const candidateId = checkPeer('candidateId', rawId, receiver);
  const candidateLastLogEntry = copyPosition('candidateLastLogEntry', rawLast);
  if (candidateLastLogEntry.term > candidateTerm) {
    throw invalid('candidateLastLogEntry.term', candidateLastLogEntry.term, `at most candidateTerm (${candidateTerm})`);
  }
  const preVote = rawPreVote === undefined ? false : checkBoolean('preVote', rawPreVote);
  const leadershipTransfer = rawTransfer === undefined ? false : checkBoolean('leadershipTransfer', rawTransfer);
  const replyChannel = checkFunction(rawReplyChannel) as RequestVoteMessage['replyChannel'];
  const copy: RequestVoteMessage = { type: 'requestVote', candidateTerm, candidateId, candidateLastLogEntry, replyChannel };
  if (!preVote && !leadershipTransfer) return copy; // the Part 1 shape, exactly
  return { ...copy, ...(preVote ? { preVote } : {}), ...(leadershipTransfer ? { leadershipTransfer } : {}) };
}

function validateAppendEntries<T>(source: object, receiver: Receiver): AppendEntriesMessage<T> {
  const fields = source as { readonly [K in keyof AppendEntriesMessage<T>]?: unknown };
  let field = 'leaderTerm';
  let rawTerm: unknown, rawId: unknown, rawPrev: unknown, rawEntries: unknown, rawCommit: unknown, rawReplyChannel: unknown;
  try {
    rawTerm = fields.leaderTerm;
    field = 'leaderId';
    rawId = fields.leaderId;
    field = 'prevLogEntry';
    rawPrev = fields.prevLogEntry;
    field = 'entries';
    rawEntries = fields.entries;
    field = 'leaderCommitIndex';
    rawCommit = fields.leaderCommitIndex;
    field = 'replyChannel';
    rawReplyChannel = fields.replyChannel;
  } catch (error) {
    throw unreadable(field, error);
  }
  const leaderTerm = checkTerm('leaderTerm', rawTerm);
  const leaderId = checkPeer('leaderId', rawId, receiver);
  const prevLogEntry = copyPosition('prevLogEntry', rawPrev);
  if (prevLogEntry.term > leaderTerm) {
    throw invalid('prevLogEntry.term', prevLogEntry.term, `at most leaderTerm (${leaderTerm})`);
  }
  const entries = copyEntries<T>(rawEntries, prevLogEntry, leaderTerm);
  const leaderCommitIndex = checkIndex('leaderCommitIndex', rawCommit);
  const replyChannel = checkFunction(rawReplyChannel) as AppendEntriesMessage<T>['replyChannel'];
  return { type: 'appendEntries', leaderTerm, leaderId, prevLogEntry, entries, leaderCommitIndex, replyChannel };
}

function validateInstallSnapshot(source: object, receiver: Receiver): InstallSnapshotMessage {
  const fields = source as { readonly [K in keyof InstallSnapshotMessage]?: unknown };
  let field = 'leaderTerm';
  let rawTerm: unknown, rawId: unknown, rawLast: unknown, rawOffset: unknown, rawData: unknown, rawDone: unknown, rawReplyChannel: unknown;
  try {
    rawTerm = fields.leaderTerm;
    field = 'leaderId';
    rawId = fields.leaderId;
    field = 'lastIncluded';
    rawLast = fields.lastIncluded;
    field = 'offset';
    rawOffset = fields.offset;
    field = 'data';
    rawData = fields.data;
    field = 'done';
    rawDone = fields.done;
    field = 'replyChannel';
    rawReplyChannel = fields.replyChannel;
  } catch (error) {
    throw unreadable(field, error);
  }
  const leaderTerm = checkTerm('leaderTerm', rawTerm);
  const leaderId = checkPeer('leaderId', rawId, receiver);
  const lastIncluded = copyPosition('lastIncluded', rawLast);
  if (lastIncluded.index === 0) throw invalid('lastIncluded.index', 0, 'at least 1 (a snapshot covers at least one entry)');
  if (lastIncluded.term > leaderTerm) throw invalid('lastIncluded.term', lastIncluded.term, `at most leaderTerm (${leaderTerm})`);
  const offset = checkIndex('offset', rawOffset);
  const data = copyBytes('data', rawData);
  if (!Number.isSafeInteger(offset + data.length)) throw invalid('offset', offset, 'small enough that offset + data.length is a safe integer');
  const done = checkBoolean('done', rawDone);
  const replyChannel = checkFunction(rawReplyChannel) as InstallSnapshotMessage['replyChannel'];
  return { type: 'installSnapshot', leaderTerm, leaderId, lastIncluded, offset, data, done, replyChannel };
}

function validateTimeoutNow(source: object, receiver: Receiver): TimeoutNowMessage {
  const fields = source as { readonly [K in keyof TimeoutNowMessage]?: unknown };
  let field = 'leaderTerm';
  let rawTerm: unknown, rawId: unknown, rawReplyChannel: unknown;
  try {
    rawTerm = fields.leaderTerm;
    field = 'leaderId';
    rawId = fields.leaderId;
    field = 'replyChannel';
    rawReplyChannel = fields.replyChannel;
  } catch (error) {
    throw unreadable(field, error);
  }
  const leaderTerm = checkTerm('leaderTerm', rawTerm);
  const leaderId = checkPeer('leaderId', rawId, receiver);
  const replyChannel = checkFunction(rawReplyChannel) as TimeoutNowMessage['replyChannel'];
  return { type: 'timeoutNow', leaderTerm, leaderId, replyChannel };
}

/** A copy of a `Uint8Array` (a Proxy or a view of a detached buffer is refused). */
function copyBytes(path: string, value: unknown): Uint8Array {
  let isBytes: boolean;
  try {
    isBytes = value instanceof Uint8Array;
  } catch (error) {
    throw unreadable(path, error);
  }
  if (!isBytes) throw invalid(path, value, 'a Uint8Array');
  try {
    return Uint8Array.prototype.slice.call(value as Uint8Array); // throws on anything that is not a real typed array
  } catch (error) {
    throw unreadable(path, error);
  }
}

function copyPosition(path: string, value: unknown): LogPosition {
  const source = checkObject(path, value, 'a log position');
  let rawIndex: unknown, rawTerm: unknown;
  let field = 'index';
  try {
    rawIndex = (source as { readonly index?: unknown }).index;
    field = 'term';
    rawTerm = (source as { readonly term?: unknown }).term;
  } catch (error) {
    throw unreadable(`${path}.${field}`, error);
  }
  if (!isNonNegativeInteger(rawIndex)) throw invalid(`${path}.index`, rawIndex, 'an integer >= 0');
  if (!isNonNegativeInteger(rawTerm)) throw invalid(`${path}.term`, rawTerm, 'an integer >= 0');
  const index = rawIndex;
  const term = rawTerm;
  if ((index === 0) !== (term === 0)) {
    throw invalid(`${path}.term`, term, index === 0 ? '0 when index is 0' : 'at least 1 when index is above 0');
  }
  return { index, term };
}

/**
 * Copies `entries` into a new array of new plain `{ index, term, data }` objects,
 * checking each as it goes. The entries themselves are not frozen (freezing costs more than
 * the rest of the copy): they are new objects that only the receiver holds. The reads are
 * inlined, with the paths built only on error, as this runs for every entry received.
 */
/** The entries of every heartbeat: one shared empty array, frozen, as nothing may add to it. */
const NO_ENTRIES: readonly never[] = Object.freeze([]);

function copyEntries<T>(value: unknown, prev: LogPosition, leaderTerm: number): readonly LogEntry<T>[] {
  let isArrayValue: boolean;
  try {
    isArrayValue = Array.isArray(value); // throws on a revoked Proxy
  } catch (error) {
    throw unreadable('entries', error);
  }
  if (!isArrayValue) throw invalid('entries', value, 'an array');
  let length: unknown;
  try {
    length = (value as readonly unknown[]).length;
  } catch (error) {
    throw unreadable('entries.length', error);
  }
  if (!isNonNegativeInteger(length)) throw invalid('entries.length', length, 'an integer >= 0');
  if (length === 0) return NO_ENTRIES; // a heartbeat
  const copy = new Array<LogEntry<T>>(length);
  let previousTerm = prev.term;
  for (let k = 0; k < length; k++) {
    const expectedIndex = prev.index + k + 1;
    let entry: unknown;
    let index: unknown;
    let term: unknown;
    let data: unknown;
    let kind: unknown;
    let field = '';
    try {
      // One read of each field; the field's path is built only for an error message.
      entry = (value as readonly unknown[])[k];
      if (typeof entry === 'object' && entry !== null) {
        field = 'index';
        index = (entry as { index: unknown }).index;
        field = 'term';
        term = (entry as { term: unknown }).term;
        field = 'data';
        data = (entry as { data: unknown }).data;
        field = 'kind';
        kind = (entry as { kind: unknown }).kind;
      }
    } catch (error) {
      throw unreadable(field === '' ? `entries[${k}]` : `entries[${k}].${field}`, error);
    }
    if (typeof entry !== 'object' || entry === null) throw invalid(`entries[${k}]`, entry, 'a log entry');
    if (index !== expectedIndex) throw invalid(`entries[${k}].index`, index, `${expectedIndex} (contiguous from prevLogEntry.index + 1)`);
    if (typeof term !== 'number' || !Number.isSafeInteger(term) || term < previousTerm || term < 1 || term > leaderTerm) {
      const lowest = Math.max(1, previousTerm);
      throw invalid(`entries[${k}].term`, term, `an integer in [${lowest}, ${leaderTerm}] (terms never decrease and never exceed leaderTerm)`);
    }
    if (kind === undefined) copy[k] = { index: expectedIndex, term, data: data as T };
    else if (kind === 'noop') copy[k] = { index: expectedIndex, term, data: undefined as T, kind };
    else throw invalid(`entries[${k}].kind`, kind, 'absent, or "noop" (an entry the library writes for itself)');
    previousTerm = term;
  }
  return copy;
}

// ------------------------------------------------------------------ reading, once

/** Reads one property; whatever a getter or Proxy trap throws becomes an InvalidMessageError. */
function read(source: object, key: string | number, path: string): unknown {
  try {
    return (source as Record<string | number, unknown>)[key];
  } catch (error) {
    throw unreadable(path, error);
  }
}

// ------------------------------------------------------------------ checks

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function checkObject(path: string, value: unknown, expectation: string): object {
  if (typeof value !== 'object' || value === null) throw invalid(path, value, expectation);
  return value;
}

function checkTerm(path: string, value: unknown): number {
  if (!isNonNegativeInteger(value)) throw invalid(path, value, 'an integer >= 0');
  return value;
}

function checkIndex(path: string, value: unknown): number {
  if (!isNonNegativeInteger(value)) throw invalid(path, value, 'an integer >= 0');
  return value;
}

function checkBoolean(path: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalid(path, value, 'a boolean');
  return value;
}

function checkFunction(value: unknown): (...args: never[]) => unknown {
  if (typeof value !== 'function') throw invalid('replyChannel', value, 'a function');
  return value as (...args: never[]) => unknown;
}

function checkPeer(path: string, value: unknown, receiver: Receiver): ServerId {
  if (!isNonNegativeInteger(value) || value >= receiver.clusterSize) {
    throw invalid(path, value, `a server id in [0, ${receiver.clusterSize})`);
  }
  if (value === receiver.id) {
    throw invalid(path, value, `another server than the receiver (${receiver.id})`);
  }
  return value;
}

function checkSender(path: string, value: unknown, expected: ServerId): ServerId {
  if (value !== expected) throw invalid(path, value, `the server the request went to (${expected})`);
  return expected;
}

function checkReplyTerm(path: string, value: number, requestTerm: number): void {
  if (value < requestTerm) {
    throw invalid(path, value, `at least the request's term (${requestTerm}): a receiver never answers below it`);
  }
}

// ------------------------------------------------------------------ errors

/** The error for a value that was read but is wrong; describing it runs no user code. */
function invalid(path: string, value: unknown, expectation: string): InvalidMessageError {
  const error = new InvalidMessageError(path, undefined, expectation);
  error.message = `Invalid message: expected \`${path}\` to be ${expectation}, got ${show(value)}`;
  return error;
}

/** The error for a field whose reading threw (a getter, a Proxy trap, a revoked Proxy). */
function unreadable(path: string, thrown: unknown): InvalidMessageError {
  const error = new InvalidMessageError(path, undefined, 'readable');
  error.message = `Invalid message: reading \`${path}\` threw ${showThrown(thrown)}`;
  (error as { cause?: unknown }).cause = thrown;
  return error;
}

const MAX_SHOWN = 80;

function clip(text: string): string {
  return text.length <= MAX_SHOWN ? text : `${text.slice(0, MAX_SHOWN)}...`;
}

/**
 * Like `describe` in errors.ts, but safe for anything a peer can build: it never reads a
 * property of an object (a Proxy could throw), and shows BigInts and Symbols as such.
 */
function show(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return clip(JSON.stringify(value));
    case 'bigint':
      return clip(`${value.toString()}n (a BigInt)`);
    case 'symbol':
      return clip(String(value));
    case 'function':
      return 'a function';
    case 'object': {
      if (value === null) return 'null';
      try {
        if (Array.isArray(value)) return 'an array';
      } catch {
        return 'a revoked Proxy';
      }
      return 'an object';
    }
    default:
      return String(value); // number, boolean, undefined
  }
}

/** Describes what a getter or trap threw, without letting a second throw escape. */
function showThrown(thrown: unknown): string {
  try {
    if (thrown instanceof Error) {
      const name: unknown = thrown.name;
      const message: unknown = thrown.message;
      return `${typeof name === 'string' ? clip(name) : 'an error'}${typeof message === 'string' ? `: ${clip(message)}` : ''}`;
    }
  } catch {
    return 'an exception';
  }
  return show(thrown);
}
