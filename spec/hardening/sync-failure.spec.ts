// Hardening: a store whose sync() throws.
//
// Contract: when `persistentState.sync()` throws during a call, the error propagates out
// of that call and no message or reply that depends on the unsynced writes leaves the
// server in that call. The unsynced state is not forgotten: the next call that hands
// anything out calls sync() again first. A leader never counts its own unsynced entries
// toward a majority.
//
// The store below tracks `dirty` (written since the last successful sync); every message
// and reply is checked to leave only while the store is clean.

import {
  InMemoryPersistentState,
  type AppendEntriesMessage,
  type AppendEntriesReply,
  type IPersistentState,
  type LogEntry,
  type LogIndex,
  type RequestVoteReply,
  type ServerId,
  type Term,
} from '../../lib';
import { ack, entriesFrom, Solo, type Data } from './helpers';

class SyncFailed extends Error {}

/** A wrapper around InMemoryPersistentState whose sync() counts calls and can be told to throw. */
class FlakyStore implements IPersistentState<Data> {
  readonly inner = new InMemoryPersistentState<Data>();
  /** While true, sync() throws (and makes nothing durable). */
  failing = false;
  syncCalls = 0;
  /** Written since the last successful sync. */
  dirty = false;

  get currentTerm(): Term {
    return this.inner.currentTerm;
  }
  get votedFor(): ServerId | undefined {
    return this.inner.votedFor;
  }
  get currentLogIndex(): LogIndex {
    return this.inner.currentLogIndex;
  }
  advanceToTerm(term: Term): void {
    this.inner.advanceToTerm(term);
    this.dirty = true;
  }
  incrementTerm(): void {
    this.inner.incrementTerm();
    this.dirty = true;
  }
  vote(candidate: ServerId): void {
    this.inner.vote(candidate);
    this.dirty = true;
  }
  getLogEntry(index: LogIndex): LogEntry<Data> | undefined {
    return this.inner.getLogEntry(index);
  }
  getLastLogEntry(): LogEntry<Data> | undefined {
    return this.inner.getLastLogEntry();
  }
  appendToLog(data: Data, term: Term): void {
    this.inner.appendToLog(data, term);
    this.dirty = true;
  }
  appendEntries(entries: readonly { data: Data; term: Term }[]): void {
    this.inner.appendEntries(entries);
    if (entries.length > 0) this.dirty = true;
  }
  truncateLog(finalIndex: LogIndex): void {
    this.inner.truncateLog(finalIndex);
    this.dirty = true;
  }
  sync(): void {
    this.syncCalls++;
    if (this.failing) throw new SyncFailed('sync failed: disk full');
    this.dirty = false;
  }
}

/** A server over a FlakyStore that records, for every message it sends, whether the store was dirty then. */
function serverOver(id: ServerId, clusterSize: number): { solo: Solo; store: FlakyStore; sentWhileDirty: string[] } {
  const store = new FlakyStore();
  const solo = new Solo(id, clusterSize, store, { electionTimeout: 1000, heartbeatTimeout: 50 });
  const sentWhileDirty: string[] = [];
  solo.onSend = (to, message) => {
    if (store.dirty) sentWhileDirty.push(`${message.type} to ${to}`);
  };
  return { solo, store, sentWhileDirty };
}

interface Answer<R> {
  reply: R;
  dirty: boolean;
  syncCalls: number;
}

function requestVote(solo: Solo, store: FlakyStore, answers: Answer<RequestVoteReply>[]): void {
  solo.server.processMessage({
    type: 'requestVote',
    candidateTerm: 1,
    candidateId: 0,
    candidateLastLogEntry: { index: 0, term: 0 },
    replyChannel: (reply) => void answers.push({ reply, dirty: store.dirty, syncCalls: store.syncCalls }),
  });
}

function appendTwo(solo: Solo, store: FlakyStore, answers: Answer<AppendEntriesReply>[]): void {
  solo.server.processMessage({
    type: 'appendEntries',
    leaderTerm: 1,
    leaderId: 0,
    prevLogEntry: { index: 0, term: 0 },
    entries: entriesFrom(1, [1, 1]),
    leaderCommitIndex: 0,
    replyChannel: (reply) => void answers.push({ reply, dirty: store.dirty, syncCalls: store.syncCalls }),
  });
}

describe('sync failure: a voter', () => {
  it('a RequestVote whose sync throws gets no reply, and the error propagates', () => {
    const { solo, store } = serverOver(1, 3);
    const answers: Answer<RequestVoteReply>[] = [];
    store.failing = true;
    expect(() => requestVote(solo, store, answers)).toThrow(SyncFailed);
    expect(answers).toEqual([]);
  });

  it('the same RequestVote delivered again calls sync() again before granting', () => {
    const { solo, store } = serverOver(1, 3);
    const answers: Answer<RequestVoteReply>[] = [];
    store.failing = true;
    expect(() => requestVote(solo, store, answers)).toThrow(SyncFailed);
    store.failing = false;
    const syncsBefore = store.syncCalls;
    requestVote(solo, store, answers);
    expect(answers).toHaveLength(1);
    const answer = answers[0] as Answer<RequestVoteReply>;
    expect(answer.reply.voteGranted).toBe(true);
    // The vote (and term) written during the failed call are made durable before the grant leaves.
    expect(answer.syncCalls).toBeGreaterThan(syncsBefore);
    expect(answer.dirty).toBe(false);
  });
});

describe('sync failure: a follower', () => {
  it('an AppendEntries whose sync throws gets no reply, and the error propagates', () => {
    const { solo, store } = serverOver(1, 3);
    const answers: Answer<AppendEntriesReply>[] = [];
    store.failing = true;
    expect(() => appendTwo(solo, store, answers)).toThrow(SyncFailed);
    expect(answers).toEqual([]);
  });

  it('the resent AppendEntries is acknowledged only after a successful sync', () => {
    const { solo, store } = serverOver(1, 3);
    const answers: Answer<AppendEntriesReply>[] = [];
    store.failing = true;
    expect(() => appendTwo(solo, store, answers)).toThrow(SyncFailed);
    store.failing = false;
    const syncsBefore = store.syncCalls;
    appendTwo(solo, store, answers); // the entries are already in the log: nothing new to write
    expect(answers).toHaveLength(1);
    const answer = answers[0] as Answer<AppendEntriesReply>;
    expect(answer.reply).toMatchObject({ success: true, matchIndex: 2 });
    expect(answer.syncCalls).toBeGreaterThan(syncsBefore);
    expect(answer.dirty).toBe(false);
  });
});

describe('sync failure: a candidate', () => {
  it('a candidate whose sync throws in triggerTimeout sends no RequestVote', () => {
    const { solo, store } = serverOver(0, 3);
    store.failing = true;
    expect(() => solo.server.triggerTimeout()).toThrow(SyncFailed);
    expect(solo.sent.filter(({ message }) => message.type === 'requestVote')).toEqual([]);
  });

  it('after the failed election sync, the next reply it hands out is preceded by a successful sync', () => {
    const { solo, store, sentWhileDirty } = serverOver(0, 3);
    store.failing = true;
    expect(() => solo.server.triggerTimeout()).toThrow(SyncFailed);
    const term = solo.server.currentTerm;
    store.failing = false;
    const syncsBefore = store.syncCalls;
    // Server 1 won this very term; its heartbeat writes nothing here, but the reply
    // (followerTerm = term) depends on the term and vote written by the failed call.
    const answers: Answer<AppendEntriesReply>[] = [];
    solo.server.processMessage({
      type: 'appendEntries',
      leaderTerm: term,
      leaderId: 1,
      prevLogEntry: { index: 0, term: 0 },
      entries: [],
      leaderCommitIndex: 0,
      replyChannel: (reply) => void answers.push({ reply, dirty: store.dirty, syncCalls: store.syncCalls }),
    });
    expect(answers).toHaveLength(1);
    expect((answers[0] as Answer<AppendEntriesReply>).syncCalls).toBeGreaterThan(syncsBefore);
    expect((answers[0] as Answer<AppendEntriesReply>).dirty).toBe(false);
    expect(sentWhileDirty).toEqual([]);
  });
});

describe('sync failure: a leader', () => {
  function loneLeader(): { solo: Solo; store: FlakyStore; committed: Array<{ entries: LogEntry<Data>[]; dirty: boolean }> } {
    const { solo, store } = serverOver(0, 1);
    solo.server.triggerTimeout();
    expect(solo.server.role).toBe('leader');
    const committed: Array<{ entries: LogEntry<Data>[]; dirty: boolean }> = [];
    solo.server.on('committed', (entries) => void committed.push({ entries: [...entries], dirty: store.dirty }));
    return { solo, store, committed };
  }

  it('1 server: a propose whose sync throws throws, commits nothing, and does not count its unsynced entry', () => {
    const { solo, store, committed } = loneLeader();
    store.failing = true;
    expect(() => solo.server.propose('x')).toThrow(SyncFailed);
    expect(committed).toEqual([]);
    expect(solo.server.volatileState.commitIndex).toBe(0);
  });

  it('1 server: the next successful heartbeat syncs, then commits the entry', () => {
    const { solo, store, committed } = loneLeader();
    store.failing = true;
    expect(() => solo.server.propose('x')).toThrow(SyncFailed);
    store.failing = false;
    const syncsBefore = store.syncCalls;
    solo.server.triggerHeartbeat();
    expect(store.syncCalls).toBeGreaterThan(syncsBefore);
    expect(solo.server.volatileState.commitIndex).toBe(1);
    expect(committed.map((c) => c.entries.map((e) => e.data))).toEqual([['x']]);
    expect(committed.every((c) => !c.dirty)).toBe(true);
  });

  it('1 server: the next successful tick syncs, then commits the entry', () => {
    const { solo, store, committed } = loneLeader();
    store.failing = true;
    expect(() => solo.server.propose('x')).toThrow(SyncFailed);
    store.failing = false;
    solo.now = solo.server.nextDeadline();
    solo.server.tick();
    expect(solo.server.volatileState.commitIndex).toBe(1);
    expect(committed.map((c) => c.entries.map((e) => e.data))).toEqual([['x']]);
    expect(store.dirty).toBe(false);
  });

  it('3 servers: a propose whose sync throws sends nothing; neither does a reply callback before a successful sync', () => {
    const { solo, store, sentWhileDirty } = serverOver(0, 3);
    solo.elect([1]);
    for (const { to, message } of solo.takeAppendEntries()) ack(to, message); // both followers match: streaming
    expect(solo.server.propose('a')).toMatchObject({ type: 'appended', index: 1 });
    const carryingA = solo.takeAppendEntries();
    expect(carryingA.map(({ to }) => to).sort()).toEqual([1, 2]);

    store.failing = true;
    expect(() => solo.server.propose('b')).toThrow(SyncFailed);
    expect(solo.take()).toEqual([]);

    // Follower 1 acknowledges 'a' while sync still fails: whatever the callback does, no
    // message carrying the unsynced 'b' may leave (if it tries to send one, it must throw).
    const toOne = carryingA.find(({ to }) => to === 1) as { to: ServerId; message: AppendEntriesMessage<Data> };
    try {
      ack(1, toOne.message);
    } catch (error) {
      expect(error).toBeInstanceOf(SyncFailed);
    }
    const carriesB = (sent: ReturnType<Solo['take']>): boolean =>
      sent.some(({ message }) => message.type === 'appendEntries' && message.entries.some((e) => e.data === 'b'));
    expect(carriesB(solo.take())).toBe(false);

    // Once sync works again, 'b' reaches both followers within a few heartbeats (each
    // follower answers truthfully: it holds entries up to `held[to]`, all of one term).
    store.failing = false;
    const held = new Map<ServerId, number>([[1, 1], [2, 0]]);
    const gotB = new Set<ServerId>();
    for (let round = 0; round < 5 && gotB.size < 2; round++) {
      solo.now += 50;
      solo.server.tick();
      for (let k = 0; k < 100 && solo.sent.length > 0; k++) {
        for (const { to, message } of solo.takeAppendEntries()) {
          const len = held.get(to) ?? 0;
          if (message.prevLogEntry.index > len) {
            message.replyChannel({ follower: to, followerTerm: message.leaderTerm, success: false, matchIndex: len });
            continue;
          }
          if (message.entries.some((e) => e.data === 'b')) gotB.add(to);
          held.set(to, Math.max(len, message.prevLogEntry.index + message.entries.length));
          ack(to, message);
        }
      }
    }
    expect([...gotB].sort()).toEqual([1, 2]);
    expect(sentWhileDirty).toEqual([]);
  });
});
