// Shared setup for the linearizable-read tests (SPEC Part 2, thesis §6.4: ReadIndex and
// leases). Virtual clocks and seeded randomness only (InMemoryCluster, the hardening Solo,
// the compaction helpers); nothing sleeps.

import type { AppendEntriesMessage, InMemoryCluster, LogEntry, ReadIndexResult, Server, ServerId } from '../../lib';
import type { Data, Solo } from '../hardening/helpers';

/** Every answer one read got (a read must get exactly one). */
export class Read {
  readonly results: ReadIndexResult[] = [];
  readonly onDone = (result: ReadIndexResult): void => void this.results.push(result);

  /** The one answer, or undefined while none came; throws when more than one came. */
  get result(): ReadIndexResult | undefined {
    if (this.results.length > 1) throw new Error(`read answered ${this.results.length} times: ${JSON.stringify(this.results)}`);
    return this.results[0];
  }

  get ready(): boolean {
    return this.result?.type === 'ready';
  }
}

/** Starts a read on `server` and returns its record. */
export function readOn(server: Server<Data>): Read {
  const read = new Read();
  server.readIndex(read.onDone);
  return read;
}

/** Counts, from now on, the heartbeats (empty AppendEntries) the network hands over, by sender. */
export function countHeartbeats(cluster: InMemoryCluster<Data>): { count: (from?: ServerId) => number; appendEntries: (from?: ServerId) => number; stop: () => void } {
  const heartbeats: ServerId[] = [];
  const appends: ServerId[] = [];
  const stop = cluster.network.tap(({ from, message }) => {
    if (message.type !== 'appendEntries') return;
    appends.push(from);
    if ((message as AppendEntriesMessage<Data>).entries.length === 0) heartbeats.push(from);
  });
  return {
    count: (from) => heartbeats.filter((s) => from === undefined || s === from).length,
    appendEntries: (from) => appends.filter((s) => from === undefined || s === from).length,
    stop,
  };
}

/** The indices of the no-ops in a server's log (1..currentLogIndex). */
export function noopIndices(server: Server<Data>): number[] {
  const out: number[] = [];
  const state = server.persistentState;
  for (let index = 1; index <= state.currentLogIndex; index++) {
    if ((state.getLogEntry(index) as LogEntry<Data> | undefined)?.kind === 'noop') out.push(index);
  }
  return out;
}

/** The entries of a server's log (1..currentLogIndex) with their kinds. */
export function fullLog(server: Server<Data>): Array<{ index: number; term: number; data: unknown; kind: string | undefined }> {
  const out: Array<{ index: number; term: number; data: unknown; kind: string | undefined }> = [];
  const state = server.persistentState;
  for (let index = 1; index <= state.currentLogIndex; index++) {
    const entry = state.getLogEntry(index) as LogEntry<Data>;
    out.push({ index: entry.index, term: entry.term, data: entry.data, kind: entry.kind });
  }
  return out;
}

/**
 * In manual delivery: advances the clock by 1 ms at a time and delivers everything that
 * waits, until `predicate()` holds (or `maxMs` passed).
 */
export function runManual(cluster: InMemoryCluster<Data>, predicate: () => boolean, maxMs = 10_000): boolean {
  for (let t = 0; t <= maxMs; t++) {
    for (let next = cluster.network.allUndelivered()[0]; next !== undefined; next = cluster.network.allUndelivered()[0]) cluster.network.deliver(next.to, next.id);
    if (predicate()) return true;
    cluster.advance(1);
  }
  return predicate();
}

/** Answers every AppendEntries `solo` sent to `followers` as followers with matching logs, until it sends none; keeps the rest. */
export function ackAll(solo: Solo, followers: readonly ServerId[]): void {
  for (let round = 0; round < 1000; round++) {
    const mine = solo.sent.filter((s) => followers.includes(s.to) && s.message.type === 'appendEntries');
    if (mine.length === 0) return;
    solo.sent.splice(0, solo.sent.length, ...solo.sent.filter((s) => !mine.includes(s)));
    for (const { to, message } of mine) {
      if (message.type !== 'appendEntries') continue;
      message.replyChannel({ follower: to, followerTerm: message.leaderTerm, success: true, matchIndex: message.prevLogEntry.index + message.entries.length });
    }
  }
  throw new Error('ackAll: too many rounds');
}
