/**
 * The contract between the visualizer's model (visualizer/src/model: pure TypeScript, no DOM,
 * tested with jest) and its page (visualizer/src/page: DOM and canvas). The page renders a
 * {@link ViewState} and sends {@link Action}s; everything it shows comes from the library's
 * real `Server` objects inside an `InMemoryCluster` ('manual' delivery) driven by the model.
 */
import type { ServerId, ServerRole, Term, LogIndex } from '../../../lib/core';

/** What a run is made from: everything that, with the action list, fixes the run. */
export interface RunOptions {
  /** Number of servers, 3 to 7. */
  readonly servers: number;
  /** Seed of every random draw: election timeouts, delivery delays, message loss, autopilot. */
  readonly seed: number;
  /** Pre-vote (thesis §9.6). */
  readonly preVote: boolean;
  /** Check-quorum. */
  readonly checkQuorum: boolean;
  /** Compaction bound (`maxLogEntries`); 0 means none. */
  readonly maxLogEntries: number;
}

/** The network's chaos settings; changing them is an action, so replays see the same. */
export interface Chaos {
  /** Probability in [0, 1] that a message is lost when sent. */
  readonly loss: number;
  /** Smallest delivery delay, virtual ms. */
  readonly minLatency: number;
  /** Largest delivery delay, virtual ms (each message draws uniformly in between). */
  readonly maxLatency: number;
}

/**
 * A user's (or the autopilot's) action, recorded with the step count at which it was taken.
 * Applying the same actions at the same steps to the same {@link RunOptions} gives the same run.
 */
export type Action =
  | { readonly kind: 'crash'; readonly server: ServerId }
  | { readonly kind: 'restart'; readonly server: ServerId }
  | { readonly kind: 'timeout'; readonly server: ServerId }
  | { readonly kind: 'propose'; readonly server: ServerId }
  | { readonly kind: 'drop'; readonly message: number }
  | { readonly kind: 'cut'; readonly from: ServerId; readonly to: ServerId }
  | { readonly kind: 'restore'; readonly from: ServerId; readonly to: ServerId }
  | { readonly kind: 'partition'; readonly groups: readonly (readonly ServerId[])[] }
  | { readonly kind: 'heal' }
  | { readonly kind: 'chaos'; readonly chaos: Chaos }
  | { readonly kind: 'autopilot'; readonly on: boolean };

/** An action and the step before which it was applied (0: before the first step). */
export interface RecordedAction {
  /** Number of steps taken when the action was applied. */
  readonly step: number;
  /** The action. */
  readonly action: Action;
}

/** Everything a shared URL holds: options, the chaos at the start, and the actions. */
export interface Recording {
  /** The run's options. */
  readonly options: RunOptions;
  /** Every action, in order, with its step. */
  readonly actions: readonly RecordedAction[];
  /** The step the view was at when shared (the page replays up to it and pauses). */
  readonly at: number;
}

/** One message in flight, as the page draws it. */
export interface MessageView {
  /** The network's id (for a `drop` action). */
  readonly id: number;
  readonly from: ServerId;
  readonly to: ServerId;
  /** 'requestVote' | 'preVote' | 'appendEntries' | 'heartbeat' | 'installSnapshot' | 'timeoutNow' */
  readonly type: string;
  /** Whether it is a reply (drawn differently from requests). */
  readonly reply: boolean;
  /** One line for a tooltip, e.g. "AppendEntries term 3, entries 4..6, commit 3". */
  readonly summary: string;
  /** Virtual time it was sent and will be delivered (for the moving dot). */
  readonly sentAt: number;
  readonly deliverAt: number;
}

/** One server, as the page draws it and its side panel lists it. */
export interface ServerView {
  readonly id: ServerId;
  /** Crashed servers are drawn greyed out. */
  readonly running: boolean;
  readonly role: ServerRole;
  readonly term: Term;
  readonly votedFor: ServerId | undefined;
  readonly leaderId: ServerId | undefined;
  readonly commitIndex: LogIndex;
  readonly lastApplied: LogIndex;
  /** Last index covered by the snapshot (0: none). */
  readonly snapshotIndex: LogIndex;
  /** The log held, from `snapshotIndex + 1`: each entry's term, and 'noop' or the data as text. */
  readonly log: readonly { readonly index: LogIndex; readonly term: Term; readonly text: string }[];
  /** When the election timer fires (virtual ms; undefined for a leader or a crashed server). */
  readonly electionDeadline: number | undefined;
  /** Leader only: nextIndex and matchIndex per server. */
  readonly nextIndex: readonly LogIndex[] | undefined;
  readonly matchIndex: readonly LogIndex[] | undefined;
}

/** One line of the narration feed. */
export interface NarrationLine {
  /** The step after which it happened (click: jump there). */
  readonly step: number;
  /** Virtual time, ms. */
  readonly time: number;
  /** Plain words, e.g. "server 2 timed out and asks for votes in term 4". */
  readonly text: string;
  /** Servers it is about (highlighted on hover). */
  readonly servers: readonly ServerId[];
}

/** The first broken safety invariant, which stops the run. */
export interface ViolationView {
  /** The invariant's name, e.g. "electionSafety". */
  readonly invariant: string;
  /** What broke, in words. */
  readonly message: string;
  /** Servers involved (highlighted). */
  readonly servers: readonly ServerId[];
  /** The step at which it was seen. */
  readonly step: number;
}

/** Everything the page draws at one moment. */
export interface ViewState {
  readonly options: RunOptions;
  readonly chaos: Chaos;
  /** Steps taken so far. */
  readonly step: number;
  /** Virtual time, ms. */
  readonly now: number;
  readonly servers: readonly ServerView[];
  readonly messages: readonly MessageView[];
  /** Links cut, as [from, to] pairs (one-way). */
  readonly cutLinks: readonly (readonly [ServerId, ServerId])[];
  readonly narration: readonly NarrationLine[];
  readonly violation: ViolationView | undefined;
  readonly autopilot: boolean;
  /** Set when the run replays a simulator trace (schedule mode): its description. */
  readonly trace: string | undefined;
}
