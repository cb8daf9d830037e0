import fc from 'fast-check';
import { InMemoryCluster, type Message, type Server } from '../../lib';
import { SafetyObserver, converged, electLeader, serverAt } from './helpers';

/**
 * Property-based runs over random fault schedules, with fixed fast-check seeds so every run
 * of the suite explores the same schedules. After every step the safety observer checks
 * Election Safety, State Machine Safety and Leader Completeness; at the end, once the faults
 * stop, the cluster must elect a leader and converge (liveness under a healed network).
 */

type ImmediateAction =
  | { kind: 'propose' }
  | { kind: 'advance'; ms: number }
  | { kind: 'crash'; id: number }
  | { kind: 'restart'; id: number }
  | { kind: 'disconnect'; id: number }
  | { kind: 'reconnect'; id: number }
  | { kind: 'partition'; split: number[] }
  | { kind: 'heal' }
  | { kind: 'timeout'; id: number };

const SIZE = 5;
const id = fc.integer({ min: 0, max: SIZE - 1 });
const immediateAction: fc.Arbitrary<ImmediateAction> = fc.oneof(
  { weight: 5, arbitrary: fc.constant<ImmediateAction>({ kind: 'propose' }) },
  { weight: 5, arbitrary: fc.integer({ min: 1, max: 400 }).map<ImmediateAction>((ms) => ({ kind: 'advance', ms })) },
  { weight: 1, arbitrary: id.map<ImmediateAction>((i) => ({ kind: 'crash', id: i })) },
  { weight: 1, arbitrary: id.map<ImmediateAction>((i) => ({ kind: 'restart', id: i })) },
  { weight: 1, arbitrary: id.map<ImmediateAction>((i) => ({ kind: 'disconnect', id: i })) },
  { weight: 1, arbitrary: id.map<ImmediateAction>((i) => ({ kind: 'reconnect', id: i })) },
  { weight: 1, arbitrary: fc.array(fc.integer({ min: 0, max: 1 }), { minLength: SIZE, maxLength: SIZE }).map<ImmediateAction>((split) => ({ kind: 'partition', split })) },
  { weight: 1, arbitrary: fc.constant<ImmediateAction>({ kind: 'heal' }) },
  { weight: 1, arbitrary: id.map<ImmediateAction>((i) => ({ kind: 'timeout', id: i })) },
);

describe('InMemoryCluster: random fault schedules keep Raft safe', () => {
  it("'immediate' delivery: crashes, restarts, disconnections and partitions", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.array(immediateAction, { minLength: 10, maxLength: 60, size: 'max' }), (seed, actions) => {
        const cluster = InMemoryCluster.make<number>(SIZE, { seed });
        const observer = new SafetyObserver(cluster);
        let next = 0;
        for (const action of actions) {
          switch (action.kind) {
            case 'propose':
              cluster.propose(next++);
              break;
            case 'advance':
              cluster.advance(action.ms);
              break;
            case 'crash':
              cluster.crash(action.id);
              break;
            case 'restart':
              observer.restart(action.id);
              break;
            case 'disconnect':
              cluster.disconnect(action.id);
              break;
            case 'reconnect':
              cluster.reconnect(action.id);
              break;
            case 'partition': {
              const groups = [0, 1].map((g) => action.split.flatMap((side, i) => (side === g ? [i] : [])));
              cluster.partition(...groups);
              break;
            }
            case 'heal':
              cluster.heal();
              break;
            case 'timeout':
              cluster.timeout(action.id);
              break;
          }
          observer.check();
        }
        // Faults stop: everything comes back; a leader is elected and every log converges.
        cluster.heal();
        for (let i = 0; i < SIZE; i++) {
          cluster.reconnect(i);
          if (!cluster.isRunning(i)) observer.restart(i);
        }
        // A leader appends no entry of its own, so older entries commit only with a proposal of
        // the current leader's term: keep proposing until every log has converged.
        let rounds = 0;
        while (!converged(cluster) && rounds++ < 40) {
          electLeader(cluster, 20_000);
          cluster.propose(next++);
          cluster.runUntil(() => converged(cluster), 500);
        }
        expect(converged(cluster)).toBe(true);
        observer.check();
      }),
      { seed: 20240601, numRuns: 150 },
    );
  });

  type ManualAction =
    | { kind: 'deliver'; pick: number }
    | { kind: 'drop'; pick: number }
    | { kind: 'flush' }
    | { kind: 'replayRequest'; pick: number }
    | { kind: 'replayReply'; pick: number }
    | { kind: 'advance'; ms: number }
    | { kind: 'timeout'; id: number }
    | { kind: 'heartbeat'; id: number }
    | { kind: 'propose' }
    | { kind: 'crash'; id: number }
    | { kind: 'restart'; id: number };

  function manualActions(size: number): fc.Arbitrary<ManualAction> {
    const sid = fc.integer({ min: 0, max: size - 1 });
    const pick = fc.nat({ max: 1_000 });
    return fc.oneof(
      { weight: 20, arbitrary: pick.map<ManualAction>((p) => ({ kind: 'deliver', pick: p })) },
      { weight: 3, arbitrary: pick.map<ManualAction>((p) => ({ kind: 'drop', pick: p })) },
      { weight: 2, arbitrary: fc.constant<ManualAction>({ kind: 'flush' }) },
      { weight: 2, arbitrary: pick.map<ManualAction>((p) => ({ kind: 'replayRequest', pick: p })) },
      { weight: 2, arbitrary: pick.map<ManualAction>((p) => ({ kind: 'replayReply', pick: p })) },
      { weight: 2, arbitrary: fc.integer({ min: 1, max: 300 }).map<ManualAction>((ms) => ({ kind: 'advance', ms })) },
      { weight: 2, arbitrary: sid.map<ManualAction>((i) => ({ kind: 'timeout', id: i })) },
      { weight: 2, arbitrary: sid.map<ManualAction>((i) => ({ kind: 'heartbeat', id: i })) },
      { weight: 4, arbitrary: fc.constant<ManualAction>({ kind: 'propose' }) },
      { weight: 1, arbitrary: sid.map<ManualAction>((i) => ({ kind: 'crash', id: i })) },
      { weight: 1, arbitrary: sid.map<ManualAction>((i) => ({ kind: 'restart', id: i })) },
    );
  }

  /**
   * Random delivery order, drops, timers, crashes and restarts; on top of the network, old
   * requests are delivered again (duplicated, arbitrarily late) and the replies to those
   * copies are handed back to the sender's own reply closure at a random later step.
   */
  it.each([3, 5])("'manual' delivery, %i servers: reordering, loss, duplication, timers and crashes", (size) => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.array(manualActions(size), { minLength: 20, maxLength: 200, size: 'max' }), (seed, actions) => {
        const cluster = InMemoryCluster.make<number>(size, { seed, delivery: 'manual' });
        const observer = new SafetyObserver(cluster);
        // Requests seen in the network, with the Server object that sent them.
        const seen: { sender: Server<number>; to: number; message: Message<number> }[] = [];
        const seenIds = new Set<number>();
        // Replies to replayed copies, waiting to be handed to the sender's closure.
        const pendingReplies: { sender: Server<number>; deliver: () => void }[] = [];
        const current = (server: Server<number>): boolean => cluster.servers[server.id] === server && cluster.isRunning(server.id);
        const record = (): void => {
          for (const server of cluster.servers) {
            for (const waiting of cluster.network.undelivered(server.id)) {
              if (seenIds.has(waiting.id) || !('replyChannel' in waiting.message)) continue;
              seenIds.add(waiting.id);
              seen.push({ sender: serverAt(cluster, waiting.from), to: server.id, message: waiting.message });
            }
          }
        };
        let next = 0;
        for (const action of actions) {
          switch (action.kind) {
            case 'deliver':
            case 'drop': {
              const waiting = cluster.servers.flatMap((s) => cluster.network.undelivered(s.id).map((m) => ({ to: s.id, id: m.id })));
              const chosen = waiting[action.pick % Math.max(1, waiting.length)];
              if (chosen === undefined) break;
              if (action.kind === 'deliver') cluster.network.deliver(chosen.to, chosen.id);
              else cluster.network.drop(chosen.to, chosen.id);
              break;
            }
            case 'flush': {
              // Everything waiting now, oldest first (what it causes stays waiting).
              const waiting = cluster.servers
                .flatMap((s) => cluster.network.undelivered(s.id).map((m) => ({ to: s.id, id: m.id })))
                .sort((a, b) => a.id - b.id);
              for (const { to, id } of waiting) {
                if (cluster.network.undelivered(to).some((m) => m.id === id)) cluster.network.deliver(to, id);
              }
              break;
            }
            case 'replayRequest': {
              const copy = seen[action.pick % Math.max(1, seen.length)];
              if (copy === undefined || !current(copy.sender) || !cluster.isRunning(copy.to)) break;
              const sender = copy.sender;
              const original = copy.message.replyChannel as (reply: unknown) => void;
              const replyChannel = (reply: unknown): void => {
                pendingReplies.push({ sender, deliver: () => original(reply) });
              };
              serverAt(cluster, copy.to).processMessage({ ...copy.message, replyChannel } as Message<number>);
              break;
            }
            case 'replayReply': {
              const index = action.pick % Math.max(1, pendingReplies.length);
              const pending = pendingReplies[index];
              if (pending === undefined) break;
              pendingReplies.splice(index, 1);
              if (current(pending.sender)) pending.deliver();
              break;
            }
            case 'advance':
              cluster.advance(action.ms);
              break;
            case 'timeout':
              cluster.timeout(action.id);
              break;
            case 'heartbeat':
              cluster.heartbeat(action.id);
              break;
            case 'propose':
              cluster.propose(next++);
              break;
            case 'crash':
              cluster.crash(action.id);
              break;
            case 'restart':
              observer.restart(action.id);
              break;
          }
          record();
          observer.check();
        }
      }),
      { seed: 777 + size, numRuns: 150 },
    );
  });
});
