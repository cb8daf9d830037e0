import {
  InMemoryPersistentState,
  Server,
  type AppendEntriesMessage,
  type LogEntry,
  type Message,
  type RequestVoteMessage,
  type ServerOptions,
} from '../../lib';

/** A standalone server with a recording channel, a settable clock and fixed jitter. */
export interface Harness {
  readonly server: Server<string>;
  /** Every message the server handed to its channel. */
  readonly sent: { to: number; message: Message<string> }[];
  /** Every event it emitted. */
  readonly events: unknown[][];
  /** Every reply it gave to a request this harness delivered with `deliver`. */
  readonly replies: unknown[];
  now: number;
}

export function makeHarness(id = 1, clusterSize = 3, extra: Partial<ServerOptions<string>> = {}): Harness {
  const sent: { to: number; message: Message<string> }[] = [];
  const events: unknown[][] = [];
  const harness: { server?: Server<string>; sent: typeof sent; events: unknown[][]; replies: unknown[]; now: number } = {
    sent,
    events,
    replies: [],
    now: 1_000,
  };
  const server = new Server<string>({
    id,
    clusterSize,
    messageChannel: (to, message) => sent.push({ to, message }),
    clock: () => harness.now,
    random: () => 0.5,
    persistentState: new InMemoryPersistentState<string>(),
    ...extra,
  });
  server.on('roleChange', (...args) => events.push(['roleChange', ...args]));
  server.on('leaderChange', (...args) => events.push(['leaderChange', ...args]));
  server.on('committed', (...args) => events.push(['committed', ...args]));
  harness.server = server;
  return harness as Harness;
}

/** Delivers a valid AppendEntries from `leaderId`, recording the reply. */
export function appendEntries(
  h: Harness,
  leaderId: number,
  leaderTerm: number,
  prev: { index: number; term: number },
  entries: LogEntry<string>[],
  leaderCommitIndex: number,
): void {
  const message: AppendEntriesMessage<string> = {
    type: 'appendEntries',
    leaderTerm,
    leaderId,
    prevLogEntry: prev,
    entries,
    leaderCommitIndex,
    replyChannel: (reply) => h.replies.push(reply),
  };
  h.server.processMessage(message);
}

/** Delivers a valid RequestVote, recording the reply. */
export function requestVote(h: Harness, candidateId: number, candidateTerm: number, last: { index: number; term: number }): void {
  const message: RequestVoteMessage = {
    type: 'requestVote',
    candidateTerm,
    candidateId,
    candidateLastLogEntry: last,
    replyChannel: (reply) => h.replies.push(reply),
  };
  h.server.processMessage(message);
}

/** Server 1 of 3, a follower at term 2 of leader 0, log [1:t1 a, 2:t2 b, 3:t2 c], commitIndex 2. */
export function followerWithLog(): Harness {
  const h = makeHarness(1, 3);
  appendEntries(
    h,
    0,
    2,
    { index: 0, term: 0 },
    [
      { index: 1, term: 1, data: 'a' },
      { index: 2, term: 2, data: 'b' },
      { index: 3, term: 2, data: 'c' },
    ],
    2,
  );
  return h;
}

/** Server 1 of 3, a candidate at term 3 with the log of {@link followerWithLog}. */
export function candidateWithLog(): Harness {
  const h = followerWithLog();
  h.now += 1_000;
  h.server.triggerTimeout();
  if (h.server.role !== 'candidate') throw new Error('expected a candidate');
  return h;
}

/** Server 1 of 3, leader of term 3 with the log of {@link followerWithLog}, elected by server 0's vote. */
export function leaderWithLog(): Harness {
  const h = candidateWithLog();
  const request = h.sent.find((s) => s.to === 0 && s.message.type === 'requestVote');
  if (request === undefined || request.message.type !== 'requestVote') throw new Error('no vote request');
  request.message.replyChannel({ voter: 0, voterTerm: h.server.currentTerm, voteGranted: true });
  if (h.server.role !== 'leader') throw new Error('expected a leader');
  return h;
}

/** A fresh follower: server 1 of 3, term 0, empty log. */
export function freshFollower(): Harness {
  return makeHarness(1, 3);
}

/** Everything observable about a server, as plain data. */
export function snapshot(h: Harness): unknown {
  const s = h.server;
  const log: LogEntry<string>[] = [];
  for (let index = 1; index <= s.persistentState.currentLogIndex; index++) {
    const entry = s.persistentState.getLogEntry(index);
    if (entry !== undefined) log.push({ index: entry.index, term: entry.term, data: entry.data });
  }
  return {
    role: s.role,
    currentTerm: s.currentTerm,
    votedFor: s.persistentState.votedFor,
    leaderId: s.leaderId,
    volatileState: { ...s.volatileState },
    leaderState: s.leaderState === undefined ? undefined : { nextIndex: [...s.leaderState.nextIndex], matchIndex: [...s.leaderState.matchIndex] },
    log,
    lastLogEntry: s.persistentState.getLastLogEntry(),
    currentLogIndex: s.persistentState.currentLogIndex,
    nextDeadline: s.nextDeadline(),
    sent: h.sent.length,
    events: h.events.length,
    replies: h.replies.length,
  };
}

export const STATES: readonly [string, () => Harness][] = [
  ['a fresh follower', freshFollower],
  ['a follower with a log', followerWithLog],
  ['a candidate', candidateWithLog],
  ['a leader', leaderWithLog],
];

/** What `act` throws; fails the test if it returns. */
export function thrown(act: () => unknown): unknown {
  try {
    act();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}
