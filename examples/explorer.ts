/**
 * The Raft explorer (`npm run explorer`): an interactive terminal view of an
 * {@link InMemoryCluster} in `'manual'` delivery, in the spirit of the F# RaftExplorer.
 * Nothing moves unless you say so: you fire election timeouts and heartbeats, deliver or
 * drop messages one by one, propose values, move the virtual clock, crash and restart
 * servers, and after each command the explorer prints what happened and the whole state:
 * every server's role, term, vote, known leader, commit index and log, the partition if any,
 * and every message still waiting in the network. The feed of a command shows each vote cast
 * (a server that starts an election votes for itself, so a candidate that times out again
 * and starts a new term shows up too), role and leader changes, commits and, for
 * `deliver all`, each delivery.
 *
 * Every server runs a small state machine (the list of values it applied), so the log can
 * be compacted: `compact <server>` snapshots it now, and with `--max-log-entries N` the
 * servers compact on their own once their log holds more than N entries. The `snap` column
 * shows each server's snapshot, the log column the entries it still holds, and a follower
 * that needs compacted entries gets the leader's snapshot in InstallSnapshot chunks (of
 * `--max-chunk-bytes`, default 16, so a transfer takes a few messages).
 *
 * With `--pre-vote` a server that times out first polls the others: its polls show as
 * `PreVote` and their answers as `PreVoteReply` (the network carries them as RequestVote and
 * its reply; the explorer remembers which replies answer a poll), and the feed says when a
 * server starts polling. `--check-quorum` makes leaders step down without a majority and
 * voters refuse candidates while they hear from a leader. `read <server>` asks for a
 * linearizable read (`--read-mode safe|lease`, lease needs `--check-quorum`); reads not yet
 * answered are listed under the table; the no-op entry a new leader writes for a read shows
 * as `3:t2(noop)`. `transfer <to>` hands leadership over through the leader (its `TimeoutNow`
 * message and the RequestVotes marked `(transfer)` that follow).
 *
 * ```text
 * npm run explorer -- [--servers N] [--seed S] [--max-log-entries N] [--trailing-log-entries N] [--max-chunk-bytes N]
 *                     [--pre-vote] [--check-quorum] [--read-mode safe|lease]
 * npx ts-node examples/explorer.ts --help
 * printf 'timeout 0\ndeliver all\npropose x\nquit\n' | npx ts-node examples/explorer.ts
 * ```
 *
 * Type `help` for the commands. Commands can also be piped in; the explorer then echoes each
 * one before its output, and stops at `quit` or at the end of the input.
 */
import * as readline from 'node:readline';
import { parseArgs } from 'node:util';
import {
  ConfigurationError,
  InMemoryCluster,
  InMemoryPersistentState,
  RaftError,
  type LogEntry,
  type Message,
  type ProposeResult,
  type ReadIndexResult,
  type Reply,
  type Server,
  type ServerId,
  type Snapshot,
  type StateMachine,
  type TransferResult,
} from '../lib';

/** Options of {@link createExplorer}. */
export interface ExplorerOptions {
  /** Number of servers in the cluster, 1 to {@link MAX_SERVERS}. @default 3 */
  readonly servers?: number;
  /** Seed of the cluster's election jitter: same seed and commands, same session. @default 1 */
  readonly seed?: number;
  /** Compact a server's log on its own once it holds more entries than this. @default no automatic compaction (`compact` still works) */
  readonly maxLogEntries?: number;
  /** Entries kept before a snapshot's end after a compaction. @default a tenth of `maxLogEntries`; 0 without it */
  readonly trailingLogEntries?: number;
  /** InstallSnapshot data per message. @default 16 (bytes: a transfer takes a few chunks) */
  readonly maxSnapshotChunkBytes?: number;
  /** Pre-vote: a server polls the others before it raises its term. @default false */
  readonly preVote?: boolean;
  /** Check-quorum: leaders without a majority step down, voters that hear from a leader refuse candidates. @default false */
  readonly checkQuorum?: boolean;
  /** How a leader confirms a read; `'lease'` needs `checkQuorum` (else a {@link ConfigurationError}). @default 'safe' */
  readonly readMode?: 'safe' | 'lease';
}

/** Default of {@link ExplorerOptions.maxSnapshotChunkBytes}: small, so a transfer takes a few chunks you can watch. */
export const DEFAULT_CHUNK_BYTES = 16;

/**
 * The explorer's state machine: the list of values applied, in order. Its snapshot is that
 * list as JSON text.
 */
export class AppliedValues implements StateMachine<string> {
  /** The values applied so far (or restored from a snapshot). */
  values: string[] = [];

  /** Appends the entry's value. */
  apply(entry: LogEntry<string>): void {
    this.values.push(entry.data);
  }

  /** The list as the bytes of its JSON text. */
  takeSnapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify(this.values));
  }

  /** Replaces the list with the one `data` holds. */
  restoreSnapshot(data: Uint8Array): void {
    this.values = JSON.parse(new TextDecoder().decode(data)) as string[];
  }
}

/** An explorer session: feed it command lines, print what it returns. */
export interface Explorer {
  /**
   * Runs one command line and returns the text to print (without a trailing newline).
   * A command that ran returns what happened followed by the {@link Explorer.screen}; a
   * command that was refused (unknown verb, missing or malformed argument, server out of
   * range, unknown message id) or that the library refused with a {@link RaftError} returns
   * a single line starting with `error:` and changes nothing. An empty line or a `#` comment
   * returns `''`.
   * @throws whatever is not a {@link RaftError}: that would be a bug.
   */
  execute(line: string): string;
  /** The current state of the cluster and network, as printed after each command. */
  screen(): string;
  /** Whether `quit` has been executed; after that every command is refused. */
  readonly done: boolean;
  /** The cluster being explored, for tests and for scripting around the explorer. */
  readonly cluster: InMemoryCluster<string>;
}

/** The one-line-per-command help text printed by `help`. */
export const HELP = [
  'commands:',
  '  timeout <server>      fire the server\'s election timeout now (it starts an election)',
  '  heartbeat <server>    make the server send AppendEntries to all now, if it leads',
  '  deliver <id>          hand message <id> to its recipient',
  '  deliver all           deliver everything waiting, oldest first, until the network is quiet',
  '  drop <id>             lose message <id>',
  '  propose <value>       propose <value> (the rest of the line) to the leader',
  '  advance <ms>          move the virtual clock forward, running every timer that falls due',
  '  crash <server>        stop the server; its messages in flight are lost, its persistent state kept',
  '  restart <server>      start a new server over the crashed one\'s persistent state',
  '  compact <server>      snapshot the server\'s state machine now and drop the log it covers',
  '                        (but the trailing entries); followers that need dropped entries get the snapshot',
  '  partition <groups>    split the network, e.g. "partition 0,1 2,3,4": messages cross no group',
  '                        boundary (a server named in no group is alone); replaces any partition',
  '  heal                  remove the partition: every server reaches every other again',
  '  read <server>         ask the server for a linearizable read (readIndex); "read" alone asks the leader.',
  '                        Prints "ready at index N", "forward to L" or "delay" once answered; until then',
  '                        the read is listed under the table as pending',
  '  transfer <to>         hand leadership to server <to> through the current leader (started, or delay)',
  '  transfer <from> <to>  ask server <from> to hand leadership to <to> (started, forward or delay)',
  '  show                  print the screen again',
  '  help                  this text',
  '  quit                  leave (so does the end of the input)',
  '',
  'command-line flags (npm run explorer -- --help for all):',
  '  --pre-vote            a server that times out first polls the others ("server 2 polls for term 4",',
  '                        PreVote and PreVoteReply messages) and raises its term only with a majority',
  '  --check-quorum        a leader that has not heard from a majority for an election timeout steps down;',
  '                        a server that hears from a leader refuses (pre-)votes, but not RequestVote (transfer)',
  '  --read-mode safe|lease  how a leader confirms a read: a heartbeat round (safe, the default) or its',
  '                        lease (needs --check-quorum)',
  '',
  'log entries read 3:t2=x (value x, term 2); 3:t2(noop) is the no-op a new leader writes for a read',
].join('\n');

/** The largest cluster the explorer makes (the screen has one row per server). */
export const MAX_SERVERS = 99;

/** At most this many deliveries in one `deliver all`, in case the servers never go quiet. */
export const DELIVER_ALL_LIMIT = 10_000;

/** Lines of deliveries and events shown after a command; the rest are counted. */
const FEED_SHOWN = 60;
/** Log entries shown in full on a server's line; longer logs show their start, `…`, and their end. */
const LOG_SHOWN = 8;
/** Entries shown in full in an AppendEntries summary. */
const ENTRIES_SHOWN = 4;
/** Characters of a value shown before it is cut with `…`. */
const VALUE_SHOWN = 12;

/** A refused command: reported on one line, nothing changed. */
class CommandError extends Error {}

/** A waiting message together with the server it waits for. */
interface Waiting {
  readonly id: number;
  readonly from: ServerId;
  readonly to: ServerId;
  readonly message: Message<string> | Reply;
}

/**
 * Creates an explorer over a fresh `InMemoryCluster<string>` in `'manual'` delivery: all
 * servers followers at term 0 with empty logs, virtual time 0, no message in flight.
 *
 * @throws {@link ConfigurationError} when `servers` or `seed` is invalid.
 *
 * @example
 * ```ts
 * const explorer = createExplorer({ servers: 3, seed: 1 });
 * console.log(explorer.execute('timeout 0'));     // server 0 asks 1 and 2 for votes
 * console.log(explorer.execute('deliver all'));   // ... and becomes leader of term 1
 * ```
 */
export function createExplorer(options: ExplorerOptions = {}): Explorer {
  const servers = options.servers ?? 3;
  const seed = options.seed ?? 1;
  if (!Number.isSafeInteger(servers) || servers < 1 || servers > MAX_SERVERS) throw new ConfigurationError('servers', servers, `an integer from 1 to ${MAX_SERVERS}`);
  if (!Number.isSafeInteger(seed)) throw new ConfigurationError('seed', seed, 'an integer');
  const compaction = {
    ...(options.maxLogEntries === undefined ? {} : { maxLogEntries: options.maxLogEntries }),
    ...(options.trailingLogEntries === undefined ? {} : { trailingLogEntries: options.trailingLogEntries }),
    maxSnapshotChunkBytes: options.maxSnapshotChunkBytes ?? DEFAULT_CHUNK_BYTES,
  };
  const safety = {
    ...(options.preVote === undefined ? {} : { preVote: options.preVote }),
    ...(options.checkQuorum === undefined ? {} : { checkQuorum: options.checkQuorum }),
    ...(options.readMode === undefined ? {} : { readMode: options.readMode }),
  };
  /** What happened during the current command: server events (`·`) and, for `deliver all`, each delivery (`▸`). */
  let events: string[] = [];
  let done = false;
  /** The groups of the current partition, as given to `partition`; undefined when healed. */
  let groups: ServerId[][] | undefined;

  /**
   * Each server's store reports the votes it records. A server that starts an election votes
   * for itself, also when it is a candidate already (no role change then), so every new
   * election shows in the feed.
   */
  class WatchedState extends InMemoryPersistentState<string> {
    constructor(readonly id: ServerId) {
      super();
    }
    override vote(candidate: ServerId): void {
      super.vote(candidate);
      events.push(
        candidate === this.id
          ? `  · server ${this.id} starts an election for term ${this.currentTerm} and votes for itself`
          : `  · server ${this.id} votes for server ${candidate} in term ${this.currentTerm}`,
      );
    }
    override saveSnapshot(snapshot: Snapshot, firstKept: number): void {
      super.saveSnapshot(snapshot, firstKept);
      const { index, term } = snapshot.lastIncluded;
      const kept = this.currentLogIndex >= this.firstLogIndex ? `keeps ${this.firstLogIndex}..${this.currentLogIndex}` : 'keeps no entry';
      events.push(`  · server ${this.id} stores a snapshot up to ${index}:t${term} (${plural(snapshot.data.length, 'byte')}) and ${kept}`);
    }
  }
  const cluster = InMemoryCluster.make<string>(servers, {
    seed,
    delivery: 'manual',
    persistentState: (id) => new WatchedState(id),
    stateMachine: () => new AppliedValues(),
    ...compaction,
    ...safety,
  });
  const size = cluster.clusterSize;
  const network = cluster.network;

  /**
   * The replies that answer a poll. The network carries a pre-vote answer as an ordinary
   * `requestVoteReply`, so the explorer notes, when it delivers a `PreVote`, the reply that
   * the delivery produces.
   */
  const pollReplies = new WeakSet<object>();
  /** Each server's poll under way: its term and the servers it has asked. */
  const polls = new Map<ServerId, { term: number; asked: Set<ServerId> }>();
  /**
   * A server starts polling inside a timer or a timeout and tells no one but the servers it
   * asks (no event: it stays a follower), so the explorer watches what the servers send, also
   * what a partition cuts off at once. It wraps the network's `sendMessage`, which the cluster
   * calls for every request (marked internal: the one hook of the library the explorer uses
   * that a program should not). A poll asks every other server once, so a PreVote to a
   * server already asked, or for another term, is a new poll.
   */
  const send = network.sendMessage.bind(network);
  network.sendMessage = (from, to, message, handOver) => {
    if (message.type === 'requestVote' && message.preVote === true) {
      const poll = polls.get(from);
      if (poll === undefined || poll.term !== message.candidateTerm || poll.asked.has(to)) {
        polls.set(from, { term: message.candidateTerm, asked: new Set([to]) });
        events.push(`  · server ${from} polls for term ${message.candidateTerm} (pre-vote)`);
      } else {
        poll.asked.add(to);
      }
    }
    send(from, to, message, handOver);
  };

  /** A read asked for and not answered yet. */
  interface PendingRead {
    readonly number: number;
    readonly server: ServerId;
  }
  /** Reads not answered yet, by number. */
  const reads = new Map<number, PendingRead>();
  let readsAsked = 0;
  /** Forgets the reads waiting on a server that crashed: its Server object will never answer them. */
  const loseReads = (id: ServerId): void => {
    for (const read of [...reads.values()]) {
      if (read.server !== id) continue;
      reads.delete(read.number);
      events.push(`  · read #${read.number} on ${id} is lost: the server crashed before answering`);
    }
  };

  const watch = (server: Server<string>): void => {
    const id = server.id;
    server.on('roleChange', (role, term) => events.push(`  · server ${id} becomes ${role} in term ${term}`));
    server.on('leaderChange', (leaderId, term) =>
      events.push(leaderId === undefined ? `  · server ${id} knows no leader in term ${term}` : `  · server ${id} learns leader ${leaderId} of term ${term}`),
    );
    server.on('committed', (entries) => events.push(`  · server ${id} commits ${formatEntries(entries, ENTRIES_SHOWN)}`));
    server.on('snapshotInstalled', (snapshot) =>
      events.push(`  · server ${id} installs the leader's snapshot up to ${snapshot.lastIncluded.index}:t${snapshot.lastIncluded.term}: commit and applied ${snapshot.lastIncluded.index}`),
    );
  };
  cluster.servers.forEach(watch);

  const waiting = (): Waiting[] => {
    const all: Waiting[] = [];
    for (let to = 0; to < size; to++) {
      for (const { id, from, message } of cluster.network.undelivered(to)) all.push({ id, from, to, message });
    }
    return all.sort((a, b) => a.id - b.id);
  };

  const serverId = (verb: string, text: string): ServerId => {
    if (!/^\d+$/.test(text)) throw new CommandError(`${verb}: expected a server id (an integer), got "${text}"`);
    const id = Number(text);
    if (id >= size) throw new CommandError(`${verb}: server ${id} is out of range: the servers are 0..${size - 1}`);
    return id;
  };

  const serverArg = (verb: string, args: readonly string[]): ServerId => serverId(verb, oneArg(verb, '<server>', args));

  const messageArg = (verb: string, args: readonly string[]): Waiting => {
    const text = oneArg(verb, '<id>', args);
    if (!/^\d+$/.test(text)) throw new CommandError(`${verb}: expected a message id (an integer) or "all", got "${text}"`);
    const id = Number(text);
    const found = waiting().find((w) => w.id === id);
    if (found === undefined) throw new CommandError(`${verb}: no undelivered message ${id}`);
    return found;
  };

  /** One line for a waiting message, telling a pre-vote answer from a vote. */
  const describe = (message: Message<string> | Reply): string => summarize(message, { poll: pollReplies.has(message) });

  /** Delivers one waiting message; returns whether it was lost on the way. Notes the answer to a poll. */
  const deliverOne = ({ id, from, to, message }: Waiting): boolean => {
    const poll = message.type === 'requestVote' && message.preVote === true;
    const before = poll ? new Set(network.undelivered(from).map((w) => w.id)) : undefined;
    const dropped = network.droppedCount;
    network.deliver(to, id);
    if (before !== undefined) {
      for (const w of network.undelivered(from)) {
        if (!before.has(w.id) && w.from === to && w.message.type === 'requestVoteReply') pollReplies.add(w.message);
      }
    }
    return network.droppedCount > dropped;
  };

  /** A server id for the library to check: its InvalidArgumentError says what is wrong with it. */
  const anyId = (verb: string, text: string): ServerId => {
    if (!/^-?\d+$/.test(text)) throw new CommandError(`${verb}: expected a server id (an integer), got "${text}"`);
    return Number(text);
  };

  /** Runs a verb; returns the lines saying what happened (events are added after them). */
  const run = (verb: string, args: readonly string[], rest: string): string[] => {
    switch (verb) {
      case 'timeout': {
        const id = serverArg(verb, args);
        if (!cluster.isRunning(id)) return [`server ${id} is crashed: nothing happens`];
        const leading = cluster.servers[id]?.role === 'leader';
        cluster.timeout(id);
        return leading ? [`server ${id} is the leader: it ignores the timeout`] : [`server ${id} timed out`];
      }
      case 'heartbeat': {
        const id = serverArg(verb, args);
        if (!cluster.isRunning(id)) return [`server ${id} is crashed: nothing happens`];
        const leading = cluster.servers[id]?.role === 'leader';
        cluster.heartbeat(id);
        return leading ? [`server ${id} sent heartbeats`] : [`server ${id} is not a leader: it ignores the heartbeat`];
      }
      case 'deliver': {
        if (args.length === 1 && args[0] === 'all') return deliverAll();
        const found = messageArg(verb, args);
        const { id, from, to, message } = found;
        const text = describe(message);
        const lost = deliverOne(found);
        return [`${lost ? 'lost' : 'delivered'} ${id} ${from}→${to} ${text}`];
      }
      case 'drop': {
        const { id, from, to, message } = messageArg(verb, args);
        const text = describe(message);
        cluster.network.drop(to, id);
        return [`dropped ${id} ${from}→${to} ${text}`];
      }
      case 'propose': {
        if (rest === '') throw new CommandError('propose: missing <value>');
        const leader = cluster.leader();
        if (leader !== undefined) return [`proposed ${formatValue(rest)} to leader ${leader.id}: ${formatPropose(leader.propose(rest))}`];
        // No leader: ask each running server, which changes nothing, to show what it would say.
        const answers: string[] = [];
        cluster.servers.forEach((server) => {
          if (cluster.isRunning(server.id)) answers.push(`server ${server.id} says ${formatPropose(server.propose(rest))}`);
        });
        return [`no leader: nothing proposed (${answers.length === 0 ? 'no server is running' : answers.join(', ')})`];
      }
      case 'advance': {
        const text = oneArg(verb, '<ms>', args);
        const ms = Number(text);
        if (text.trim() === '' || !Number.isFinite(ms) || ms < 0) throw new CommandError(`advance: expected a number of milliseconds >= 0, got "${text}"`);
        const from = cluster.now;
        cluster.advance(ms);
        return [`time ${formatNumber(from)} → ${formatNumber(cluster.now)} ms`];
      }
      case 'partition': {
        if (args.length === 0) throw new CommandError('partition: missing <groups>, e.g. "partition 0,1 2" (servers named in no group are alone)');
        const seen = new Set<ServerId>();
        const parsed = args.map((group) =>
          group.split(',').map((text) => {
            const id = serverId(verb, text);
            if (seen.has(id)) throw new CommandError(`partition: server ${id} is named twice`);
            seen.add(id);
            return id;
          }),
        );
        cluster.partition(...parsed);
        groups = parsed;
        const alone = cluster.servers.map((server) => server.id).filter((id) => !seen.has(id));
        return [`partitioned: ${formatPartition(parsed, alone)}`];
      }
      case 'heal': {
        noArgs(verb, args);
        const had = groups !== undefined;
        cluster.heal();
        groups = undefined;
        return [had ? 'healed: every server reaches every other again' : 'no partition to heal'];
      }
      case 'crash': {
        const id = serverArg(verb, args);
        if (!cluster.isRunning(id)) return [`server ${id} is already crashed`];
        const before = cluster.network.droppedCount;
        cluster.crash(id);
        loseReads(id);
        return [`server ${id} crashed (${plural(cluster.network.droppedCount - before, 'message')} lost)`];
      }
      case 'restart': {
        const id = serverArg(verb, args);
        const wasRunning = cluster.isRunning(id);
        const before = cluster.network.droppedCount;
        cluster.restart(id);
        loseReads(id);
        const server = cluster.servers[id];
        if (server !== undefined) watch(server);
        const lost = cluster.network.droppedCount - before;
        return [`server ${id} restarted${wasRunning ? ` (it was running: crashed first, ${plural(lost, 'message')} lost)` : ''}`];
      }
      case 'compact': {
        const id = serverArg(verb, args);
        if (!cluster.isRunning(id)) return [`server ${id} is crashed: nothing happens`];
        const server = cluster.servers[id] as Server<string>;
        const before = server.snapshot;
        const after = server.compact();
        if (after.index === before.index) {
          return [`server ${id} has applied nothing ${before.index === 0 ? 'yet' : `since its snapshot up to ${before.index}:t${before.term}`}: nothing to compact`];
        }
        return [`server ${id} compacted its log: snapshot up to ${after.index}:t${after.term}`];
      }
      case 'read': {
        if (args.length > 1) throw new CommandError(`read: expected only <server>, got "${args.join(' ')}"`);
        const through = args[0] === undefined ? cluster.leader() : cluster.servers[serverId(verb, args[0])];
        const asked = args[0] === undefined ? (through === undefined ? 'the leader' : `leader ${through.id}`) : `server ${through?.id}`;
        if (through !== undefined && !cluster.isRunning(through.id)) return [`server ${through.id} is crashed: nothing happens`];
        const number = ++readsAsked;
        const name = through === undefined ? `read #${number} (no leader)` : `read #${number} on ${through.id}`;
        let answer: string | undefined;
        let inCall = true;
        const onDone = (result: ReadIndexResult): void => {
          if (through !== undefined && !reads.has(number)) return; // lost with a crash
          reads.delete(number);
          const text = `${name}: ${formatRead(result, through === undefined ? undefined : cluster.stateMachine(through.id))}`;
          if (inCall) answer = text;
          else events.push(`  · ${text}`);
        };
        if (through === undefined) {
          cluster.readIndex(onDone);
        } else {
          reads.set(number, { number, server: through.id });
          through.readIndex(onDone);
        }
        inCall = false;
        if (answer !== undefined) return [answer];
        const due = through !== undefined && through.nextDeadline() <= cluster.now ? '; its next tick is due now: "advance 0" runs it' : '';
        return [`${name}: pending (${asked} answers once it has confirmed its leadership and applied the read index${due})`];
      }
      case 'transfer': {
        if (args.length === 0) throw new CommandError('transfer: missing <to> (or <from> <to>)');
        if (args.length > 2) throw new CommandError(`transfer: expected <to> or <from> <to>, got "${args.join(' ')}"`);
        if (args.length === 1) {
          const to = anyId(verb, args[0] as string);
          const leader = cluster.leader();
          const result = cluster.transferLeadership(to);
          return [leader === undefined ? `no leader to transfer from: ${formatTransfer(result)}` : `transfer from leader ${leader.id} to ${to}: ${formatTransfer(result)}`];
        }
        const from = anyId(verb, args[0] as string);
        const to = anyId(verb, args[1] as string);
        if (!cluster.isRunning(from)) return [`server ${from} is crashed: nothing happens`];
        const result = (cluster.servers[from] as Server<string>).transferLeadership(to);
        return [`transfer asked of server ${from} to ${to}: ${formatTransfer(result)}`];
      }
      case 'show':
        noArgs(verb, args);
        return [];
      default:
        throw new CommandError(`unknown command "${verb}" (type help for the list)`);
    }
  };

  const deliverAll = (): string[] => {
    let delivered = 0;
    let lost = 0;
    for (;;) {
      const batch = waiting();
      if (batch.length === 0) break;
      for (const { id, from, to, message } of batch) {
        if (delivered + lost >= DELIVER_ALL_LIMIT) {
          return [`stopped after ${DELIVER_ALL_LIMIT} deliveries: ${plural(waiting().length, 'message')} still waiting`];
        }
        // Delivering one message never removes another, but be safe if it ever does.
        if (!cluster.network.undelivered(to).some((w) => w.id === id)) continue;
        events.push(`  ▸ ${id} ${from}→${to} ${describe(message)}`);
        if (deliverOne({ id, from, to, message })) lost++;
        else delivered++;
      }
    }
    if (delivered + lost === 0) return ['nothing to deliver'];
    return [`delivered ${plural(delivered, 'message')}${lost > 0 ? ` (${lost} lost on the way)` : ''}; the network is quiet`];
  };

  const screen = (): string => {
    const lines: string[] = [];
    const { deliveredCount, droppedCount } = cluster.network;
    lines.push(`── time ${formatNumber(cluster.now)} ms ── delivered ${deliveredCount}, dropped ${droppedCount} ──`);
    const rows: string[][] = [['id', 'role', 'term', 'votedFor', 'leader', 'commit', 'snap', 'timer', 'log']];
    for (const server of cluster.servers) {
      const state = server.persistentState;
      const running = cluster.isRunning(server.id);
      const log: LogEntry<string>[] = [];
      const first = state.firstLogIndex ?? 1;
      for (let index = first; index <= state.currentLogIndex; index++) {
        const entry = state.getLogEntry(index);
        if (entry !== undefined) log.push(entry);
      }
      const deadline = server.nextDeadline();
      rows.push([
        String(server.id),
        running ? server.role : 'CRASHED',
        String(state.currentTerm),
        state.votedFor === undefined ? '-' : String(state.votedFor),
        running && server.leaderId !== undefined ? String(server.leaderId) : '-',
        running ? String(server.volatileState.commitIndex) : '-',
        formatSnapshot(state.getSnapshot?.()),
        running ? `${server.role === 'leader' ? 'hb' : 'elect'}@${formatNumber(deadline)}` : '-',
        log.length === 0 ? (first > 1 ? '(empty after the snapshot)' : '(empty)') : `${first > 1 ? '… ' : ''}${formatEntries(log, LOG_SHOWN)}`,
      ]);
    }
    lines.push(...table(rows));
    if (groups !== undefined) {
      const named = new Set(groups.flat());
      lines.push(`partition: ${formatPartition(groups, cluster.servers.map((server) => server.id).filter((id) => !named.has(id)))}`);
    }
    const messages = waiting();
    if (messages.length === 0) {
      lines.push('no message waiting');
    } else {
      lines.push(`${plural(messages.length, 'message')} waiting:`);
      const width = Math.max(...messages.map((m) => String(m.id).length));
      for (const { id, from, to, message } of messages) lines.push(`  ${String(id).padStart(width)}  ${from}→${to}  ${describe(message)}`);
    }
    if (reads.size > 0) {
      // A leader sends the heartbeat round that confirms its reads at its next tick: say when that is due.
      const due = [...new Set([...reads.values()].map((read) => read.server))].filter((id) => cluster.isRunning(id) && (cluster.servers[id] as Server<string>).nextDeadline() <= cluster.now);
      const hint = due.map((id) => `server ${id} has a tick due now: "advance 0" runs it`).join('; ');
      lines.push(`pending reads: ${[...reads.values()].map((read) => `#${read.number} on ${read.server}`).join(', ')}${hint === '' ? '' : ` (${hint})`}`);
    }
    return lines.join('\n');
  };

  return {
    cluster,
    get done() {
      return done;
    },
    screen,
    execute(line: string): string {
      const text = line.trim();
      if (text === '' || text.startsWith('#')) return '';
      if (done) return 'error: the explorer has quit';
      const [verb = '', ...args] = text.split(/\s+/);
      const rest = text.slice(verb.length).trim();
      if (verb === 'quit' || verb === 'exit') {
        done = true;
        return 'bye';
      }
      if (verb === 'help' || verb === '?') return HELP;
      events = [];
      try {
        const droppedBefore = cluster.network.droppedCount;
        const said = run(verb, args, rest);
        // Messages sent across a partition are lost at once; the verbs that deliver, drop,
        // crash or restart count their own losses.
        const cut = cluster.network.droppedCount - droppedBefore;
        if (cut > 0 && !['deliver', 'drop', 'crash', 'restart'].includes(verb)) events.push(`  · ${plural(cut, 'message')} lost: the partition cuts ${cut === 1 ? 'it' : 'them'} off`);
        const shown = events.length > FEED_SHOWN ? [...events.slice(0, FEED_SHOWN), `  … ${events.length - FEED_SHOWN} more`] : events;
        return [...said, ...shown, screen()].join('\n');
      } catch (error) {
        // A refused command changes nothing (the library's RaftErrors promise the same).
        if (error instanceof CommandError) return `error: ${error.message}`;
        if (error instanceof RaftError) return `error: ${verb}: ${error.message}`;
        throw error;
      } finally {
        events = [];
      }
    },
  };
}

/** The only argument of a verb, or a refusal naming what is missing or extra. */
function oneArg(verb: string, what: string, args: readonly string[]): string {
  const [arg] = args;
  if (arg === undefined) throw new CommandError(`${verb}: missing ${what}`);
  if (args.length > 1) throw new CommandError(`${verb}: expected only ${what}, got "${args.join(' ')}"`);
  return arg;
}

function noArgs(verb: string, args: readonly string[]): void {
  if (args.length > 0) throw new CommandError(`${verb}: takes no argument, got "${args.join(' ')}"`);
}

/**
 * One line for a request or a reply, e.g. `AppendEntries t2 prev=(2,t1) entries=[3:t2=c] commit=2`.
 * A RequestVote that is a poll reads `PreVote t5 last=(3,t2)`, one a leadership transfer
 * caused ends with `(transfer)`. A reply does not say what it answers: with `poll: true` a
 * `requestVoteReply` reads `PreVoteReply granted t4` (the voter's term).
 */
export function summarize(message: Message<string> | Reply, context: { readonly poll?: boolean } = {}): string {
  switch (message.type) {
    case 'requestVote': {
      const last = message.candidateLastLogEntry;
      const text = `${message.preVote === true ? 'PreVote' : 'RequestVote'} t${message.candidateTerm} last=(${last.index},t${last.term})`;
      return message.leadershipTransfer === true ? `${text} (transfer)` : text;
    }
    case 'appendEntries': {
      const prev = message.prevLogEntry;
      const entries = message.entries.length === 0 ? '[]' : `[${formatEntries(message.entries, ENTRIES_SHOWN)}]`;
      return `AppendEntries t${message.leaderTerm} prev=(${prev.index},t${prev.term}) entries=${entries} commit=${message.leaderCommitIndex}`;
    }
    case 'requestVoteReply':
      return `${context.poll === true ? 'PreVoteReply' : 'RequestVoteReply'} ${message.reply.voteGranted ? 'granted' : 'refused'} t${message.reply.voterTerm}`;
    case 'appendEntriesReply': {
      const { success, matchIndex, followerTerm } = message.reply;
      return `AppendEntriesReply ${success ? `ok match=${matchIndex}` : `rejected hint=${matchIndex}`} t${followerTerm}`;
    }
    case 'installSnapshot': {
      const last = message.lastIncluded;
      return `InstallSnapshot t${message.leaderTerm} last=(${last.index},t${last.term}) bytes ${message.offset}..${message.offset + message.data.length}${message.done ? ' done' : ''}`;
    }
    case 'installSnapshotReply': {
      const { success, bytesReceived, followerTerm } = message.reply;
      return `InstallSnapshotReply ${success ? 'ok' : 'refused'} received=${bytesReceived} t${followerTerm}`;
    }
    case 'timeoutNow':
      return `TimeoutNow t${message.leaderTerm} from ${message.leaderId}`;
    case 'timeoutNowReply':
      return `TimeoutNowReply t${message.reply.followerTerm}`;
  }
}

/**
 * Entries as `1:t1=a 2:t1=b`, a no-op as `3:t2(noop)`; more than `shown` become the first two,
 * `…(n more)`, and the last ones.
 */
function formatEntries(entries: readonly LogEntry<string>[], shown: number): string {
  const one = (e: LogEntry<string>): string => (e.kind === 'noop' ? `${e.index}:t${e.term}(noop)` : `${e.index}:t${e.term}=${formatValue(e.data)}`);
  if (entries.length <= shown) return entries.map(one).join(' ');
  const head = entries.slice(0, 2).map(one);
  const tail = entries.slice(entries.length - (shown - 2)).map(one);
  return [...head, `…(${entries.length - shown} more)`, ...tail].join(' ');
}

/** A value as is when it is a plain word, quoted otherwise; cut with `…` when long. */
function formatValue(value: string): string {
  const cut = value.length > VALUE_SHOWN ? `${value.slice(0, VALUE_SHOWN - 1)}…` : value;
  return /^[\w.@/+-]+…?$/.test(cut) ? cut : JSON.stringify(cut);
}

function formatPropose(result: ProposeResult): string {
  switch (result.type) {
    case 'appended':
      return `appended at index ${result.index} in term ${result.term}`;
    case 'forward':
      return `forward to ${result.leaderId}`;
    case 'delay':
      return 'delay';
  }
}

function formatTransfer(result: TransferResult): string {
  return result.type === 'started' ? 'started' : formatPropose(result);
}

/** A read's answer; `ready` with what the server's state machine holds then. */
function formatRead(result: ReadIndexResult, machine: StateMachine<string> | undefined): string {
  if (result.type !== 'ready') return formatPropose(result);
  const values = machine instanceof AppliedValues ? machine.values : undefined;
  if (values === undefined) return `ready at index ${result.index}`;
  const shown = values.length <= LOG_SHOWN ? values.map(formatValue) : ['…', ...values.slice(values.length - LOG_SHOWN).map(formatValue)];
  return `ready at index ${result.index} (applied: ${values.length === 0 ? 'nothing' : shown.join(' ')})`;
}

/** Groups as `{0,1} {2,3,4}`, then the servers alone, e.g. `{0,1} {2} (alone: 3, 4)`. */
function formatPartition(groups: readonly (readonly ServerId[])[], alone: readonly ServerId[]): string {
  const text = groups.map((group) => `{${group.join(',')}}`).join(' ');
  return alone.length === 0 ? text : `${text} (alone: ${alone.join(', ')})`;
}

/** A snapshot's last entry as `index:tterm`, `-` when there is none. */
function formatSnapshot(snapshot: Snapshot | undefined): string {
  return snapshot === undefined ? '-' : `${snapshot.lastIncluded.index}:t${snapshot.lastIncluded.term}`;
}

/** An integer as is, anything else with one decimal. */
function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** Rows padded into columns (the last column is not padded). */
function table(rows: readonly string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, k) => (widths[k] = Math.max(widths[k] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, k) => (k === row.length - 1 ? cell : cell.padEnd(widths[k] ?? 0))).join('  ').trimEnd());
}

/** Command-line options of {@link main}. */
export interface CommandLine {
  readonly servers: number;
  readonly seed: number;
  /** `--max-log-entries N`, when given. */
  readonly maxLogEntries?: number;
  /** `--trailing-log-entries N`, when given. */
  readonly trailingLogEntries?: number;
  /** `--max-chunk-bytes N`, when given. */
  readonly maxSnapshotChunkBytes?: number;
  /** `--pre-vote`, when given. */
  readonly preVote?: boolean;
  /** `--check-quorum`, when given. */
  readonly checkQuorum?: boolean;
  /** `--read-mode safe|lease`, when given. */
  readonly readMode?: 'safe' | 'lease';
  /** `--help` or `-h`: print {@link USAGE} and exit. */
  readonly help: boolean;
}

/** What `--help` prints. */
export const USAGE = [
  'usage: npm run explorer -- [--servers N] [--seed S] [--max-log-entries N] [--trailing-log-entries N] [--max-chunk-bytes N]',
  '                           [--pre-vote] [--check-quorum] [--read-mode safe|lease]',
  '       npx ts-node examples/explorer.ts [options]',
  '',
  'An interactive Raft cluster in manual delivery: nothing moves unless you say so. Type',
  'commands (help lists them), or pipe them in, one per line.',
  '',
  'options:',
  `  --servers N   number of servers, 1 to ${MAX_SERVERS} (default 3)`,
  '  --seed S      seed of the election jitter, an integer: same seed and commands, same session (default 1)',
  '  --max-log-entries N       servers compact on their own once their log holds more than N entries',
  '                            (default: only when told, with the compact command)',
  '  --trailing-log-entries N  entries kept before a snapshot\'s end (default: a tenth of --max-log-entries)',
  `  --max-chunk-bytes N       InstallSnapshot bytes per message (default ${DEFAULT_CHUNK_BYTES})`,
  '  --pre-vote                a server that times out polls the others before it raises its term',
  '  --check-quorum            leaders without a majority step down; servers that hear from a leader refuse votes',
  '  --read-mode safe|lease    how a leader confirms a read: a heartbeat round (safe, default) or its lease',
  '                            (lease needs --check-quorum)',
  '  -h, --help    print this help and exit',
].join('\n');

/**
 * Parses `--servers N`, `--seed S` (also `--servers=N`), the compaction bounds, the flags
 * `--pre-vote` and `--check-quorum`, `--read-mode safe|lease` and `--help` with `node:util`'s
 * `parseArgs`. A combination the cluster refuses (lease reads without `--check-quorum`)
 * passes here: {@link createExplorer} throws the library's ConfigurationError for it.
 * @throws {@link Error} with a message for the user (naming the option, ending with a hint
 * to `--help`) when an option is unknown, has no value or a bad one.
 */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  const { tokens } = parseArgs({
    args: [...argv],
    options: {
      servers: { type: 'string' },
      seed: { type: 'string' },
      'max-log-entries': { type: 'string' },
      'trailing-log-entries': { type: 'string' },
      'max-chunk-bytes': { type: 'string' },
      'pre-vote': { type: 'boolean' },
      'check-quorum': { type: 'boolean' },
      'read-mode': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const refuse = (message: string): Error => new Error(`${message}\nrun with --help for usage`);
  // The flags fill in ExplorerOptions (writable while parsing), plus --help.
  const values: { -readonly [K in keyof ExplorerOptions]: ExplorerOptions[K] } & { servers: number; seed: number; help: boolean } = { servers: 3, seed: 1, help: false };
  const bounds = { 'max-log-entries': 'maxLogEntries', 'trailing-log-entries': 'trailingLogEntries', 'max-chunk-bytes': 'maxSnapshotChunkBytes' } as const;
  for (const token of tokens) {
    if (token.kind === 'positional') throw refuse(`unexpected argument "${token.value}"`);
    if (token.kind !== 'option') continue;
    if (token.name === 'help' || token.name === 'pre-vote' || token.name === 'check-quorum') {
      if (token.value !== undefined) throw refuse(`${token.rawName} takes no value`);
      values[token.name === 'help' ? 'help' : token.name === 'pre-vote' ? 'preVote' : 'checkQuorum'] = true;
      continue;
    }
    if (token.name === 'read-mode') {
      if (token.value !== 'safe' && token.value !== 'lease') throw refuse(`--read-mode expects safe or lease, got ${token.value === undefined ? 'nothing' : `"${token.value}"`}`);
      values.readMode = token.value;
      continue;
    }
    if (token.name !== 'servers' && token.name !== 'seed' && !Object.prototype.hasOwnProperty.call(bounds, token.name)) throw refuse(`unknown option "${token.rawName}"`);
    const text = token.value;
    if (text === undefined || !/^-?\d+$/.test(text)) throw refuse(`${token.rawName} expects an integer, got ${text === undefined ? 'nothing' : `"${text}"`}`);
    const value = Number(text);
    if (token.name === 'servers' && (value < 1 || value > MAX_SERVERS)) throw refuse(`--servers must be from 1 to ${MAX_SERVERS}, got ${value}`);
    if (!Number.isSafeInteger(value)) throw refuse(`${token.rawName} is too large: ${text}`);
    if (token.name === 'servers' || token.name === 'seed') {
      values[token.name] = value;
      continue;
    }
    const least = token.name === 'trailing-log-entries' ? 0 : 1;
    if (value < least) throw refuse(`--${token.name} must be at least ${least}, got ${value}`);
    values[bounds[token.name as keyof typeof bounds]] = value;
  }
  return values;
}

/**
 * Runs the explorer on the process's stdin and stdout: reads one command per line, prints
 * each command's output, and returns at `quit` or at the end of the input. When stdin is
 * not a terminal the commands are echoed (`> command`) so that the output reads as a
 * transcript. With `--help`, prints {@link USAGE} and returns. Sets `process.exitCode` to 2 on
 * bad command-line options, after printing what is wrong.
 */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  let explorer: Explorer;
  let options: CommandLine;
  try {
    options = parseCommandLine(argv);
    if (options.help) {
      process.stdout.write(`${USAGE}\n`);
      return;
    }
    explorer = createExplorer(options);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
    return;
  }
  const interactive = process.stdin.isTTY === true;
  const out = (text: string): void => {
    if (text !== '') process.stdout.write(`${text}\n`);
  };
  const features = [options.preVote === true ? 'pre-vote' : '', options.checkQuorum === true ? 'check-quorum' : '', options.readMode === undefined ? '' : `${options.readMode} reads`].filter((f) => f !== '');
  out(`Raft explorer: ${explorer.cluster.clusterSize} servers, manual delivery${features.map((f) => `, ${f}`).join('')}. Type help for the commands.`);
  out(explorer.screen());
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout, terminal: interactive, prompt: '> ' });
  if (interactive) rl.prompt();
  for await (const line of rl) {
    if (!interactive) out(`\n> ${line}`);
    try {
      out(explorer.execute(line));
    } catch (error) {
      // Not a RaftError: a bug in the library or the explorer. Show it and carry on.
      out(`internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
    if (explorer.done) break;
    if (interactive) rl.prompt();
  }
  rl.close();
}

if (require.main === module) {
  void main();
}
