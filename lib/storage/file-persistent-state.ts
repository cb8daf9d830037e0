import { closeSync, existsSync, fdatasyncSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigurationError, CorruptStateError, InvalidArgumentError, StorageError, describe } from '../errors';
import { InMemoryPersistentState, type IPersistentState } from '../persistent-state';
import type { LogEntry, LogIndex, ServerId, Term } from '../types';
import { JSON_CODEC, type Codec } from './codec';
import { lockDirectory } from './lock';
import { checkCrc32Support, entryRecord, scanSegment, sealRecord, segmentHeader, segmentName, segmentSequence, stateRecord, truncateRecord, SEGMENT_HEADER_BYTES } from './wal';

const FORMAT_FILE = 'FORMAT';
const FORMAT_TEXT = 'raft-ts write-ahead log, version 2\n';

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
 * The whole log is also kept in memory (reads never touch the disk); without snapshots, which
 * are not implemented yet, memory grows with the log as it does for the in-memory store.
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

  private constructor(directory: string, codec: Codec<T>, maxSegmentBytes: number, release: () => void, mirror: InMemoryPersistentState<T>, fd: number, sequence: number, segmentBytes: number) {
    this.directory = directory;
    this.#codec = codec;
    this.#maxSegmentBytes = maxSegmentBytes;
    this.#release = release;
    this.#mirror = mirror;
    this.#fd = fd;
    this.#sequence = sequence;
    this.#segmentBytes = segmentBytes;
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
    if (formatText !== undefined && !FORMAT_TEXT.startsWith(formatText)) return false;
    if (sequences.length === 0) return true;
    if (sequences.length > 1 || sequences[0] !== 1) return false;
    const file = join(path, segmentName(1));
    const bytes = io(file, () => readFileSync(file));
    return bytes.length <= SEGMENT_HEADER_BYTES && bytes.equals(segmentHeader(1).subarray(0, bytes.length));
  }

  static #load<T>(path: string, codec: Codec<T>, maxSegmentBytes: number, release: () => void): FilePersistentState<T> {
    const sequences = io(path, () => readdirSync(path))
      .map(segmentSequence)
      .filter((sequence): sequence is number => sequence !== undefined)
      .sort((a, b) => a - b);
    const mirror = new InMemoryPersistentState<T>();
    const format = join(path, FORMAT_FILE);
    const formatText = io(format, () => (existsSync(format) ? readFileSync(format, 'latin1') : undefined));
    if (formatText !== FORMAT_TEXT) {
      // Initialisation creates segment 1, then FORMAT. A crash in between leaves no FORMAT (or
      // a cut-short one) and a segment 1 holding no record: start again. Anything else is damage.
      if (!FilePersistentState.#initialisationInterrupted(path, sequences, formatText)) {
        if (formatText !== undefined) throw new CorruptStateError(format, 0, `expected ${JSON.stringify(FORMAT_TEXT)}`);
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
      return new FilePersistentState(path, codec, maxSegmentBytes, release, mirror, fd, 1, SEGMENT_HEADER_BYTES);
    }
    if (sequences.length === 0) throw new CorruptStateError(join(path, segmentName(1)), 0, 'segment missing: the store was initialised but has no log segment');
    const first = sequences[0] as number;
    if (first !== 1) throw new CorruptStateError(join(path, segmentName(1)), 0, 'segment missing: the log starts at segment 1');
    for (let k = 0; k < sequences.length; k++) {
      if (sequences[k] !== first + k) throw new CorruptStateError(join(path, segmentName(first + k)), 0, 'segment missing: segment numbers must be consecutive');
    }
    // A rotation creates the next segment, then seals the full one. If a crash tore the seal,
    // the newest segment holds no record: the one before it is where the log really ends.
    let segments = sequences;
    const newest = segments[segments.length - 1] as number;
    const newestFile = join(path, segmentName(newest));
    const newestBytes = io(newestFile, () => readFileSync(newestFile));
    const newestHoldsNothing = segments.length > 1 && newestBytes.length <= SEGMENT_HEADER_BYTES && newestBytes.equals(segmentHeader(newest).subarray(0, newestBytes.length));
    let validLength = 0;
    for (let k = 0; k < segments.length; k++) {
      const sequence = segments[k] as number;
      const file = join(path, segmentName(sequence));
      const isLast = k === segments.length - 1;
      const endsLog = isLast || (newestHoldsNothing && k === segments.length - 2);
      const scan = scanSegment(sequence === newest ? newestBytes : io(file, () => readFileSync(file)), file, sequence, endsLog);
      const sealed = scan.records[scan.records.length - 1]?.kind === 'seal';
      scan.records.forEach((record, r) => {
        if (record.kind === 'seal') {
          if (r !== scan.records.length - 1 || record.next !== sequence + 1) throw new CorruptStateError(file, record.offset, `a seal must end the segment and name segment ${sequence + 1}`);
          if (isLast) throw new CorruptStateError(join(path, segmentName(sequence + 1)), 0, `segment missing: ${segmentName(sequence)} is sealed and goes on in it`);
        } else {
          replay(mirror, record, codec, file);
        }
      });
      validLength = scan.validLength;
      if (endsLog && !isLast && !sealed) {
        // the seal was torn: forget the empty newest segment and go on writing this one
        io(newestFile, () => {
          unlinkSync(newestFile);
          syncDirectory(path);
        });
        segments = segments.slice(0, -1);
        break;
      }
    }
    const last = segments[segments.length - 1] as number;
    const file = join(path, segmentName(last));
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
    return new FilePersistentState(path, codec, maxSegmentBytes, release, mirror, fd, last, validLength);
  }

  /** The latest term this server has seen. */
  get currentTerm(): Term {
    return this.#mirror.currentTerm;
  }

  /** The vote cast in `currentTerm`, if any. */
  get votedFor(): ServerId | undefined {
    return this.#mirror.votedFor;
  }

  /** Index of the last entry, 0 when empty. */
  get currentLogIndex(): LogIndex {
    return this.#mirror.currentLogIndex;
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

  /** Keeps entries `1..finalIndex` (one record: a crash leaves the old log or the truncated one). */
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

function replay<T>(mirror: InMemoryPersistentState<T>, record: import('./wal').WalRecord, codec: Codec<T>, file: string): void {
  try {
    switch (record.kind) {
      case 'entry':
        mirror.appendToLog(codec.decode(record.data), record.term);
        return;
      case 'truncate':
        mirror.truncateLog(record.finalIndex);
        return;
      case 'state':
        if (record.term > mirror.currentTerm) mirror.advanceToTerm(record.term);
        else if (record.term < mirror.currentTerm) throw new Error(`term ${record.term} after term ${mirror.currentTerm}`);
        if (record.votedFor !== undefined) mirror.vote(record.votedFor);
        return;
    }
  } catch (error) {
    if (error instanceof CorruptStateError) throw error;
    throw new CorruptStateError(file, record.offset, `record does not apply: ${(error as Error).message}`);
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
