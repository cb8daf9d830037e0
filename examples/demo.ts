/**
 * The main demo (`npm run demo`): a replicated key-value store on a 5-server in-memory
 * cluster. Each server runs the store as its {@link StateMachine}, with a log bounded to
 * 16 entries (`maxLogEntries`): past that, a server snapshots its store and drops the log
 * the snapshot covers. The demo elects a leader, applies 20 commands, crashes the leader,
 * elects another, applies 32 more, restarts the old leader (it restores its own snapshot,
 * then gets the new leader's, since the entries it misses were compacted away) and checks
 * that all five servers hold the same store. Everything runs on the cluster's virtual
 * clock with a fixed seed, so every run prints the same timeline.
 */
import { InMemoryCluster, type LogEntry, type Server, type ServerId, type StateMachine } from '../lib';

/** A command of the key-value store: the data proposed to the Raft log. */
export type Command = { readonly op: 'set'; readonly key: string; readonly value: string } | { readonly op: 'delete'; readonly key: string };

/** What the demo ends with: each server's store and whether they all agree. */
export interface DemoResult {
  /** Each server's store as a sorted list of `key=value`. */
  readonly stores: readonly string[][];
  /** Whether the five stores are equal. */
  readonly consistent: boolean;
  /** Terms in which a leader was elected, in order, with the leader's id. */
  readonly leaders: readonly { readonly term: number; readonly id: ServerId }[];
  /** The last index of each snapshot a server installed from a leader, in order. */
  readonly installedSnapshots: readonly { readonly id: ServerId; readonly index: number }[];
  /** The most entries any server's log held at the end. */
  readonly longestLog: number;
}

/** Applies one committed command to a store. */
export function apply(store: Map<string, string>, command: Command): void {
  if (command.op === 'set') store.set(command.key, command.value);
  else store.delete(command.key);
}

/** The key-value store as a Raft state machine: committed commands change it, snapshots are its JSON. */
export class KeyValueStore implements StateMachine<Command> {
  /** The store's contents. */
  map = new Map<string, string>();

  /** Applies one committed command. */
  apply(entry: LogEntry<Command>): void {
    apply(this.map, entry.data);
  }

  /** The whole store as JSON bytes. */
  takeSnapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify([...this.map]));
  }

  /** Replaces the store with the one in `data`. */
  restoreSnapshot(data: Uint8Array): void {
    this.map = new Map(JSON.parse(new TextDecoder().decode(data)) as [string, string][]);
  }
}

/** Runs the demo, printing its timeline through `print`; returns what it ended with. */
export function main(print: (line: string) => void = console.log): DemoResult {
  const SERVERS = 5;
  const MAX_LOG_ENTRIES = 16;
  const cluster = InMemoryCluster.make<Command>(SERVERS, { seed: 2026, stateMachine: () => new KeyValueStore(), maxLogEntries: MAX_LOG_ENTRIES });
  const leaders: { term: number; id: ServerId }[] = [];
  const installedSnapshots: { id: ServerId; index: number }[] = [];
  const at = (): string => `[t=${cluster.now.toFixed(1).padStart(7)} ms]`;
  const storeOf = (id: ServerId): Map<string, string> => (cluster.stateMachine(id) as KeyValueStore).map;

  const watch = (server: Server<Command>): void => {
    server.on('snapshotInstalled', (snapshot) => {
      const { index, term } = snapshot.lastIncluded;
      installedSnapshots.push({ id: server.id, index });
      print(`${at()} server ${server.id} installs the leader's snapshot: entries up to ${index} (term ${term}), ${snapshot.data.length} bytes, ${storeOf(server.id).size} keys`);
    });
    server.on('roleChange', (role, term) => {
      if (role === 'candidate') print(`${at()} server ${server.id} times out and stands for election in term ${term}`);
      if (role === 'leader') {
        leaders.push({ term, id: server.id });
        print(`${at()} server ${server.id} is LEADER of term ${term}`);
      }
    });
  };
  cluster.servers.forEach(watch);

  const showCommitted = (title: string): void => {
    print(`${at()} ${title}`);
    for (const server of cluster.servers) {
      const running = cluster.isRunning(server.id);
      const { commitIndex } = server.volatileState;
      const store = storeOf(server.id);
      const state = running ? `${server.role.padEnd(9)} term ${server.currentTerm}` : 'CRASHED           ';
      const log = server.persistentState;
      const held = `${log.firstLogIndex ?? 1}..${log.currentLogIndex}`;
      print(`    server ${server.id}: ${state}  snapshot ${String(server.snapshot.index).padStart(2)}  log ${held.padEnd(6)}  committed ${String(commitIndex).padStart(2)}  store {${summarise(store)}}`);
    }
  };

  const electLeader = (): Server<Command> => {
    if (!cluster.runUntil(() => cluster.leader() !== undefined, 10_000)) throw new Error('no leader elected within 10 s of virtual time');
    return cluster.leader() as Server<Command>;
  };

  const applyCommands = (commands: readonly Command[]): void => {
    let first = 0;
    let last = 0;
    let term = 0;
    for (const command of commands) {
      let result = cluster.propose(command);
      while (result.type !== 'appended') {
        electLeader();
        result = cluster.propose(command);
      }
      if (first === 0) first = result.index;
      last = result.index;
      term = result.term;
    }
    print(`${at()} proposed ${commands.length} commands to the leader: log indices ${first}..${last}, term ${term}`);
    const live = cluster.servers.filter((s) => cluster.isRunning(s.id));
    if (!cluster.runUntil(() => live.every((s) => s.volatileState.lastApplied >= last), 5_000)) throw new Error('commands not applied in time');
  };

  print(`A replicated key-value store on 5 in-memory Raft servers (virtual time, seed 2026), log bounded to ${MAX_LOG_ENTRIES} entries\n`);
  const first = electLeader();
  print('');
  applyCommands(fruitCommands(1, 20));
  showCommitted(`20 commands applied through leader ${first.id}:`);

  print(`\n${at()} CRASH of leader ${first.id}`);
  cluster.crash(first.id);
  const second = electLeader();
  applyCommands([...fruitCommands(21, 30), { op: 'delete', key: 'k03' }, { op: 'delete', key: 'k07' }]);
  showCommitted(`32 more commands applied through leader ${second.id} while server ${first.id} is down (each log compacted as it passes ${MAX_LOG_ENTRIES} entries):`);

  print(`\n${at()} RESTART of server ${first.id} (same persistent state, a new empty store)`);
  cluster.restart(first.id);
  const restarted = cluster.servers[first.id] as Server<Command>;
  print(`${at()} server ${first.id} restores its own snapshot (entries up to ${restarted.snapshot.index}): ${storeOf(first.id).size} keys; the leader has compacted the entries after it`);
  watch(restarted);
  const target = second.volatileState.commitIndex;
  cluster.runUntil(() => (cluster.servers[first.id] as Server<Command>).volatileState.lastApplied >= target, 5_000);
  showCommitted(`server ${first.id} has caught up:`);

  const rendered = cluster.servers.map((server) => [...storeOf(server.id)].map(([k, v]) => `${k}=${v}`).sort());
  const consistent = rendered.every((s) => JSON.stringify(s) === JSON.stringify(rendered[0]));
  print(`\nAll ${SERVERS} servers hold the same store (${rendered[0]?.length ?? 0} keys): ${consistent ? 'YES' : 'NO'}`);
  const longestLog = Math.max(...cluster.servers.map((s) => s.persistentState.currentLogIndex - (s.persistentState.firstLogIndex ?? 1) + 1));
  return { stores: rendered, consistent, leaders, installedSnapshots, longestLog };
}

function fruitCommands(from: number, count: number): Command[] {
  const fruit = ['apple', 'pear', 'plum', 'fig', 'kiwi', 'lime', 'date'];
  return Array.from({ length: count }, (_, k) => {
    const n = from + k;
    return { op: 'set', key: `k${String(n % 12).padStart(2, '0')}`, value: `${fruit[n % fruit.length] ?? 'fruit'}${n}` };
  });
}

function summarise(store: Map<string, string>): string {
  const keys = [...store.keys()].sort();
  const shown = keys.slice(0, 3).map((k) => `${k}=${store.get(k) ?? ''}`);
  return `${shown.join(', ')}${keys.length > 3 ? `, … ${keys.length} keys` : ''}`;
}

if (require.main === module) {
  const result = main();
  if (!result.consistent) process.exitCode = 1;
}
