import { deriveSeed, seededRandom } from '../random';
import type { ServerId } from '../types';

/**
 * One step of a simulation, as plain data: a schedule is an array of these, made from one
 * seed by {@link generateSchedule}, replayed by {@link runSchedule}, and shrunk by removing
 * steps. Steps that choose a message carry `pick`, a number in `[0, 1)` that selects among
 * the messages waiting at that moment (oldest first), so a shortened schedule still means
 * something.
 */
export type SimulationEvent =
  | AdvanceStep
  | DeliverStep
  | DropStep
  | DuplicateStep
  | HoldStep
  | ProposeStep
  | TimeoutStep
  | HeartbeatStep
  | CrashStep
  | RestartStep
  | PartitionStep
  | HealStep
  | IsolateLeaderStep
  | ReconnectAllStep
  | CutLinkStep
  | RestoreLinksStep
  | QuietStep
  | CompactStep
  | CrashInTransferStep
  | TransferStep
  | ReadStep
  | ClientStep;

/** Moves the virtual clock; timers fire, messages wait. */
export interface AdvanceStep {
  /** Which kind of step. */
  readonly type: 'advance';
  /** Milliseconds of virtual time. */
  readonly ms: number;
}

/** Delivers one waiting message (request or reply). */
export interface DeliverStep {
  /** Which kind of step. */
  readonly type: 'deliver';
  /** Which waiting message: a number in `[0, 1)` over the list of waiting messages, oldest first. */
  readonly pick: number;
}

/** Loses one waiting message. */
export interface DropStep {
  /** Which kind of step. */
  readonly type: 'drop';
  /** Which waiting message: a number in `[0, 1)` over the list of waiting messages, oldest first. */
  readonly pick: number;
}

/** Copies one waiting message, so that it arrives twice. */
export interface DuplicateStep {
  /** Which kind of step. */
  readonly type: 'duplicate';
  /** Which waiting message: a number in `[0, 1)` over the list of waiting messages, oldest first. */
  readonly pick: number;
}

/**
 * Holds one waiting message back across several elections, then delivers it (unless a
 * crash of its sender or receiver lost it meanwhile): a reply from an earlier term reaching
 * a leader of a later one, say. It is delivered after `elections` more terms elected a
 * leader, or as soon as its receiver leads a term later than the one it was in when the
 * message was held, whichever comes first. Messages still held when the faults stop are
 * delivered then.
 *
 * With `pick` below one half, the step takes, if any waits, a success AppendEntries reply
 * acknowledging entries its receiver has not committed; such a reply waits up to 20 times
 * `elections`, and past a later leadership of its receiver until the receiver's entry at
 * the acknowledged index was rewritten (the late success of Figure 2, which must not
 * count). While it waits, crash and restart steps aimed at its receiver take the next
 * server instead, as a crash would lose the reply.
 */
export interface HoldStep {
  /** Which kind of step. */
  readonly type: 'hold';
  /** Which waiting message: a number in `[0, 1)` over the list of waiting messages, oldest first. */
  readonly pick: number;
  /** How many more terms must elect a leader before the message is delivered (at least 1). */
  readonly elections: number;
}

/** A client proposes value number `value` to whichever server leads now. */
export interface ProposeStep {
  /** Which kind of step. */
  readonly type: 'propose';
  /** The proposal number, handed to the `value` option of the simulation. */
  readonly value: number;
}

/** Fires a server's election timeout. */
export interface TimeoutStep {
  /** Which kind of step. */
  readonly type: 'timeout';
  /** The server acted on. */
  readonly server: ServerId;
}

/** Makes a server send heartbeats if it leads. */
export interface HeartbeatStep {
  /** Which kind of step. */
  readonly type: 'heartbeat';
  /** The server acted on. */
  readonly server: ServerId;
}

/**
 * Crashes a server: its messages in flight are lost, and so are the writes its store took
 * since its last `sync()` (on a {@link SimulatedDiskState}), but for a prefix when `keep > 0`.
 */
export interface CrashStep {
  /** Which kind of step. */
  readonly type: 'crash';
  /** The server acted on. */
  readonly server: ServerId;
  /** The torn write: which share of the unsynced writes survives, see {@link SimulatedDiskState.crash}. @default 0 */
  readonly keep?: number;
  /**
   * Crash the server that received the last delivered message instead of `server` (which
   * stays the fallback): a crash right after a server acted, before anything else made its
   * writes durable, is the one that exposes a reply sent before its write. @default false
   */
  readonly lastReceiver?: boolean;
}

/** Restarts a server over its persistent state (crashing it first, as a {@link CrashStep} does, if it runs). */
export interface RestartStep {
  /** Which kind of step. */
  readonly type: 'restart';
  /** The server acted on. */
  readonly server: ServerId;
  /** When the server runs: the share of its unsynced writes that survive the crash, as in {@link CrashStep}. @default 0 */
  readonly keep?: number;
  /** Restart the server that received the last delivered message instead, as in {@link CrashStep}. @default false */
  readonly lastReceiver?: boolean;
}

/** Splits the network into groups. */
export interface PartitionStep {
  /** Which kind of step. */
  readonly type: 'partition';
  /** The groups; a server named in none is alone. */
  readonly groups: readonly (readonly ServerId[])[];
}

/** Removes the partition. */
export interface HealStep {
  /** Which kind of step. */
  readonly type: 'heal';
}

/** Cuts whichever server leads now off from every other server. */
export interface IsolateLeaderStep {
  /** Which kind of step. */
  readonly type: 'isolateLeader';
}

/** Reconnects every server cut off by an `isolateLeader` step. */
export interface ReconnectAllStep {
  /** Which kind of step. */
  readonly type: 'reconnectAll';
}

/** Cuts the one-way link from `from` to `to`. */
export interface CutLinkStep {
  /** Which kind of step. */
  readonly type: 'cutLink';
  /** The sending side of the link. */
  readonly from: ServerId;
  /** The receiving side of the link. */
  readonly to: ServerId;
}

/** Restores every one-way link. */
export interface RestoreLinksStep {
  /** Which kind of step. */
  readonly type: 'restoreLinks';
}

/** A quiet period: every message is delivered promptly for `ms` of virtual time. */
export interface QuietStep {
  /** Which kind of step. */
  readonly type: 'quiet';
  /** Milliseconds of virtual time. */
  readonly ms: number;
}

/** Makes a running server compact its log now (`Server.compact()`); ignored without compaction. */
export interface CompactStep {
  /** Which kind of step. */
  readonly type: 'compact';
  /** The server acted on. */
  readonly server: ServerId;
}

/**
 * Crashes a server in the middle of a snapshot transfer: the receiver (or the sender) of one
 * of the undelivered InstallSnapshot chunks and replies, chosen with `pick` among them
 * (oldest first). When none waits, the step first makes one likely: it restarts a crashed
 * server (the first in id order, unless a held reply waits for it), has the leader compact
 * its log, and runs the cluster as a quiet period does (oldest message first, time when
 * none waits), for at most 300 ms of virtual time, until one waits; nothing is crashed when none came, or when a held success reply waits for that
 * server (see {@link HoldStep}). Its unsynced writes are lost as in {@link CrashStep}.
 */
export interface CrashInTransferStep {
  /** Which kind of step. */
  readonly type: 'crashInTransfer';
  /** Which undelivered InstallSnapshot message or reply: a number in `[0, 1)` over them, oldest first. */
  readonly pick: number;
  /** Crash the message's receiver (true) or its sender (false). */
  readonly receiver: boolean;
  /** The share of its unsynced writes that survive, as in {@link CrashStep}. @default 0 */
  readonly keep?: number;
  /** Restart the server right away (a follower that lost its partial transfer, a leader that lost its transfers). */
  readonly restart: boolean;
}

/** Makes whichever server leads now hand leadership over (`transferLeadership`) to another server, chosen with `pick` among the others. */
export interface TransferStep {
  /** Which kind of step. */
  readonly type: 'transfer';
  /** Which other server: a number in `[0, 1)` over the servers other than the leader, in id order. */
  readonly pick: number;
}

/** A bare linearizable read (`readIndex`) on whichever server leads now; its answer is only traced (it makes leaders write their no-op). */
export interface ReadStep {
  /** Which kind of step. */
  readonly type: 'read';
}

/**
 * Client `client` of the workload (see {@link SimulationOptions.clients}) starts an
 * operation on key number `key`, unless it waits for one already: `put` and `append`
 * proposed to the leader, `get` proposed to the leader and answered by the state machine
 * as it applies it (a read through the log), `read` through the leader's `readIndex`.
 */
export interface ClientStep {
  /** Which kind of step. */
  readonly type: 'client';
  /** Which client (taken modulo the number of clients). */
  readonly client: number;
  /** What it does. */
  readonly op: 'put' | 'append' | 'get' | 'read';
  /** Which key (taken modulo the number of keys). */
  readonly key: number;
}

/** How often each kind of step is drawn, as relative weights. */
export type FaultWeights = { readonly [K in SimulationEvent['type']]: number };

/** The default mix: mostly deliveries and time, with every kind of fault now and then. */
export const DEFAULT_FAULT_WEIGHTS: FaultWeights = Object.freeze({
  deliver: 40,
  advance: 16,
  propose: 10,
  quiet: 5,
  drop: 4,
  duplicate: 3,
  hold: 1,
  timeout: 2,
  heartbeat: 1,
  crash: 1.5,
  restart: 2,
  partition: 1.5,
  heal: 2,
  isolateLeader: 1,
  reconnectAll: 2,
  cutLink: 1,
  restoreLinks: 1.5,
  compact: 0,
  crashInTransfer: 0,
  transfer: 0,
  read: 0,
  client: 0,
});

/**
 * The weights added to a schedule with the extensions of issue 10 (see
 * {@link ScheduleOptions.extensions}): leadership transfers, bare reads, and client
 * operations. Without them these steps are never drawn, so older schedules stay the same.
 */
export const EXTENSION_FAULT_WEIGHTS: Partial<FaultWeights> = Object.freeze({ transfer: 1, read: 2, client: 12 });

/**
 * The weights that replace the defaults in a schedule with compaction (see
 * {@link ScheduleOptions.compaction}): explicit compactions now and then, and crashes during
 * snapshot transfers. Without compaction these steps are never drawn, so the schedules of
 * such runs are those drawn before compaction existed.
 */
export const COMPACTION_FAULT_WEIGHTS: Partial<FaultWeights> = Object.freeze({ compact: 0.5, crashInTransfer: 1.5 });

/** What {@link generateSchedule} needs. */
export interface ScheduleOptions {
  /** Number of servers. */
  readonly servers: number;
  /** Number of steps. */
  readonly length: number;
  /** Relative weights of the kinds of step. @default {@link DEFAULT_FAULT_WEIGHTS} (with {@link COMPACTION_FAULT_WEIGHTS} when `compaction`) */
  readonly weights?: Partial<FaultWeights>;
  /** Whether the servers compact: draws `compact` and `crashInTransfer` steps too. @default false */
  readonly compaction?: boolean;
  /** Whether to draw `transfer`, `read` and `client` steps too ({@link EXTENSION_FAULT_WEIGHTS}). @default false */
  readonly extensions?: boolean;
}

/**
 * Draws a fault schedule from one seed: the same seed and options always give the same
 * schedule. Deliveries mostly pick the oldest messages, so the cluster makes progress,
 * and now and then a young one, so messages are reordered and some wait for a long time.
 */
export function generateSchedule(seed: number, options: ScheduleOptions): SimulationEvent[] {
  const random = seededRandom(deriveSeed(seed, 0x5eed));
  const weights = {
    ...DEFAULT_FAULT_WEIGHTS,
    ...(options.compaction === true ? COMPACTION_FAULT_WEIGHTS : {}),
    ...(options.extensions === true ? EXTENSION_FAULT_WEIGHTS : {}),
    ...options.weights,
  };
  const kinds = (Object.keys(weights) as SimulationEvent['type'][]).filter((kind) => weights[kind] > 0);
  const total = kinds.reduce((sum, kind) => sum + weights[kind], 0);
  const n = options.servers;
  const server = (): ServerId => Math.floor(random() * n);
  const pick = (): number => random() ** 3;
  let proposals = 0;
  const schedule: SimulationEvent[] = [];
  for (let step = 0; step < options.length; step++) {
    let draw = random() * total;
    let kind = kinds[kinds.length - 1] as SimulationEvent['type'];
    for (const candidate of kinds) {
      draw -= weights[candidate];
      if (draw < 0) {
        kind = candidate;
        break;
      }
    }
    schedule.push(makeEvent(kind));
  }
  return schedule;

  function makeEvent(kind: SimulationEvent['type']): SimulationEvent {
    switch (kind) {
      case 'advance':
        return { type: 'advance', ms: random() < 0.1 ? 200 + Math.floor(random() * 800) : 1 + Math.floor(random() * 40) };
      case 'deliver':
      case 'drop':
      case 'duplicate':
        return { type: kind, pick: pick() };
      case 'hold':
        return { type: 'hold', pick: random(), elections: 1 + Math.floor(random() * 3) };
      case 'propose':
        return { type: 'propose', value: ++proposals };
      case 'timeout':
      case 'heartbeat':
        return { type: kind, server: server() };
      case 'crash':
      case 'restart':
        return { type: kind, server: server(), keep: random() < 0.5 ? 0 : random(), lastReceiver: random() < 0.5 };
      case 'partition':
        return { type: 'partition', groups: randomGroups() };
      case 'cutLink': {
        const from = server();
        return { type: 'cutLink', from, to: (from + 1 + Math.floor(random() * (n - 1))) % n };
      }
      case 'quiet':
        return { type: 'quiet', ms: 100 + Math.floor(random() * 500) };
      case 'compact':
        return { type: 'compact', server: server() };
      case 'crashInTransfer':
        return { type: 'crashInTransfer', pick: random(), receiver: random() < 0.5, keep: random() < 0.5 ? 0 : random(), restart: random() < 0.5 };
      case 'transfer':
        return { type: 'transfer', pick: random() };
      case 'read':
        return { type: 'read' };
      case 'client': {
        const draw = random();
        const op = draw < 0.3 ? 'put' : draw < 0.6 ? 'append' : draw < 0.8 ? 'get' : 'read';
        return { type: 'client', client: Math.floor(random() * 8), op, key: Math.floor(random() * 8) };
      }
      case 'heal':
      case 'isolateLeader':
      case 'reconnectAll':
      case 'restoreLinks':
        return { type: kind };
    }
  }

  function randomGroups(): ServerId[][] {
    const groupCount = n >= 5 && random() < 0.25 ? 3 : 2;
    const groups: ServerId[][] = Array.from({ length: groupCount }, () => []);
    for (let id = 0; id < n; id++) (groups[Math.floor(random() * groupCount)] as ServerId[]).push(id);
    return groups.filter((group) => group.length > 0);
  }
}
