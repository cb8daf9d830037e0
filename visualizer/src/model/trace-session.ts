/**
 * Trace mode: a simulator schedule (a failing seed, usually shrunk; `#trace=<text>`, see
 * trace-codec.ts) watched step by step instead of read. A {@link TraceSession} replays it on
 * the library's {@link ScheduleRun}, the stepwise runner `runSchedule` itself is built on, so
 * the page shows the very cluster the simulator checked, and stops at the same violation.
 *
 * One session step is one schedule step; when the schedule is over (and broke nothing), one
 * more step stops the faults and runs the simulator's liveness and history checks
 * ({@link ScheduleRun.finish}), where a `liveness` or `linearizable` violation shows.
 *
 * Messages: the trace's network is 'manual' (a message waits until a schedule step delivers,
 * drops or duplicates it), so a message has no real travel time. Each is given a nominal one:
 * `sentAt` is the virtual time at the end of the step after which it was first seen waiting,
 * and `deliverAt` is `sentAt + NOMINAL_TRAVEL_MS`, or the current time if later (a message
 * still waiting past its nominal arrival is drawn at its receiver).
 */
import type { AddressedMessage } from '../../../lib/network';
import type { Message, Reply } from '../../../lib/messages';
import type { ServerId } from '../../../lib/types';
import { boundsFor, compactionEnabled, extensionsFor, type SimulationOptions } from '../../../lib/simulation/run-options';
import type { SimulationEvent } from '../../../lib/simulation/schedule';
import { ScheduleRun } from '../../../lib/simulation/schedule-run';
import { decodeTrace, encodeTrace, type Trace } from './trace-codec';
import type { Session } from './session-api';
import { classifyMessage, cutLinksOf, serverView } from './view';
import type { Action, Chaos, MessageView, NarrationLine, Recording, RunOptions, ViewState, ViolationView } from './types';

/** The nominal travel time given to a waiting message (see the module comment), virtual ms. */
export const NOMINAL_TRAVEL_MS = 20;
/** Narration lines a view keeps (the last ones). */
export const TRACE_NARRATION_LIMIT = 1000;
/** The most steps one {@link TraceSession.runUntil} takes unless told. */
const RUN_UNTIL_MAX_STEPS = 100_000;
/** The chaos a trace view reports: none (the schedule decides every delivery and loss). */
const TRACE_CHAOS: Chaos = { loss: 0, minLatency: NOMINAL_TRAVEL_MS, maxLatency: NOMINAL_TRAVEL_MS };

/** Thrown by {@link TraceSession.act}: a trace is read-only. */
export class ReadOnlyTraceError extends Error {
  /** Creates the error. */
  constructor() {
    super('a simulator trace is read-only: it replays a fixed schedule');
    this.name = 'ReadOnlyTraceError';
  }
}

/** The servers a line of words names: "server 2", "servers 1 and 3", "leader 4", "1→3" (ids below `count`). */
export function serversNamed(text: string, count: number): ServerId[] {
  const found = new Set<number>();
  for (const match of text.matchAll(/\b(?:servers?|leaders?|candidate|follower|receiver|sender) ((?:\d+(?:, | and | or |,))*\d+)/g)) {
    for (const number of (match[1] ?? '').matchAll(/\d+/g)) found.add(Number(number[0]));
  }
  for (const match of text.matchAll(/(\d+)→(\d+)/g)) {
    found.add(Number(match[1]));
    found.add(Number(match[2]));
  }
  return [...found].filter((id) => id < count).sort((a, b) => a - b);
}

/** A message's name in plain words: "AppendEntries", "heartbeat", "PreVote reply"... */
function messageName(message: Message<unknown> | Reply): string {
  switch (message.type) {
    case 'requestVote':
      return message.preVote === true ? 'PreVote' : 'RequestVote';
    case 'appendEntries':
      return message.entries.length === 0 ? 'heartbeat' : 'AppendEntries';
    case 'installSnapshot':
      return 'InstallSnapshot';
    case 'timeoutNow':
      return 'TimeoutNow';
    case 'requestVoteReply':
      return 'vote reply';
    case 'appendEntriesReply':
      return 'AppendEntries reply';
    case 'installSnapshotReply':
      return 'InstallSnapshot reply';
    case 'timeoutNowReply':
      return 'TimeoutNow reply';
  }
}

/**
 * One line of the simulator's trace (without its `t=` prefix), in plainer words: "advance
 * 150 ms" becomes "time +150 ms", "crash 2" "server 2 crashed", "deliver #7 1→3
 * AppendEntries t2 ..." "deliver AppendEntries 1→3 (t2 ...)"; other lines stay as they are.
 */
export function plainWords(line: string): string {
  let match: RegExpExecArray | null;
  if ((match = /^advance (\d+(?:\.\d+)?) ms$/.exec(line)) !== null) return `time +${match[1]} ms`;
  if ((match = /^quiet for (\d+(?:\.\d+)?) ms$/.exec(line)) !== null) return `quiet for ${match[1]} ms: every waiting message delivered, timers run`;
  if ((match = /^(deliver|drop|duplicate|hold) #\d+ (\d+→\d+) (\w+) (.*)$/.exec(line)) !== null) {
    const [, verb, link, kind, rest] = match;
    const words = { deliver: 'deliver', drop: 'drop', duplicate: 'duplicate', hold: 'hold back' }[verb as 'deliver'];
    return `${words} ${(kind as string).replace(/Reply$/, ' reply')} ${link} (${rest})`;
  }
  if ((match = /^crash (\d+)(.*)$/.exec(line)) !== null) return `server ${match[1]} crashed${match[2]}`;
  if ((match = /^restart (\d+)(.*)$/.exec(line)) !== null) return `server ${match[1]} crashed and restarted${match[2]}`;
  if ((match = /^timeout (\d+)$/.exec(line)) !== null) return `server ${match[1]}'s election timer fires`;
  if ((match = /^heartbeat (\d+)$/.exec(line)) !== null) return `server ${match[1]}'s heartbeat timer fires`;
  if ((match = /^propose (v\d+): (.*)$/.exec(line)) !== null) return `a client proposes ${match[1]}: ${match[2]}`;
  if ((match = /^partition (.*)$/.exec(line)) !== null) return `network partitioned into ${match[1]}`;
  if (line === 'heal') return 'partition healed';
  if ((match = /^cut link (\d+→\d+)$/.exec(line)) !== null) return `link ${match[1]} cut`;
  if (line === 'restore links') return 'every cut link restored';
  if (line === 'reconnect all') return 'isolated servers reconnected';
  if ((match = /^isolate leader (\d+) (.*)$/.exec(line)) !== null) return `leader ${match[1]} ${match[2]} isolated`;
  if ((match = /^compact (\d+): (.*)$/.exec(line)) !== null) return `server ${match[1]} compacts its log: ${match[2]}`;
  return line;
}

/** What a step did when it wrote no trace line (a pick with nothing to pick, say). */
function idleWords(event: SimulationEvent): string {
  switch (event.type) {
    case 'deliver':
    case 'drop':
    case 'duplicate':
    case 'hold':
    case 'crashInTransfer':
      return `${event.type}: no message waits`;
    case 'isolateLeader':
    case 'transfer':
    case 'read':
      return `${event.type}: no leader`;
    case 'compact':
      return `compact ${event.server}: not running`;
    default:
      return event.type;
  }
}

/**
 * A simulator trace replayed step by step (see the module comment); the page drives it
 * through {@link Session} like a live run, but it is read-only: {@link act} throws.
 */
export class TraceSession implements Session {
  readonly #trace: Trace;
  readonly #extra: Partial<SimulationOptions<string>>;
  readonly #encoded: string;
  readonly #options: RunOptions;
  #run!: ScheduleRun<string>;
  #step = 0;
  #lines: string[] = [];
  #narration: NarrationLine[] = [];
  #firstSeen = new Map<number, number>();
  #violationStep: number | undefined;
  #length: number | undefined;

  /**
   * Opens `trace` at its start (or at `trace.at`). `extra` adds simulation options that a
   * URL cannot carry (a test plants a fault with it, as `runSimulateCli` takes).
   */
  constructor(trace: Trace, extra: Partial<SimulationOptions<string>> = {}) {
    this.#trace = trace;
    this.#extra = extra;
    const { at: _at, ...plain } = trace;
    this.#encoded = encodeTrace(plain);
    const options = this.#simulationOptions();
    const raft = extensionsFor(trace.seed, options);
    this.#options = {
      servers: trace.options.servers ?? 5,
      seed: trace.seed,
      preVote: raft.preVote,
      checkQuorum: raft.checkQuorum,
      maxLogEntries: compactionEnabled(options) ? boundsFor(trace.seed, options.compaction).maxLogEntries : 0,
    };
    this.#reset();
    if (trace.at !== undefined) this.seek(trace.at);
  }

  /** Opens the text of a `#trace=` URL (with or without `#trace=`). @throws {@link TraceError} on bad text. */
  static fromText(text: string, extra: Partial<SimulationOptions<string>> = {}): TraceSession {
    return new TraceSession(decodeTrace(text), extra);
  }

  /** The trace replayed. */
  get trace(): Trace {
    return this.#trace;
  }

  /**
   * Steps in the whole replay (the timeline's end): the schedule's, plus one for the final
   * checks; or the step that breaks an invariant, when one does before. Found by a quick
   * replay of its own the first time it is asked (the session's position does not move).
   */
  get length(): number {
    if (this.#length === undefined) {
      const { trace: _quiet, ...options } = this.#simulationOptions();
      const run = new ScheduleRun<string>(this.#trace.schedule, this.#trace.seed, options);
      while (run.step());
      this.#length = run.violation !== undefined ? run.index : this.#trace.schedule.length + 1;
    }
    return this.#length;
  }

  /** The runner, to look at (do not drive it). */
  get runner(): ScheduleRun<string> {
    return this.#run;
  }

  #simulationOptions(): SimulationOptions<string> {
    return { ...this.#trace.options, ...this.#extra, trace: (line) => this.#lines.push(line) };
  }

  #reset(): void {
    this.#step = 0;
    this.#lines = [];
    this.#narration = [];
    this.#firstSeen = new Map();
    this.#run = new ScheduleRun<string>(this.#trace.schedule, this.#trace.seed, this.#simulationOptions());
    this.#lines = [];
    this.#observe();
  }

  /** Notes the messages waiting now that were not waiting before, with the time. */
  #observe(): void {
    const cluster = this.#run.cluster;
    const waiting = new Set<number>();
    for (const message of cluster.network.allUndelivered()) {
      waiting.add(message.id);
      if (!this.#firstSeen.has(message.id)) this.#firstSeen.set(message.id, cluster.now);
    }
    for (const id of this.#firstSeen.keys()) if (!waiting.has(id)) this.#firstSeen.delete(id);
  }

  /** Whether the replay can take another step. */
  #stopped(): boolean {
    return this.#run.violation !== undefined || this.#run.finished;
  }

  /**
   * One schedule step (or, after the last, the final checks); its trace lines become
   * narration. Returns false when nothing was left to run or the step broke an invariant.
   */
  step(): boolean {
    if (this.#stopped()) return false;
    const run = this.#run;
    const before = run.cluster.now;
    const event = run.done ? undefined : run.schedule[run.index];
    this.#lines = [];
    if (event === undefined) run.finish();
    else run.step();
    this.#step++;
    const count = this.#options.servers;
    const lines = this.#lines.map((line) => {
      const match = /^t=\s*(\d+(?:\.\d+)?)  (.*)$/.exec(line);
      return { time: match === null ? run.cluster.now : Number(match[1]), text: match === null ? line : (match[2] as string) };
    });
    if (lines.length === 0) lines.push({ time: before, text: event === undefined ? 'the schedule is over' : idleWords(event) });
    for (const line of lines) {
      const text = plainWords(line.text);
      const servers = new Set(serversNamed(text, count));
      if (event !== undefined && 'server' in event && lines.length === 1) servers.add(event.server);
      this.#narration.push({ step: this.#step, time: line.time, text, servers: [...servers].sort((a, b) => a - b) });
    }
    const violation = run.violation;
    if (violation !== undefined && !lines.some((line) => line.text.startsWith('VIOLATION '))) {
      // The runner writes this line only when it finishes; a violation during the schedule stops the replay before.
      const text = `VIOLATION ${violation.invariant}: ${violation.message}`;
      this.#narration.push({ step: this.#step, time: run.cluster.now, text, servers: serversNamed(violation.message, count) });
    }
    if (this.#narration.length > 2 * TRACE_NARRATION_LIMIT) this.#narration.splice(0, this.#narration.length - TRACE_NARRATION_LIMIT);
    this.#lines = [];
    this.#observe();
    if (run.violation !== undefined) {
      this.#violationStep = this.#step;
      return false;
    }
    return true;
  }

  /** Steps until the virtual time reaches `time` (at most `maxSteps`), the trace ends or an invariant breaks; returns the steps taken. */
  runUntil(time: number, maxSteps = RUN_UNTIL_MAX_STEPS): number {
    let taken = 0;
    while (taken < maxSteps && this.#run.cluster.now < time && !this.#stopped()) {
      this.step();
      taken++;
    }
    return taken;
  }

  /** Refused: a trace replays a fixed schedule. @throws {@link ReadOnlyTraceError} always. */
  act(_action: Action): void {
    throw new ReadOnlyTraceError();
  }

  /** Rebuilds the run and replays it to `step` (clamped to the trace's steps). */
  seek(step: number): void {
    this.#reset();
    const target = Math.max(0, Math.floor(step));
    while (this.#step < target && this.step());
  }

  /** `trace=<encoded>`, with the current step when past the start (the page reopens it there). */
  hash(): string {
    return `trace=${this.#step === 0 ? this.#encoded : encodeTrace({ ...this.#plainTrace(), at: this.#step })}`;
  }

  #plainTrace(): Trace {
    const { at: _at, ...plain } = this.#trace;
    return plain;
  }

  /** Undefined: a trace is not a recording. */
  recording(): Recording | undefined {
    return undefined;
  }

  /** "simulate seed 3870, 5 servers, shrunk to 12 steps (of 1000)", and the Raft options. */
  #description(): string {
    const trace = this.#trace;
    const steps = trace.schedule.length;
    const shrunk = trace.shrunkFrom !== undefined ? `shrunk to ${steps} step${steps === 1 ? '' : 's'} (of ${trace.shrunkFrom})` : `${steps} step${steps === 1 ? '' : 's'}`;
    const raft = [this.#options.preVote ? 'pre-vote' : undefined, this.#options.checkQuorum ? 'check-quorum' : undefined, this.#options.maxLogEntries > 0 ? `compaction at ${this.#options.maxLogEntries} entries` : undefined].filter((part) => part !== undefined);
    return `simulate seed ${trace.seed}, ${this.#options.servers} servers, ${shrunk}${raft.length > 0 ? `; ${raft.join(', ')}` : ''}`;
  }

  /** What to draw now, from the runner's cluster. */
  view(): ViewState {
    const run = this.#run;
    const cluster = run.cluster;
    const now = cluster.now;
    const count = this.#options.servers;
    const cutLinks = cutLinksOf(cluster);
    const messages: MessageView[] = cluster.network.allUndelivered().map((message) => this.#messageView(message, now));
    const violation = run.violation;
    const violationView: ViolationView | undefined =
      violation === undefined ? undefined : { invariant: violation.invariant, message: violation.message, servers: serversNamed(violation.message, count), step: this.#violationStep ?? this.#step };
    return {
      options: this.#options,
      chaos: TRACE_CHAOS,
      step: this.#step,
      now,
      servers: cluster.servers.map((server) => serverView(cluster, server.id)),
      messages,
      cutLinks,
      narration: this.#narration.slice(-TRACE_NARRATION_LIMIT),
      violation: violationView,
      autopilot: false,
      trace: this.#description(),
    };
  }

  #messageView(sent: AddressedMessage<string>, now: number): MessageView {
    // A reply's type is its request's; without the delivery that caused it, read from its own type.
    const { type, reply, summary } = classifyMessage(sent, undefined);
    const sentAt = this.#firstSeen.get(sent.id) ?? now;
    return { id: sent.id, from: sent.from, to: sent.to, type, reply, summary: `${messageName(sent.message)} ${sent.from}→${sent.to}: ${summary}`, sentAt, deliverAt: Math.max(now, sentAt + NOMINAL_TRAVEL_MS) };
  }
}
