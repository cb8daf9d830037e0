/**
 * Views of an `InMemoryCluster` for the page, shared by the live session and the trace
 * session: a server's {@link ServerView}, the cut links, and a message's type and summary.
 */
import type { LogEntry, Message, Reply, ServerId } from '../../../lib/core';
import { describeMessage, type AddressedMessage, type InMemoryCluster } from '../../../lib/testing';
import type { ServerView } from './types';

/** Log entries per server a view holds (the latest ones). */
export const VIEW_LOG_LIMIT = 50;

/** The request type a reply answers, by the reply's type. */
const REPLY_OF: Readonly<Record<string, string>> = { requestVoteReply: 'requestVote', appendEntriesReply: 'appendEntries', installSnapshotReply: 'installSnapshot', timeoutNowReply: 'timeoutNow' };

/**
 * Server `id` of `cluster` as the page draws it. A crashed server shows as a follower (it
 * holds no role: it restarts as one), with no deadline, leader or leader state; its term,
 * vote and log are its store's.
 */
export function serverView<T>(cluster: InMemoryCluster<T>, id: ServerId): ServerView {
  const server = cluster.servers[id];
  if (server === undefined) throw new RangeError(`no server ${id}`);
  const running = cluster.isRunning(id);
  const store = server.persistentState;
  const snapshotIndex = store.getSnapshot?.()?.lastIncluded.index ?? 0;
  const last = store.currentLogIndex;
  const log: { index: number; term: number; text: string }[] = [];
  for (let index = Math.max(snapshotIndex + 1, last - VIEW_LOG_LIMIT + 1); index <= last; index++) {
    const entry = store.getLogEntry(index) as LogEntry<T> | undefined;
    if (entry !== undefined) log.push({ index, term: entry.term, text: entry.kind === 'noop' ? 'noop' : typeof entry.data === 'string' ? entry.data : JSON.stringify(entry.data) ?? String(entry.data) });
  }
  const leading = running && server.role === 'leader';
  const deadline = running && !leading ? server.nextDeadline() : Infinity;
  const leaderState = leading ? server.leaderState : undefined;
  return {
    id,
    running,
    role: running ? server.role : 'follower',
    term: store.currentTerm,
    votedFor: store.votedFor,
    leaderId: running ? server.leaderId : undefined,
    commitIndex: server.volatileState.commitIndex,
    lastApplied: server.volatileState.lastApplied,
    snapshotIndex,
    log,
    electionDeadline: Number.isFinite(deadline) ? deadline : undefined,
    nextIndex: leaderState === undefined ? undefined : [...leaderState.nextIndex],
    matchIndex: leaderState === undefined ? undefined : [...leaderState.matchIndex],
  };
}

/** Every one-way link a message cannot cross now (cut, or across a partition), as [from, to] pairs. */
export function cutLinksOf<T>(cluster: InMemoryCluster<T>): [ServerId, ServerId][] {
  const links: [ServerId, ServerId][] = [];
  const n = cluster.clusterSize;
  for (let from = 0; from < n; from++) {
    for (let to = 0; to < n; to++) if (from !== to && !cluster.network.isConnected(from, to)) links.push([from, to]);
  }
  return links;
}

/** What caused a message: the request being delivered when a reply was sent. */
export interface MessageCause {
  /** Its sender. */
  readonly from: ServerId;
  /** Its receiver. */
  readonly to: ServerId;
  /** Its type, as {@link classifyMessage} gives it. */
  readonly type: string;
  /** Whether it is a reply (a reply causes no reply). */
  readonly reply: boolean;
}

/**
 * A message's type for the page ('requestVote', 'preVote', 'appendEntries', 'heartbeat',
 * 'installSnapshot', 'timeoutNow'; for a reply, its request's, read from `cause`, the request
 * being delivered when it was sent), whether it is a reply, and a one-line summary.
 */
export function classifyMessage<T>(sent: AddressedMessage<T>, cause: MessageCause | undefined): { type: string; reply: boolean; summary: string } {
  const message: Message<T> | Reply = sent.message;
  let type: string;
  let reply = false;
  switch (message.type) {
    case 'requestVote':
      type = message.preVote === true ? 'preVote' : 'requestVote';
      break;
    case 'appendEntries':
      type = message.entries.length === 0 ? 'heartbeat' : 'appendEntries';
      break;
    case 'installSnapshot':
    case 'timeoutNow':
      type = message.type;
      break;
    default:
      reply = true;
      type = cause !== undefined && !cause.reply && cause.from === sent.to && cause.to === sent.from ? cause.type : (REPLY_OF[message.type] ?? message.type);
  }
  let summary = describeMessage(message);
  if (type === 'preVote') summary = summary.replace(/^RequestVote/, 'PreVote');
  return { type, reply, summary };
}
