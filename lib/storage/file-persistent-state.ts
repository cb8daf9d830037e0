import { closeSync, fdatasyncSync, fsyncSync, mkdirSync, openSync, unlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigurationError, InvalidArgumentError, StorageError, describe } from '../errors';
import { checkSnapshot, InMemoryPersistentState, type IPersistentState, type NewEntry } from '../persistent-state';
import type { LogEntry, LogIndex, ServerId, Snapshot, Term } from '../types';
import { JSON_CODEC, type Codec } from './codec';
import { bestEffort, createSegment, io, syncDirectory, writeAll } from './files';
import { upgradeFormatFile } from './format-file';
import { lockDirectory } from './lock';
import { openLog, type OpenedLog } from './replay';
import { snapshotName, writeSnapshotFile } from './snapshot-file';
import { checkCrc32Support, checkpointRecord, entryRecord, noopRecord, sealRecord, segmentHeader, segmentName, stateRecord, truncateRecord, SEGMENT_HEADER_BYTES } from './wal';

/** Options of {@link FilePersistentState.open}. */
export interface FilePersistentStateOptions<T> {
  /** How entry data becomes bytes. @default JSON in UTF-8 */
  codec?: Codec<T>;
  /** A segment file is closed, and a new one started, once it holds this many bytes. @default 64 MiB */
  maxSegmentBytes?: number;
  /**
   * Called after each `sync()` that wrote something, with how long its write and
   * `fdatasync` took in seconds (for a latency histogram). An error it throws is ignored.
   */
  onSync?: (seconds: number) => void;
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
  readonly #onSync: ((seconds: number) => void) | undefined;
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

  private constructor(directory: string, codec: Codec<T>, maxSegmentBytes: number, release: () => void, log: OpenedLog<T>, onSync: ((seconds: number) => void) | undefined) {
    this.directory = directory;
    this.#onSync = onSync;
    this.#codec = codec;
    this.#maxSegmentBytes = maxSegmentBytes;
    this.#release = release;
    this.#mirror = log.mirror;
    this.#fd = log.fd;
    this.#sequence = log.sequence;
    this.#segmentBytes = log.segmentBytes;
    this.#firstSequence = log.firstSequence;
    this.#formatVersion = log.formatVersion;
  }

  /**
   * Opens the store in `directory`, creating the directory and an empty store if absent, and
   * reads back everything that was synced.
   * @throws {@link CorruptStateError} when a file is damaged (other than a torn tail).
   * @throws {@link StorageError} when the directory is open elsewhere or cannot be read or written.
   * @throws {@link ConfigurationError} when `directory` is not a non-empty string (without NUL), `options` is
   *   not an object, or an option is invalid (a `codec` without `encode` and `decode` functions,
   *   a `maxSegmentBytes` that is not an integer >= 1024, an `onSync` that is not a function).
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
    if (options.onSync !== undefined && typeof options.onSync !== 'function') throw new ConfigurationError('onSync', options.onSync, 'a function');
    const path = resolve(directory);
    checkCrc32Support(path);
    io(path, () => {
      const created = mkdirSync(path, { recursive: true });
      if (created !== undefined) syncDirectory(dirname(path));
    });
    const release = lockDirectory(path);
    try {
      return new FilePersistentState(path, codec, maxSegmentBytes, release, openLog(path, codec), options.onSync);
    } catch (error) {
      release();
      throw error;
    }
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
    for (const entry of mirror.getLogEntries(keptFrom, keptTo)) records.push(this.#record(entry));
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
  appendEntries(entries: readonly NewEntry<T>[]): void {
    this.#checkOpen();
    const records = entries.map((entry) => this.#record(entry));
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
    const started = this.#onSync === undefined ? 0 : performance.now();
    io(file, () => {
      writeAll(this.#fd, batch, this.#segmentBytes);
      fdatasyncSync(this.#fd);
    });
    if (this.#onSync !== undefined) {
      try {
        this.#onSync((performance.now() - started) / 1000);
      } catch {
        // a metrics hook never fails a sync
      }
    }
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
    const fd = createSegment(this.directory, join(this.directory, segmentName(next)), segmentHeader(next));
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
    upgradeFormatFile(this.directory);
    this.#formatVersion = 3;
  }

  #write(record: Buffer): void {
    this.#pending.push(record);
    this.#pendingBytes += record.length;
  }

  /** The record of one entry: a no-op, or the codec's bytes of its data. */
  #record(entry: { readonly data: T; readonly term: Term; readonly kind?: 'noop' }): Buffer {
    return entry.kind === 'noop' ? noopRecord(entry.term) : entryRecord(entry.term, this.#encode(entry.data));
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
