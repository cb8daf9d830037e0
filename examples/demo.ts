/**
 * The main demo (`npm run demo`): a replicated key-value store on a 5-server in-memory
 * cluster. It elects a leader, applies 20 commands, crashes the leader, elects another,
 * applies more, restarts the old leader and watches it catch up, then checks that all
 * five servers hold the same store. Everything runs on the cluster's virtual clock with
 * a fixed seed, so every run prints the same timeline.
 */
import { InMemoryCluster, type LogEntry, type Server, type ServerId } from '../lib';

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
}

/** Applies one committed command to a store. */
export function apply(store: Map<string, string>, command: Command): void {
  if (command.op === 'set') store.set(command.key, command.value);
  else store.delete(command.key);
}

/** Runs the demo, printing its timeline through `print`; returns what it ended with. */
export function main(print: (line: string) => void = console.log): DemoResult {
  const SERVERS = 5;
  const cluster = InMemoryCluster.make<Command>(SERVERS, { seed: 2026 });
  const stores: Map<string, string>[] = [];
  const leaders: { term: number; id: ServerId }[] = [];
  const at = (): string => `[t=${cluster.now.toFixed(1).padStart(7)} ms]`;

  const watch = (server: Server<Command>): void => {
    const store = new Map<string, string>();
    stores[server.id] = store;
    server.on('committed', (entries: readonly LogEntry<Command>[]) => entries.forEach((entry) => apply(store, entry.data)));
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
      const store = stores[server.id] as Map<string, string>;
      const state = running ? `${server.role.padEnd(9)} term ${server.currentTerm}` : 'CRASHED           ';
      print(`    server ${server.id}: ${state}  log ${String(server.persistentState.currentLogIndex).padStart(3)}  committed ${String(commitIndex).padStart(3)}  store {${summarise(store)}}`);
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

  print('A replicated key-value store on 5 in-memory Raft servers (virtual time, seed 2026)\n');
  const first = electLeader();
  print('');
  applyCommands(fruitCommands(1, 20));
  showCommitted(`20 commands applied through leader ${first.id}:`);

  print(`\n${at()} CRASH of leader ${first.id}`);
  cluster.crash(first.id);
  const second = electLeader();
  applyCommands([...fruitCommands(21, 10), { op: 'delete', key: 'k03' }, { op: 'delete', key: 'k07' }]);
  showCommitted(`12 more commands applied through leader ${second.id} while server ${first.id} is down:`);

  print(`\n${at()} RESTART of server ${first.id} (same persistent state, empty store)`);
  cluster.restart(first.id);
  watch(cluster.servers[first.id] as Server<Command>);
  const target = second.volatileState.commitIndex;
  cluster.runUntil(() => (cluster.servers[first.id] as Server<Command>).volatileState.lastApplied >= target, 5_000);
  showCommitted(`server ${first.id} has caught up:`);

  const rendered = stores.map((store) => [...store].map(([k, v]) => `${k}=${v}`).sort());
  const consistent = rendered.every((s) => JSON.stringify(s) === JSON.stringify(rendered[0]));
  print(`\nAll ${SERVERS} servers hold the same store (${rendered[0]?.length ?? 0} keys): ${consistent ? 'YES' : 'NO'}`);
  return { stores: rendered, consistent, leaders };
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
