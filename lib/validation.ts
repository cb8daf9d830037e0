import { InvalidMessageError } from './errors';
import type { AppendEntriesReply, Message, RequestVoteReply } from './messages';
import type { LogPosition, ServerId } from './types';

/**
 * What a receiver needs to know to judge a message: its own id and the cluster's size.
 */
interface Receiver {
  readonly id: ServerId;
  readonly clusterSize: number;
}

/**
 * Checks every field of a request before a server acts on it. Throws
 * {@link InvalidMessageError} naming the first bad field; returns normally otherwise.
 */
export function validateMessage<T>(message: Message<T>, receiver: Receiver): void {
  if (typeof message !== 'object' || message === null) {
    throw new InvalidMessageError('message', message, 'an object');
  }
  const untyped = message as { readonly type?: unknown };
  if (message.type === 'requestVote') {
    checkTerm('candidateTerm', message.candidateTerm);
    checkPeer('candidateId', message.candidateId, receiver);
    checkPosition('candidateLastLogEntry', message.candidateLastLogEntry);
    if (message.candidateLastLogEntry.term > message.candidateTerm) {
      throw new InvalidMessageError('candidateLastLogEntry.term', message.candidateLastLogEntry.term, `at most candidateTerm (${message.candidateTerm})`);
    }
    checkFunction(message.replyChannel);
    return;
  }
  if (message.type === 'appendEntries') {
    checkTerm('leaderTerm', message.leaderTerm);
    checkPeer('leaderId', message.leaderId, receiver);
    checkPosition('prevLogEntry', message.prevLogEntry);
    if (message.prevLogEntry.term > message.leaderTerm) {
      throw new InvalidMessageError('prevLogEntry.term', message.prevLogEntry.term, `at most leaderTerm (${message.leaderTerm})`);
    }
    checkEntries(message.entries, message.prevLogEntry, message.leaderTerm);
    checkIndex('leaderCommitIndex', message.leaderCommitIndex);
    checkFunction(message.replyChannel);
    return;
  }
  throw new InvalidMessageError('type', untyped.type, '"requestVote" or "appendEntries"');
}

/** Checks a vote reply that should come from `expectedVoter` for a request of `requestTerm`. */
export function validateRequestVoteReply(reply: RequestVoteReply, expectedVoter: ServerId, requestTerm: number): void {
  checkObject(reply);
  checkSender('voter', reply.voter, expectedVoter);
  checkTerm('voterTerm', reply.voterTerm);
  checkReplyTerm('voterTerm', reply.voterTerm, requestTerm);
  checkBoolean('voteGranted', reply.voteGranted);
  if (reply.voteGranted && reply.voterTerm !== requestTerm) {
    throw new InvalidMessageError('voterTerm', reply.voterTerm, `the request's term (${requestTerm}) when the vote is granted`);
  }
}

/**
 * Checks an AppendEntries reply that should come from `expectedFollower` for a request of
 * `requestTerm` whose entries end at `lastSentIndex`.
 */
export function validateAppendEntriesReply(
  reply: AppendEntriesReply,
  expectedFollower: ServerId,
  requestTerm: number,
  lastSentIndex: number,
): void {
  checkObject(reply);
  checkSender('follower', reply.follower, expectedFollower);
  checkTerm('followerTerm', reply.followerTerm);
  checkReplyTerm('followerTerm', reply.followerTerm, requestTerm);
  checkBoolean('success', reply.success);
  checkIndex('matchIndex', reply.matchIndex);
  if (reply.success && reply.followerTerm !== requestTerm) {
    throw new InvalidMessageError('followerTerm', reply.followerTerm, `the request's term (${requestTerm}) on success`);
  }
  if (reply.success && reply.matchIndex !== lastSentIndex) {
    throw new InvalidMessageError('matchIndex', reply.matchIndex, `prevLogEntry.index + entries.length (${lastSentIndex}) on success`);
  }
}

function checkObject(reply: unknown): void {
  if (typeof reply !== 'object' || reply === null) throw new InvalidMessageError('reply', reply, 'an object');
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function checkTerm(field: string, value: unknown): void {
  if (!isNonNegativeInteger(value)) throw new InvalidMessageError(field, value, 'an integer >= 0');
}

function checkIndex(field: string, value: unknown): void {
  if (!isNonNegativeInteger(value)) throw new InvalidMessageError(field, value, 'an integer >= 0');
}

function checkBoolean(field: string, value: unknown): void {
  if (typeof value !== 'boolean') throw new InvalidMessageError(field, value, 'a boolean');
}

function checkFunction(value: unknown): void {
  if (typeof value !== 'function') throw new InvalidMessageError('replyChannel', value, 'a function');
}

function checkPeer(field: string, value: unknown, receiver: Receiver): void {
  if (!isNonNegativeInteger(value) || value >= receiver.clusterSize) {
    throw new InvalidMessageError(field, value, `a server id in [0, ${receiver.clusterSize})`);
  }
  if (value === receiver.id) {
    throw new InvalidMessageError(field, value, `another server than the receiver (${receiver.id})`);
  }
}

function checkSender(field: string, value: unknown, expected: ServerId): void {
  if (value !== expected) throw new InvalidMessageError(field, value, `the server the request went to (${expected})`);
}

function checkReplyTerm(field: string, value: number, requestTerm: number): void {
  if (value < requestTerm) {
    throw new InvalidMessageError(field, value, `at least the request's term (${requestTerm}): a receiver never answers below it`);
  }
}

function checkPosition(field: string, position: unknown): asserts position is LogPosition {
  if (typeof position !== 'object' || position === null) throw new InvalidMessageError(field, position, 'a log position');
  const { index, term } = position as { index?: unknown; term?: unknown };
  checkIndex(`${field}.index`, index);
  checkTerm(`${field}.term`, term);
  if ((index === 0) !== (term === 0)) {
    throw new InvalidMessageError(`${field}.term`, term, index === 0 ? '0 when index is 0' : 'at least 1 when index is above 0');
  }
}

function checkEntries(entries: unknown, prev: LogPosition, leaderTerm: number): void {
  if (!Array.isArray(entries)) throw new InvalidMessageError('entries', entries, 'an array');
  let previousTerm = prev.term;
  for (let k = 0; k < entries.length; k++) {
    const entry: unknown = entries[k];
    if (typeof entry !== 'object' || entry === null) throw new InvalidMessageError(`entries[${k}]`, entry, 'a log entry');
    const { index, term } = entry as { index?: unknown; term?: unknown };
    const expectedIndex = prev.index + k + 1;
    if (index !== expectedIndex) throw new InvalidMessageError(`entries[${k}].index`, index, `${expectedIndex} (contiguous from prevLogEntry.index + 1)`);
    if (!isNonNegativeInteger(term) || term < Math.max(1, previousTerm) || term > leaderTerm) {
      throw new InvalidMessageError(`entries[${k}].term`, term, `an integer in [${Math.max(1, previousTerm)}, ${leaderTerm}] (terms never decrease and never exceed leaderTerm)`);
    }
    previousTerm = term;
  }
}
