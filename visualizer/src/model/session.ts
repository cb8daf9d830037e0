/**
 * The visualizer's live run: the library's real `Server`s in an `InMemoryCluster` with
 * 'manual' delivery, driven one event at a time on a virtual clock, with seeded delivery
 * delays and loss, user actions (recorded with their step), an autopilot, narration, and the
 * simulator's safety checks after every event. Browser-safe: imports only lib/core and
 * lib/testing.
 */
import type { IPersistentState, Server, ServerId, ServerRole, Term } from '../../../lib/core';
import {
  DigestStateMachine,
  InMemoryCluster,
  ObservedPersistentState,
  SafetyChecker,
  checkAppliedState,
  checkCommitIndexes,
  logReader,
  observeServer,
  seededRandom,
} from '../../../lib/testing';
import { RecordingError, checkAction, checkOptions, encodeRecording } from './codec';
import { AppendMachine } from './machine';
import type { Session } from './session-api';
import { classifyMessage, cutLinksOf, serverView } from './view';
import type { Action, Chaos, MessageView, NarrationLine, RecordedAction, Recording, RunOptions, ServerView, ViewState, ViolationView } from './types';

export { RecordingError, decodeRecording, encodeRecording } from './codec';

/** The options a new page starts with. */
export const DEFAULT_OPTIONS: RunOptions = { servers: 5, seed: 1, preVote: true, checkQuorum: true, maxLogEntries: 0 };

/** The chaos a run starts with: no loss, 10 to 30 ms per message. */
export const DEFAULT_CHAOS: Chaos = { loss: 0, minLatency: 10, maxLatency: 30 };

/** Narration lines kept (the oldest are forgotten). */
export const NARRATION_LIMIT = 500;

export { VIEW_LOG_LIMIT } from './view';

/** Virtual ms an idle step (nothing due: every server down, no message) moves the clock. */
export const IDLE_STEP_MS = 10;

/**
 * Per-step probabilities of the autopilot's moves (one draw per step decides which, if any).
 * The autopilot's moves are NOT recorded: they come from the session's own seeded random,
 * drawn (twice) at every step while the autopilot is on, so replaying the recorded actions
 * (the `autopilot` on/off ones included) reproduces them exactly.
 */
export const AUTOPILOT_RATES = { propose: 0.012, crash: 0.0015, restart: 0.006, cut: 0.0015, heal: 0.004 } as const;

/**
 * Test-only hooks (not part of the page's API): they survive {@link VisualizerSession.seek}.
 * @internal
 */
export interface SessionInternals {
  /** Builds server `id`'s store (default: an `ObservedPersistentState` reporting to `checker`). */
  readonly persistentState?: (id: ServerId, checker: SafetyChecker<string>) => IPersistentState<string>;
}

/** What moves a server to candidate, for the narration. */
type Cause = 'timer' | 'user timeout' | 'delivery' | 'action' | 'autopilot';

/** A 32-bit mix of a seed and a stream number (each random stream of the model gets its own). */
function streamSeed(seed: number, stream: number): number {
  let h = (seed ^ Math.imul(stream + 0x51, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** The ids named after "server"/"servers" in a violation message. */
function serversIn(message: string, count: number): ServerId[] {
  const ids = new Set<ServerId>();
  for (const match of message.matchAll(/\bservers? (\d+)(?: and (\d+))?/g)) {
    for (const text of [match[1], match[2]]) {
      if (text === undefined) continue;
      const id = Number(text);
      if (id < count) ids.add(id);
    }
  }
  return [...ids].sort((a, b) => a - b);
}

/**
 * One live run (see the module doc). Deterministic: the same {@link RunOptions} and recorded
 * actions give the same views at every step. The state "at step k" includes the actions
 * recorded at step k. Actions recorded after the current step (kept by {@link seek}) are
 * applied when the run reaches their step.
 *
 * One step: while the autopilot is on, first its move (maybe none; see
 * {@link AUTOPILOT_RATES}: its moves are not recorded, only the `autopilot` on/off actions);
 * then the event: the earliest server deadline (ties: timers first) moves the clock there and
 * runs the timers due; otherwise the earliest due message (ties: lowest id) moves the clock to
 * its delivery time and is delivered. New messages then get their delivery time (now +
 * uniform [minLatency, maxLatency] from the session's seeded random) or are lost (probability
 * `loss`), and every safety invariant of the simulator's `SafetyChecker` is checked; a
 * violation stops the run. The clock moves only with steps (so a replay sees the same times);
 * with nothing due, a step moves it {@link IDLE_STEP_MS}.
 *
 * Actions: `propose` makes a value `v1`, `v2`... (one number per propose action, the
 * autopilot's included); proposed to a follower that knows the leader, it is proposed to the
 * leader directly, as `InMemoryCluster.propose` does. `heal` removes the partition and
 * restores every cut link. `drop` of a message no longer in flight does nothing (but is
 * narrated). A crash loses the messages to and from the server.
 */
export class VisualizerSession implements Session {
  readonly #options: RunOptions;
  readonly #internals: SessionInternals;
  #actions: RecordedAction[];
  /** Index in #actions of the next action not applied yet. */
  #cursor = 0;
  #cluster!: InMemoryCluster<string>;
  #checker!: SafetyChecker<string>;
  #digests: (DigestStateMachine<string> | undefined)[] = [];
  #step = 0;
  #chaos: Chaos = DEFAULT_CHAOS;
  #autopilot = false;
  #deliveryRandom!: () => number;
  #autopilotRandom!: () => number;
  /** Messages in flight, by id, as views (with their delivery times). */
  #flights = new Map<number, MessageView>();
  #lastSeen = 0;
  #narration: NarrationLine[] = [];
  #violation: ViolationView | undefined;
  #votes = new Map<ServerId, { term: Term; voters: Set<ServerId> }>();
  #roles: ServerRole[] = [];
  #narratedCommit = 0;
  #proposals = 0;
  #cause: Cause = 'action';
  /** The message being delivered (what its replies answer). */
  #delivering: MessageView | undefined;

  private constructor(options: RunOptions, actions: readonly RecordedAction[], internals: SessionInternals) {
    this.#options = { ...options };
    this.#actions = [...actions];
    this.#internals = internals;
    this.#build();
  }

  /**
   * A fresh run with `options` (no actions).
   * @throws {@link RecordingError} when an option is out of range.
   */
  static create(options: RunOptions, internals: SessionInternals = {}): VisualizerSession {
    const bad = checkOptions(options);
    if (bad !== undefined) throw new RecordingError(bad);
    const session = new VisualizerSession(options, [], internals);
    session.#replayTo(0);
    return session;
  }

  /**
   * The run `recording` describes, replayed to `recording.at` (or to its violation); later
   * actions are kept and applied when stepping on.
   * @throws {@link RecordingError} when an option or action is bad.
   */
  static fromRecording(recording: Recording, internals: SessionInternals = {}): VisualizerSession {
    const bad = checkOptions(recording.options);
    if (bad !== undefined) throw new RecordingError(bad);
    let previous = 0;
    recording.actions.forEach(({ step, action }, k) => {
      const reason = checkAction(action, recording.options.servers);
      if (reason !== undefined) throw new RecordingError(`action ${k}: ${reason}`);
      if (!Number.isSafeInteger(step) || step < previous) throw new RecordingError(`action ${k}: bad step ${String(step)}`);
      previous = step;
    });
    const session = new VisualizerSession(recording.options, recording.actions, internals);
    session.#replayTo(recording.at);
    return session;
  }

  /** The options, every recorded action (later ones too), and the current step. */
  recording(): Recording {
    return { options: { ...this.#options }, actions: this.#actions.map(({ step, action }) => ({ step, action })), at: this.#step };
  }

  /** `run=<encoded recording>`: the URL hash (without '#') that reproduces this run at its current step. */
  hash(): string {
    return `run=${encodeRecording(this.recording())}`;
  }

  /** Steps taken so far. */
  get stepCount(): number {
    return this.#step;
  }

  /** Whether the run is stopped by a violation. */
  get stopped(): boolean {
    return this.#violation !== undefined;
  }

  /** The underlying cluster (read it, do not drive it: that would break replays). */
  get cluster(): InMemoryCluster<string> {
    return this.#cluster;
  }

  /**
   * Virtual time of the next event: the earliest due message or server deadline, or, when
   * nothing is due (every server down, no message), the idle step's `now + IDLE_STEP_MS`.
   * `Infinity` once a violation stopped the run.
   */
  nextEventTime(): number {
    if (this.#violation !== undefined) return Infinity;
    const message = this.#earliestFlight();
    const next = Math.min(message?.deliverAt ?? Infinity, this.#earliestDeadline());
    return next === Infinity ? this.#cluster.now + IDLE_STEP_MS : next;
  }

  /** One event: the earliest due message is delivered, or the timers due at the earliest deadline run. `false` once a violation stopped the run. */
  step(): boolean {
    if (this.#violation !== undefined) return false;
    this.#step++;
    this.#guard(() => {
      if (this.#autopilot) this.#autopilotMove();
      if (this.#checkViolation()) return;
      this.#event();
    });
    this.#applyDue();
    return this.#violation === undefined;
  }

  /** Takes every event due at or before virtual time `time` (at most `maxSteps`); returns the steps taken. The clock only moves with events. */
  runUntil(time: number, maxSteps = 100_000): number {
    let steps = 0;
    while (steps < maxSteps && this.#violation === undefined && this.nextEventTime() <= time) {
      this.step();
      steps++;
    }
    return steps;
  }

  /**
   * Records `action` at the current step, discarding recorded actions after it (a fork),
   * and applies it.
   * @throws {@link RecordingError} when the action is bad (a server id out of range, say).
   */
  act(action: Action): void {
    const bad = checkAction(action, this.#options.servers);
    if (bad !== undefined) throw new RecordingError(bad);
    this.#actions = this.#actions.slice(0, this.#cursor);
    this.#actions.push({ step: this.#step, action });
    this.#cursor = this.#actions.length;
    this.#guard(() => this.#apply(action, 'action'));
  }

  /** Rebuilds from the start and replays to `step` (or the violation), keeping every recorded action. */
  seek(step: number): void {
    this.#build();
    this.#replayTo(Math.max(0, Math.floor(step)));
  }

  /** What the page draws now. */
  view(): ViewState {
    const servers: ServerView[] = this.#cluster.servers.map((server) => serverView(this.#cluster, server.id));
    const cutLinks = cutLinksOf(this.#cluster);
    return {
      options: { ...this.#options },
      chaos: { ...this.#chaos },
      step: this.#step,
      now: this.#cluster.now,
      servers,
      messages: [...this.#flights.values()].map((m) => ({ ...m })),
      cutLinks,
      narration: this.#narration.slice(-NARRATION_LIMIT).map((line) => ({ ...line, servers: [...line.servers] })),
      violation: this.#violation === undefined ? undefined : { ...this.#violation, servers: [...this.#violation.servers] },
      autopilot: this.#autopilot,
      trace: undefined,
    };
  }

  // ---- building and replaying ----

  #build(): void {
    const options = this.#options;
    const checker = new SafetyChecker<string>();
    const stores: IPersistentState<string>[] = [];
    const digests: (DigestStateMachine<string> | undefined)[] = [];
    const key = (data: string): string => JSON.stringify(data) ?? 'undefined';
    this.#checker = checker;
    this.#digests = digests;
    this.#cluster = InMemoryCluster.make<string>(options.servers, {
      seed: options.seed,
      delivery: 'manual',
      preVote: options.preVote,
      checkQuorum: options.checkQuorum,
      ...(options.maxLogEntries > 0 ? { maxLogEntries: options.maxLogEntries } : {}),
      recordCommitted: false,
      stateMachine: (id) => {
        const machine = new DigestStateMachine<string>(key, new AppendMachine());
        digests[id] = machine;
        return machine;
      },
      persistentState: (id) => {
        const store = this.#internals.persistentState?.(id, checker) ?? new ObservedPersistentState<string>(id, checker);
        stores[id] = store;
        return store as IPersistentState<unknown>;
      },
    });
    checker.watchStores({
      servers: options.servers,
      durableEntry: (id, index) => stores[id]?.getLogEntry(index),
      durablyCovered: (id, index) => (stores[id]?.getSnapshot?.()?.lastIncluded.index ?? 0) >= index,
    });
    this.#cursor = 0;
    this.#step = 0;
    this.#chaos = DEFAULT_CHAOS;
    this.#autopilot = false;
    this.#deliveryRandom = seededRandom(streamSeed(options.seed, 1));
    this.#autopilotRandom = seededRandom(streamSeed(options.seed, 2));
    this.#flights = new Map();
    this.#lastSeen = 0;
    this.#narration = [];
    this.#violation = undefined;
    this.#votes = new Map();
    this.#roles = [];
    this.#narratedCommit = 0;
    this.#proposals = 0;
    this.#cause = 'action';
    this.#delivering = undefined;
    this.#cluster.servers.forEach((server) => this.#watch(server));
  }

  #replayTo(step: number): void {
    this.#applyDue();
    while (this.#step < step && this.step());
  }

  /** Applies the recorded actions due at the current step. */
  #applyDue(): void {
    for (;;) {
      if (this.#violation !== undefined) return;
      const next = this.#actions[this.#cursor];
      if (next === undefined || next.step > this.#step) return;
      this.#cursor++;
      this.#guard(() => this.#apply(next.action, 'action'));
    }
  }

  /** Runs `body`, turning an exception into a `noException` violation, then checks the invariants. */
  #guard(body: () => void): void {
    try {
      body();
    } catch (error) {
      if (error instanceof RecordingError) throw error;
      this.#checker.report('noException', `step ${this.#step}: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.#checkViolation();
  }

  #watch(server: Server<string>): void {
    const id = server.id;
    observeServer(server, this.#checker);
    this.#roles[id] = server.role;
    server.on('roleChange', (role, term) => {
      const previous = this.#roles[id];
      this.#roles[id] = role;
      if (role === 'candidate') {
        this.#votes.set(id, { term, voters: new Set([id]) });
        const how =
          this.#cause === 'delivery' && this.#delivering?.type === 'preVote'
            ? 'won its pre-vote poll'
            : this.#cause === 'delivery' && this.#delivering?.type === 'timeoutNow'
              ? 'was asked by the leader to take over'
              : this.#cause === 'user timeout'
                ? 'was told to time out'
                : 'timed out';
        this.#say(`server ${id} ${how} and asks for votes in term ${term}`, [id]);
      } else if (role === 'leader') {
        const votes = this.#votes.get(id);
        const voters = votes !== undefined && votes.term === term ? [...votes.voters].sort((a, b) => a - b) : [id];
        this.#say(`server ${id} is leader of term ${term} (votes from ${voters.join(', ')})`, voters);
      } else if (previous === 'leader') {
        this.#say(`server ${id} steps down: follower in term ${term}`, [id]);
      } else if (previous === 'candidate') {
        this.#say(`server ${id} gives up its candidacy: follower in term ${term}`, [id]);
      }
    });
    server.on('snapshotInstalled', (snapshot) => this.#say(`server ${id} installed a snapshot up to entry ${snapshot.lastIncluded.index}`, [id]));
  }

  // ---- events ----

  #earliestFlight(): MessageView | undefined {
    let best: MessageView | undefined;
    for (const flight of this.#flights.values()) {
      if (best === undefined || flight.deliverAt < best.deliverAt || (flight.deliverAt === best.deliverAt && flight.id < best.id)) best = flight;
    }
    return best;
  }

  #earliestDeadline(): number {
    let earliest = Infinity;
    for (const server of this.#cluster.servers) {
      if (this.#cluster.isRunning(server.id)) earliest = Math.min(earliest, server.nextDeadline());
    }
    return earliest;
  }

  /** Moves the clock to `time` exactly (or just past it, against rounding), running the timers due. */
  #advanceTo(time: number): void {
    const now = this.#cluster.now;
    if (time <= now) {
      this.#cluster.advance(0);
      return;
    }
    let ms = time - now;
    while (now + ms < time) ms += Math.max(Number.EPSILON * time, Number.MIN_VALUE);
    this.#cluster.advance(ms);
  }

  #event(): void {
    const flight = this.#earliestFlight();
    const deadline = this.#earliestDeadline();
    if (flight === undefined && deadline === Infinity) {
      this.#cluster.advance(IDLE_STEP_MS);
      return;
    }
    if (flight === undefined || deadline <= flight.deliverAt) {
      this.#cause = 'timer';
      this.#advanceTo(deadline);
      this.#afterChange(undefined);
      return;
    }
    this.#cause = 'delivery';
    this.#advanceTo(flight.deliverAt);
    this.#deliver(flight);
  }

  #deliver(flight: MessageView): void {
    const network = this.#cluster.network;
    const sent = network.undelivered(flight.to).find((m) => m.id === flight.id);
    this.#flights.delete(flight.id);
    if (sent === undefined) return;
    if (!network.isConnected(flight.from, flight.to)) {
      this.#say(`message ${flight.id} (${flight.type}${flight.reply ? ' reply' : ''} ${flight.from}→${flight.to}) lost on a cut link`, [flight.from, flight.to]);
    }
    const message = sent.message;
    if (message.type === 'requestVoteReply' && flight.type === 'requestVote' && message.reply.voteGranted) {
      const candidate = this.#cluster.servers[flight.to];
      const votes = this.#votes.get(flight.to);
      if (candidate !== undefined && candidate.role === 'candidate' && votes !== undefined && votes.term === message.reply.voterTerm) votes.voters.add(flight.from);
    }
    this.#delivering = flight;
    try {
      network.deliver(flight.to, flight.id);
    } finally {
      this.#delivering = undefined;
    }
    this.#afterChange(flight);
    if (message.type === 'appendEntriesReply') this.#checkMatchIndexes(flight.to);
  }

  /** After an event or action: new messages get delivery times (or are lost), the invariants are checked, commits narrated. */
  #afterChange(cause: MessageView | undefined): void {
    this.#scan(cause);
    checkCommitIndexes(this.#cluster, this.#checker);
    checkAppliedState(this.#cluster, this.#checker, this.#digests);
    this.#narrateCommits();
  }

  #scan(cause: MessageView | undefined): void {
    const next = new Map<number, MessageView>();
    const polled = new Set<ServerId>();
    const now = this.#cluster.now;
    for (const sent of this.#cluster.network.allUndelivered()) {
      const known = this.#flights.get(sent.id);
      if (known !== undefined) {
        next.set(sent.id, known);
        continue;
      }
      if (sent.id <= this.#lastSeen) continue;
      this.#lastSeen = sent.id;
      const { type, reply, summary } = classifyMessage(sent, cause);
      if (type === 'preVote' && !reply && !polled.has(sent.from)) {
        polled.add(sent.from);
        this.#say(`server ${sent.from} polls for term ${(sent.message as { candidateTerm: Term }).candidateTerm} (pre-vote)`, [sent.from]);
      }
      const { loss, minLatency, maxLatency } = this.#chaos;
      if (loss > 0 && this.#deliveryRandom() < loss) {
        this.#cluster.network.drop(sent.to, sent.id);
        this.#say(`message ${sent.id} (${type}${reply ? ' reply' : ''} ${sent.from}→${sent.to}) lost`, [sent.from, sent.to]);
        continue;
      }
      const deliverAt = now + minLatency + this.#deliveryRandom() * (maxLatency - minLatency);
      next.set(sent.id, { id: sent.id, from: sent.from, to: sent.to, type, reply, summary, sentAt: now, deliverAt });
    }
    this.#flights = next;
  }

  #checkMatchIndexes(id: ServerId): void {
    const leader = this.#cluster.servers[id];
    if (leader === undefined || leader.role !== 'leader' || !this.#cluster.isRunning(id)) return;
    const matchIndex = leader.leaderState?.matchIndex;
    if (matchIndex === undefined) return;
    const leaderLog = logReader(leader.persistentState);
    for (const follower of this.#cluster.servers) {
      if (follower.id === id) continue;
      const store = follower.persistentState;
      this.#checker.matchIndexObserved(id, leader.currentTerm, leaderLog, follower.id, store.currentTerm, logReader(store), matchIndex[follower.id] ?? 0);
    }
  }

  #narrateCommits(): void {
    for (const server of this.#cluster.servers) {
      if (!this.#cluster.isRunning(server.id) || server.role !== 'leader') continue;
      const commit = server.volatileState.commitIndex;
      if (commit <= this.#narratedCommit) continue;
      const first = this.#narratedCommit + 1;
      this.#narratedCommit = commit;
      const term = server.persistentState.getLogEntry(commit)?.term;
      const holders: ServerId[] = [];
      for (const other of this.#cluster.servers) {
        const store = other.persistentState;
        const covered = (store.getSnapshot?.()?.lastIncluded.index ?? 0) >= commit;
        if (covered || (term !== undefined && store.getLogEntry(commit)?.term === term)) holders.push(other.id);
      }
      const which = first === commit ? `entry ${commit} is` : `entries ${first}..${commit} are`;
      this.#say(`${which} committed: stored on ${holders.length} of ${this.#options.servers}`, holders);
    }
  }

  #checkViolation(): boolean {
    if (this.#violation !== undefined) return true;
    const violation = this.#checker.violation;
    if (violation === undefined) return false;
    const servers = serversIn(violation.message, this.#options.servers);
    this.#violation = { invariant: violation.invariant, message: violation.message, servers, step: this.#step };
    this.#say(`invariant ${violation.invariant} broken: ${violation.message}`, servers);
    return true;
  }

  // ---- actions ----

  #apply(action: Action, by: 'action' | 'autopilot'): void {
    const cluster = this.#cluster;
    const network = cluster.network;
    const who = by === 'autopilot' ? 'autopilot: ' : '';
    this.#cause = by;
    switch (action.kind) {
      case 'crash':
        if (cluster.isRunning(action.server)) {
          cluster.crash(action.server);
          this.#votes.delete(action.server);
          this.#say(`${who}server ${action.server} crashed`, [action.server]);
        } else {
          this.#say(`${who}server ${action.server} is already down`, [action.server]);
        }
        break;
      case 'restart': {
        cluster.restart(action.server);
        const server = cluster.servers[action.server] as Server<string>;
        this.#checker.restarted(action.server, logReader(server.persistentState));
        this.#checker.restartedAt(action.server, server.volatileState.lastApplied, server.persistentState.getSnapshot?.()?.lastIncluded.index ?? 0);
        this.#votes.delete(action.server);
        this.#watch(server);
        this.#say(`${who}server ${action.server} restarted (term ${server.currentTerm}, log up to ${server.persistentState.currentLogIndex})`, [action.server]);
        break;
      }
      case 'timeout':
        if (!cluster.isRunning(action.server)) {
          this.#say(`${who}server ${action.server} is down: no timeout`, [action.server]);
          break;
        }
        this.#cause = 'user timeout';
        cluster.timeout(action.server);
        break;
      case 'propose':
        this.#propose(action.server, who);
        break;
      case 'drop': {
        const flight = this.#flights.get(action.message);
        if (flight === undefined) {
          this.#say(`${who}message ${action.message} is no longer in flight`, []);
        } else {
          network.drop(flight.to, flight.id);
          this.#flights.delete(flight.id);
          this.#say(`${who}message ${action.message} dropped`, [flight.from, flight.to]);
        }
        break;
      }
      case 'cut':
        network.cutLink(action.from, action.to);
        this.#say(`${who}link ${action.from}→${action.to} cut`, [action.from, action.to]);
        break;
      case 'restore':
        network.restoreLink(action.from, action.to);
        this.#say(`${who}link ${action.from}→${action.to} restored`, [action.from, action.to]);
        break;
      case 'partition': {
        cluster.partition(...action.groups.map((group) => [...group]));
        const named = new Set(action.groups.flat());
        const alone = Array.from({ length: this.#options.servers }, (_, id) => id).filter((id) => !named.has(id));
        const groups = [...action.groups.map((group) => [...group]), ...alone.map((id) => [id])].filter((group) => group.length > 0);
        this.#say(`${who}network partitioned: ${groups.map((group) => `{${group.join(', ')}}`).join(' | ')}`, []);
        break;
      }
      case 'heal':
        cluster.heal();
        network.restoreAllLinks();
        this.#say(`${who}network healed: every link restored`, []);
        break;
      case 'chaos':
        this.#chaos = { ...action.chaos };
        this.#say(`${who}chaos: loss ${Math.round(action.chaos.loss * 100)}%, delays ${action.chaos.minLatency}..${action.chaos.maxLatency} ms`, []);
        break;
      case 'autopilot':
        this.#autopilot = action.on;
        this.#say(`autopilot ${action.on ? 'on' : 'off'}`, []);
        break;
    }
    this.#afterChange(undefined);
  }

  #propose(id: ServerId, who: string): void {
    const value = `v${++this.#proposals}`;
    const cluster = this.#cluster;
    if (!cluster.isRunning(id)) {
      this.#say(`${who}server ${id} is down: ${value} is not proposed`, [id]);
      return;
    }
    const server = cluster.servers[id] as Server<string>;
    const result = server.propose(value);
    if (result.type === 'appended') {
      this.#say(`${who}${value} proposed to server ${id}, leader of term ${server.currentTerm}: appended at index ${result.index}`, [id]);
    } else if (result.type === 'delay') {
      this.#say(`${who}${value} proposed to server ${id}, which knows no leader: not proposed`, [id]);
    } else {
      const leaderId = result.leaderId;
      const leader = cluster.servers[leaderId];
      if (leader === undefined || !cluster.isRunning(leaderId) || leader.role !== 'leader') {
        this.#say(`${who}${value} proposed to server ${id}, which points to server ${leaderId}, not leading now: not proposed`, [id, leaderId]);
        return;
      }
      const second = leader.propose(value);
      this.#say(
        second.type === 'appended'
          ? `${who}${value} proposed to server ${id}, which forwards it to leader ${leaderId}: appended at index ${second.index}`
          : `${who}${value} proposed to server ${id}, forwarded to server ${leaderId}: not proposed`,
        [id, leaderId],
      );
    }
  }

  /** One autopilot move, maybe: two draws from the autopilot's random at every step. */
  #autopilotMove(): void {
    const r = this.#autopilotRandom();
    const pick = this.#autopilotRandom();
    const cluster = this.#cluster;
    const n = this.#options.servers;
    const ids = Array.from({ length: n }, (_, id) => id);
    const running = ids.filter((id) => cluster.isRunning(id));
    const down = ids.filter((id) => !cluster.isRunning(id));
    const choose = (list: readonly ServerId[]): ServerId | undefined => list[Math.floor(pick * list.length)];
    const rates = AUTOPILOT_RATES;
    let threshold = rates.propose;
    if (r < threshold) {
      const leader = cluster.leader();
      if (leader !== undefined) this.#apply({ kind: 'propose', server: leader.id }, 'autopilot');
      return;
    }
    if (r < (threshold += rates.crash)) {
      const victim = choose(running);
      if (victim !== undefined && down.length < Math.floor((n - 1) / 2)) this.#apply({ kind: 'crash', server: victim }, 'autopilot');
      return;
    }
    if (r < (threshold += rates.restart)) {
      const back = choose(down);
      if (back !== undefined) this.#apply({ kind: 'restart', server: back }, 'autopilot');
      return;
    }
    if (r < (threshold += rates.cut)) {
      const from = Math.floor(pick * n);
      const to = (from + 1 + Math.floor(((pick * n) % 1) * (n - 1))) % n;
      if (this.#cutCount() < 2) this.#apply({ kind: 'cut', from, to }, 'autopilot');
      return;
    }
    if (r < (threshold += rates.heal)) {
      if (this.#cutCount() > 0) this.#apply({ kind: 'heal' }, 'autopilot');
    }
  }

  #cutCount(): number {
    return cutLinksOf(this.#cluster).length;
  }

  // ---- views ----

  #say(text: string, servers: readonly ServerId[]): void {
    this.#narration.push({ step: this.#step, time: this.#cluster.now, text, servers: [...servers] });
    if (this.#narration.length > 2 * NARRATION_LIMIT) this.#narration.splice(0, this.#narration.length - NARRATION_LIMIT);
  }
}
