// Shared setup for the hardening tests: Servers built directly (public API only) on a fake
// clock with seeded randomness, a recording channel, prefilled stores, and a small
// hand-pumped cluster for options InMemoryCluster does not pass through. Nothing sleeps.

import {
  InMemoryPersistentState,
  Server,
  seededRandom,
  type AppendEntriesMessage,
  type AppendEntriesReply,
  type IPersistentState,
  type LogEntry,
  type LogIndex,
  type Message,
  type RequestVoteMessage,
  type RequestVoteReply,
  type ServerId,
  type ServerOptions,
  type Term,
} from '../../lib';

export type Data = string;

/** The data stored at (index, term): equal positions carry equal data. */
export function dataFor(index: LogIndex, term: Term): Data {
  return `${index}@${term}`;
}

/** `count` copies of `term`. */
export function run(term: Term, count: number): Term[] {
  return Array.from({ length: count }, () => term);
}

/** An InMemoryPersistentState holding entries of the given terms (data by {@link dataFor}) at `currentTerm`. */
export function storeWith(terms: readonly Term[], currentTerm?: Term): InMemoryPersistentState<Data> {
  const state = new InMemoryPersistentState<Data>();
  state.appendEntries(terms.map((term, k) => ({ data: dataFor(k + 1, term), term })));
  const term = currentTerm ?? terms[terms.length - 1] ?? 0;
  if (term > 0) state.advanceToTerm(term);
  return state;
}

/** The terms of a store's log. */
export function termsOf(state: IPersistentState<Data>): Term[] {
  const terms: Term[] = [];
  for (let index = 1; index <= state.currentLogIndex; index++) terms.push((state.getLogEntry(index) as LogEntry<Data>).term);
  return terms;
}

/** Whether two stores hold the same log (same terms and data at every index). */
export function sameLog(a: IPersistentState<Data>, b: IPersistentState<Data>): boolean {
  if (a.currentLogIndex !== b.currentLogIndex) return false;
  for (let index = 1; index <= a.currentLogIndex; index++) {
    const x = a.getLogEntry(index);
    const y = b.getLogEntry(index);
    if (x === undefined || y === undefined || x.term !== y.term || x.data !== y.data) return false;
  }
  return true;
}

export interface Sent {
  readonly to: ServerId;
  readonly message: Message<Data>;
}

/** Options of a Server other than the ones a {@link Solo} sets itself. */
export type ExtraOptions = Omit<Partial<ServerOptions<Data>>, 'id' | 'clusterSize' | 'messageChannel' | 'clock' | 'random' | 'persistentState'>;

/**
 * One Server driven by hand: a fake clock (`now`), seeded randomness, and a channel that
 * records what it sends (and then calls `onSend`, if set).
 */
export class Solo {
  now = 0;
  readonly sent: Sent[] = [];
  onSend: ((to: ServerId, message: Message<Data>) => void) | undefined = undefined;
  server: Server<Data>;

  constructor(
    readonly id: ServerId,
    readonly clusterSize: number,
    readonly state: IPersistentState<Data> = new InMemoryPersistentState<Data>(),
    readonly extra: ExtraOptions = {},
    readonly seed = 1,
  ) {
    this.server = this.restart();
  }

  /** A new Server object over the same store: the server restarted. */
  restart(): Server<Data> {
    this.server = new Server<Data>({
      ...this.extra,
      id: this.id,
      clusterSize: this.clusterSize,
      persistentState: this.state,
      clock: () => this.now,
      random: seededRandom(this.seed),
      messageChannel: (to, message) => {
        this.sent.push({ to, message });
        this.onSend?.(to, message);
      },
    });
    return this.server;
  }

  /** Removes and returns everything sent so far. */
  take(): Sent[] {
    return this.sent.splice(0, this.sent.length);
  }

  /** Removes and returns the AppendEntries sent so far (dropping everything else). */
  takeAppendEntries(): Array<{ to: ServerId; message: AppendEntriesMessage<Data> }> {
    return this.take().flatMap(({ to, message }) => (message.type === 'appendEntries' ? [{ to, message }] : []));
  }

  /** Starts an election and grants it the votes of `voters`; throws unless it became leader. Clears `sent`. */
  elect(voters: readonly ServerId[]): void {
    this.take();
    this.server.triggerTimeout();
    const requests = this.take().flatMap(({ to, message }) => (message.type === 'requestVote' ? [{ to, message }] : []));
    const term = this.server.currentTerm;
    for (const voter of voters) {
      const request = requests.find((r) => r.to === voter);
      if (request === undefined) throw new Error(`no RequestVote was sent to ${voter}`);
      request.message.replyChannel({ voter, voterTerm: term, voteGranted: true });
    }
    if (this.server.role !== 'leader') throw new Error(`server ${this.id} did not become leader`);
  }
}

/** Answers an AppendEntries as a follower whose log matches: success up to its last entry. */
export function ack(to: ServerId, message: AppendEntriesMessage<Data>): void {
  message.replyChannel({ follower: to, followerTerm: message.leaderTerm, success: true, matchIndex: message.prevLogEntry.index + message.entries.length });
}

/** Answers an AppendEntries with a rejection carrying the hint `matchIndex`. */
export function nack(to: ServerId, message: AppendEntriesMessage<Data>, matchIndex: LogIndex): void {
  message.replyChannel({ follower: to, followerTerm: message.leaderTerm, success: false, matchIndex });
}

/** Delivers a message to `server` and returns the replies it produced (normally one), without handing them to the sender. */
export function deliverTo(server: Server<Data>, message: Message<Data>): Array<RequestVoteReply | AppendEntriesReply> {
  const replies: Array<RequestVoteReply | AppendEntriesReply> = [];
  if (message.type === 'requestVote') {
    server.processMessage({ ...message, replyChannel: (reply: RequestVoteReply) => void replies.push(reply) } as RequestVoteMessage);
  } else {
    server.processMessage({ ...message, replyChannel: (reply: AppendEntriesReply) => void replies.push(reply) } as AppendEntriesMessage<Data>);
  }
  return replies;
}

/** A hand-built AppendEntries that records its replies. */
export function appendEntries(
  args: { term: Term; leaderId: ServerId; prev: { index: LogIndex; term: Term }; entries?: readonly LogEntry<Data>[]; commit?: LogIndex },
  replies: AppendEntriesReply[],
): AppendEntriesMessage<Data> {
  return {
    type: 'appendEntries',
    leaderTerm: args.term,
    leaderId: args.leaderId,
    prevLogEntry: args.prev,
    entries: args.entries ?? [],
    leaderCommitIndex: args.commit ?? 0,
    replyChannel: (reply) => void replies.push(reply),
  };
}

/** The entries that follow {@link dataFor} for the given terms, from `firstIndex`. */
export function entriesFrom(firstIndex: LogIndex, terms: readonly Term[]): LogEntry<Data>[] {
  return terms.map((term, k) => ({ index: firstIndex + k, term, data: dataFor(firstIndex + k, term) }));
}

// ------------------------------------------------------------ a small hand-pumped cluster

/**
 * Servers built directly (so any ServerOptions can be given) and wired through a FIFO
 * queue: a message or reply is delivered only after the call that sent it returned, so no
 * handler ever runs inside another. A virtual clock moves only in `advance`/`runUntil`,
 * which tick the server with the earliest `nextDeadline()`, like InMemoryCluster.
 */
export class MiniCluster {
  now = 0;
  readonly servers: Server<Data>[];
  readonly stores: IPersistentState<Data>[];
  /** Per server, every `committed` event's entries, since its last (re)start. */
  readonly events: LogEntry<Data>[][][];
  /** Servers cut off from everybody (messages to and from them are lost). */
  readonly isolated = new Set<ServerId>();
  /** Called with every request just before it is delivered. */
  onDeliver: ((from: ServerId, to: ServerId, message: Message<Data>) => void) | undefined = undefined;
  readonly #queue: (() => void)[] = [];
  readonly #randoms: (() => number)[];
  readonly #extra: ExtraOptions;

  constructor(size: number, extra: ExtraOptions = {}, stores?: IPersistentState<Data>[], seed = 1) {
    this.#extra = extra;
    this.stores = stores ?? Array.from({ length: size }, () => new InMemoryPersistentState<Data>());
    this.#randoms = Array.from({ length: size }, (_, id) => seededRandom(seed * 1000 + id + 1));
    this.events = Array.from({ length: size }, () => []);
    this.servers = Array.from({ length: size }, (_, id) => this.#build(id));
  }

  #build(id: ServerId): Server<Data> {
    const server = new Server<Data>({
      ...this.#extra,
      id,
      clusterSize: this.stores.length,
      persistentState: this.stores[id] as IPersistentState<Data>,
      clock: () => this.now,
      random: this.#randoms[id] as () => number,
      messageChannel: (to, message) => this.#send(id, to, message),
    });
    server.on('committed', (entries) => (this.events[id] as LogEntry<Data>[][]).push([...entries]));
    return server;
  }

  /** A new Server over server `id`'s store (its pending messages are lost). */
  restart(id: ServerId): Server<Data> {
    this.events[id] = [];
    const server = this.#build(id);
    this.servers[id] = server;
    return server;
  }

  /** Every entry server `id` was given by `committed` events, flattened. */
  committed(id: ServerId): LogEntry<Data>[] {
    return (this.events[id] as LogEntry<Data>[][]).flat();
  }

  leader(): Server<Data> | undefined {
    let best: Server<Data> | undefined;
    for (const s of this.servers) if (!this.isolated.has(s.id) && s.role === 'leader' && (best === undefined || s.currentTerm > best.currentTerm)) best = s;
    return best;
  }

  #connected(a: ServerId, b: ServerId): boolean {
    return !this.isolated.has(a) && !this.isolated.has(b);
  }

  #send(from: ServerId, to: ServerId, message: Message<Data>): void {
    const target = this.servers[to] as Server<Data>;
    this.#queue.push(() => {
      if (!this.#connected(from, to) || this.servers[to] !== target) return;
      this.onDeliver?.(from, to, message);
      const back = (reply: RequestVoteReply | AppendEntriesReply): void => {
        this.#queue.push(() => {
          if (this.#connected(to, from)) (message.replyChannel as (r: RequestVoteReply | AppendEntriesReply) => void)(reply);
        });
      };
      target.processMessage({ ...message, replyChannel: back } as Message<Data>);
    });
  }

  /** Delivers queued messages and replies, FIFO, until none is left. */
  drain(maxSteps = 1_000_000): void {
    for (let steps = 0; ; steps++) {
      if (steps > maxSteps) throw new Error('MiniCluster.drain: too many deliveries');
      const next = this.#queue.shift();
      if (next === undefined) return;
      next();
    }
  }

  /** Runs the earliest due timer by `end` (returns true) or moves the clock to `end` (returns false). */
  #step(end: number): boolean {
    let due: Server<Data> | undefined;
    let dueAt = Infinity;
    for (const s of this.servers) {
      const deadline = s.nextDeadline();
      if (deadline < dueAt) {
        dueAt = deadline;
        due = s;
      }
    }
    if (due === undefined || dueAt > end) {
      this.now = Math.max(this.now, end);
      return false;
    }
    this.now = Math.max(this.now, dueAt);
    due.tick();
    this.drain();
    return true;
  }

  /** Advances timer by timer until `predicate()` holds or `maxMs` passed; at most `maxSteps` timers. */
  runUntil(predicate: () => boolean, maxMs: number, maxSteps = 1_000_000): boolean {
    const end = this.now + maxMs;
    this.drain();
    for (let steps = 0; steps < maxSteps; steps++) {
      if (predicate()) return true;
      if (!this.#step(end)) return predicate();
    }
    throw new Error('MiniCluster.runUntil: too many timers');
  }

  advance(ms: number): void {
    this.runUntil(() => false, ms);
  }
}
