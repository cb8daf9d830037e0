/**
 * Reading a {@link FilePersistentState} directory back on open: which segments to replay (after
 * an interrupted initialisation, rotation, compaction or deletion), the replay of their records
 * into an in-memory mirror, the clean-up of what a crash left, and the last segment opened for
 * appending. The format and the rules are described in `wal.ts`.
 */
import { existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { CorruptStateError, StorageError } from '../errors';
import { InMemoryPersistentState } from '../persistent-state';
import type { Snapshot } from '../types';
import type { Codec } from './codec';
import { createSegment, io, readHead, syncDirectory, writeAll } from './files';
import { createFormatFile, FORMAT_FILE, FORMAT_TEXT, FORMAT_V2_TEXT } from './format-file';
import { readSnapshotFile, snapshotIndex } from './snapshot-file';
import { beginsWithCheckpoint, scanSegment, segmentHeader, segmentName, segmentSequence, CHECKPOINT_PREFIX_BYTES, SEGMENT_HEADER_BYTES, type WalRecord } from './wal';

/** Files written under a temporary name and renamed into place; left behind only by a crash. */
const TEMP_FILE = /^(?:FORMAT|snapshot-[0-9a-f]{16}\.snap)\.tmp$/;

/** A store directory read back by {@link openLog}, ready to append to. */
export interface OpenedLog<T> {
  /** The term, vote, log and snapshot read back. */
  readonly mirror: InMemoryPersistentState<T>;
  /** The last segment, open for reading and writing. */
  readonly fd: number;
  /** The sequence number of the last segment. */
  readonly sequence: number;
  /** Bytes of the last segment up to the end of its last intact record: where the next record goes. */
  readonly segmentBytes: number;
  /** The oldest segment on disk (the one the log was replayed from). */
  readonly firstSequence: number;
  /** The version in FORMAT: 2 for a store written before compaction existed and not compacted since. */
  readonly formatVersion: 2 | 3;
}

/**
 * Opens the store in `path` (an existing directory, locked by the caller): creates an empty
 * store when there is none (or its initialisation was cut short), otherwise replays the log,
 * deletes what an interrupted rotation, compaction or deletion left, and cuts off a torn tail.
 * @throws {@link CorruptStateError} when a file is damaged (other than a torn tail).
 * @throws {@link StorageError} when a file cannot be read or written.
 */
export function openLog<T>(path: string, codec: Codec<T>): OpenedLog<T> {
  const names = io(path, () => readdirSync(path));
  const sequences = names
    .map(segmentSequence)
    .filter((sequence): sequence is number => sequence !== undefined)
    .sort((a, b) => a - b);
  const format = join(path, FORMAT_FILE);
  const formatText = io(format, () => (existsSync(format) ? readFileSync(format, 'latin1') : undefined));
  if (formatText !== FORMAT_TEXT && formatText !== FORMAT_V2_TEXT) {
    // Initialisation creates segment 1, then FORMAT. A crash in between leaves no FORMAT (or
    // a cut-short one) and a segment 1 holding no record: start again. Anything else is damage.
    if (!initialisationInterrupted(path, sequences, formatText)) {
      if (formatText !== undefined) throw new CorruptStateError(format, 0, `expected ${JSON.stringify(FORMAT_TEXT)} (or version 2)`);
      throw new CorruptStateError(format, 0, 'file missing while log segments exist');
    }
    const file = join(path, segmentName(1));
    io(path, () => {
      for (const stale of [file, format]) if (existsSync(stale)) unlinkSync(stale);
    });
    const fd = createSegment(path, file, segmentHeader(1));
    createFormatFile(path);
    return { mirror: new InMemoryPersistentState<T>(), fd, sequence: 1, segmentBytes: SEGMENT_HEADER_BYTES, firstSequence: 1, formatVersion: 3 };
  }
  const formatVersion = formatText === FORMAT_V2_TEXT ? 2 : 3;
  if (sequences.length === 0) throw new CorruptStateError(join(path, segmentName(1)), 0, 'segment missing: the store was initialised but has no log segment');
  const fileOf = (sequence: number): string => join(path, segmentName(sequence));
  const cache = new Map<number, Buffer>();
  const read = (sequence: number): Buffer => {
    const cached = cache.get(sequence);
    if (cached !== undefined) return cached;
    const bytes = io(fileOf(sequence), () => readFileSync(fileOf(sequence)));
    cache.set(sequence, bytes);
    return bytes;
  };
  /** Files to delete once the store has been read without error. */
  const obsolete: string[] = [];
  let segments = sequences;

  // A rotation creates the next segment, then seals the full one (the seal is its commit
  // point). If the segment before the newest is not sealed, the newest (empty, or begun by a
  // compaction's checkpoint) is a rotation that did not finish: the log ends before it.
  if (segments.length > 1 && segments[segments.length - 2] === (segments[segments.length - 1] as number) - 1) {
    const newest = segments[segments.length - 1] as number;
    const newestBytes = read(newest);
    let holdsNothing = false;
    try {
      holdsNothing = scanSegment(newestBytes, fileOf(newest), newest, true).records.length === 0;
    } catch (error) {
      if (!(error instanceof CorruptStateError)) throw error;
    }
    if (holdsNothing || beginsWithCheckpoint(newestBytes.subarray(0, CHECKPOINT_PREFIX_BYTES), newest)) {
      const before = newest - 1;
      const scan = scanSegment(read(before), fileOf(before), before, true);
      if (scan.records[scan.records.length - 1]?.kind !== 'seal') {
        obsolete.push(fileOf(newest));
        segments = segments.slice(0, -1);
      }
    }
  }

  // Replay from the last segment that begins with a checkpoint; the ones before it are what
  // an interrupted deletion left behind.
  let start = 0;
  for (let k = segments.length - 1; k > 0; k--) {
    const sequence = segments[k] as number;
    if (beginsWithCheckpoint(cache.get(sequence)?.subarray(0, CHECKPOINT_PREFIX_BYTES) ?? readHead(fileOf(sequence), CHECKPOINT_PREFIX_BYTES), sequence)) {
      start = k;
      break;
    }
  }
  const first = segments[start] as number;
  if (start === 0 && first !== 1 && !beginsWithCheckpoint(read(first).subarray(0, CHECKPOINT_PREFIX_BYTES), first)) {
    scanSegment(read(first), fileOf(first), first, segments.length === 1); // a damaged checkpoint is reported where it is
    throw new CorruptStateError(fileOf(1), 0, 'segment missing: the log starts at segment 1 or at a segment that begins with a checkpoint');
  }
  for (const leftover of segments.slice(0, start)) obsolete.push(fileOf(leftover));
  segments = segments.slice(start);
  for (let k = 0; k < segments.length; k++) {
    if (segments[k] !== first + k) throw new CorruptStateError(fileOf(first + k), 0, 'segment missing: segment numbers must be consecutive');
  }

  const replayer = new Replayer<T>(path, codec);
  let validLength = 0;
  for (let k = 0; k < segments.length; k++) {
    const sequence = segments[k] as number;
    const file = fileOf(sequence);
    const isLast = k === segments.length - 1;
    const scan = scanSegment(read(sequence), file, sequence, isLast);
    cache.delete(sequence);
    scan.records.forEach((record, r) => {
      if (record.kind === 'seal') {
        if (r !== scan.records.length - 1 || record.next !== sequence + 1) throw new CorruptStateError(file, record.offset, `a seal must end the segment and name segment ${sequence + 1}`);
        if (isLast) throw new CorruptStateError(fileOf(sequence + 1), 0, `segment missing: ${segmentName(sequence)} is sealed and goes on in it`);
      } else {
        replayer.apply(record, file, k === 0 && r === 0);
      }
    });
    if (!isLast && scan.records[scan.records.length - 1]?.kind !== 'seal') {
      throw new CorruptStateError(file, scan.validLength, `the segment ends without a seal although ${segmentName(sequence + 1)} follows`);
    }
    validLength = scan.validLength;
  }
  replayer.finish();

  // Read without error: now clear away what an interrupted rotation, compaction or deletion left.
  const snapshotIndexHeld = replayer.mirror.getSnapshot()?.lastIncluded.index;
  for (const name of names) {
    const index = snapshotIndex(name);
    if ((index !== undefined && index !== snapshotIndexHeld) || TEMP_FILE.test(name)) obsolete.push(join(path, name));
  }
  if (obsolete.length > 0) {
    io(path, () => {
      for (const file of obsolete) unlinkSync(file);
      syncDirectory(path);
    });
  }

  const last = segments[segments.length - 1] as number;
  const file = fileOf(last);
  const fd = io(file, () => openSync(file, 'r+'));
  if (validLength < SEGMENT_HEADER_BYTES) {
    io(file, () => {
      ftruncateSync(fd, 0);
      writeAll(fd, segmentHeader(last), 0);
      fsyncSync(fd);
    });
    validLength = SEGMENT_HEADER_BYTES;
  } else if (io(file, () => fstatSync(fd).size) !== validLength) {
    io(file, () => {
      ftruncateSync(fd, validLength); // cut off the torn tail
      fsyncSync(fd);
    });
  }
  return { mirror: replayer.mirror, fd, sequence: last, segmentBytes: validLength, firstSequence: first, formatVersion };
}

/** Whether the directory looks like an initialisation cut short: at most segment 1, holding no record, and FORMAT absent or cut short. */
function initialisationInterrupted(path: string, sequences: readonly number[], formatText: string | undefined): boolean {
  if (formatText !== undefined && !FORMAT_TEXT.startsWith(formatText) && !FORMAT_V2_TEXT.startsWith(formatText)) return false;
  if (sequences.length === 0) return true;
  if (sequences.length > 1 || sequences[0] !== 1) return false;
  const file = join(path, segmentName(1));
  const bytes = io(file, () => readFileSync(file));
  return bytes.length <= SEGMENT_HEADER_BYTES && bytes.equals(segmentHeader(1).subarray(0, bytes.length));
}

/**
 * Rebuilds the in-memory mirror from the records of the segments replayed, starting with the
 * checkpoint (when the first segment begins with one): the snapshot it names is read from its
 * file, and the entries kept after the compaction are laid out at their own indices.
 */
class Replayer<T> {
  readonly mirror = new InMemoryPersistentState<T>();
  /** A checkpoint whose kept entries are still being read: the snapshot goes in once they are. */
  #pending: { readonly snapshot: Snapshot | undefined; readonly firstKept: number; readonly lastKept: number; readonly file: string; readonly offset: number } | undefined;

  constructor(
    readonly directory: string,
    readonly codec: Codec<T>,
  ) {}

  /** Applies one record of `file`; `first` when it is the first record replayed. */
  apply(record: WalRecord, file: string, first: boolean): void {
    if (this.#pending !== undefined && record.kind !== 'entry' && record.kind !== 'noop' && record.kind !== 'state') {
      throw new CorruptStateError(file, record.offset, `a ${record.kind} record among the entries a checkpoint keeps`);
    }
    try {
      switch (record.kind) {
        case 'entry':
          this.mirror.appendToLog(this.codec.decode(record.data), record.term);
          break;
        case 'noop':
          this.mirror.appendEntries([{ term: record.term, data: undefined as T, kind: 'noop' }]);
          break;
        case 'truncate':
          this.mirror.truncateLog(record.finalIndex);
          break;
        case 'state':
          if (record.term > this.mirror.currentTerm) this.mirror.advanceToTerm(record.term);
          else if (record.term < this.mirror.currentTerm) throw new Error(`term ${record.term} after term ${this.mirror.currentTerm}`);
          if (record.votedFor !== undefined) this.mirror.vote(record.votedFor);
          break;
        case 'checkpoint':
          this.#checkpoint(record, file, first);
          break;
        case 'seal':
          break;
      }
    } catch (error) {
      if (error instanceof CorruptStateError || error instanceof StorageError) throw error;
      throw new CorruptStateError(file, record.offset, `record does not apply: ${(error as Error).message}`);
    }
    this.#settle();
  }

  /** Checks that no checkpoint is left waiting for the entries it keeps. */
  finish(): void {
    const pending = this.#pending;
    if (pending !== undefined) throw new CorruptStateError(pending.file, pending.offset, `the checkpoint keeps entries up to ${pending.lastKept}, the log ends at ${this.mirror.currentLogIndex}`);
  }

  #checkpoint(record: WalRecord & { kind: 'checkpoint' }, file: string, first: boolean): void {
    if (!first) throw new CorruptStateError(file, record.offset, 'a checkpoint must be the first record of the first segment of the log');
    const { index, term, firstKept, lastKept } = record;
    const valid = [index, term, firstKept, lastKept].every(Number.isSafeInteger) && index >= 1 && term >= 1 && firstKept >= 1 && firstKept <= index + 1 && lastKept >= index;
    if (!valid) throw new CorruptStateError(file, record.offset, `a checkpoint of ${index} (term ${term}) keeping ${firstKept}..${lastKept} is not possible`);
    const data = readSnapshotFile(this.directory, index, term, file);
    const snapshot: Snapshot = { lastIncluded: { index, term }, data };
    if (firstKept === index + 1) {
      this.mirror.saveSnapshot(snapshot, firstKept); // the log is empty: it now starts right after the snapshot
      this.#pending = { snapshot: undefined, firstKept, lastKept, file, offset: record.offset };
    } else {
      // entries the snapshot covers are kept: lay them out from firstKept, then add the snapshot
      if (firstKept > 1) this.mirror.saveSnapshot({ lastIncluded: { index: firstKept - 1, term: 1 }, data: new Uint8Array(0) }, firstKept);
      this.#pending = { snapshot, firstKept, lastKept, file, offset: record.offset };
    }
  }

  #settle(): void {
    const pending = this.#pending;
    if (pending === undefined || this.mirror.currentLogIndex !== pending.lastKept) return;
    if (pending.snapshot !== undefined) {
      const { index, term } = pending.snapshot.lastIncluded;
      if (this.mirror.getLogEntry(index)?.term !== term) throw new CorruptStateError(pending.file, pending.offset, `the entries kept do not hold the snapshot's last entry ${index} (term ${term})`);
      this.mirror.saveSnapshot(pending.snapshot, pending.firstKept);
    }
    this.#pending = undefined;
  }
}
