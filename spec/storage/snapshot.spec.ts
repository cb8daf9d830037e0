/**
 * Snapshots in FilePersistentState (log compaction): the same semantics as
 * InMemoryPersistentState, durable across a reopen, compacted segments deleted, torn
 * snapshot writes falling back to the previous snapshot, damaged snapshot files refused.
 */
import { appendFileSync, cpSync, readdirSync, readFileSync, statSync, writeFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { CorruptStateError, FilePersistentState, InMemoryPersistentState, InvalidArgumentError, type IPersistentState, type LogEntry, type Snapshot } from '../../lib';
import { sealRecord, snapshotHeader } from '../../lib/storage/wal';
import { MachineSolo, type Data } from '../compaction/helpers';
import { crashImage, flipByte, records, removeTempDirs, segmentFiles, tempDir, thrown } from './helpers';

afterAll(removeTempDirs);

const SMALL = { maxSegmentBytes: 1024 };

/** Everything observable in a store that holds snapshots, as plain data. */
interface Observed {
  currentTerm: number;
  votedFor: number | undefined;
  currentLogIndex: number;
  firstLogIndex: number;
  snapshot: { index: number; term: number; data: number[] } | undefined;
  log: LogEntry<unknown>[];
  last: LogEntry<unknown> | undefined;
}

type Compacting<T> = IPersistentState<T> & { readonly firstLogIndex: number; getSnapshot(): Snapshot | undefined; saveSnapshot(snapshot: Snapshot, firstKept: number): void };

function observe<T>(state: Compacting<T>): Observed {
  const snapshot = state.getSnapshot();
  const log: LogEntry<unknown>[] = [];
  for (let index = state.firstLogIndex; index <= state.currentLogIndex; index++) {
    const entry = state.getLogEntry(index);
    if (entry === undefined) throw new Error(`no entry at ${index} (firstLogIndex ${state.firstLogIndex}, currentLogIndex ${state.currentLogIndex})`);
    log.push({ index: entry.index, term: entry.term, data: entry.data });
  }
  const last = state.getLastLogEntry();
  return {
    currentTerm: state.currentTerm,
    votedFor: state.votedFor,
    currentLogIndex: state.currentLogIndex,
    firstLogIndex: state.firstLogIndex,
    snapshot: snapshot === undefined ? undefined : { index: snapshot.lastIncluded.index, term: snapshot.lastIncluded.term, data: [...snapshot.data] },
    log,
    last: last === undefined ? undefined : { index: last.index, term: last.term, data: last.data },
  };
}

/** Applies the same calls to a file store and to the in-memory reference. */
class Twin {
  readonly model = new InMemoryPersistentState<string>();
  constructor(public store: FilePersistentState<string>) {}

  do(call: (state: Compacting<string>) => void): void {
    call(this.model);
    call(this.store);
  }

  /** Appends `count` entries of `term`, syncing the file store every 10 (so that its segments rotate). */
  append(count: number, term: number): void {
    for (let done = 0; done < count; done += 10) {
      const base = this.model.currentLogIndex;
      const entries = Array.from({ length: Math.min(10, count - done) }, (_, k) => ({ data: `e${base + k + 1}`, term }));
      this.do((state) => state.appendEntries?.(entries));
      if (done + 10 < count) this.store.sync();
    }
  }

  check(): void {
    expect(observe(this.store)).toEqual(observe(this.model));
  }

  reopen(options = SMALL): void {
    this.store.close();
    this.store = FilePersistentState.open<string>(this.store.directory, options);
    this.check();
  }
}

function data(text: string): Uint8Array {
  return Buffer.from(text, 'utf8');
}

function snapshotFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.startsWith('snapshot-'))
    .sort();
}

/** A store with `count` entries in terms 1, 2, 3 (a third each), term 3 and a vote, synced. */
function built(dir: string, count = 60, options = SMALL): Twin {
  const twin = new Twin(FilePersistentState.open<string>(dir, options));
  twin.do((state) => state.advanceToTerm(1));
  twin.append(Math.floor(count / 3), 1);
  twin.do((state) => state.advanceToTerm(2));
  twin.append(Math.floor(count / 3), 2);
  twin.do((state) => state.advanceToTerm(3));
  twin.do((state) => state.vote(2));
  twin.append(count - 2 * Math.floor(count / 3), 3);
  twin.store.sync();
  return twin;
}

describe('FilePersistentState snapshots: the semantics of InMemoryPersistentState, across reopens', () => {
  it('reopen after a compaction gives the same term, vote, log, snapshot and firstLogIndex; entries after the snapshot are kept', () => {
    const twin = built(tempDir('snap-reopen'));
    twin.do((state) => state.saveSnapshot({ lastIncluded: { index: 45, term: 3 }, data: data('state@45') }, 41));
    twin.check();
    expect(twin.store.firstLogIndex).toBe(41);
    expect(twin.store.currentLogIndex).toBe(60);
    twin.reopen();
    expect(twin.store.getLogEntry(40)).toBeUndefined();
    expect(twin.store.getLogEntry(41)).toEqual({ index: 41, term: 3, data: 'e41' });
    expect(twin.store.getLogEntries(1, 100).map((e) => e.index)).toEqual(Array.from({ length: 20 }, (_, k) => 41 + k));
    // the store goes on: appends, a truncation, a term and a vote, another compaction
    twin.append(5, 3);
    twin.do((state) => state.truncateLog(62));
    twin.do((state) => state.advanceToTerm(5));
    twin.do((state) => state.vote(1));
    twin.append(3, 5);
    twin.store.sync();
    twin.reopen();
    twin.do((state) => state.saveSnapshot({ lastIncluded: { index: 63, term: 5 }, data: data('state@63') }, 64));
    twin.check();
    twin.reopen();
    expect(twin.store.firstLogIndex).toBe(64);
    expect(twin.store.getSnapshot()?.lastIncluded).toEqual({ index: 63, term: 5 });
    twin.store.close();
  });

  it.each([
    ['firstKept = firstLogIndex (nothing dropped)', { index: 30, term: 2 }, 1],
    ['firstKept = lastIncluded.index + 1', { index: 30, term: 2 }, 31],
    ['the last entry, nothing kept', { index: 60, term: 3 }, 61],
    ['the last entry, some kept', { index: 60, term: 3 }, 55],
    ['beyond the log: the whole log dropped', { index: 70, term: 3 }, 1],
    ['an index the log holds with another term: the whole log dropped', { index: 30, term: 3 }, 10],
  ])('%s: same as InMemoryPersistentState, before and after reopen, and the next append goes on from it', (_name, lastIncluded, firstKept) => {
    const twin = built(tempDir('snap-cases'));
    twin.do((state) => state.saveSnapshot({ lastIncluded, data: data(`at ${lastIncluded.index}`) }, firstKept));
    twin.check();
    twin.reopen();
    twin.append(2, 4);
    twin.store.sync();
    twin.reopen();
    // truncateLog never below the snapshot's index, also after reopen
    expect(thrown(() => twin.store.truncateLog(lastIncluded.index - 1))).toBeInstanceOf(InvalidArgumentError);
    twin.do((state) => state.truncateLog(lastIncluded.index));
    twin.store.sync();
    twin.reopen();
    twin.store.close();
  });

  it('an append after a snapshot beyond the log needs a term >= the snapshot term (same refusal as the reference)', () => {
    const twin = built(tempDir('snap-term'));
    twin.do((state) => state.advanceToTerm(7));
    twin.do((state) => state.saveSnapshot({ lastIncluded: { index: 80, term: 7 }, data: data('x') }, 1));
    twin.reopen();
    expect(thrown(() => twin.model.appendToLog('late', 6))).toBeInstanceOf(InvalidArgumentError);
    expect(thrown(() => twin.store.appendToLog('late', 6))).toBeInstanceOf(InvalidArgumentError);
    twin.check();
    twin.store.close();
  });

  it('a Server built with a stateMachine over the reopened store restores the snapshot and goes on', () => {
    const dir = tempDir('snap-server');
    const store = FilePersistentState.open<Data>(dir, SMALL);
    const solo = new MachineSolo(0, 1, store);
    solo.elect([]);
    for (let k = 0; k < 30; k++) solo.server.propose(`item-${k}`);
    expect(solo.machine.items.length).toBe(30);
    const position = solo.server.compact();
    expect(store.getSnapshot()?.lastIncluded).toEqual(position);
    const items = [...solo.machine.items];
    const term = solo.server.currentTerm;
    store.close();

    const reopened = FilePersistentState.open<Data>(dir, SMALL);
    expect(reopened.getSnapshot()?.lastIncluded).toEqual(position);
    expect(reopened.getLogEntry(position.index)).toBeUndefined();
    const restarted = new MachineSolo(0, 1, reopened);
    expect(restarted.machine.restored.length).toBe(1);
    expect(restarted.machine.items).toEqual(items);
    expect(restarted.server.snapshot).toEqual(position);
    expect(restarted.server.volatileState.commitIndex).toBe(position.index);
    expect(restarted.server.volatileState.lastApplied).toBe(position.index);
    expect(restarted.server.currentTerm).toBe(term);
    restarted.elect([]);
    restarted.server.propose('after');
    expect(restarted.machine.items.slice(-1)).toEqual(['after']);
    reopened.close();
  });
});

describe('FilePersistentState snapshots: what is on disk', () => {
  it('deletes the segments a compaction covers and the previous snapshot file; reopening holds only the kept log', () => {
    const dir = tempDir('snap-delete');
    const twin = built(dir, 300);
    const before = segmentFiles(dir).length;
    expect(before).toBeGreaterThan(5);
    twin.do((state) => state.saveSnapshot({ lastIncluded: { index: 290, term: 3 }, data: data('a') }, 281));
    expect(segmentFiles(dir)).toEqual([`wal-${(before + 1).toString(16).padStart(8, '0')}.log`]);
    expect(snapshotFiles(dir)).toEqual([`snapshot-${(290).toString(16).padStart(16, '0')}.snap`]);
    twin.reopen();
    expect(twin.store.getLogEntry(1)).toBeUndefined();
    expect(twin.store.getLogEntry(280)).toBeUndefined();
    expect(twin.store.getLogEntries(1, 300).length).toBe(20);
    // the new segment holds the kept entries, not the history
    const segment = join(dir, segmentFiles(dir)[0] as string);
    expect(statSync(segment).size).toBeLessThan(1024);
    twin.append(100, 3);
    twin.store.sync();
    twin.do((state) => state.saveSnapshot({ lastIncluded: { index: 395, term: 3 }, data: data('b') }, 396));
    expect(segmentFiles(dir).length).toBe(1);
    expect(snapshotFiles(dir)).toEqual([`snapshot-${(395).toString(16).padStart(16, '0')}.snap`]);
    twin.reopen();
    expect(readdirSync(dir).sort()).toEqual(['FORMAT', 'LOCK', segmentFiles(dir)[0], snapshotFiles(dir)[0]].sort());
    twin.store.close();
  });

  it('buffered (unsynced) records written before the compaction are kept by it', () => {
    const dir = tempDir('snap-buffered');
    const twin = built(dir, 30);
    twin.append(5, 3); // not synced
    twin.do((state) => state.vote(4));
    twin.do((state) => state.saveSnapshot({ lastIncluded: { index: 32, term: 3 }, data: data('c') }, 30));
    const image = crashImage(dir, 'snap-buffered-image'); // what a kill right after saveSnapshot returned leaves
    twin.store.close();
    const recovered = FilePersistentState.open<string>(image, SMALL);
    expect(observe(recovered)).toEqual(observe(twin.model));
    recovered.close();
  });

  it('opens a version 2 store (written before compaction) and upgrades FORMAT at its first compaction', () => {
    const dir = tempDir('snap-v2');
    const twin = built(dir, 30);
    twin.store.close();
    writeFileSync(join(dir, 'FORMAT'), 'raft-ts write-ahead log, version 2\n');
    twin.store = FilePersistentState.open<string>(dir, SMALL);
    twin.check();
    expect(readFileSync(join(dir, 'FORMAT'), 'latin1')).toBe('raft-ts write-ahead log, version 2\n');
    twin.do((state) => state.saveSnapshot({ lastIncluded: { index: 20, term: 2 }, data: data('v2') }, 21));
    expect(readFileSync(join(dir, 'FORMAT'), 'latin1')).toBe('raft-ts write-ahead log, version 3\n');
    twin.reopen();
    twin.store.close();
  });
});

describe('FilePersistentState snapshots: a compaction torn by a crash falls back to the previous snapshot', () => {
  /** A store compacted once (snapshot at 20), then 20 more entries synced: the state a crash in the next compaction must fall back to. */
  function compactedOnce(label: string): { dir: string; twin: Twin; expected: Observed } {
    const dir = tempDir(label);
    const twin = built(dir, 60);
    twin.do((state) => state.saveSnapshot({ lastIncluded: { index: 20, term: 1 }, data: data('first') }, 16));
    twin.append(20, 3);
    twin.store.sync();
    return { dir, twin, expected: observe(twin.model) };
  }

  it('a temporary snapshot file left behind is deleted; the previous snapshot and the whole log are there', () => {
    const { dir, twin, expected } = compactedOnce('snap-torn-temp');
    const image = crashImage(dir, 'snap-torn-temp-image');
    twin.store.close();
    const temp = join(image, `snapshot-${(70).toString(16).padStart(16, '0')}.snap.tmp`);
    writeFileSync(temp, Buffer.concat([snapshotHeader(70, 3, data('second')), data('sec')])); // cut short
    const recovered = FilePersistentState.open<string>(image, SMALL);
    expect(observe(recovered)).toEqual(expected);
    expect(snapshotFiles(image)).toEqual([`snapshot-${(20).toString(16).padStart(16, '0')}.snap`]);
    recovered.close();
  });

  it('a complete snapshot file that no checkpoint names (crash before the new segment) is deleted', () => {
    const { dir, twin, expected } = compactedOnce('snap-torn-unreferenced');
    const image = crashImage(dir, 'snap-torn-unreferenced-image');
    twin.store.close();
    writeFileSync(join(image, `snapshot-${(70).toString(16).padStart(16, '0')}.snap`), Buffer.concat([snapshotHeader(70, 3, data('second')), data('second')]));
    const recovered = FilePersistentState.open<string>(image, SMALL);
    expect(observe(recovered)).toEqual(expected);
    expect(snapshotFiles(image)).toEqual([`snapshot-${(20).toString(16).padStart(16, '0')}.snap`]);
    recovered.close();
  });

  it('the new segment fsynced but the old one not sealed (crash before the commit point): the new segment is discarded', () => {
    const { dir, twin, expected } = compactedOnce('snap-torn-unsealed');
    const image = crashImage(dir, 'snap-torn-unsealed-image'); // synced: the files are as a crash right now leaves them
    const lastBefore = segmentFiles(dir).at(-1) as string;
    twin.do((state) => state.saveSnapshot({ lastIncluded: { index: 70, term: 3 }, data: data('second') }, 66));
    const [newSegment] = segmentFiles(dir);
    expect(newSegment! > lastBefore).toBe(true);
    // the image gets what the compaction wrote before its seal: the snapshot file and the new segment
    for (const name of [newSegment as string, ...snapshotFiles(dir)]) cpSync(join(dir, name), join(image, name));
    twin.store.close();
    const recovered = FilePersistentState.open<string>(image, SMALL);
    expect(observe(recovered)).toEqual(expected);
    expect(segmentFiles(image)).not.toContain(newSegment);
    expect(snapshotFiles(image)).toEqual([`snapshot-${(20).toString(16).padStart(16, '0')}.snap`]);
    // and it goes on: the next compaction and reopen work
    recovered.saveSnapshot({ lastIncluded: { index: 70, term: 3 }, data: data('again') }, 71);
    recovered.close();
    const again = FilePersistentState.open<string>(image, SMALL);
    expect(again.getSnapshot()?.lastIncluded).toEqual({ index: 70, term: 3 });
    expect(again.currentLogIndex).toBe(80);
    again.close();
  });

  it('sealed but the old segments not yet deleted (crash after the commit point): the new snapshot, leftovers deleted', () => {
    const { dir, twin } = compactedOnce('snap-torn-leftovers');
    const image = crashImage(dir, 'snap-torn-leftovers-image');
    const lastBefore = segmentFiles(dir).at(-1) as string;
    twin.do((state) => state.saveSnapshot({ lastIncluded: { index: 70, term: 3 }, data: data('second') }, 66));
    const expected = observe(twin.model);
    const [newSegment] = segmentFiles(dir);
    for (const name of [newSegment as string, ...snapshotFiles(dir)]) cpSync(join(dir, name), join(image, name));
    appendFileSync(join(image, lastBefore), sealRecord(parseInt((newSegment as string).slice(4, 12), 16)));
    twin.store.close();
    const recovered = FilePersistentState.open<string>(image, SMALL);
    expect(observe(recovered)).toEqual(expected);
    expect(segmentFiles(image)).toEqual([newSegment]);
    expect(snapshotFiles(image)).toEqual([`snapshot-${(70).toString(16).padStart(16, '0')}.snap`]);
    recovered.close();
  });
});

describe('FilePersistentState snapshots: a damaged snapshot file', () => {
  function damagedStore(label: string): { dir: string; file: string } {
    const dir = tempDir(label);
    const twin = built(dir, 30);
    twin.do((state) => state.saveSnapshot({ lastIncluded: { index: 25, term: 3 }, data: data('the state at 25, some bytes of it') }, 20));
    twin.store.close();
    return { dir, file: join(dir, `snapshot-${(25).toString(16).padStart(16, '0')}.snap`) };
  }

  it.each([
    ['a byte of its data', 45],
    ['a byte of its header (the term)', 17],
    ['its magic', 0],
  ])('a flipped byte (%s): CorruptStateError whose message names the file', (_name, offset) => {
    const { dir, file } = damagedStore('snap-damaged');
    flipByte(file, offset);
    const error = thrown(() => FilePersistentState.open<string>(dir, SMALL));
    expect(error).toBeInstanceOf(CorruptStateError);
    expect((error as CorruptStateError).file).toBe(file);
    expect((error as CorruptStateError).message).toContain(file);
    // nothing was deleted by the failed open: undo the damage and it opens
    flipByte(file, offset);
    const state = FilePersistentState.open<string>(dir, SMALL);
    expect(state.getSnapshot()?.lastIncluded).toEqual({ index: 25, term: 3 });
    state.close();
  });

  it.each([
    ['its checkpoint record', 0],
    ['a kept entry', 3],
  ])('a flipped byte in the segment a compaction wrote (%s): CorruptStateError naming the segment, at the record', (_name, record) => {
    const { dir } = damagedStore('snap-checkpoint-damaged');
    const segment = join(dir, segmentFiles(dir)[0] as string);
    const target = records(segment)[record] as { offset: number; kind: number };
    expect(target.kind).toBe(record === 0 ? 5 : 1);
    flipByte(segment, target.offset + 14);
    const error = thrown(() => FilePersistentState.open<string>(dir, SMALL)) as CorruptStateError;
    expect(error).toBeInstanceOf(CorruptStateError);
    expect([error.file, error.offset]).toEqual([segment, target.offset]);
  });

  it('cut short, or missing: CorruptStateError naming it', () => {
    const { dir, file } = damagedStore('snap-cut');
    writeFileSync(file, readFileSync(file).subarray(0, 50));
    expect((thrown(() => FilePersistentState.open<string>(dir, SMALL)) as CorruptStateError).file).toBe(file);
    unlinkSync(file);
    const error = thrown(() => FilePersistentState.open<string>(dir, SMALL));
    expect(error).toBeInstanceOf(CorruptStateError);
    expect((error as CorruptStateError).message).toContain(file);
  });
});

describe('FilePersistentState snapshots: bad arguments to saveSnapshot', () => {
  it.each([
    ['not an object', null, 1],
    ['index 0', { lastIncluded: { index: 0, term: 1 }, data: data('x') }, 1],
    ['term 0', { lastIncluded: { index: 5, term: 0 }, data: data('x') }, 1],
    ['a fractional index', { lastIncluded: { index: 5.5, term: 1 }, data: data('x') }, 1],
    ['data not a Uint8Array', { lastIncluded: { index: 25, term: 2 }, data: 'x' }, 1],
    ['not after the current snapshot', { lastIncluded: { index: 10, term: 1 }, data: data('x') }, 11],
    ['firstKept below firstLogIndex', { lastIncluded: { index: 18, term: 2 }, data: data('x') }, 5],
    ['firstKept past lastIncluded + 1', { lastIncluded: { index: 18, term: 2 }, data: data('x') }, 20],
    ['firstKept not an integer', { lastIncluded: { index: 18, term: 2 }, data: data('x') }, Number.NaN],
  ])('%s: InvalidArgumentError, nothing changed in memory, on disk, or after reopen', (_name, snapshot, firstKept) => {
    const dir = tempDir('snap-bad');
    const twin = built(dir, 30);
    twin.do((state) => state.saveSnapshot({ lastIncluded: { index: 15, term: 2 }, data: data('first') }, 11));
    twin.append(2, 3); // buffered: a refused call must not even flush it
    const files = readdirSync(dir)
      .sort()
      .map((name) => `${name}:${statSync(join(dir, name)).size}`);
    const syncs = twin.store.syncCount;
    const expected = observe(twin.model);
    expect(thrown(() => twin.model.saveSnapshot(snapshot as unknown as Snapshot, firstKept))).toBeInstanceOf(InvalidArgumentError);
    expect(thrown(() => twin.store.saveSnapshot(snapshot as unknown as Snapshot, firstKept))).toBeInstanceOf(InvalidArgumentError);
    expect(observe(twin.store)).toEqual(expected);
    expect(twin.store.syncCount).toBe(syncs);
    expect(
      readdirSync(dir)
        .sort()
        .map((name) => `${name}:${statSync(join(dir, name)).size}`),
    ).toEqual(files);
    twin.reopen();
    expect(observe(twin.store)).toEqual(expected);
    twin.store.close();
  });
});
