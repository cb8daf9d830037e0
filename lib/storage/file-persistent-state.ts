import { closeSync, existsSync, fdatasyncSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigurationError, CorruptStateError, InvalidArgumentError, StorageError, describe } from '../errors';
import { checkSnapshot, InMemoryPersistentState, type IPersistentState } from '../persistent-state';
import type { LogEntry, LogIndex, ServerId, Snapshot, Term } from '../types';
import { JSON_CODEC, type Codec } from './codec';
import { lockDirectory } from './lock';
import {
  beginsWithCheckpoint,
  checkCrc32Support,
  checkpointRecord,
  decodeSnapshotFile,
  entryRecord,
  scanSegment,
  sealRecord,
  segmentHeader,
  segmentName,
  segmentSequence,
  snapshotHeader,
  snapshotIndex,
  snapshotName,
  stateRecord,
  truncateRecord,
  CHECKPOINT_PREFIX_BYTES,
  SEGMENT_HEADER_BYTES,
  type WalRecord,
} from './wal';

const FORMAT_FILE = 'FORMAT';
/** The FORMAT of stores written by this version (checkpoints and snapshot files may occur). */
const FORMAT_TEXT = 'raft-ts write-ahead log, version 3\n';
/** The FORMAT of stores written before compaction; still opened, upgraded at their first compaction. */
const FORMAT_V2_TEXT = 'raft-ts write-ahead log, version 2\n';
/** Files written under a temporary name and renamed into place; left behind only by a crash. */
const TEMP_FILE = /^(?:FORMAT|snapshot-[0-9a-f]{16}\.snap)\.tmp$/;

/** Options of {@link FilePersistentState.open}. */
export interface FilePersistentStateOptions<T> {
  /** How entry data becomes bytes. @default JSON in UTF-8 */
  codec?: Codec<T>;
  /** A segment file is closed, and a new one started, once it holds this many bytes. @default 64 MiB */
  maxSegmentBytes?: number;
}

/**
 * An {@link IPersistentState} on disk: term, vote and log survive `kill -9` and a power cut.
 *
 * Every mutation appends one checksummed record to a segmented write-ahead log in
 * `directory` (see `lib/storage/wal.ts` for the format). Writes are buffered until
 * {@link FilePersistentState.sync}, which writes them with one `write` and one `fdatasync`
 * (group commit); a `Server` calls it before it hands out any message or reply that depends
 * on them. Once `sync()` returns, reopening the directory shows every earlier mutation.
 * A truncation is one record too, so a crash leaves either the old log or the truncated one.
 *
 * On open, a record torn by a crash at the very end of the log is cut off (it was never
 * acknowledged); damage anywhere else throws {@link CorruptStateError} naming the file and
 * offset. A directory open elsewhere (this process or another running one) is refused with
 * a {@link StorageError}.
 *
 * It holds snapshots (log compaction): {@link FilePersistentState.saveSnapshot} writes the
 * snapshot to its own file, starts a new segment that begins with a checkpoint record naming it
 * followed by the term, the vote and the entries kept, and then deletes the segments and the
 * snapshot file it replaces. It is synchronous: durable on return. Reopening reads the snapshot
 * and the log from the last checkpoint on, never the compacted history. A damaged or missing
 * snapshot file is a {@link CorruptStateError} naming it; a snapshot write torn by a crash
 * (a temporary file, or a snapshot file no checkpoint names) is deleted on open, and the
 * previous snapshot is used.
 *
 * The log held (from {@link FilePersistentState.firstLogIndex} on) and the latest snapshot are
 * also kept in memory (reads never touch the disk): memory and open time follow the log held,
 * not the history.
 *
 * New stores are written in format version 3 (`FORMAT`); version 2 stores (written before
 * compaction) open as they are, and their first compaction upgrades `FORMAT` to version 3
 * atomically (temporary file, rename) before anything else, so an older reader never meets a
 * checkpoint.
 *
 * @example
 * ```ts
 * const state = FilePersistentState.open<string>('/var/lib/myapp/raft-0');
 * const server = new Server({ id: 0, clusterSize: 3, messageChannel, persistentState: state });
 * // ... on shutdown:
 * state.close();
 * ```
 */
export class FilePersistentState<T> implements IPersistentState<T> {
  /** The directory holding the files. */
  readonly directory: string;
  readonly #codec: Codec<T>;
  readonly #maxSegmentBytes: number;
  readonly #mirror: InMemoryPersistentState<T>;
  readonly #release: () => void;
  #fd: number;
  #sequence: number;
  #segmentBytes: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #closed = false;
  #syncs = 0;
  /** The oldest segment on disk (the one the log is replayed from). */
  #firstSequence: number;
  /** The version in FORMAT: 2 until the first compaction of a store written before compaction existed. */
  #formatVersion: 2 | 3;

  private constructor(
    directory: string,
    codec: Codec<T>,
    maxSegmentBytes: number,
    release: () => void,
    mirror: InMemoryPersistentState<T>,
    fd: number,
    sequence: number,
    segmentBytes: number,
    firstSequence: number,
    formatVersion: 2 | 3,
  ) {
    this.directory = directory;
    this.#codec = codec;
    this.#maxSegmentBytes = maxSegmentBytes;
    this.#release = release;
    this.#mirror = mirror;
    this.#fd = fd;
    this.#sequence = sequence;
    this.#segmentBytes = segmentBytes;
    this.#firstSequence = firstSequence;
    this.#formatVersion = formatVersion;
  }

  /**
   * Opens the store in `directory`, creating the directory and an empty store if absent, and
   * reads back everything that was synced.
   * @throws {@link CorruptStateError} when a file is damaged (other than a torn tail).
   * @throws {@link StorageError} when the directory is open elsewhere or cannot be read or written.
   * @throws {@link ConfigurationError} when `directory` is not a non-empty string (without NUL), `options` is
   *   not an object, or an option is invalid (a `codec` without `encode` and `decode` functions,
   *   a `maxSegmentBytes` that is not an integer >= 1024).
   */
  static open<T>(directory: string, options: FilePersistentStateOptions<T> = {}): FilePersistentState<T> {
    if (typeof directory !== 'string' || directory.length === 0 || directory.includes('\0')) throw new ConfigurationError('directory', directory, 'a path');
    if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new ConfigurationError('options', options, 'an object');
    const codec = options.codec === undefined ? (JSON_CODEC as Codec<T>) : options.codec;
    if (typeof codec !== 'object' || codec === null || typeof codec.encode !== 'function' || typeof codec.decode !== 'function') {
      throw new ConfigurationError('codec', codec, 'an object with encode and decode functions');
    }
    const maxSegmentBytes = options.maxSegmentBytes === undefined ? 64 * 1024 * 1024 : options.maxSegmentBytes;
    if (!Number.isSafeInteger(maxSegmentBytes) || maxSegmentBytes < 1024) throw new ConfigurationError('maxSegmentBytes', maxSegmentBytes, 'an integer >= 1024');
    const path = resolve(directory);
    checkCrc32Support(path);
    io(path, () => {
      const created = mkdirSync(path, { recursive: true });
      if (created !== undefined) syncDirectory(dirname(path));
    });
    const release = lockDirectory(path);
    try {
      return FilePersistentState.#load(path, codec, maxSegmentBytes, release);
    } catch (error) {
      release();
      throw error;
    }
  }

  /** Whether the directory looks like an initialisation cut short: at most segment 1, holding no record, and FORMAT absent or cut short. */
  static #initialisationInterrupted(path: string, sequences: readonly number[], formatText: string | undefined): boolean {
    if (formatText !== undefined && !FORMAT_TEXT.startsWith(formatText) && !FORMAT_V2_TEXT.startsWith(formatText)) return false;
    if (sequences.length === 0) return true;
    if (sequences.length > 1 || sequences[0] !== 1) return false;
    const file = join(path, segmentName(1));
    const bytes = io(file, () => readFileSync(file));
    return bytes.length <= SEGMENT_HEADER_BYTES && bytes.equals(segmentHeader(1).subarray(0, bytes.length));
  }

  static #load<T>(path: string, codec: Codec<T>, maxSegmentBytes: number, release: () => void): FilePersistentState<T> {
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
      if (!FilePersistentState.#initialisationInterrupted(path, sequences, formatText)) {
        if (formatText !== undefined) throw new CorruptStateError(format, 0, `expected ${JSON.stringify(FORMAT_TEXT)} (or version 2)`);
        throw new CorruptStateError(format, 0, 'file missing while log segments exist');
      }
      const file = join(path, segmentName(1));
      io(path, () => {
        for (const stale of [file, format]) if (existsSync(stale)) unlinkSync(stale);
      });
      const fd = createSegment(path, file, 1);
      io(format, () => {
        const formatFd = openSync(format, 'wx');
        writeAll(formatFd, Buffer.from(FORMAT_TEXT, 'latin1'), 0);
        fsyncSync(formatFd);
        closeSync(formatFd);
        syncDirectory(path);
      });
      return new FilePersistentState(path, codec, maxSegmentBytes, release, new InMemoryPersistentState<T>(), fd, 1, SEGMENT_HEADER_BYTES, 1, 3);
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
    return new FilePersistentState(path, codec, maxSegmentBytes, release, replayer.mirror, fd, last, validLength, first, formatVersion);
  }

  /** The latest term this server has seen. */
  get currentTerm(): Term {
    return this.#mirror.currentTerm;
  }

  /** The vote cast in `currentTerm`, if any. */
  get votedFor(): ServerId | undefined {
    return this.#mirror.votedFor;
  }

  /** Index of the last entry (the snapshot's when the log after it is empty), 0 when empty. */
  get currentLogIndex(): LogIndex {
    return this.#mirror.currentLogIndex;
  }

  /** Index of the first entry held: 1 until a compaction drops entries. */
  get firstLogIndex(): LogIndex {
    return this.#mirror.firstLogIndex;
  }

  /** The latest snapshot saved (read back from its file after a reopen), or `undefined`. */
  getSnapshot(): Snapshot | undefined {
    this.#checkOpen();
    return this.#mirror.getSnapshot();
  }

  /**
   * Makes `snapshot` the latest snapshot and drops the log it makes unnecessary, exactly as
   * {@link IPersistentState.saveSnapshot} says (and as {@link InMemoryPersistentState} does).
   * Synchronous and durable on return: it writes every buffered record, writes the snapshot
   * file (temporary name, fsync, rename, directory fsync), starts a new segment holding a
   * checkpoint, the term and vote and the entries kept, fsyncs it and seals the previous
   * segment, which commits the compaction. Only then are the segments and the snapshot file it
   * replaces deleted (best effort: what a failure or crash leaves is deleted at the next open).
   * A crash at any point leaves the old snapshot and log or the new ones. The data is copied.
   * @throws {@link InvalidArgumentError} when the snapshot is not above the current one, is
   *   malformed, or `firstKept` is out of range; nothing changes then, in memory or on disk.
   * @throws {@link StorageError} when writing fails before the compaction is committed; the
   *   store then still holds the previous snapshot and log.
   */
  saveSnapshot(snapshot: Snapshot, firstKept: LogIndex): void {
    this.#checkOpen();
    const mirror = this.#mirror;
    const last = checkSnapshot(snapshot, mirror.getSnapshot()?.lastIncluded);
    const holdsLast = mirror.getLogEntry(last.index)?.term === last.term;
    if (holdsLast && (!Number.isSafeInteger(firstKept) || firstKept < mirror.firstLogIndex || firstKept > last.index + 1)) {
      throw new InvalidArgumentError(`saveSnapshot expects firstKept in [${mirror.firstLogIndex}, ${last.index + 1}], got ${firstKept}`);
    }
    const keptFrom = holdsLast ? firstKept : last.index + 1;
    const keptTo = holdsLast ? mirror.currentLogIndex : last.index;
    const records: Buffer[] = [checkpointRecord(last.index, last.term, keptFrom, keptTo), stateRecord(mirror.currentTerm, mirror.votedFor)];
    for (const entry of mirror.getLogEntries(keptFrom, keptTo)) records.push(entryRecord(entry.term, this.#encode(entry.data)));
    const data = Uint8Array.from(snapshot.data);

    this.sync(); // the records buffered so far go into the segment that the new one follows
    if (this.#formatVersion === 2) this.#upgradeFormat();
    const previousSnapshot = mirror.getSnapshot()?.lastIncluded.index;
    writeSnapshotFile(this.directory, last.index, last.term, data);
    const next = this.#sequence + 1;
    const nextFile = join(this.directory, segmentName(next));
    const segment = Buffer.concat([segmentHeader(next), ...records]);
    let fd: number | undefined;
    try {
      io(nextFile, () => {
        fd = openSync(nextFile, 'wx+');
        writeAll(fd, segment, 0);
        fsyncSync(fd);
        syncDirectory(this.directory);
      });
      io(join(this.directory, segmentName(this.#sequence)), () => {
        writeAll(this.#fd, sealRecord(next), this.#segmentBytes);
        fdatasyncSync(this.#fd); // the commit point: from here on, open replays from segment `next`
      });
    } catch (error) {
      if (fd !== undefined) {
        const opened = fd;
        bestEffort(() => closeSync(opened));
        bestEffort(() => unlinkSync(nextFile));
      }
      throw error;
    }
    bestEffort(() => closeSync(this.#fd));
    this.#fd = fd as number;
    this.#sequence = next;
    this.#segmentBytes = segment.length;
    mirror.saveSnapshot({ lastIncluded: last, data }, firstKept);

    // Committed: what the new segment and snapshot replace can go, oldest first.
    for (let sequence = this.#firstSequence; sequence < next; sequence++) {
      const old = join(this.directory, segmentName(sequence));
      bestEffort(() => unlinkSync(old));
    }
    this.#firstSequence = next;
    if (previousSnapshot !== undefined) bestEffort(() => unlinkSync(join(this.directory, snapshotName(previousSnapshot))));
    bestEffort(() => syncDirectory(this.directory));
  }

  /** How many times {@link FilePersistentState.sync} wrote and flushed to disk. */
  get syncCount(): number {
    return this.#syncs;
  }

  /** @throws {@link InvalidArgumentError} unless `term > currentTerm`. */
  advanceToTerm(term: Term): void {
    this.#checkOpen();
    this.#mirror.advanceToTerm(term);
    this.#write(stateRecord(term, undefined));
  }

  /** Moves to `currentTerm + 1` and clears the vote. */
  incrementTerm(): void {
    this.#checkOpen();
    this.#mirror.incrementTerm();
    this.#write(stateRecord(this.#mirror.currentTerm, undefined));
  }

  /** Records the vote of `currentTerm`. */
  vote(candidate: ServerId): void {
    this.#checkOpen();
    if (!Number.isSafeInteger(candidate) || candidate < 0 || candidate > 0x7fffffff) {
      throw new InvalidArgumentError(`vote expects a server id (an integer in [0, 2^31)), got ${candidate}`);
    }
    this.#mirror.vote(candidate);
    this.#write(stateRecord(this.#mirror.currentTerm, candidate));
  }

  /** The entry at `index`, or `undefined`. */
  getLogEntry(index: LogIndex): LogEntry<T> | undefined {
    this.#checkOpen();
    return this.#mirror.getLogEntry(index);
  }

  /** The entries `from..to` that exist. */
  getLogEntries(from: LogIndex, to: LogIndex): LogEntry<T>[] {
    this.#checkOpen();
    return this.#mirror.getLogEntries(from, to);
  }

  /** The last entry, or `undefined`. */
  getLastLogEntry(): LogEntry<T> | undefined {
    this.#checkOpen();
    return this.#mirror.getLastLogEntry();
  }

  /** Appends one entry (buffered until {@link FilePersistentState.sync}). */
  appendToLog(data: T, term: Term): void {
    this.#checkOpen();
    const bytes = this.#encode(data);
    this.#mirror.appendToLog(data, term);
    this.#write(entryRecord(term, bytes));
  }

  /** Appends a batch (buffered until {@link FilePersistentState.sync}); a refused batch appends nothing. */
  appendEntries(entries: readonly { data: T; term: Term }[]): void {
    this.#checkOpen();
    const records = entries.map((entry) => entryRecord(entry.term, this.#encode(entry.data)));
    this.#mirror.appendEntries(entries);
    for (const record of records) this.#write(record);
  }

  /**
   * Keeps entries up to `finalIndex` (one record: a crash leaves the old log or the truncated one).
   * @throws {@link InvalidArgumentError} unless `finalIndex` is an integer, at least 0 and at least the snapshot's index.
   */
  truncateLog(finalIndex: LogIndex): void {
    this.#checkOpen();
    const before = this.#mirror.currentLogIndex;
    this.#mirror.truncateLog(finalIndex);
    if (finalIndex < before) this.#write(truncateRecord(finalIndex));
  }

  /**
   * Writes every buffered record with one `write` and makes it durable with one `fdatasync`;
   * starts a new segment first when the current one is full.
   * @throws {@link StorageError} when writing fails; the records stay buffered.
   */
  sync(): void {
    this.#checkOpen();
    if (this.#pending.length === 0) return;
    if (this.#segmentBytes >= this.#maxSegmentBytes) this.#rotate();
    const batch = this.#pending.length === 1 ? (this.#pending[0] as Buffer) : Buffer.concat(this.#pending, this.#pendingBytes);
    const file = join(this.directory, segmentName(this.#sequence));
    io(file, () => {
      writeAll(this.#fd, batch, this.#segmentBytes);
      fdatasyncSync(this.#fd);
    });
    this.#segmentBytes += batch.length;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#syncs++;
  }

  /** Syncs, closes the files and releases the directory. Further calls throw {@link StorageError}. */
  close(): void {
    if (this.#closed) return;
    try {
      this.sync();
    } finally {
      this.#closed = true;
      closeSync(this.#fd);
      this.#release();
    }
  }

  /** Starts segment `next`, then seals the full one (so a missing last segment is noticed on open). */
  #rotate(): void {
    const next = this.#sequence + 1;
    const fd = createSegment(this.directory, join(this.directory, segmentName(next)), next);
    const seal = sealRecord(next);
    io(join(this.directory, segmentName(this.#sequence)), () => {
      writeAll(this.#fd, seal, this.#segmentBytes);
      fdatasyncSync(this.#fd);
    });
    closeSync(this.#fd);
    this.#fd = fd;
    this.#sequence = next;
    this.#segmentBytes = SEGMENT_HEADER_BYTES;
  }

  /** Rewrites FORMAT as version 3 (temporary file, fsync, rename, directory fsync) before the first checkpoint. */
  #upgradeFormat(): void {
    const format = join(this.directory, FORMAT_FILE);
    writeFileAtomically(this.directory, format, Buffer.from(FORMAT_TEXT, 'latin1'));
    this.#formatVersion = 3;
  }

  #write(record: Buffer): void {
    this.#pending.push(record);
    this.#pendingBytes += record.length;
  }

  #encode(data: T): Uint8Array {
    const bytes = this.#codec.encode(data);
    if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError(`the codec's encode must return a Uint8Array, got ${describe(bytes)}`);
    return bytes;
  }

  #checkOpen(): void {
    if (this.#closed) throw new StorageError('closed', this.directory, `the store in ${this.directory} is closed`);
  }
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
    if (this.#pending !== undefined && record.kind !== 'entry' && record.kind !== 'state') {
      throw new CorruptStateError(file, record.offset, `a ${record.kind} record among the entries a checkpoint keeps`);
    }
    try {
      switch (record.kind) {
        case 'entry':
          this.mirror.appendToLog(this.codec.decode(record.data), record.term);
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
    const snapshotFile = join(this.directory, snapshotName(index));
    if (!io(snapshotFile, () => existsSync(snapshotFile))) throw new CorruptStateError(snapshotFile, 0, `snapshot file missing: the log's checkpoint (in ${file}) names it`);
    const data = decodeSnapshotFile(io(snapshotFile, () => readFileSync(snapshotFile)), snapshotFile, index, term);
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

/** Writes a snapshot file under a temporary name, fsyncs it, renames it into place and fsyncs the directory. */
function writeSnapshotFile(directory: string, index: number, term: number, data: Uint8Array): void {
  writeFileAtomically(directory, join(directory, snapshotName(index)), Buffer.concat([snapshotHeader(index, term, data), data]));
}

/** Writes `bytes` to `<file>.tmp`, fsyncs it, renames it to `file` and fsyncs `directory`. */
function writeFileAtomically(directory: string, file: string, bytes: Buffer): void {
  const temp = `${file}.tmp`;
  io(temp, () => {
    const fd = openSync(temp, 'w');
    try {
      writeAll(fd, bytes, 0);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
    syncDirectory(directory);
  });
}

/** The first `length` bytes of `file` (fewer when it is shorter). */
function readHead(file: string, length: number): Buffer {
  return io(file, () => {
    const fd = openSync(file, 'r');
    try {
      const head = Buffer.alloc(length);
      let got = 0;
      while (got < length) {
        const n = readSync(fd, head, got, length - got, got);
        if (n === 0) break;
        got += n;
      }
      return head.subarray(0, got);
    } finally {
      closeSync(fd);
    }
  });
}

/** Runs a clean-up step whose failure only leaves a file for the next open to delete. */
function bestEffort(step: () => void): void {
  try {
    step();
  } catch {
    // left for the next open
  }
}

function createSegment(directory: string, file: string, sequence: number): number {
  return io(file, () => {
    const fd = openSync(file, 'wx+');
    writeAll(fd, segmentHeader(sequence), 0);
    fsyncSync(fd);
    syncDirectory(directory);
    return fd;
  });
}

function writeAll(fd: number, bytes: Buffer, position: number): void {
  let written = 0;
  while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written, position + written);
}

function syncDirectory(directory: string): void {
  const fd = openSync(directory, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Runs an I/O step, turning a system error into a {@link StorageError} that names the path. */
function io<R>(path: string, step: () => R): R {
  try {
    return step();
  } catch (error) {
    if (error instanceof CorruptStateError || error instanceof StorageError) throw error;
    throw new StorageError('io', path, `I/O failed on ${path}: ${(error as Error).message}`, error);
  }
}
