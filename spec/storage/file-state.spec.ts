/**
 * Unit tests of FilePersistentState: every IPersistentState method, each followed by
 * close() and a reopen that shows the effect persisted; bad arguments; sync and simulated
 * crashes; codecs; segment rotation; the directory lock; use after close; and a Server and
 * an InMemoryCluster running on it and restarting from disk.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  ConfigurationError,
  FilePersistentState,
  InMemoryCluster,
  InMemoryPersistentState,
  InvalidArgumentError,
  RaftError,
  Server,
  StorageError,
  type Codec,
  type LogEntry,
} from '../../lib';
import { crashImage, removeTempDirs, segmentFiles, snapshot, tempDir, thrown, utf8Codec, type StateSnapshot } from './helpers';

afterAll(removeTempDirs);

/** Closes `state` and opens its directory again with the same options. */
function reopen<T>(state: FilePersistentState<T>, options: Parameters<typeof FilePersistentState.open<T>>[1] = {}): FilePersistentState<T> {
  state.close();
  return FilePersistentState.open<T>(state.directory, options);
}

/** A store at term 4 that voted for 2, with log [1:t1 a, 2:t3 b, 3:t3 c], synced. */
function populated(label: string): FilePersistentState<string> {
  const state = FilePersistentState.open<string>(tempDir(label));
  state.advanceToTerm(3);
  state.appendToLog('a', 1);
  state.appendToLog('b', 3);
  state.appendToLog('c', 3);
  state.advanceToTerm(4);
  state.vote(2);
  state.sync();
  return state;
}

const open: FilePersistentState<unknown>[] = [];
/** Opens a store and remembers it, so that a failing test does not leave it locked. */
function track<T>(state: FilePersistentState<T>): FilePersistentState<T> {
  open.push(state as FilePersistentState<unknown>);
  return state;
}
afterEach(() => {
  for (const state of open.splice(0)) state.close();
});

describe('FilePersistentState: a fresh store', () => {
  it('creates the directory (and missing parents) and starts at term 0, no vote, empty log', () => {
    const dir = join(tempDir('fresh'), 'a', 'b', 'store');
    const state = track(FilePersistentState.open<string>(dir));
    expect(statSync(dir).isDirectory()).toBe(true);
    expect(state.directory).toBe(dir);
    expect(snapshot(state)).toEqual({ currentTerm: 0, votedFor: undefined, currentLogIndex: 0, last: undefined, log: [] });
    expect(readdirSync(dir).sort()).toEqual(['FORMAT', 'LOCK', 'wal-00000001.log']);
    const again = track(reopen(state));
    expect(snapshot(again)).toEqual({ currentTerm: 0, votedFor: undefined, currentLogIndex: 0, last: undefined, log: [] });
  });

  it('opens an existing empty directory as a new store', () => {
    const dir = tempDir('existing-empty');
    const state = track(FilePersistentState.open<string>(dir));
    expect(state.currentTerm).toBe(0);
    expect(segmentFiles(dir)).toEqual(['wal-00000001.log']);
  });

  it('refuses invalid options with ConfigurationError', () => {
    const dir = tempDir('options');
    expect(() => FilePersistentState.open('')).toThrow(ConfigurationError);
    expect(() => FilePersistentState.open(dir, { maxSegmentBytes: 1023 })).toThrow(ConfigurationError);
    expect(() => FilePersistentState.open(dir, { maxSegmentBytes: 4096.5 })).toThrow(ConfigurationError);
    expect(() => FilePersistentState.open(dir, { codec: { encode: 1 } as unknown as Codec<unknown> })).toThrow(ConfigurationError);
    // none of those left the directory locked
    track(FilePersistentState.open(dir)).close();
  });
});

describe('FilePersistentState: every method, then close() and reopen', () => {
  it('advanceToTerm moves to a later term and clears the vote', () => {
    let state = track(FilePersistentState.open<string>(tempDir('advance')));
    state.advanceToTerm(5);
    expect(state.currentTerm).toBe(5);
    state.vote(1);
    state.advanceToTerm(9);
    expect(state.currentTerm).toBe(9);
    expect(state.votedFor).toBeUndefined();
    state = track(reopen(state));
    expect(state.currentTerm).toBe(9);
    expect(state.votedFor).toBeUndefined();
    state.advanceToTerm(2 ** 40); // a large term is stored exactly
    state = track(reopen(state));
    expect(state.currentTerm).toBe(2 ** 40);
  });

  it('incrementTerm adds one and clears the vote', () => {
    let state = track(FilePersistentState.open<string>(tempDir('increment')));
    state.incrementTerm();
    expect(state.currentTerm).toBe(1);
    state.vote(0);
    state.incrementTerm();
    expect(state.currentTerm).toBe(2);
    expect(state.votedFor).toBeUndefined();
    state = track(reopen(state));
    expect(state.currentTerm).toBe(2);
    expect(state.votedFor).toBeUndefined();
    state.incrementTerm();
    state = track(reopen(state));
    expect(state.currentTerm).toBe(3);
  });

  it('vote records the vote of the current term', () => {
    let state = track(FilePersistentState.open<string>(tempDir('vote')));
    state.incrementTerm();
    state.vote(0);
    expect(state.votedFor).toBe(0);
    state = track(reopen(state));
    expect(state.currentTerm).toBe(1);
    expect(state.votedFor).toBe(0);
    state.advanceToTerm(4);
    state.vote(2);
    state.vote(2); // voting again for the same candidate is harmless
    state = track(reopen(state));
    expect([state.currentTerm, state.votedFor]).toEqual([4, 2]);
    state.vote(2 ** 31 - 1); // the largest id the format holds
    state = track(reopen(state));
    expect(state.votedFor).toBe(2 ** 31 - 1);
  });

  it('currentLogIndex follows appends and truncations', () => {
    let state = track(FilePersistentState.open<string>(tempDir('index')));
    expect(state.currentLogIndex).toBe(0);
    state.appendToLog('a', 1);
    state.appendEntries([{ data: 'b', term: 1 }, { data: 'c', term: 2 }]);
    expect(state.currentLogIndex).toBe(3);
    state = track(reopen(state));
    expect(state.currentLogIndex).toBe(3);
    state.truncateLog(1);
    expect(state.currentLogIndex).toBe(1);
    state = track(reopen(state));
    expect(state.currentLogIndex).toBe(1);
  });

  it('getLogEntry returns each entry with index, term and data, and undefined outside 1..currentLogIndex', () => {
    let state = track(FilePersistentState.open<string>(tempDir('get')));
    state.appendToLog('a', 1);
    state.appendToLog('b', 2);
    const check = (s: FilePersistentState<string>): void => {
      expect(s.getLogEntry(1)).toEqual({ index: 1, term: 1, data: 'a' });
      expect(s.getLogEntry(2)).toEqual({ index: 2, term: 2, data: 'b' });
      for (const outside of [0, -1, 3, 100]) expect(s.getLogEntry(outside)).toBeUndefined();
    };
    check(state);
    state = track(reopen(state));
    check(state);
  });

  it('getLastLogEntry is the last entry, undefined when the log is empty', () => {
    let state = track(FilePersistentState.open<string>(tempDir('last')));
    expect(state.getLastLogEntry()).toBeUndefined();
    state.appendToLog('a', 1);
    state.appendToLog('b', 1);
    state = track(reopen(state));
    expect(state.getLastLogEntry()).toEqual({ index: 2, term: 1, data: 'b' });
    state.truncateLog(0);
    state = track(reopen(state));
    expect(state.getLastLogEntry()).toBeUndefined();
  });

  it('getLogEntries returns the entries from..to that exist', () => {
    let state = track(FilePersistentState.open<string>(tempDir('range')));
    state.appendEntries(['a', 'b', 'c', 'd'].map((data, k) => ({ data, term: 1 + Math.floor(k / 2) })));
    const check = (s: FilePersistentState<string>): void => {
      expect(s.getLogEntries(2, 3)).toEqual([
        { index: 2, term: 1, data: 'b' },
        { index: 3, term: 2, data: 'c' },
      ]);
      expect(s.getLogEntries(0, 10).map((e) => e.data)).toEqual(['a', 'b', 'c', 'd']);
      expect(s.getLogEntries(5, 9)).toEqual([]);
      expect(s.getLogEntries(3, 2)).toEqual([]);
    };
    check(state);
    state = track(reopen(state));
    check(state);
  });

  it('appendToLog appends at currentLogIndex + 1 with the given term', () => {
    let state = track(FilePersistentState.open<string>(tempDir('append')));
    state.appendToLog('a', 1);
    state = track(reopen(state));
    state.appendToLog('b', 3);
    state.appendToLog('c', 3);
    state = track(reopen(state));
    expect(snapshot(state).log).toEqual([
      { index: 1, term: 1, data: 'a' },
      { index: 2, term: 3, data: 'b' },
      { index: 3, term: 3, data: 'c' },
    ]);
  });

  it('appendEntries appends a batch in order; an empty batch appends and writes nothing', () => {
    let state = track(FilePersistentState.open<string>(tempDir('batch')));
    state.appendEntries([
      { data: 'a', term: 1 },
      { data: 'b', term: 1 },
      { data: 'c', term: 2 },
    ]);
    state.sync();
    const syncs = state.syncCount;
    state.appendEntries([]);
    state.sync();
    expect(state.syncCount).toBe(syncs);
    // LogEntry objects with the right index already (as a Server passes them) are fine too
    state.appendEntries([{ index: 4, term: 2, data: 'd' } as LogEntry<string>]);
    state = track(reopen(state));
    expect(snapshot(state).log.map((e) => `${e.index}:${e.term}:${e.data}`)).toEqual(['1:1:a', '2:1:b', '3:2:c', '4:2:d']);
  });

  it('truncateLog keeps 1..finalIndex; a later append takes the next index; past the end it is a no-op', () => {
    let state = track(FilePersistentState.open<string>(tempDir('truncate')));
    state.appendEntries(['a', 'b', 'c', 'd', 'e'].map((data) => ({ data, term: 1 })));
    state.truncateLog(3);
    state = track(reopen(state));
    expect(snapshot(state).log.map((e) => e.data)).toEqual(['a', 'b', 'c']);
    state.truncateLog(3); // at the end: nothing changes
    state.truncateLog(10); // past the end: nothing changes
    state.appendToLog('x', 2);
    state.truncateLog(2);
    state.appendToLog('y', 3);
    state = track(reopen(state));
    expect(snapshot(state).log).toEqual([
      { index: 1, term: 1, data: 'a' },
      { index: 2, term: 1, data: 'b' },
      { index: 3, term: 3, data: 'y' },
    ]);
    state.truncateLog(0);
    state = track(reopen(state));
    expect(state.currentLogIndex).toBe(0);
    state.appendToLog('z', 3);
    state = track(reopen(state));
    expect(snapshot(state).log).toEqual([{ index: 1, term: 3, data: 'z' }]);
  });

  it('sync writes every buffered record (one fsynced batch) and is a no-op when nothing is buffered', () => {
    const state = track(FilePersistentState.open<string>(tempDir('sync')));
    const file = join(state.directory, 'wal-00000001.log');
    const emptySize = statSync(file).size;
    const before = state.syncCount;
    state.sync();
    expect(state.syncCount).toBe(before);
    state.incrementTerm();
    state.vote(1);
    state.appendToLog('a', 1);
    state.sync();
    expect(state.syncCount).toBe(before + 1);
    expect(statSync(file).size).toBeGreaterThan(emptySize);
    const sizeAfter = statSync(file).size;
    state.sync();
    expect(state.syncCount).toBe(before + 1);
    expect(statSync(file).size).toBe(sizeAfter);
  });

  it('a state reopened after many mixed calls equals an InMemoryPersistentState given the same calls', () => {
    let state = track(FilePersistentState.open<string>(tempDir('model')));
    const model = new InMemoryPersistentState<string>();
    let seed = 7;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let step = 0; step < 300; step++) {
      const r = random();
      const both = (call: (s: InMemoryPersistentState<string> | FilePersistentState<string>) => void): void => {
        call(model);
        call(state);
      };
      if (r < 0.1) both((s) => s.incrementTerm());
      else if (r < 0.15) {
        const term = model.currentTerm + 2;
        both((s) => s.advanceToTerm(term));
      }
      else if (r < 0.25) {
        const candidate = Math.floor(random() * 5);
        both((s) => s.vote(candidate));
      } else if (r < 0.35) {
        const index = Math.floor(random() * (model.currentLogIndex + 2));
        both((s) => s.truncateLog(index));
      } else if (model.currentTerm > 0) {
        const term = model.currentTerm;
        const count = 1 + Math.floor(random() * 4);
        const entries = Array.from({ length: count }, (_, k) => ({ data: `s${step}k${k}`, term }));
        if (r < 0.6) both((s) => s.appendToLog(`s${step}`, term));
        else both((s) => s.appendEntries(entries));
      }
      if (step % 37 === 0) state = track(reopen(state));
      else if (step % 5 === 0) state.sync();
    }
    state = track(reopen(state));
    expect(snapshot(state)).toEqual(snapshot(model));
  });
});

describe('FilePersistentState: bad arguments throw and change nothing, also after reopen', () => {
  type Call = (state: FilePersistentState<string>) => void;
  const cases: [string, Call][] = [
    ['advanceToTerm to a lower term', (s) => s.advanceToTerm(2)],
    ['advanceToTerm to the current term', (s) => s.advanceToTerm(4)],
    ['advanceToTerm to -1', (s) => s.advanceToTerm(-1)],
    ['advanceToTerm to a non-integer term', (s) => s.advanceToTerm(5.5)],
    ['advanceToTerm to NaN', (s) => s.advanceToTerm(Number.NaN)],
    ['advanceToTerm to Infinity', (s) => s.advanceToTerm(Number.POSITIVE_INFINITY)],
    ['advanceToTerm to 2^53 (not a safe integer)', (s) => s.advanceToTerm(2 ** 53)],
    ["advanceToTerm to '5' (a string)", (s) => s.advanceToTerm('5' as unknown as number)],
    ['vote(-1)', (s) => s.vote(-1)],
    ['vote(1.5)', (s) => s.vote(1.5)],
    ['vote(NaN)', (s) => s.vote(Number.NaN)],
    ['vote(2^31) (beyond the stored id range)', (s) => s.vote(2 ** 31)],
    ['truncateLog(-1)', (s) => s.truncateLog(-1)],
    ['truncateLog(1.5)', (s) => s.truncateLog(1.5)],
    ['truncateLog(NaN)', (s) => s.truncateLog(Number.NaN)],
    ['appendToLog with a term below the last entry', (s) => s.appendToLog('z', 2)],
    ['appendToLog with term 0', (s) => s.appendToLog('z', 0)],
    ['appendToLog with a non-integer term', (s) => s.appendToLog('z', 3.5)],
    ['appendToLog with a NaN term', (s) => s.appendToLog('z', Number.NaN)],
    ['appendEntries whose second entry goes back in term (nothing appended)', (s) => s.appendEntries([{ data: 'y', term: 4 }, { data: 'z', term: 3 }])],
    ['appendEntries whose first entry is below the last entry', (s) => s.appendEntries([{ data: 'y', term: 2 }])],
  ];

  it.each(cases)('%s: InvalidArgumentError', (_name, call) => {
    let state = track(populated('bad'));
    const before = snapshot(state);
    const error = thrown(() => call(state));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toBeInstanceOf(RaftError);
    expect(snapshot(state)).toEqual(before);
    state.sync();
    state = track(reopen(state));
    expect(snapshot(state)).toEqual(before);
  });

  it('data the codec cannot encode is refused and nothing is appended (appendToLog and appendEntries)', () => {
    let state = track(FilePersistentState.open<unknown>(tempDir('unencodable')));
    state.appendToLog('ok', 1);
    const before = snapshot(state);
    expect(() => state.appendToLog(10n, 1)).toThrow(); // JSON cannot encode a BigInt
    expect(() => state.appendEntries([{ data: 'fine', term: 1 }, { data: 10n, term: 1 }])).toThrow();
    expect(snapshot(state)).toEqual(before);
    state = track(reopen(state));
    expect(snapshot(state)).toEqual(before);
  });

  it('a codec whose encode does not return a Uint8Array is refused with InvalidArgumentError; nothing changes', () => {
    const dir = tempDir('bad-codec');
    const badCodec: Codec<string> = { encode: (text) => (text === 'bad' ? ('not bytes' as unknown as Uint8Array) : utf8Codec.encode(text)), decode: utf8Codec.decode };
    let state = track(FilePersistentState.open<string>(dir, { codec: badCodec }));
    state.appendToLog('good', 1);
    const before = snapshot(state);
    expect(() => state.appendToLog('bad', 1)).toThrow(InvalidArgumentError);
    expect(() => state.appendEntries([{ data: 'good2', term: 1 }, { data: 'bad', term: 1 }])).toThrow(InvalidArgumentError);
    expect(snapshot(state)).toEqual(before);
    state = track(reopen(state, { codec: badCodec }));
    expect(snapshot(state)).toEqual(before);
  });
});

describe('FilePersistentState: sync and simulated crashes', () => {
  it('after sync(), a crash image of the directory holds every earlier write', () => {
    const state = track(FilePersistentState.open<string>(tempDir('synced')));
    state.advanceToTerm(2);
    state.vote(1);
    state.appendEntries([{ data: 'a', term: 1 }, { data: 'b', term: 2 }]);
    state.truncateLog(1);
    state.appendToLog('c', 2);
    state.sync();
    const expected = snapshot(state);
    const recovered = track(FilePersistentState.open<string>(crashImage(state.directory)));
    expect(snapshot(recovered)).toEqual(expected);
  });

  it('writes not synced before a crash need not be there, but synced ones are, and nothing else appears', () => {
    const state = track(FilePersistentState.open<string>(tempDir('unsynced')));
    state.advanceToTerm(3);
    state.appendToLog('durable', 3);
    state.sync();
    // Every state the unsynced calls pass through, in order: a crash may keep any prefix of them.
    const allowed: StateSnapshot<string>[] = [snapshot(state)];
    state.vote(2);
    allowed.push(snapshot(state));
    state.appendToLog('maybe-1', 3);
    allowed.push(snapshot(state));
    state.truncateLog(0);
    allowed.push(snapshot(state));
    state.appendToLog('maybe-2', 3);
    allowed.push(snapshot(state));
    state.incrementTerm();
    allowed.push(snapshot(state));
    const recovered = track(FilePersistentState.open<string>(crashImage(state.directory)));
    const found = snapshot(recovered);
    expect(allowed).toContainEqual(found);
    expect(found.currentTerm).toBeGreaterThanOrEqual(3);
    recovered.close();
    // and once synced, all of them are in the next crash image
    state.sync();
    const again = track(FilePersistentState.open<string>(crashImage(state.directory)));
    expect(snapshot(again)).toEqual(allowed[allowed.length - 1]);
  });

  it('a crash image taken between syncs is a store that can itself be written and reopened', () => {
    const state = track(FilePersistentState.open<string>(tempDir('image-continues')));
    state.incrementTerm();
    state.appendToLog('a', 1);
    state.sync();
    state.appendToLog('unsynced', 1);
    let recovered = track(FilePersistentState.open<string>(crashImage(state.directory)));
    recovered.appendToLog('b', 1);
    recovered = track(reopen(recovered));
    expect(recovered.getLastLogEntry()).toEqual({ index: recovered.currentLogIndex, term: 1, data: 'b' });
    expect(recovered.getLogEntry(1)).toEqual({ index: 1, term: 1, data: 'a' });
  });
});

describe('FilePersistentState: codecs', () => {
  it('a custom UTF-8 string codec round-trips, and the file holds its bytes', () => {
    const texts = ['hello', '', 'héllo wörld ✓', '日本語のテキスト', '🚀 emoji', 'a\u0000b', 'x'.repeat(5000)];
    let state = track(FilePersistentState.open<string>(tempDir('utf8'), { codec: utf8Codec }));
    state.incrementTerm();
    texts.forEach((text) => state.appendToLog(text, 1));
    state = track(reopen(state, { codec: utf8Codec }));
    expect(snapshot(state).log.map((e) => e.data)).toEqual(texts);
    const bytes = readFileSync(join(state.directory, 'wal-00000001.log'));
    expect(bytes.includes(Buffer.from('日本語のテキスト', 'utf8'))).toBe(true);
    expect(bytes.includes(Buffer.from('"hello"', 'utf8'))).toBe(false); // not JSON
  });

  it('the codec is used both ways: a byte-reversing codec stores reversed bytes and reads back the original', () => {
    const reversing: Codec<string> = {
      encode: (text) => Uint8Array.from(Buffer.from(text, 'utf8')).reverse(),
      decode: (bytes) => Buffer.from(Uint8Array.from(bytes).reverse()).toString('utf8'),
    };
    let state = track(FilePersistentState.open<string>(tempDir('reverse'), { codec: reversing }));
    state.appendToLog('abcdef', 1);
    state = track(reopen(state, { codec: reversing }));
    expect(state.getLogEntry(1)?.data).toBe('abcdef');
    expect(readFileSync(join(state.directory, 'wal-00000001.log')).includes(Buffer.from('fedcba'))).toBe(true);
  });

  it('a codec that returns a view into a larger buffer stores only the view', () => {
    const viewing: Codec<string> = {
      encode: (text) => {
        const big = Buffer.from(`<<<<${text}>>>>`, 'utf8');
        return new Uint8Array(big.buffer, big.byteOffset + 4, big.length - 8);
      },
      decode: utf8Codec.decode,
    };
    let state = track(FilePersistentState.open<string>(tempDir('view'), { codec: viewing }));
    state.appendEntries([{ data: 'inner', term: 1 }, { data: 'second', term: 1 }]);
    state = track(reopen(state, { codec: utf8Codec }));
    expect(snapshot(state).log.map((e) => e.data)).toEqual(['inner', 'second']);
  });

  it('the default JSON codec round-trips objects, arrays, numbers, strings, booleans, null and undefined', () => {
    const values: unknown[] = [{ a: 1, b: [1, 'two', { c: null }] }, [], {}, 42, -3.25, 0, 1e300, 'text', '', true, false, null, undefined, { nested: { deep: [true, 1.5, 'x'] } }];
    let state = track(FilePersistentState.open<unknown>(tempDir('json')));
    state.appendEntries(values.map((data) => ({ data, term: 1 })));
    state = track(reopen(state));
    const log = snapshot(state).log;
    expect(log.map((e) => e.data)).toEqual(values);
    values.forEach((value, k) => {
      if (value === null) expect(log[k]?.data).toBeNull();
      if (value === undefined) {
        expect(log[k]).toHaveProperty('data');
        expect(log[k]?.data).toBeUndefined();
      }
    });
  });
});

describe('FilePersistentState: segment rotation', () => {
  const entryData = (k: number): string => `entry number ${k} ${'.'.repeat(k % 40)}`;

  it('a small maxSegmentBytes gives several consecutive wal-*.log files that reopen to the same log', () => {
    let state = track(FilePersistentState.open<string>(tempDir('rotate'), { maxSegmentBytes: 1024 }));
    state.incrementTerm();
    for (let k = 1; k <= 200; k++) {
      state.appendToLog(entryData(k), 1 + Math.floor(k / 50));
      if (k % 3 === 0) state.sync();
      if (k % 60 === 0) state.incrementTerm();
    }
    state.vote(1);
    const expected = snapshot(state);
    state = track(reopen(state, { maxSegmentBytes: 1024 }));
    const files = segmentFiles(state.directory);
    expect(files.length).toBeGreaterThanOrEqual(5);
    expect(files).toEqual(files.map((_, k) => `wal-${(k + 1).toString(16).padStart(8, '0')}.log`));
    for (const file of files.slice(0, -1)) expect(statSync(join(state.directory, file)).size).toBeGreaterThanOrEqual(1024);
    expect(snapshot(state)).toEqual(expected);
    // and with the default segment size too
    state = track(reopen(state));
    expect(snapshot(state)).toEqual(expected);
  });

  it('truncations that cross segments, and appends after them, survive reopening', () => {
    let state = track(FilePersistentState.open<string>(tempDir('rotate-truncate'), { maxSegmentBytes: 1024 }));
    const model = new InMemoryPersistentState<string>();
    const both = (call: (s: InMemoryPersistentState<string> | FilePersistentState<string>) => void): void => {
      call(model);
      call(state);
    };
    both((s) => s.incrementTerm());
    for (let k = 1; k <= 150; k++) {
      both((s) => s.appendToLog(entryData(k), 1));
      state.sync();
    }
    const segmentsBefore = segmentFiles(state.directory).length;
    expect(segmentsBefore).toBeGreaterThanOrEqual(4);
    both((s) => s.truncateLog(10)); // back into the first segment
    both((s) => s.incrementTerm());
    for (let k = 1; k <= 60; k++) {
      both((s) => s.appendToLog(`after-${k}`, 2));
      if (k % 7 === 0) state.sync();
    }
    state = track(reopen(state, { maxSegmentBytes: 1024 }));
    expect(snapshot(state)).toEqual(snapshot(model));
    both((s) => s.truncateLog(40)); // into a middle segment
    both((s) => s.appendEntries([{ data: 'x', term: 3 }, { data: 'y', term: 3 }]));
    state = track(reopen(state, { maxSegmentBytes: 1024 }));
    expect(snapshot(state)).toEqual(snapshot(model));
    expect(segmentFiles(state.directory).length).toBeGreaterThan(segmentsBefore);
  });
});

describe('FilePersistentState: the directory lock and close()', () => {
  it('a second open of an open directory throws StorageError with reason "locked" (in-process), also through another spelling of the path', () => {
    const dir = tempDir('locked');
    const state = track(FilePersistentState.open<string>(dir));
    for (const spelling of [dir, `${dir}/`, join(dir, '..', dir.split('/').pop() as string)]) {
      const error = thrown(() => FilePersistentState.open<string>(spelling));
      expect(error).toBeInstanceOf(StorageError);
      expect(error).toBeInstanceOf(RaftError);
      expect((error as StorageError).reason).toBe('locked');
      expect((error as StorageError).message).toContain(dir);
    }
    // the refused opens did not disturb the open store
    state.appendToLog('still works', 1);
    state.sync();
  });

  it('close() then open works, and close() twice is harmless', () => {
    const dir = tempDir('close-open');
    const state = FilePersistentState.open<string>(dir);
    state.appendToLog('a', 1);
    state.close();
    state.close();
    const again = track(FilePersistentState.open<string>(dir));
    expect(again.getLogEntry(1)?.data).toBe('a');
  });

  it('close() syncs buffered writes first', () => {
    const state = FilePersistentState.open<string>(tempDir('close-syncs'));
    state.incrementTerm();
    state.appendToLog('buffered', 1);
    const syncs = state.syncCount;
    state.close();
    expect(state.syncCount).toBe(syncs + 1);
    const again = track(FilePersistentState.open<string>(state.directory));
    expect(again.getLastLogEntry()?.data).toBe('buffered');
  });

  it('mutating methods and sync() after close throw StorageError with reason "closed" and change nothing on disk', () => {
    const state = populated('after-close');
    const before = snapshot(state);
    state.close();
    const calls: [string, () => void][] = [
      ['advanceToTerm', () => state.advanceToTerm(10)],
      ['incrementTerm', () => state.incrementTerm()],
      ['vote', () => state.vote(1)],
      ['appendToLog', () => state.appendToLog('x', 4)],
      ['appendEntries', () => state.appendEntries([{ data: 'x', term: 4 }])],
      ['truncateLog', () => state.truncateLog(0)],
      ['sync', () => state.sync()],
    ];
    for (const [name, call] of calls) {
      const error = thrown(call);
      expect([name, error instanceof StorageError]).toEqual([name, true]);
      expect([name, (error as StorageError).reason]).toEqual([name, 'closed']);
    }
    const again = track(FilePersistentState.open<string>(state.directory));
    expect(snapshot(again)).toEqual(before);
  });

  // close() is documented as "Further calls throw StorageError": reading a closed store
  // (whose directory another process may have opened and changed since) must not silently
  // answer from a stale copy.
  it('reading methods after close throw StorageError with reason "closed" too', () => {
    const state = populated('read-after-close');
    state.close();
    const calls: [string, () => unknown][] = [
      ['getLogEntry', () => state.getLogEntry(1)],
      ['getLastLogEntry', () => state.getLastLogEntry()],
      ['getLogEntries', () => state.getLogEntries(1, 3)],
    ];
    for (const [name, call] of calls) {
      let error: unknown;
      try {
        call();
      } catch (caught) {
        error = caught;
      }
      expect([name, error instanceof StorageError && error.reason]).toEqual([name, 'closed']);
    }
  });
});

describe('FilePersistentState under a Server and an InMemoryCluster', () => {
  it('a one-server Server keeps its term, vote and log across close, reopen and restart', () => {
    const dir = tempDir('server');
    let now = 0;
    let state = FilePersistentState.open<string>(dir);
    let server = new Server<string>({ id: 0, clusterSize: 1, persistentState: state, clock: () => now, random: () => 0.5, messageChannel: () => undefined });
    const committed: string[] = [];
    server.on('committed', (entries) => committed.push(...entries.map((e) => e.data)));
    server.triggerTimeout();
    expect(server.role).toBe('leader');
    expect(server.propose('a')).toEqual({ type: 'appended', index: 1, term: 1 });
    expect(server.propose('b')).toEqual({ type: 'appended', index: 2, term: 1 });
    expect(committed).toEqual(['a', 'b']);
    expect(state.syncCount).toBeGreaterThan(0);
    state.close();

    state = track(FilePersistentState.open<string>(dir));
    expect([state.currentTerm, state.votedFor, state.currentLogIndex]).toEqual([1, 0, 2]);
    now = 1000;
    server = new Server<string>({ id: 0, clusterSize: 1, persistentState: state, clock: () => now, random: () => 0.5, messageChannel: () => undefined });
    const recommitted: string[] = [];
    server.on('committed', (entries) => recommitted.push(...entries.map((e) => e.data)));
    expect(server.role).toBe('follower');
    expect(server.currentTerm).toBe(1);
    server.triggerTimeout();
    expect(server.currentTerm).toBe(2);
    server.propose('c');
    expect(recommitted).toEqual(['a', 'b', 'c']);
    state = track(reopen(state));
    expect(snapshot(state).log.map((e) => `${e.index}:${e.term}:${e.data}`)).toEqual(['1:1:a', '2:1:b', '3:2:c']);
    expect([state.currentTerm, state.votedFor]).toEqual([2, 0]);
  });

  it('an InMemoryCluster of three on FilePersistentState restarts from disk with terms, votes and logs, and commits new proposals', () => {
    const root = tempDir('cluster');
    const dirs = [0, 1, 2].map((id) => join(root, `server-${id}`));
    let stores = dirs.map((dir) => FilePersistentState.open<string>(dir));
    let cluster = InMemoryCluster.make<string>(3, { seed: 5, persistentState: (id) => stores[id] as FilePersistentState<string> });
    expect(cluster.runUntil(() => cluster.leader() !== undefined, 10_000)).toBe(true);
    for (let k = 1; k <= 20; k++) expect(cluster.propose(`first-${k}`).type).toBe('appended');
    expect(cluster.runUntil(() => [0, 1, 2].every((id) => cluster.committed(id).length === 20), 10_000)).toBe(true);
    const before = stores.map((store) => snapshot(store));
    const firstTerm = cluster.leader()?.currentTerm as number;
    stores.forEach((store) => store.close());

    stores = dirs.map((dir) => FilePersistentState.open<string>(dir));
    try {
      expect(stores.map((store) => snapshot(store))).toEqual(before);
      expect(before.every((s) => s.currentLogIndex === 20 && s.currentTerm === firstTerm)).toBe(true);
      expect(before.filter((s) => s.votedFor !== undefined).length).toBeGreaterThanOrEqual(2); // the leader's vote and at least one more
      cluster = InMemoryCluster.make<string>(3, { seed: 6, persistentState: (id) => stores[id] as FilePersistentState<string> });
      expect(cluster.servers.map((s) => s.currentTerm)).toEqual(before.map((s) => s.currentTerm));
      expect(cluster.runUntil(() => cluster.leader() !== undefined, 10_000)).toBe(true);
      expect(cluster.leader()?.currentTerm).toBeGreaterThan(firstTerm);
      for (let k = 1; k <= 10; k++) expect(cluster.propose(`second-${k}`).type).toBe('appended');
      expect(cluster.runUntil(() => [0, 1, 2].every((id) => cluster.committed(id).length === 30), 10_000)).toBe(true);
      const expectedData = [...Array.from({ length: 20 }, (_, k) => `first-${k + 1}`), ...Array.from({ length: 10 }, (_, k) => `second-${k + 1}`)];
      for (const id of [0, 1, 2]) expect(cluster.committed(id).map((e) => e.data)).toEqual(expectedData);
      const after = stores.map((store) => snapshot(store));
      stores.forEach((store) => store.close());
      stores = dirs.map((dir) => FilePersistentState.open<string>(dir));
      expect(stores.map((store) => snapshot(store))).toEqual(after);
      for (const s of after) expect(s.log.map((e) => e.data)).toEqual(expectedData);
    } finally {
      stores.forEach((store) => store.close());
    }
  });
});
