// A cluster that uses none of compaction (SPEC Part 2 preamble): same messages, same log,
// first proposal at index 1, no InstallSnapshot.

import { InMemoryCluster, type AddressedMessage, type InMemoryClusterOptions, type Term } from '../../lib';
import { ListMachine, caughtUp, type Data } from './helpers';

/** A message as plain data: functions dropped, bytes as arrays. */
function plain(value: unknown): unknown {
  if (typeof value === 'function') return '<fn>';
  if (value instanceof Uint8Array) return Array.from(value);
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

function trace(options: InMemoryClusterOptions<Data>): { messages: unknown[]; logs: unknown[]; firstIndex: number; term: Term } {
  const cluster = InMemoryCluster.make<Data>(3, { seed: 11, ...options });
  const messages: unknown[] = [];
  cluster.network.tap((m: AddressedMessage<Data>) => void messages.push(plain(m)));
  cluster.runUntil(() => cluster.leader() !== undefined, 10_000);
  const first = cluster.propose('first');
  if (first.type !== 'appended') throw new Error('not appended');
  for (let k = 0; k < 40; k++) cluster.propose(`v${k}`);
  cluster.runUntil(() => caughtUp(cluster, [0, 1, 2]), 5_000);
  cluster.advance(500);
  cluster.disconnect(2);
  for (let k = 0; k < 40; k++) cluster.propose(`w${k}`);
  cluster.advance(500);
  cluster.reconnect(2);
  cluster.advance(2_000);
  const logs = cluster.servers.map((s) => {
    const entries = [];
    for (let i = 1; i <= s.persistentState.currentLogIndex; i++) entries.push(s.persistentState.getLogEntry(i));
    return entries;
  });
  return { messages, logs, firstIndex: first.index, term: first.term };
}

describe('a cluster that uses no compaction', () => {
  test('its first proposal has index 1 and no installSnapshot message is ever sent', () => {
    const run = trace({});
    expect(run.firstIndex).toBe(1);
    expect(run.messages.some((m) => (m as { message: { type: string } }).message.type === 'installSnapshot')).toBe(false);
    expect(run.messages.some((m) => (m as { message: { type: string } }).message.type === 'installSnapshotReply')).toBe(false);
    for (const log of run.logs) expect(log).toHaveLength(81);
  });

  test('a stateMachine factory alone (no maxLogEntries, no compact()) changes no message and no log', () => {
    const without = trace({});
    const withMachine = trace({ stateMachine: () => new ListMachine() });
    expect(withMachine.messages).toEqual(without.messages);
    expect(withMachine.logs).toEqual(without.logs);
  });

  test('maxSnapshotChunkBytes alone changes no message and no log', () => {
    expect(trace({ maxSnapshotChunkBytes: 8 })).toEqual(trace({}));
  });
});
