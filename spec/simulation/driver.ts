/**
 * A small stand-in for `runSchedule` that runs a schedule on a cluster whose persistent
 * state is built by the caller, so a test can plant a faulty store (which `runSchedule`
 * cannot be given) and still have the simulator's own machinery find the fault: the same
 * `SafetyChecker`, `observeServer`, `checkCommitIndexes`, the same schedule steps with the
 * same meaning (a `pick` selects among the waiting messages, oldest first). It stops at the
 * first violation and does not check liveness.
 */
import {
  InMemoryCluster,
  SafetyChecker,
  checkCommitIndexes,
  logReader,
  observeServer,
  type IPersistentState,
  type MessageLimits,
  type Server,
  type ServerId,
  type SimulationEvent,
  type Violation,
} from '../../lib';

export interface DriveOptions<T> {
  readonly servers: number;
  /** Builds server `id`'s store, once; a restart reuses it. */
  readonly persistentState: (id: ServerId, checker: SafetyChecker<T>) => IPersistentState<T>;
  /** Called with the store of a server right after the cluster restarted it (the new Server object is built, not yet observed). */
  readonly onRestart?: (id: ServerId, state: IPersistentState<T>) => void;
  readonly value?: (n: number) => T;
  readonly limits?: MessageLimits;
}

export interface DriveResult<T> {
  readonly violation: Violation | undefined;
  readonly steps: number;
  readonly cluster: InMemoryCluster<T>;
  readonly checker: SafetyChecker<T>;
}

const QUIET_STEP_MS = 10;

/** Runs `schedule` on a fresh manual-delivery cluster seeded with `seed`. */
export function drive<T = string>(schedule: readonly SimulationEvent[], seed: number, options: DriveOptions<T>): DriveResult<T> {
  const checker = new SafetyChecker<T>();
  const value = options.value ?? ((n: number) => `v${n}` as unknown as T);
  const stores: IPersistentState<T>[] = [];
  const cluster = InMemoryCluster.make<T>(options.servers, {
    seed,
    delivery: 'manual',
    ...(options.limits ?? {}),
    persistentState: (id) => {
      const store = options.persistentState(id, checker);
      stores[id] = store;
      return store as IPersistentState<unknown>;
    },
  });
  cluster.servers.forEach((server) => observeServer(server, checker));
  const isolated = new Set<ServerId>();
  let steps = 0;

  const pickMessage = (pick: number) => {
    const waiting = cluster.network.allUndelivered();
    return waiting[Math.min(waiting.length - 1, Math.floor(pick * waiting.length))];
  };
  const restart = (id: ServerId): void => {
    cluster.restart(id);
    options.onRestart?.(id, stores[id] as IPersistentState<T>);
    const server = cluster.servers[id] as Server<T>;
    checker.restarted(id, logReader(server.persistentState));
    observeServer(server, checker);
  };
  const settle = (ms: number): void => {
    const end = cluster.now + ms;
    for (;;) {
      while (cluster.network.undeliveredCount > 0 && checker.violation === undefined) {
        const next = cluster.network.allUndelivered()[0];
        if (next === undefined) break;
        cluster.network.deliver(next.to, next.id);
        checkCommitIndexes(cluster, checker);
      }
      if (checker.violation !== undefined || cluster.now >= end) return;
      cluster.advance(Math.min(QUIET_STEP_MS, end - cluster.now));
      checkCommitIndexes(cluster, checker);
    }
  };

  for (const event of schedule) {
    switch (event.type) {
      case 'advance':
        cluster.advance(event.ms);
        break;
      case 'deliver':
      case 'drop':
      case 'duplicate': {
        const chosen = pickMessage(event.pick);
        if (chosen === undefined) break;
        if (event.type === 'deliver') cluster.network.deliver(chosen.to, chosen.id);
        else if (event.type === 'drop') cluster.network.drop(chosen.to, chosen.id);
        else cluster.network.duplicate(chosen.to, chosen.id);
        break;
      }
      case 'propose':
        cluster.propose(value(event.value));
        break;
      case 'timeout':
        cluster.timeout(event.server);
        break;
      case 'heartbeat':
        cluster.heartbeat(event.server);
        break;
      case 'crash':
        cluster.crash(event.server);
        break;
      case 'restart':
        restart(event.server);
        break;
      case 'partition':
        cluster.partition(...event.groups.map((group) => [...group]));
        break;
      case 'heal':
        cluster.heal();
        break;
      case 'isolateLeader': {
        const leader = cluster.leader();
        if (leader === undefined) break;
        cluster.disconnect(leader.id);
        isolated.add(leader.id);
        break;
      }
      case 'reconnectAll':
        isolated.forEach((id) => cluster.reconnect(id));
        isolated.clear();
        break;
      case 'cutLink':
        cluster.network.cutLink(event.from, event.to);
        break;
      case 'restoreLinks':
        cluster.network.restoreAllLinks();
        break;
      case 'quiet':
        settle(event.ms);
        break;
    }
    steps++;
    checkCommitIndexes(cluster, checker);
    if (checker.violation !== undefined) break;
  }
  return { violation: checker.violation, steps, cluster, checker };
}
