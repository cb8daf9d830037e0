/**
 * What a simulation runs with and what it produces: {@link SimulationOptions},
 * {@link SimulationResult}, and the settings drawn per seed (compaction bounds, message
 * limits, the Raft extensions, the workload's keys).
 */
import type { InMemoryCluster } from '../cluster';
import type { IPersistentState } from '../persistent-state';
import { deriveSeed, seededRandom } from '../random';
import type { ServerId, Term } from '../types';
import type { SafetyChecker, Violation } from './invariants';
import type { SimulatedStateMachine } from './machine';
import type { FaultWeights } from './schedule';

/** The compaction bounds a simulated cluster runs with (see the `ServerOptions` of the same names). */
export interface CompactionBounds {
  /** Entries the log may hold before the server compacts it. */
  readonly maxLogEntries: number;
  /** Entries kept before the snapshot's end after a compaction. */
  readonly trailingLogEntries: number;
  /** InstallSnapshot data per message. */
  readonly maxSnapshotChunkBytes: number;
}

/**
 * The compaction bounds {@link runSchedule} uses for `seed` unless told otherwise: drawn from
 * the seed, `maxLogEntries` in [3, 40], `trailingLogEntries` in [0, maxLogEntries - 1], and
 * `maxSnapshotChunkBytes` in [1, 16] (the simulator's snapshots are some 30 to 60 bytes,
 * so a transfer takes several chunks).
 */
export function compactionFor(seed: number): CompactionBounds {
  const random = seededRandom(deriveSeed(seed, 0xc0a7));
  const maxLogEntries = 3 + Math.floor(random() ** 2 * 38); // small bounds (frequent compaction) more often
  // A third of the seeds keep no trailing entries, so followers need snapshots more often;
  // a quarter send whole snapshots in one chunk, so a late or repeated one is complete.
  const trailingLogEntries = random() < 1 / 3 ? 0 : Math.floor(random() * maxLogEntries);
  const maxSnapshotChunkBytes = random() < 1 / 4 ? 1_048_576 : 1 + Math.floor(random() * 16);
  return { maxLogEntries, trailingLogEntries, maxSnapshotChunkBytes };
}

/** What a simulation runs: the cluster, the data, the state machine, the limits. */
export interface SimulationOptions<T> {
  /** Number of servers. @default 5 */
  readonly servers?: number;
  /** Steps in the fault phase. @default 1000 */
  readonly length?: number;
  /** Relative weights of the kinds of fault. */
  readonly weights?: Partial<FaultWeights>;
  /** The data of proposal number `n` (n >= 1). @default `v${n}` */
  readonly value?: (n: number) => T;
  /** How to compare data. @default JSON text */
  readonly key?: (data: T) => string;
  /**
   * A state machine to run on every server; checked to agree at the end. With compaction
   * on, it must have `restore` (it is then applied, snapshotted and restored through the
   * server's `stateMachine`); one without `restore` turns compaction off for the run (the
   * factory is called once more per run, and per {@link scheduleFor}, to find out).
   */
  readonly stateMachine?: () => SimulatedStateMachine<T>;
  /**
   * Log compaction: `true` (the default) runs every server with a `stateMachine` (the
   * simulator's {@link DigestStateMachine}, driving the `stateMachine` option's machine if
   * any) and the bounds {@link compactionFor} draws from the seed; an object replaces some of
   * those bounds; `false` turns compaction off (the servers still apply to a
   * DigestStateMachine, so the state machine invariants are checked, but never compact).
   * The schedule of a seed also depends on it: with compaction, {@link scheduleFor} draws
   * `compact` and `crashInTransfer` steps as well.
   */
  readonly compaction?: boolean | Partial<CompactionBounds>;
  /** Virtual time allowed, once faults stop, to elect a leader and commit on every server. @default 10000 */
  readonly livenessBoundMs?: number;
  /**
   * Message limits of the servers. By default they are drawn from the seed, from 1 to 100
   * entries per message and from 1 to 64 messages in flight, so that small batches (which
   * expose commit-rule bugs) are exercised as well as large ones. A limit given here
   * replaces the drawn one; the other is still drawn.
   */
  readonly limits?: Partial<MessageLimits>;
  /** Receives a line per step describing what happened (for `--trace`). */
  readonly trace?: (line: string) => void;
  /**
   * Builds server `id`'s store, once (a restart reuses it): to run the simulation on your own
   * store, or on a deliberately faulty one. It should report to `checker` as
   * {@link ObservedPersistentState} does (wrap one) so that Log Matching and durable commits
   * are checked. A {@link SimulatedDiskState} (or a subclass) loses its unsynced writes at
   * each crash and is counted by its durable image for Durable Majority; any other store
   * keeps everything and is counted by its log.
   * @default `(id, checker) => new SimulatedDiskState(id, checker)`
   */
  readonly persistentState?: (id: ServerId, checker: SafetyChecker<T>) => IPersistentState<T>;
  /** Called with a server's store right after the cluster restarted it (a test hook, to plant a fault). */
  readonly onRestart?: (id: ServerId, state: IPersistentState<T>) => void;
  /** Whether to check liveness once the schedule is over. @default true */
  readonly checkLiveness?: boolean;
  /** Called with the cluster and the checker once they are built, before the first step (to tap the network, say). */
  readonly onStart?: (cluster: InMemoryCluster<T>, checker: SafetyChecker<T>) => void;
    /**
   * The extensions of issue 10: pre-vote, check-quorum and the read mode drawn per seed (see
   * {@link extensionsFor}; the options below force them), `transfer`, `read` and `client`
   * steps in the schedule, and the client workload (see {@link SimulationOptions.clients})
   * whose history is checked for linearizability at the end. Off by default, so that the
   * schedules and results of older runs stay the same.
   * @default false
   */
  readonly extensions?: boolean;
  /** Forces `preVote` (with `extensions`; otherwise it is drawn per seed). */
  readonly preVote?: boolean;
  /** Forces `checkQuorum` (with `extensions`; otherwise drawn per seed; `readMode: 'lease'` forces it on). */
  readonly checkQuorum?: boolean;
  /** Forces `readMode` (with `extensions`; otherwise drawn per seed, `lease` only with check-quorum). */
  readonly readMode?: 'safe' | 'lease';
  /**
   * Concurrent clients of the workload (with `extensions`; each with at most one operation
   * outstanding) on 2 or 3 keys (drawn per seed); 0 turns the workload off. The workload needs
   * string data, and runs the servers over a {@link KvStateMachine} unless `stateMachine` is
   * given. @default 3
   */
  readonly clients?: number;
  /** A test hook: replaces the server whose state machine answers a `readIndex` read (to plant a stale read). */
  readonly readFrom?: (leader: ServerId, cluster: InMemoryCluster<T>) => ServerId;
  /** Called at the end with the cluster and the checker, to look at what happened. */
  readonly onEnd?: (cluster: InMemoryCluster<T>, checker: SafetyChecker<T>) => void;
}

/** What one run produced. */
export interface SimulationResult {
  /** The seed of the cluster (and of the schedule, when drawn by {@link simulate}). */
  readonly seed: number;
  /** Steps of the schedule run before it ended or failed. */
  readonly steps: number;
  /** Simulated events: schedule steps, messages delivered and timers fired. */
  readonly events: number;
  /** Terms that elected a leader. */
  readonly elections: number;
  /** The highest term any server reached. */
  readonly highestTerm: Term;
  /** Entries committed (distinct indices). */
  readonly commits: number;
  /** Snapshots taken by compaction (durable or not), over every server. */
  readonly compactions: number;
  /** Leaders' snapshots installed by followers. */
  readonly snapshotsInstalled: number;
  /** The first broken invariant, if any. */
  readonly violation: Violation | undefined;
  /** The Raft options the run used (drawn per seed with extensions). */
  readonly raft: RaftExtensions;
  /** Client operations that completed (with extensions and clients). */
  readonly clientOperations: number;
  /** Client writes whose outcome stayed unknown. */
  readonly unknownOperations: number;
  /** Of the completed client operations: writes, reads through the log, reads through `readIndex`. */
  readonly clientOperationKinds: ClientOperationKinds;
}

/** How many client operations of each kind completed in a run. */
export interface ClientOperationKinds {
  /** Writes (put, append). */
  readonly writes: number;
  /** Reads through the log. */
  readonly logReads: number;
  /** Reads through readIndex. */
  readonly indexReads: number;
}

/** The Raft options of issue 10 a run uses. */
export interface RaftExtensions {
  /** See `ServerOptions.preVote`. */
  readonly preVote: boolean;
  /** See `ServerOptions.checkQuorum`. */
  readonly checkQuorum: boolean;
  /** See `ServerOptions.readMode`. */
  readonly readMode: 'safe' | 'lease';
}

/**
 * The Raft options a run with extensions uses for `seed`: pre-vote and check-quorum each on
 * for half the seeds, `lease` reads for half of those with check-quorum; those given in
 * `options` replace the drawn ones (a forced `lease` turns check-quorum on). Without
 * extensions, all off (`safe`).
 */
export function extensionsFor(seed: number, options: Pick<SimulationOptions<unknown>, 'extensions' | 'preVote' | 'checkQuorum' | 'readMode'> = {}): RaftExtensions {
  if (options.extensions !== true) return { preVote: false, checkQuorum: false, readMode: 'safe' };
  const random = seededRandom(deriveSeed(seed, 0x57ab));
  const preVote = options.preVote ?? random() < 0.5;
  const drawnQuorum = random() < 0.5;
  const drawnLease = random() < 0.5;
  const checkQuorum = options.checkQuorum ?? (options.readMode === 'lease' ? true : drawnQuorum);
  const readMode = options.readMode ?? (checkQuorum && drawnLease ? 'lease' : 'safe');
  return { preVote, checkQuorum, readMode };
}

/** How many keys the client workload of `seed` uses: 2 or 3. */
export function workloadKeysFor(seed: number): number {
  return 2 + Math.floor(seededRandom(deriveSeed(seed, 0x6b65))() * 2);
}

/**
 * The bounds a run with compaction uses: those drawn for `seed`, replaced by any given in
 * `compaction`; a drawn `trailingLogEntries` is lowered below a given `maxLogEntries`.
 */
export function boundsFor(seed: number, compaction: SimulationOptions<unknown>['compaction']): CompactionBounds {
  const given = typeof compaction === 'object' ? compaction : {};
  const bounds = { ...compactionFor(seed), ...given };
  if (given.trailingLogEntries === undefined && bounds.trailingLogEntries >= bounds.maxLogEntries) bounds.trailingLogEntries = bounds.maxLogEntries - 1;
  return bounds;
}

/** Whether a run with these options compacts: see {@link SimulationOptions.compaction}. */
export function compactionEnabled<T>(options: SimulationOptions<T>): boolean {
  if (options.compaction === false) return false;
  const factory = options.stateMachine;
  return factory === undefined || typeof factory().restore === 'function';
}

/** The message limits a simulated cluster runs with. */
export interface MessageLimits {
  /** See {@link ServerOptions.maxEntriesPerMessage}. */
  readonly maxEntriesPerMessage: number;
  /** See {@link ServerOptions.maxInflightMessages}. */
  readonly maxInflightMessages: number;
}

/** The message limits {@link runSchedule} uses for `seed` unless told otherwise (see {@link SimulationOptions.limits}). */
export function limitsFor(seed: number): MessageLimits {
  const random = seededRandom(deriveSeed(seed, 0x11e5));
  const entries = [1, 2, 3, 100] as const;
  const inflight = [1, 2, 4, 64] as const;
  return {
    maxEntriesPerMessage: entries[Math.floor(random() * entries.length)] ?? 100,
    maxInflightMessages: inflight[Math.floor(random() * inflight.length)] ?? 64,
  };
}