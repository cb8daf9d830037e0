/**
 * Helpers shared by the durability tests of FilePersistentState: temporary directories,
 * state snapshots, and an independent reader of the on-disk format documented at the top
 * of lib/storage/wal.ts (so that tests can find and damage individual records without
 * trusting the code under test to locate them).
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Codec, IPersistentState, LogEntry, ServerId, Term } from '../../lib';

/** The repository root (where package.json and node_modules are). */
export const REPO_ROOT = resolve(__dirname, '..', '..');

/** Bytes of a segment header and of a record header, and the byte that ends every record (lib/storage/wal.ts). */
export const SEGMENT_HEADER_BYTES = 16;
export const RECORD_HEADER_BYTES = 12;
export const RECORD_TRAILER = 0xa5;

const created: string[] = [];

/** A new empty directory under os.tmpdir(), removed by {@link removeTempDirs}. */
export function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `raft-storage-${label}-`));
  created.push(dir);
  return dir;
}

/** Removes every directory made by {@link tempDir} (restoring permissions first). */
export function removeTempDirs(): void {
  for (const dir of created.splice(0)) {
    try {
      chmodSync(dir, 0o700);
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Everything observable in a store, as plain data. */
export interface StateSnapshot<T> {
  currentTerm: Term;
  votedFor: ServerId | undefined;
  currentLogIndex: number;
  last: LogEntry<T> | undefined;
  log: LogEntry<T>[];
}

/** A plain-data snapshot of `state` (entries copied field by field). */
export function snapshot<T>(state: IPersistentState<T>): StateSnapshot<T> {
  const log: LogEntry<T>[] = [];
  for (let index = 1; index <= state.currentLogIndex; index++) {
    const entry = state.getLogEntry(index);
    if (entry === undefined) throw new Error(`no entry at ${index} although currentLogIndex is ${state.currentLogIndex}`);
    log.push({ index: entry.index, term: entry.term, data: entry.data });
  }
  const last = state.getLastLogEntry();
  return {
    currentTerm: state.currentTerm,
    votedFor: state.votedFor,
    currentLogIndex: state.currentLogIndex,
    last: last === undefined ? undefined : { index: last.index, term: last.term, data: last.data },
    log,
  };
}

/** The segment files of a store directory, sorted by name. */
export function segmentFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => /^wal-[0-9a-f]{8}\.log$/.test(name))
    .sort();
}

/** The file name of segment `sequence` (wal-00000001.log ...). */
export function segmentName(sequence: number): string {
  return `wal-${sequence.toString(16).padStart(8, '0')}.log`;
}

/** One record as found by {@link records}: its offset, total length and body. */
export interface RawRecord {
  offset: number;
  length: number; // header + body + trailer
  kind: number; // 1 entry, 2 truncation, 3 term and vote, 4 seal, 5 checkpoint (a compaction)
  body: Buffer;
}

/**
 * The records of a segment file, read by following the length fields (no checksum check):
 * enough to locate a record for a damage test. Each record is a 12-byte header (body length,
 * CRCs), the body, and one trailer byte.
 */
export function records(file: string): RawRecord[] {
  const bytes = readFileSync(file);
  const found: RawRecord[] = [];
  let offset = SEGMENT_HEADER_BYTES;
  while (offset + RECORD_HEADER_BYTES <= bytes.length) {
    const bodyLength = bytes.readUInt32LE(offset);
    const length = RECORD_HEADER_BYTES + bodyLength + 1;
    if (bodyLength === 0 || offset + length > bytes.length) break;
    const body = bytes.subarray(offset + RECORD_HEADER_BYTES, offset + RECORD_HEADER_BYTES + bodyLength);
    found.push({ offset, length, kind: body[0] as number, body: Buffer.from(body) });
    offset += length;
  }
  return found;
}

/** Flips every bit of the byte at `offset` of `file`. */
export function flipByte(file: string, offset: number): void {
  const bytes = readFileSync(file);
  if (offset >= bytes.length) throw new Error(`offset ${offset} past the end of ${file} (${bytes.length} bytes)`);
  bytes[offset] = (bytes[offset] as number) ^ 0xff;
  writeFileSync(file, bytes);
}

/**
 * A "crash image" of a live store: a copy of its directory as the files are right now,
 * as another process would find it after this one died (buffered, unsynced writes of the
 * live store are not in the files). The LOCK is copied too: it names this process, which
 * a new open of the copy (a directory not open in this process) treats as a dead lock.
 */
export function crashImage(dir: string, label = 'crash'): string {
  const copy = tempDir(label);
  for (const name of readdirSync(dir)) cpSync(join(dir, name), join(copy, name), { recursive: true });
  return copy;
}

/** A UTF-8 string codec. */
export const utf8Codec: Codec<string> = {
  encode: (text) => Buffer.from(text, 'utf8'),
  decode: (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'),
};

/** Whether `path` exists. */
export function exists(path: string): boolean {
  return existsSync(path);
}

/** Runs `call` and returns what it threw; fails if it did not throw. */
export function thrown(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw, it returned');
}
