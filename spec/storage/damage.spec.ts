/**
 * Damage tests of FilePersistentState: each kind of damage to the files gives either a
 * torn-tail recovery (the records before a record torn at the very end of the log, and a
 * store that keeps working) or a clear error (CorruptStateError naming the file and the
 * byte offset, StorageError naming the path) — never a silently shorter log. A failed open
 * changes no file and leaves no lock behind.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CorruptStateError, FilePersistentState, RaftError, StorageError, type FilePersistentStateOptions } from '../../lib';
import { entryRecord, sealRecord, segmentHeader, stateRecord } from '../../lib/storage/wal';
import { REPO_ROOT, SEGMENT_HEADER_BYTES, exists, flipByte, records, removeTempDirs, segmentFiles, segmentName, snapshot, tempDir, thrown, utf8Codec, type StateSnapshot } from './helpers';

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  removeTempDirs();
});

/** Term 1, vote 1, then `count` entries (one record each, synced in groups of 8), closed. */
function buildStore(dir: string, count: number, options: FilePersistentStateOptions<string> = {}, data = (k: number): string => `entry-${k}`): StateSnapshot<string> {
  const state = FilePersistentState.open<string>(dir, options);
  state.incrementTerm();
  state.vote(1);
  state.sync();
  for (let k = 1; k <= count; k++) {
    state.appendToLog(data(k), 1);
    if (k % 8 === 0) state.sync();
  }
  state.sync();
  const result = snapshot(state);
  state.close();
  return result;
}

/** The bytes of every file in `dir`, by name. */
function contents(dir: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    result[name] = statSync(path).isFile() ? readFileSync(path).toString('base64') : '<dir>';
  }
  return result;
}

/**
 * Opens `dir`, which must fail with CorruptStateError; checks that the failed open changed
 * no file and left no LOCK behind, and returns the error.
 */
function expectCorrupt(dir: string, options: FilePersistentStateOptions<string> = {}): CorruptStateError {
  const before = contents(dir);
  const error = thrown(() => FilePersistentState.open<string>(dir, options));
  if (!(error instanceof CorruptStateError)) throw new Error(`expected CorruptStateError, got ${String(error)}`);
  expect(error).toBeInstanceOf(RaftError);
  expect(error.message).toContain(error.file);
  expect(error.message).toContain(`at byte ${error.offset}`);
  expect(contents(dir)).toEqual(before);
  expect(exists(join(dir, 'LOCK'))).toBe(false);
  return error;
}

/** Opens `dir`, checks its log is `expected`, then appends, syncs, reopens and checks the append is there. */
function expectRecoversTo(dir: string, expected: StateSnapshot<string>, options: FilePersistentStateOptions<string> = {}): void {
  let state = FilePersistentState.open<string>(dir, options);
  try {
    expect(snapshot(state)).toEqual(expected);
    state.appendToLog('after-recovery', Math.max(1, state.currentTerm));
    state.sync();
    state.close();
    state = FilePersistentState.open<string>(dir, options);
    const after = snapshot(state);
    expect(after.log.slice(0, -1)).toEqual(expected.log);
    expect(after.last).toEqual({ index: expected.currentLogIndex + 1, term: Math.max(1, expected.currentTerm), data: 'after-recovery' });
    expect([after.currentTerm, after.votedFor]).toEqual([expected.currentTerm, expected.votedFor]);
  } finally {
    state.close();
  }
}

/** `full` without its last `drop` entries. */
function withoutLast(full: StateSnapshot<string>, drop: number): StateSnapshot<string> {
  const log = full.log.slice(0, full.log.length - drop);
  return { ...full, log, currentLogIndex: log.length, last: log[log.length - 1] };
}

describe('a flipped byte in the middle of the log: CorruptStateError with the file and the offset of the damaged record', () => {
  // positions inside record 5 (an entry record): header length, header CRCs, kind, term, data
  const positions: [string, number][] = [
    ['its length field', 0],
    ['its body checksum', 5],
    ['its header checksum', 9],
    ['its kind byte', 12],
    ['its term', 15],
    ['its data', 23],
    ['its trailer byte', -1],
  ];
  it.each(positions)('a flipped byte in %s', (_name, delta) => {
    const dir = tempDir('flip-middle');
    const full = buildStore(dir, 10);
    const file = join(dir, segmentName(1));
    const target = records(file)[2 + 4] as { offset: number; length: number }; // after the two state records: entry 5
    const at = delta < 0 ? target.offset + target.length + delta : target.offset + delta;
    flipByte(file, at);
    const error = expectCorrupt(dir);
    expect(error.file).toBe(file);
    expect(error.offset).toBe(target.offset);
    // undo the damage: the whole log is back, nothing was cut off by the failed open
    flipByte(file, at);
    expectRecoversTo(dir, full);
  });

  it('a flipped byte in the first record of a segment that is not the last (rotation)', () => {
    const dir = tempDir('flip-rotated');
    buildStore(dir, 120, { maxSegmentBytes: 1024 });
    const files = segmentFiles(dir);
    expect(files.length).toBeGreaterThanOrEqual(3);
    const file = join(dir, files[1] as string);
    const target = records(file)[3] as { offset: number };
    flipByte(file, target.offset + 14);
    const error = expectCorrupt(dir, { maxSegmentBytes: 1024 });
    expect([error.file, error.offset]).toEqual([file, target.offset]);
  });

  it('damage to the last record of a segment that is not the last is not taken for a torn tail', () => {
    const dir = tempDir('flip-end-of-segment');
    buildStore(dir, 120, { maxSegmentBytes: 1024 });
    const file = join(dir, segmentFiles(dir)[0] as string);
    const last = records(file).at(-1) as { offset: number; length: number };
    flipByte(file, last.offset + last.length - 1);
    const error = expectCorrupt(dir, { maxSegmentBytes: 1024 });
    expect([error.file, error.offset]).toEqual([file, last.offset]);
  });

  it('a segment that is not the last, cut short mid-record, is corruption (not a torn tail)', () => {
    const dir = tempDir('cut-middle-segment');
    buildStore(dir, 120, { maxSegmentBytes: 1024 });
    const file = join(dir, segmentFiles(dir)[0] as string);
    const last = records(file).at(-1) as { offset: number; length: number };
    truncateSync(file, last.offset + 5);
    const error = expectCorrupt(dir, { maxSegmentBytes: 1024 });
    expect([error.file, error.offset]).toEqual([file, last.offset]);
  });

  it('a checksummed record that does not apply (an entry whose term goes back) is CorruptStateError at its offset', () => {
    const dir = tempDir('does-not-apply');
    const state = FilePersistentState.open<string>(dir);
    state.advanceToTerm(5);
    state.appendToLog('a', 5);
    state.close();
    const file = join(dir, segmentName(1));
    const offset = statSync(file).size;
    appendFileSync(file, entryRecord(3, Buffer.from('"b"')));
    appendFileSync(file, entryRecord(5, Buffer.from('"c"')));
    const error = expectCorrupt(dir);
    expect([error.file, error.offset]).toEqual([file, offset]);
    expect(error.message).toContain('does not apply');
  });

  it('a seal (the end-of-segment record) followed by another record is CorruptStateError at the seal', () => {
    const dir = tempDir('seal-not-last');
    buildStore(dir, 3);
    const file = join(dir, segmentName(1));
    const offset = statSync(file).size;
    appendFileSync(file, sealRecord(2));
    appendFileSync(file, entryRecord(1, Buffer.from('"after the seal"')));
    const error = expectCorrupt(dir);
    expect([error.file, error.offset]).toEqual([file, offset]);
  });

  it('a seal naming the wrong next segment is CorruptStateError at the seal', () => {
    const dir = tempDir('seal-wrong');
    buildStore(dir, 120, { maxSegmentBytes: 1024 });
    const file = join(dir, segmentName(1));
    const seal = records(file).at(-1) as { offset: number; kind: number };
    expect(seal.kind).toBe(4);
    const bytes = readFileSync(file);
    sealRecord(7).copy(bytes, seal.offset);
    writeFileSync(file, bytes);
    const error = expectCorrupt(dir, { maxSegmentBytes: 1024 });
    expect([error.file, error.offset]).toEqual([file, seal.offset]);
  });

  it('a checksummed state record whose term goes back is CorruptStateError at its offset', () => {
    const dir = tempDir('term-back');
    const state = FilePersistentState.open<string>(dir);
    state.advanceToTerm(5);
    state.close();
    const file = join(dir, segmentName(1));
    const offset = statSync(file).size;
    appendFileSync(file, stateRecord(4, 1));
    const error = expectCorrupt(dir);
    expect([error.file, error.offset]).toEqual([file, offset]);
  });

  it('entry bytes the codec cannot decode (a UTF-8 store opened with the JSON codec) are CorruptStateError at that record', () => {
    const dir = tempDir('undecodable');
    const state = FilePersistentState.open<string>(dir, { codec: utf8Codec });
    state.appendToLog('fine', 1);
    state.appendToLog('not json {', 1);
    state.close();
    const file = join(dir, segmentName(1));
    const error = expectCorrupt(dir); // default codec: JSON; "fine" is not JSON text
    expect([error.file, error.offset]).toEqual([file, (records(file)[0] as { offset: number }).offset]);
  });
});

describe('a flipped byte inside the LAST record (no zeroed sector): CorruptStateError, not a silent truncation', () => {
  const positions: [string, number][] = [
    ['its length field', 1],
    ['its body checksum', 4],
    ['its header checksum', 11],
    ['its kind byte', 12],
    ['its term', 19],
    ['its first data byte', 21],
    ['its trailer byte', -1],
  ];
  it.each(positions)('a flipped byte in %s', (_name, delta) => {
    const dir = tempDir('flip-last');
    const full = buildStore(dir, 6);
    const file = join(dir, segmentName(1));
    const last = records(file).at(-1) as { offset: number; length: number };
    const at = delta < 0 ? last.offset + last.length + delta : last.offset + delta;
    flipByte(file, at);
    const error = expectCorrupt(dir);
    expect([error.file, error.offset]).toEqual([file, last.offset]);
    flipByte(file, at);
    expectRecoversTo(dir, full);
  });

  it('a flipped last byte of the last record of a rotated log', () => {
    const dir = tempDir('flip-last-rotated');
    buildStore(dir, 120, { maxSegmentBytes: 1024 });
    const file = join(dir, segmentFiles(dir).at(-1) as string);
    const last = records(file).at(-1) as { offset: number; length: number };
    flipByte(file, last.offset + last.length - 1);
    const error = expectCorrupt(dir, { maxSegmentBytes: 1024 });
    expect([error.file, error.offset]).toEqual([file, last.offset]);
  });

  // A record whose own bytes legitimately end in zeros (a vote for server 0 ends with the
  // i32 0; a truncation to index 0 ends with the f64 0) and whose tail lies in a new
  // 512-byte sector looks, to the "unwritten sector" heuristic, like a torn write. A flipped
  // byte elsewhere in that synced record must still be reported, not cut off: cutting it
  // off silently drops an acknowledged vote (or truncation).
  const zeroTailed: [string, number, number, (state: FilePersistentState<string>) => void][] = [
    // name, padding of the entry before it, offset of the last record, the mutation
    ['a vote for server 0', 425, 491, (state) => state.vote(0)],
    ['a truncation to index 0', 429, 495, (state) => state.truncateLog(0)],
  ];
  it.each(zeroTailed)('a flipped kind byte in a last record that ends in zeros across a sector boundary (%s)', (_name, padding, offset, mutate) => {
    const dir = tempDir('flip-zero-tail');
    const state = FilePersistentState.open<string>(dir);
    state.incrementTerm(); // a state record: the file is 16 + (12 + 13 + 1) = 42 bytes
    state.sync();
    // one entry record of 12 + 9 + (padding + 2) + 1 bytes, so that the last record starts at
    // `offset` and its final data bytes (the vote's i32 0, or the index's f64 0) run past byte 512
    state.appendToLog('x'.repeat(padding), 1);
    state.sync();
    mutate(state);
    state.sync();
    state.close();
    const file = join(dir, segmentName(1));
    const last = records(file).at(-1) as { offset: number; length: number };
    expect(last.offset).toBe(offset);
    expect(last.offset + last.length).toBeGreaterThan(512);
    // the precondition of the case: the record's data from byte 512 on is zeros (then its trailer)
    expect(readFileSync(file).subarray(512, last.offset + last.length - 1).every((byte) => byte === 0)).toBe(true);
    // control: undamaged, the record is valid and reads back (its zeros are data, not a torn write)
    const control = FilePersistentState.open<string>(dir);
    const expected = snapshot(control);
    control.close();
    expect(expected.votedFor === 0 || expected.currentLogIndex === 0).toBe(true);
    flipByte(file, last.offset + 12);
    let outcome: string;
    try {
      const reopened = FilePersistentState.open<string>(dir);
      outcome = `opened silently without the damaged record: term ${reopened.currentTerm}, votedFor ${String(reopened.votedFor)}, ${reopened.currentLogIndex} entries`;
      reopened.close();
    } catch (error) {
      outcome = error instanceof CorruptStateError ? `CorruptStateError at byte ${error.offset}` : String(error);
    }
    expect(outcome).toBe(`CorruptStateError at byte ${offset}`);
  });
});

describe('the file cut mid-record at the end: a torn tail, recovered to the records before it', () => {
  it('cut at every byte inside the last record: the log without it, and the next append + sync + reopen works', () => {
    const dir = tempDir('cut-template');
    const full = buildStore(dir, 5);
    const file = join(dir, segmentName(1));
    const original = readFileSync(file);
    const last = records(file).at(-1) as { offset: number; length: number };
    expect(last.offset + last.length).toBe(original.length);
    const before = records(file).length;
    for (let cut = last.offset + 1; cut < original.length; cut++) {
      writeFileSync(file, original.subarray(0, cut));
      expectRecoversTo(dir, withoutLast(full, 1));
      // the torn bytes were cut off and the new record written in their place
      expect(readFileSync(file).subarray(0, last.offset).equals(original.subarray(0, last.offset))).toBe(true);
      expect(records(file).length).toBe(before);
    }
  });

  it('a batch written by one sync and cut in its middle keeps the whole records before the cut', () => {
    const dir = tempDir('cut-batch');
    const state = FilePersistentState.open<string>(dir);
    state.incrementTerm();
    state.appendEntries(Array.from({ length: 10 }, (_, k) => ({ data: `batch-${k + 1}`, term: 1 })));
    state.sync();
    const full = snapshot(state);
    state.close();
    const file = join(dir, segmentName(1));
    const entryRecords = records(file).filter((r) => r.kind === 1);
    const seventh = entryRecords[6] as { offset: number };
    truncateSync(file, seventh.offset + 17);
    expectRecoversTo(dir, withoutLast(full, 4));
  });

  it('a torn tail after rotation (the newest segment cut mid-record) keeps the earlier segments', () => {
    const dir = tempDir('cut-rotated');
    const full = buildStore(dir, 120, { maxSegmentBytes: 1024 });
    const file = join(dir, segmentFiles(dir).at(-1) as string);
    const last = records(file).at(-1) as { offset: number; length: number };
    truncateSync(file, last.offset + 3);
    expectRecoversTo(dir, withoutLast(full, 1), { maxSegmentBytes: 1024 });
  });

  it.each([0, 5, 15])('a newest segment torn inside its header (%i bytes: a crash while rotating) is recovered', (length) => {
    const dir = tempDir('cut-header');
    const full = buildStore(dir, 120, { maxSegmentBytes: 1024 });
    const next = segmentFiles(dir).length + 1;
    writeFileSync(join(dir, segmentName(next)), segmentHeader(next).subarray(0, length));
    expectRecoversTo(dir, full, { maxSegmentBytes: 1024 });
    // The full segment was never sealed (rotation creates the next segment first), so the
    // empty newest one is dropped and the log goes on in the segment before it.
    expect(segmentFiles(dir).length).toBe(next - 1);
  });
});

describe('a crash while sealing a full segment: the seal is not data, a torn one is a torn tail', () => {
  // Rotation creates segment N (header, fsync), then appends a seal record to the full segment
  // N - 1 (write, fdatasync), and only then writes the batch into N. A power cut during the
  // seal's write can leave it cut short or as unwritten (zero) sectors, with N holding only its
  // header. Nothing acknowledged is missing, so the store should open, not be refused for good.
  it.each([
    ['cut after 1 byte', 1, false],
    ['cut inside its header', 7, false],
    ['cut after its header', 12, false],
    ['cut before its trailer', 17, false],
    ['written as zeros (unwritten sectors)', 18, true],
  ])('a seal %s, the new segment empty', (_name, keep, zeros) => {
    const dir = tempDir('torn-seal');
    buildStore(dir, 120, { maxSegmentBytes: 1024 });
    const n = segmentFiles(dir).length;
    writeFileSync(join(dir, segmentName(n)), segmentHeader(n)); // the batch after the seal never written
    const previous = join(dir, segmentName(n - 1));
    const seal = records(previous).at(-1) as { offset: number; length: number; kind: number };
    expect(seal.kind).toBe(4);
    const intact = FilePersistentState.open<string>(dir, { maxSegmentBytes: 1024 });
    const expected = snapshot(intact);
    intact.close();
    if (zeros) {
      const bytes = readFileSync(previous);
      bytes.fill(0, seal.offset);
      writeFileSync(previous, bytes);
    } else {
      truncateSync(previous, seal.offset + keep);
    }
    let outcome: string;
    try {
      const state = FilePersistentState.open<string>(dir, { maxSegmentBytes: 1024 });
      outcome = `opened with ${state.currentLogIndex} entries`;
      state.close();
    } catch (error) {
      outcome = String(error);
    }
    expect(outcome).toBe(`opened with ${expected.currentLogIndex} entries`);
    expectRecoversTo(dir, expected, { maxSegmentBytes: 1024 });
  });
});

describe('trailing zeros after the last record: a torn tail', () => {
  it.each([1, 11, 12, 100, 4096])('%i zero bytes after the last record are cut off; nothing is lost', (zeros) => {
    const dir = tempDir('zeros');
    const full = buildStore(dir, 5);
    const file = join(dir, segmentName(1));
    const size = statSync(file).size;
    appendFileSync(file, Buffer.alloc(zeros));
    expectRecoversTo(dir, full);
    expect(records(file).length).toBe(2 + 5 + 1);
    expect(statSync(file).size).toBeGreaterThan(size); // the new record went right after the old ones
    expect(readFileSync(file).subarray(size).every((byte) => byte === 0)).toBe(false);
  });

  it('a last record whose final sectors were never written (zeros) is a torn tail', () => {
    const dir = tempDir('zero-sectors');
    const big = (k: number): string => (k === 4 ? 'y'.repeat(2000) : `entry-${k}`);
    const full = buildStore(dir, 4, {}, big);
    const file = join(dir, segmentName(1));
    const bytes = readFileSync(file);
    const last = records(file).at(-1) as { offset: number; length: number };
    const firstWholeSector = Math.ceil((last.offset + 100) / 512) * 512;
    bytes.fill(0, firstWholeSector);
    writeFileSync(file, bytes);
    expectRecoversTo(dir, withoutLast(full, 1));
  });
});

describe('a missing segment file: CorruptStateError naming it', () => {
  it('the only segment', () => {
    const dir = tempDir('missing-only');
    buildStore(dir, 5);
    unlinkSync(join(dir, segmentName(1)));
    const error = expectCorrupt(dir);
    expect(error.file).toBe(join(dir, segmentName(1)));
  });

  it('a middle segment (rotation)', () => {
    const dir = tempDir('missing-middle');
    buildStore(dir, 120, { maxSegmentBytes: 1024 });
    expect(segmentFiles(dir).length).toBeGreaterThanOrEqual(4);
    unlinkSync(join(dir, segmentName(2)));
    const error = expectCorrupt(dir, { maxSegmentBytes: 1024 });
    expect(error.file).toBe(join(dir, segmentName(2)));
  });

  it('the first segment (rotation)', () => {
    const dir = tempDir('missing-first');
    buildStore(dir, 120, { maxSegmentBytes: 1024 });
    unlinkSync(join(dir, segmentName(1)));
    const error = expectCorrupt(dir, { maxSegmentBytes: 1024 });
    expect(error.file).toBe(join(dir, segmentName(1)));
  });

  // Every entry of the newest segment was synced; without it the store opens with a shorter
  // log and nothing says so. (A full segment could record that a successor exists.)
  it('the last segment (rotation): not a silently shorter log', () => {
    const dir = tempDir('missing-last');
    const full = buildStore(dir, 120, { maxSegmentBytes: 1024 });
    const files = segmentFiles(dir);
    unlinkSync(join(dir, files.at(-1) as string));
    let outcome: string;
    try {
      const state = FilePersistentState.open<string>(dir, { maxSegmentBytes: 1024 });
      outcome = `opened silently with ${state.currentLogIndex} of ${full.currentLogIndex} entries`;
      state.close();
    } catch (error) {
      outcome = error instanceof CorruptStateError ? `CorruptStateError naming ${error.file}` : String(error);
    }
    expect(outcome).toBe(`CorruptStateError naming ${join(dir, files.at(-1) as string)}`);
  });
});

describe('the FORMAT file', () => {
  it('missing while segments hold records: CorruptStateError naming it', () => {
    const dir = tempDir('format-missing');
    buildStore(dir, 3);
    unlinkSync(join(dir, 'FORMAT'));
    const error = expectCorrupt(dir);
    expect(error.file).toBe(join(dir, 'FORMAT'));
  });

  it.each([
    ['another version', 'raft-ts write-ahead log, version 1\n'],
    ['a later version', 'raft-ts write-ahead log, version 4\n'],
    ['empty', ''],
    ['garbage', '\u0000\u0001garbage'],
    ['the right text without its newline', 'raft-ts write-ahead log, version 2'],
  ])('altered (%s): CorruptStateError naming it', (_name, text) => {
    const dir = tempDir('format-altered');
    buildStore(dir, 3);
    writeFileSync(join(dir, 'FORMAT'), text);
    const error = expectCorrupt(dir);
    expect(error.file).toBe(join(dir, 'FORMAT'));
  });

  // open() of a new directory writes segment 1 (header, fsync) and then FORMAT. A kill -9
  // between the two, or while FORMAT is being written, leaves one of these images; none of
  // them holds anything that was ever acknowledged, so the next open should simply start
  // the store afresh instead of refusing it for good.
  it.each([
    ['segment 1 created but empty, no FORMAT', 0, undefined],
    ['segment 1 with its header, no FORMAT', SEGMENT_HEADER_BYTES, undefined],
    ['segment 1 with its header, FORMAT created but empty', SEGMENT_HEADER_BYTES, ''],
  ])('a crash during the very first open (%s) leaves a store that opens empty', (_name, headerBytes, format) => {
    const template = tempDir('first-open-template');
    FilePersistentState.open<string>(template).close();
    const header = readFileSync(join(template, segmentName(1))).subarray(0, headerBytes);
    const dir = tempDir('first-open');
    writeFileSync(join(dir, segmentName(1)), header);
    if (format !== undefined) writeFileSync(join(dir, 'FORMAT'), format);
    writeFileSync(join(dir, 'LOCK'), '999999999\n'); // the killed process's lock
    let outcome: string;
    try {
      const state = FilePersistentState.open<string>(dir);
      outcome = `opened with term ${state.currentTerm} and ${state.currentLogIndex} entries`;
      state.close();
    } catch (error) {
      outcome = String(error);
    }
    expect(outcome).toBe('opened with term 0 and 0 entries');
    expectRecoversTo(dir, { currentTerm: 0, votedFor: undefined, currentLogIndex: 0, last: undefined, log: [] });
  });
});

describe('a garbage file in place of a segment: CorruptStateError at offset 0', () => {
  const garbage = (length: number, seed: number): Buffer => {
    const bytes = Buffer.alloc(length);
    let s = seed;
    for (let k = 0; k < length; k++) {
      s = (s * 1103515245 + 12345) >>> 0;
      bytes[k] = s >>> 24;
    }
    return bytes;
  };

  it.each([
    ['the only segment, 4 KiB of random bytes', 1, 4096],
    ['the only segment, 40 random bytes', 1, 40],
  ])('%s', (_name, sequence, length) => {
    const dir = tempDir('garbage-only');
    buildStore(dir, 5);
    const file = join(dir, segmentName(sequence));
    writeFileSync(file, garbage(length, 42));
    const error = expectCorrupt(dir);
    expect([error.file, error.offset]).toEqual([file, 0]);
  });

  it.each([
    ['a middle segment', 2],
    ['the first segment', 1],
    ['the last segment', -1],
  ])('%s of a rotated log', (_name, which) => {
    const dir = tempDir('garbage-rotated');
    buildStore(dir, 120, { maxSegmentBytes: 1024 });
    const files = segmentFiles(dir);
    const file = join(dir, which === -1 ? (files.at(-1) as string) : segmentName(which));
    writeFileSync(file, garbage(1500, which + 7));
    const error = expectCorrupt(dir, { maxSegmentBytes: 1024 });
    expect([error.file, error.offset]).toEqual([file, 0]);
  });

  it('a valid segment of another sequence number in its place (a renamed or copied file)', () => {
    const dir = tempDir('wrong-sequence');
    buildStore(dir, 120, { maxSegmentBytes: 1024 });
    writeFileSync(join(dir, segmentName(2)), readFileSync(join(dir, segmentName(3))));
    const error = expectCorrupt(dir, { maxSegmentBytes: 1024 });
    expect([error.file, error.offset]).toEqual([join(dir, segmentName(2)), 0]);
  });
});

describe('an unusable directory: StorageError with reason "io" and the path in the message', () => {
  /** Whether this process can write into a directory it made read-only (root can: permissions do not apply). */
  function permissionsBypassed(): boolean {
    const dir = tempDir('probe');
    chmodSync(dir, 0o500);
    try {
      writeFileSync(join(dir, 'probe'), 'x');
      return true;
    } catch {
      return false;
    } finally {
      chmodSync(dir, 0o700);
    }
  }
  const bypassed = permissionsBypassed();
  // As root (as in CI containers), chmod 0o500 does not stop writes, so the read-only cases
  // cannot fail the way they would for a normal user: they are skipped there, and the ENOTDIR
  // cases below test the same error path (an I/O failure turned into StorageError 'io').
  const itWithPermissions = bypassed ? it.skip : it;

  const expectIo = (call: () => unknown, path: string): StorageError => {
    const error = thrown(call);
    if (!(error instanceof StorageError)) throw new Error(`expected StorageError, got ${String(error)}`);
    expect(error.reason).toBe('io');
    expect(error.message).toContain(path);
    return error;
  };

  itWithPermissions('a fresh read-only directory (chmod 0o500)', () => {
    const dir = tempDir('readonly-fresh');
    chmodSync(dir, 0o500);
    expectIo(() => FilePersistentState.open(dir), dir);
  });

  itWithPermissions('an existing store in a read-only directory (chmod 0o500)', () => {
    const dir = tempDir('readonly-existing');
    buildStore(dir, 3);
    chmodSync(dir, 0o500);
    expectIo(() => FilePersistentState.open(dir), dir);
    chmodSync(dir, 0o700);
    const state = FilePersistentState.open<string>(dir); // left usable
    expect(state.currentLogIndex).toBe(3);
    state.close();
  });

  it('a store path whose parent is a regular file (ENOTDIR)', () => {
    const parent = join(tempDir('enotdir'), 'plain-file');
    writeFileSync(parent, 'not a directory');
    const path = join(parent, 'store');
    const error = expectIo(() => FilePersistentState.open(path), path);
    expect(error.path).toBe(path);
    expect((error as { cause?: { code?: string } }).cause?.code).toBe('ENOTDIR');
  });

  it('a store path that is itself a regular file', () => {
    const path = join(tempDir('is-file'), 'store');
    writeFileSync(path, 'not a directory');
    expectIo(() => FilePersistentState.open(path), path);
  });

  it('a segment that is a directory (EISDIR)', () => {
    const dir = tempDir('eisdir');
    buildStore(dir, 120, { maxSegmentBytes: 1024 });
    const file = join(dir, segmentName(segmentFiles(dir).length + 1));
    mkdirSync(file);
    expectIo(() => FilePersistentState.open(dir, { maxSegmentBytes: 1024 }), file);
    expect(exists(join(dir, 'LOCK'))).toBe(false);
  });
});

describe('the LOCK file', () => {
  /** The pid of a process that has exited. */
  function deadPid(): number {
    const result = spawnSync(process.execPath, ['-e', '0']);
    if (typeof result.pid !== 'number' || result.status !== 0) throw new Error('could not run node -e 0');
    return result.pid;
  }

  it('a LOCK left by a dead pid is taken over', () => {
    const dir = tempDir('lock-dead');
    const full = buildStore(dir, 3);
    const pid = deadPid();
    writeFileSync(join(dir, 'LOCK'), `${pid}\n`);
    const state = FilePersistentState.open<string>(dir);
    expect(snapshot(state)).toEqual(full);
    // the earlier version's LOCK file became this version's lock: a directory naming this process
    expect(readdirSync(join(dir, 'LOCK'))).toEqual([expect.stringMatching(new RegExp(`^owner\\.${process.pid}\\.`))]);
    state.close();
    expect(exists(join(dir, 'LOCK'))).toBe(false);
  });

  it('a LOCK torn by a crash (empty, or not a pid) is taken over', () => {
    for (const text of ['', 'garbage', '\u0000\u0000']) {
      const dir = tempDir('lock-torn');
      buildStore(dir, 1);
      writeFileSync(join(dir, 'LOCK'), text);
      const state = FilePersistentState.open<string>(dir);
      expect(state.currentLogIndex).toBe(1);
      state.close();
    }
  });

  it('a LOCK with the pid of another live process: StorageError "locked", and the LOCK is left alone', async () => {
    const sleeper = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    children.push(sleeper);
    await new Promise<void>((resolve, reject) => {
      sleeper.once('spawn', () => resolve());
      sleeper.once('error', reject);
    });
    const dir = tempDir('lock-live');
    buildStore(dir, 3);
    writeFileSync(join(dir, 'LOCK'), `${sleeper.pid}\n`);
    const error = thrown(() => FilePersistentState.open(dir));
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).reason).toBe('locked');
    expect((error as StorageError).message).toContain(String(sleeper.pid));
    expect(readFileSync(join(dir, 'LOCK'), 'utf8')).toBe(`${sleeper.pid}\n`);
  });

  it('a store held open by another process is refused while it runs and taken over once it is killed', async () => {
    const dir = tempDir('lock-process');
    buildStore(dir, 2);
    const script = `const { FilePersistentState } = require('./lib/storage/file-persistent-state');
      const state = FilePersistentState.open(process.argv[1]);
      state.appendToLog('from the child', 1);
      state.sync();
      process.stdout.write('open\\n');
      setInterval(() => {}, 1000);`;
    const holder = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script, dir], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(holder);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the lock-holding child did not report "open" within 30 s')), 30_000);
      holder.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('open')) {
          clearTimeout(timer);
          resolve();
        }
      });
      holder.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the lock-holding child exited early (${String(code)})`));
      });
    });
    const error = thrown(() => FilePersistentState.open(dir));
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).reason).toBe('locked');
    const exited = new Promise<void>((resolve) => holder.once('exit', () => resolve()));
    holder.kill('SIGKILL');
    await exited;
    const state = FilePersistentState.open<string>(dir);
    expect(state.getLastLogEntry()).toEqual({ index: 3, term: 1, data: 'from the child' });
    state.close();
  }, 60_000);
});
