// Shared setup for the Figure 2 protocol tests in spec/paper: a single `Server` driven by
// hand, with a recording message channel, a controllable clock, a seeded random source,
// prefilled persistent state, hand-built requests that record their replies, and helpers
// to answer the requests the server sent. Nothing here sleeps or reads wall time.

import {
  InMemoryPersistentState,
  Server,
  seededRandom,
  type AppendEntriesMessage,
  type AppendEntriesReply,
  type InstallSnapshotReply,
  type TimeoutNowReply,
  type IPersistentState,
  type LogEntry,
  type LogIndex,
  type LogPosition,
  type Message,
  type RequestVoteMessage,
  type RequestVoteReply,
  type ServerId,
  type ServerRole,
  type Term,
} from '../../lib';

export type Data = string;

/** The data stored at (index, term): two entries with the same index and term carry the same data. */
export function dataFor(index: LogIndex, term: Term): Data {
  return `${index}@${term}`;
}

/** A log entry whose data follows {@link dataFor}. */
export function entry(index: LogIndex, term: Term): LogEntry<Data> {
  return { index, term, data: dataFor(index, term) };
}

/** Entries for the given terms, starting at `firstIndex`. */
export function entries(firstIndex: LogIndex, terms: readonly Term[]): LogEntry<Data>[] {
  return terms.map((term, k) => entry(firstIndex + k, term));
}

/** `count` copies of `term`. */
export function repeat(term: Term, count: number): Term[] {
  return Array.from({ length: count }, () => term);
}

export interface StateSpec {
  /** currentTerm (default: the last log term, or 0). */
  term?: Term;
  votedFor?: ServerId;
  /** Terms of the log entries 1, 2, ...; data follows {@link dataFor}. */
  log?: readonly Term[];
}

/** Fills a persistent state using only its public methods. */
export function fill<S extends IPersistentState<Data>>(state: S, spec: StateSpec = {}): S {
  const log = spec.log ?? [];
  log.forEach((term, k) => state.appendToLog(dataFor(k + 1, term), term));
  const term = spec.term ?? log[log.length - 1] ?? 0;
  if (term > state.currentTerm) state.advanceToTerm(term);
  if (spec.votedFor !== undefined) state.vote(spec.votedFor);
  return state;
}

/** A prefilled {@link InMemoryPersistentState}. */
export function makeState(spec: StateSpec = {}): InMemoryPersistentState<Data> {
  return fill(new InMemoryPersistentState<Data>(), spec);
}

/** The log of a persistent state, as entries. */
export function logOf(state: IPersistentState<Data>): LogEntry<Data>[] {
  const result: LogEntry<Data>[] = [];
  for (let index = 1; index <= state.currentLogIndex; index++) {
    const e = state.getLogEntry(index);
    if (e === undefined) throw new Error(`log hole at ${index}`);
    result.push({ index: e.index, term: e.term, data: e.data });
  }
  return result;
}

/** The terms of a persistent state's log. */
export function termsOf(state: IPersistentState<Data>): Term[] {
  return logOf(state).map((e) => e.term);
}

export type ServerEvent =
  | { kind: 'roleChange'; role: ServerRole; term: Term }
  | { kind: 'leaderChange'; leaderId: ServerId | undefined; term: Term }
  | { kind: 'committed'; entries: LogEntry<Data>[] };

export interface Sent {
  readonly to: ServerId;
  readonly message: Message<Data>;
}

export interface HarnessOptions {
  id?: ServerId;
  clusterSize?: number;
  state?: IPersistentState<Data>;
  seed?: number;
  random?: () => number;
  electionTimeout?: number;
  electionTimeoutRange?: number;
  heartbeatTimeout?: number;
  maxEntriesPerMessage?: number;
  maxInflightMessages?: number;
  /** Called for every message the server hands to its channel, after it is recorded. */
  onSend?: (to: ServerId, message: Message<Data>) => void;
}

/** One server under test, with everything it sent and every event it emitted. */
export class Harness {
  now = 0;
  readonly sent: Sent[] = [];
  readonly events: ServerEvent[] = [];
  readonly state: IPersistentState<Data>;
  readonly options: HarnessOptions;
  server: Server<Data>;

  constructor(options: HarnessOptions = {}) {
    this.options = options;
    this.state = options.state ?? new InMemoryPersistentState<Data>();
    this.server = this.#build();
  }

  /** A new Server object over the same persistent state: the server restarted. */
  restart(): Server<Data> {
    this.server.removeAllListeners();
    this.server = this.#build();
    return this.server;
  }

  #build(): Server<Data> {
    const o = this.options;
    const server = new Server<Data>({
      id: o.id ?? 0,
      clusterSize: o.clusterSize ?? 3,
      persistentState: this.state,
      messageChannel: (to, message) => {
        this.sent.push({ to, message });
        o.onSend?.(to, message);
      },
      clock: () => this.now,
      random: o.random ?? seededRandom(o.seed ?? 1),
      ...(o.electionTimeout !== undefined ? { electionTimeout: o.electionTimeout } : {}),
      ...(o.electionTimeoutRange !== undefined ? { electionTimeoutRange: o.electionTimeoutRange } : {}),
      ...(o.heartbeatTimeout !== undefined ? { heartbeatTimeout: o.heartbeatTimeout } : {}),
      ...(o.maxEntriesPerMessage !== undefined ? { maxEntriesPerMessage: o.maxEntriesPerMessage } : {}),
      ...(o.maxInflightMessages !== undefined ? { maxInflightMessages: o.maxInflightMessages } : {}),
    });
    server.on('roleChange', (role, term) => this.events.push({ kind: 'roleChange', role, term }));
    server.on('leaderChange', (leaderId, term) => this.events.push({ kind: 'leaderChange', leaderId, term }));
    server.on('committed', (es) => this.events.push({ kind: 'committed', entries: es.map((e) => ({ ...e })) }));
    return server;
  }

  // ------------------------------------------------------------ what the server sent

  /** Removes and returns everything sent so far. */
  take(): Sent[] {
    return this.sent.splice(0, this.sent.length);
  }

  /** Removes and returns the RequestVote messages sent so far (others are dropped too). */
  takeVoteRequests(): Array<{ to: ServerId; message: RequestVoteMessage }> {
    return this.take().flatMap(({ to, message }) => (message.type === 'requestVote' ? [{ to, message }] : []));
  }

  /** Removes and returns the AppendEntries messages sent so far (others are dropped too). */
  takeAppendEntries(): Array<{ to: ServerId; message: AppendEntriesMessage<Data> }> {
    return this.take().flatMap(({ to, message }) => (message.type === 'appendEntries' ? [{ to, message }] : []));
  }

  /** Events of one kind, in order. */
  roleChanges(): Array<[ServerRole, Term]> {
    return this.events.flatMap((e) => (e.kind === 'roleChange' ? [[e.role, e.term] as [ServerRole, Term]] : []));
  }

  leaderChanges(): Array<[ServerId | undefined, Term]> {
    return this.events.flatMap((e) => (e.kind === 'leaderChange' ? [[e.leaderId, e.term] as [ServerId | undefined, Term]] : []));
  }

  /** Every entry handed to `committed`, flattened, in emission order. */
  committedEntries(): LogEntry<Data>[] {
    return this.events.flatMap((e) => (e.kind === 'committed' ? e.entries : []));
  }

  // ------------------------------------------------------------ requests to the server

  /** Delivers a RequestVote and returns the replies it got (normally exactly one). */
  requestVote(args: { term: Term; candidateId: ServerId; last?: LogPosition }, check?: (reply: RequestVoteReply) => void): RequestVoteReply[] {
    const replies: RequestVoteReply[] = [];
    this.server.processMessage({
      type: 'requestVote',
      candidateTerm: args.term,
      candidateId: args.candidateId,
      candidateLastLogEntry: args.last ?? { index: 0, term: 0 },
      replyChannel: (reply) => {
        check?.(reply);
        replies.push(reply);
      },
    });
    return replies;
  }

  /** Delivers an AppendEntries and returns the replies it got (normally exactly one). */
  appendEntries(
    args: { term: Term; leaderId: ServerId; prev?: LogPosition; entries?: readonly LogEntry<Data>[]; commit?: LogIndex },
    check?: (reply: AppendEntriesReply) => void,
  ): AppendEntriesReply[] {
    const replies: AppendEntriesReply[] = [];
    this.server.processMessage({
      type: 'appendEntries',
      leaderTerm: args.term,
      leaderId: args.leaderId,
      prevLogEntry: args.prev ?? { index: 0, term: 0 },
      entries: args.entries ?? [],
      leaderCommitIndex: args.commit ?? 0,
      replyChannel: (reply) => {
        check?.(reply);
        replies.push(reply);
      },
    });
    return replies;
  }

  // ------------------------------------------------------------ driving elections

  /**
   * Starts an election (triggerTimeout) and answers it with grants from `voters`,
   * returning the vote requests it sent. Clears `sent` before returning.
   */
  elect(voters: readonly ServerId[]): Array<{ to: ServerId; message: RequestVoteMessage }> {
    this.take();
    this.server.triggerTimeout();
    const requests = this.takeVoteRequests();
    const term = this.server.currentTerm;
    for (const voter of voters) {
      const request = requests.find((r) => r.to === voter);
      if (request === undefined) throw new Error(`no RequestVote was sent to ${voter}`);
      request.message.replyChannel({ voter, voterTerm: term, voteGranted: true });
    }
    if (this.server.role !== 'leader') throw new Error(`election with voters ${voters.join(',')} did not make server ${this.server.id} leader`);
    return requests;
  }
}

/** Answers an AppendEntries the way a follower whose log matches would: success up to the last entry sent. */
export function ackAppend(to: ServerId, message: AppendEntriesMessage<Data>, followerTerm: Term = message.leaderTerm): void {
  message.replyChannel({ follower: to, followerTerm, success: true, matchIndex: message.prevLogEntry.index + message.entries.length });
}

/** Answers an AppendEntries with a rejection carrying `hint`. */
export function nackAppend(to: ServerId, message: AppendEntriesMessage<Data>, hint: LogIndex, followerTerm: Term = message.leaderTerm): void {
  message.replyChannel({ follower: to, followerTerm, success: false, matchIndex: hint });
}

// ------------------------------------------------------------ a persistent state that buffers writes

/** What a store holds durably: the state as of its last `sync()`. */
export interface Snapshot {
  currentTerm: Term;
  votedFor: ServerId | undefined;
  log: LogEntry<Data>[];
}

/**
 * An {@link IPersistentState} whose writes are buffered until `sync()`, as the contract
 * allows: `durable` is what would survive a crash. Every write and sync is journaled.
 */
export class BufferedState implements IPersistentState<Data> {
  readonly live = new InMemoryPersistentState<Data>();
  durable: Snapshot = { currentTerm: 0, votedFor: undefined, log: [] };
  readonly journal: string[] = [];
  dirty = false;
  syncs = 0;

  get currentTerm(): Term {
    return this.live.currentTerm;
  }
  get votedFor(): ServerId | undefined {
    return this.live.votedFor;
  }
  get currentLogIndex(): LogIndex {
    return this.live.currentLogIndex;
  }
  advanceToTerm(term: Term): void {
    this.live.advanceToTerm(term);
    this.#wrote(`advanceToTerm(${term})`);
  }
  incrementTerm(): void {
    this.live.incrementTerm();
    this.#wrote('incrementTerm()');
  }
  vote(candidate: ServerId): void {
    this.live.vote(candidate);
    this.#wrote(`vote(${candidate})`);
  }
  getLogEntry(index: LogIndex): LogEntry<Data> | undefined {
    return this.live.getLogEntry(index);
  }
  getLastLogEntry(): LogEntry<Data> | undefined {
    return this.live.getLastLogEntry();
  }
  appendToLog(data: Data, term: Term): void {
    this.live.appendToLog(data, term);
    this.#wrote(`appendToLog(${term})`);
  }
  appendEntries(es: readonly { data: Data; term: Term }[]): void {
    this.live.appendEntries(es);
    this.#wrote(`appendEntries(${es.length})`);
  }
  truncateLog(finalIndex: LogIndex): void {
    this.live.truncateLog(finalIndex);
    this.#wrote(`truncateLog(${finalIndex})`);
  }
  sync(): void {
    this.syncs++;
    this.dirty = false;
    this.journal.push('sync()');
    this.durable = { currentTerm: this.live.currentTerm, votedFor: this.live.votedFor, log: logOf(this.live) };
  }
  #wrote(what: string): void {
    this.dirty = true;
    this.journal.push(what);
  }
}

/**
 * A store with only the required methods of {@link IPersistentState} (no appendEntries,
 * no sync), written from scratch so that nothing optional leaks in through a prototype.
 */
export function minimalState(): IPersistentState<Data> {
  let currentTerm = 0;
  let votedFor: ServerId | undefined;
  const log: LogEntry<Data>[] = [];
  return {
    get currentTerm() {
      return currentTerm;
    },
    get votedFor() {
      return votedFor;
    },
    get currentLogIndex() {
      return log.length;
    },
    advanceToTerm(term: Term) {
      if (term <= currentTerm) throw new Error(`advanceToTerm(${term}) at term ${currentTerm}`);
      currentTerm = term;
      votedFor = undefined;
    },
    incrementTerm() {
      currentTerm++;
      votedFor = undefined;
    },
    vote(candidate: ServerId) {
      votedFor = candidate;
    },
    getLogEntry(index: LogIndex) {
      return index >= 1 ? log[index - 1] : undefined;
    },
    getLastLogEntry() {
      return log[log.length - 1];
    },
    appendToLog(data: Data, term: Term) {
      log.push({ index: log.length + 1, term, data });
    },
    truncateLog(finalIndex: LogIndex) {
      log.length = Math.min(log.length, finalIndex);
    },
  };
}

// ------------------------------------------------------------ a hand-pumped wire between real servers

/**
 * Connects several Harness servers: `pump()` delivers every pending request in FIFO order
 * to its receiver, collects the reply, and hands it to the sender's closure after the
 * receiver returned (so no handler runs inside another). Counts traffic per receiver.
 */
export class Wire {
  readonly requests = new Map<ServerId, number>();
  readonly rejections = new Map<ServerId, number>();

  constructor(readonly nodes: ReadonlyMap<ServerId, Harness>) {}

  /** Delivers until nothing is pending (or `maxSteps` deliveries); returns the deliveries made. */
  pump(maxSteps = 100_000): number {
    let steps = 0;
    for (;;) {
      const next = this.#nextPending();
      if (next === undefined) return steps;
      if (++steps > maxSteps) throw new Error('Wire.pump: too many deliveries');
      const { to, message } = next;
      const receiver = this.nodes.get(to);
      if (receiver === undefined) continue; // nobody there: the message is lost
      this.requests.set(to, (this.requests.get(to) ?? 0) + 1);
      if (message.type === 'requestVote') {
        const replies: RequestVoteReply[] = [];
        receiver.server.processMessage({ ...message, replyChannel: (r: RequestVoteReply) => void replies.push(r) });
        for (const r of replies) message.replyChannel(r);
      } else if (message.type === 'appendEntries') {
        const replies: AppendEntriesReply[] = [];
        receiver.server.processMessage({ ...message, replyChannel: (r: AppendEntriesReply) => void replies.push(r) });
        for (const r of replies) {
          if (!r.success) this.rejections.set(to, (this.rejections.get(to) ?? 0) + 1);
          message.replyChannel(r);
        }
      } else if (message.type === 'installSnapshot') {
        const replies: InstallSnapshotReply[] = [];
        receiver.server.processMessage({ ...message, replyChannel: (r: InstallSnapshotReply) => void replies.push(r) });
        for (const r of replies) message.replyChannel(r);
      } else {
        const replies: TimeoutNowReply[] = [];
        receiver.server.processMessage({ ...message, replyChannel: (r: TimeoutNowReply) => void replies.push(r) });
        for (const r of replies) message.replyChannel(r);
      }
    }
  }

  #nextPending(): Sent | undefined {
    for (const node of this.nodes.values()) {
      const first = node.sent.shift();
      if (first !== undefined) return first;
    }
    return undefined;
  }
}
