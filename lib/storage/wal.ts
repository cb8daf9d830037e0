/**
 * The on-disk format of {@link FilePersistentState}: segment files of checksummed records.
 *
 * A segment starts with a 16-byte header: the magic `RAFTWAL1`, its sequence number (u32 LE)
 * and the CRC-32 of those 12 bytes. Then records, each a 12-byte header (body length u32,
 * CRC-32 of the body u32, CRC-32 of those 8 bytes u32), a body whose first byte is its kind,
 * and one trailer byte `0xA5`:
 * - `1` entry: term (f64 LE, exact for integers) then the codec's bytes;
 * - `2` truncation: final index (f64 LE);
 * - `3` state: term (f64 LE) then vote (i32 LE, -1 for none);
 * - `4` seal: the sequence of the next segment (u32 LE), the last record of a full segment;
 * - `5` checkpoint (version 3): the snapshot's last included index and term, then the first and
 *   last index of the entries kept after the compaction (four f64 LE; last = first - 1 when none
 *   are kept). Only ever the first record of a segment.
 * - `6` no-op entry (version 3): term (f64 LE); an entry the library wrote for itself, with no data;
 * Every mutation of the store is one appended record, so a crash leaves a prefix of them.
 *
 * The file `FORMAT` holds `raft-ts write-ahead log, version 3` and a newline (version 2: the
 * same files without checkpoints or snapshot files; still opened, and rewritten as version 3,
 * through `FORMAT.tmp` and a rename, before the store's first compaction writes anything).
 *
 * Compaction (version 3). First the records still buffered are written and synced. A
 * snapshot is a file (see `snapshot-file.ts`) `snapshot-<lastIncluded index, 16 hex
 * digits>.snap`: a 40-byte header (the magic `RAFTSNP1`, index f64 LE, term f64 LE, data length
 * f64 LE, CRC-32 of the data u32 LE, CRC-32 of those first 36 bytes u32 LE) and the data. It is
 * written as `<name>.tmp`, fsynced, renamed into place, and the directory fsynced. Then a NEW
 * segment is written (and the directory fsynced) that is self-contained: a
 * checkpoint record naming the snapshot, a state record (term and vote), and the entry records
 * of every entry kept (`firstKept..currentLogIndex`); it is fsynced, and only then is the
 * previous segment sealed (the seal is the commit point of the compaction). After that the
 * older segments and snapshot files are deleted (oldest first) and the directory fsynced.
 *
 * On open: when the newest segment begins with a checkpoint (or holds nothing) and the segment
 * before it is not sealed, it is a rotation that did not finish, and is deleted. The log is then
 * replayed from the LAST segment that begins with a checkpoint (or from segment 1 when none
 * does); segments before it are leftovers of an interrupted deletion and are deleted, as are
 * `*.tmp` files and snapshot files the checkpoint does not name. The snapshot file named by the
 * checkpoint must be there and intact, or open throws {@link CorruptStateError} naming it.
 * Segments from the replayed one on must be consecutive, and each but the last sealed.
 *
 * Telling a torn tail from damage: a crash can leave the unsynced end of the last segment
 * cut short, or (power loss) with whole sectors never written, which read as zeros. So the
 * first bad record of the last segment is a torn tail when it is cut short, or when its
 * checksum fails and it has an unwritten sector: its last chunk (which holds the non-zero
 * trailer, so it is never zero by nature) or a whole 512-byte sector inside it reads as zeros,
 * and nothing but zeros follows it. Anything else is damage.
 */
import { crc32 } from 'node:zlib';
import { CorruptStateError, StorageError } from '../errors';

/**
 * Throws a {@link StorageError} naming the Node.js version needed when this Node.js has no
 * `crc32` in `node:zlib` (added in Node.js 20.15.0 and 22.2.0): without it every checksum
 * would fail, and the store would report a misleading I/O error.
 */
export function checkCrc32Support(path: string): void {
  if (typeof crc32 !== 'function') {
    throw new StorageError('io', path, `FilePersistentState needs Node.js 20.15 or later (crc32 in node:zlib); this is Node.js ${process.versions.node}`);
  }
}

/** The first 8 bytes of every segment. */
export const SEGMENT_MAGIC = Buffer.from('RAFTWAL1', 'latin1');
/** Bytes of a segment header. */
export const SEGMENT_HEADER_BYTES = 16;
/** Bytes of a record header. */
export const RECORD_HEADER_BYTES = 12;
/** The byte after every record's body. */
export const RECORD_TRAILER = 0xa5;
/** Larger bodies are taken for damage, not data. */
export const MAX_RECORD_BYTES = 1 << 30;
const SECTOR = 512;

/** One decoded record. */
export type WalRecord =
  | { readonly kind: 'entry'; readonly term: number; readonly data: Uint8Array; readonly offset: number }
  | { readonly kind: 'noop'; readonly term: number; readonly offset: number }
  | { readonly kind: 'truncate'; readonly finalIndex: number; readonly offset: number }
  | { readonly kind: 'state'; readonly term: number; readonly votedFor: number | undefined; readonly offset: number }
  | { readonly kind: 'seal'; readonly next: number; readonly offset: number }
  | { readonly kind: 'checkpoint'; readonly index: number; readonly term: number; readonly firstKept: number; readonly lastKept: number; readonly offset: number };

/** The file name of segment `sequence`. */
export function segmentName(sequence: number): string {
  return `wal-${sequence.toString(16).padStart(8, '0')}.log`;
}

/** The sequence number in a segment's file name, or `undefined` for another file. */
export function segmentSequence(name: string): number | undefined {
  const match = /^wal-([0-9a-f]{8})\.log$/.exec(name);
  return match === null ? undefined : parseInt(match[1] as string, 16);
}

/** The header of segment `sequence`. */
export function segmentHeader(sequence: number): Buffer {
  const header = Buffer.alloc(SEGMENT_HEADER_BYTES);
  SEGMENT_MAGIC.copy(header, 0);
  header.writeUInt32LE(sequence, 8);
  header.writeUInt32LE(crc32(header.subarray(0, 12)), 12);
  return header;
}

function frame(body: Buffer): Buffer {
  const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + body.length + 1);
  record.writeUInt32LE(body.length, 0);
  record.writeUInt32LE(crc32(body), 4);
  record.writeUInt32LE(crc32(record.subarray(0, 8)), 8);
  body.copy(record, RECORD_HEADER_BYTES);
  record[record.length - 1] = RECORD_TRAILER;
  return record;
}

/** The seal of a full segment: the log goes on in segment `next`. */
export function sealRecord(next: number): Buffer {
  const body = Buffer.allocUnsafe(5);
  body[0] = 4;
  body.writeUInt32LE(next, 1);
  return frame(body);
}

/**
 * The checkpoint record that begins the segment written by a compaction: the snapshot's last
 * included position, and the entries kept after it (`firstKept..lastKept`, none when
 * `lastKept < firstKept`).
 */
export function checkpointRecord(index: number, term: number, firstKept: number, lastKept: number): Buffer {
  const body = Buffer.allocUnsafe(CHECKPOINT_BODY_BYTES);
  body[0] = 5;
  body.writeDoubleLE(index, 1);
  body.writeDoubleLE(term, 9);
  body.writeDoubleLE(firstKept, 17);
  body.writeDoubleLE(lastKept, 25);
  return frame(body);
}

const CHECKPOINT_BODY_BYTES = 33;
/** Bytes from the start of a segment to the end of a checkpoint record that begins it. */
export const CHECKPOINT_PREFIX_BYTES = SEGMENT_HEADER_BYTES + RECORD_HEADER_BYTES + CHECKPOINT_BODY_BYTES + 1;

/**
 * Whether `head` (the first {@link CHECKPOINT_PREFIX_BYTES} bytes of segment `sequence`, or
 * fewer) is an intact segment header followed by an intact checkpoint record. Used on open to
 * find where to replay from without reading whole segments; the full scan checks the rest.
 */
export function beginsWithCheckpoint(head: Buffer, sequence: number): boolean {
  if (head.length < CHECKPOINT_PREFIX_BYTES || !head.subarray(0, SEGMENT_HEADER_BYTES).equals(segmentHeader(sequence))) return false;
  const offset = SEGMENT_HEADER_BYTES;
  if (head.readUInt32LE(offset) !== CHECKPOINT_BODY_BYTES || head.readUInt32LE(offset + 8) !== crc32(head.subarray(offset, offset + 8))) return false;
  const body = head.subarray(offset + RECORD_HEADER_BYTES, offset + RECORD_HEADER_BYTES + CHECKPOINT_BODY_BYTES);
  return body[0] === 5 && crc32(body) === head.readUInt32LE(offset + 4) && head[CHECKPOINT_PREFIX_BYTES - 1] === RECORD_TRAILER;
}

/** An entry record. */
export function entryRecord(term: number, data: Uint8Array): Buffer {
  const body = Buffer.allocUnsafe(9 + data.length);
  body[0] = 1;
  body.writeDoubleLE(term, 1);
  body.set(data, 9);
  return frame(body);
}

/** A no-op entry record (an entry the library wrote for itself: no data). */
export function noopRecord(term: number): Buffer {
  const body = Buffer.allocUnsafe(9);
  body[0] = 6;
  body.writeDoubleLE(term, 1);
  return frame(body);
}

/** A truncation record. */
export function truncateRecord(finalIndex: number): Buffer {
  const body = Buffer.allocUnsafe(9);
  body[0] = 2;
  body.writeDoubleLE(finalIndex, 1);
  return frame(body);
}

/** A term-and-vote record. */
export function stateRecord(term: number, votedFor: number | undefined): Buffer {
  const body = Buffer.allocUnsafe(13);
  body[0] = 3;
  body.writeDoubleLE(term, 1);
  body.writeInt32LE(votedFor ?? -1, 9);
  return frame(body);
}

/** What {@link scanSegment} found. */
export interface SegmentScan {
  /** The intact records, in order. */
  readonly records: WalRecord[];
  /** Bytes of the file up to the end of the last intact record. */
  readonly validLength: number;
  /** Whether bytes after `validLength` were a torn tail (only possible in the last segment). */
  readonly tornTail: boolean;
}

/**
 * Decodes a segment. In the last segment, a record torn by a crash at the very end (cut
 * short, or with whole zeroed sectors and nothing but zeros after it) is reported as a torn
 * tail; any other damage, anywhere, throws {@link CorruptStateError} with the offset.
 */
export function scanSegment(bytes: Buffer, file: string, sequence: number, isLast: boolean): SegmentScan {
  const expectedHeader = segmentHeader(sequence);
  if (bytes.length < SEGMENT_HEADER_BYTES) {
    if (isLast && bytes.subarray(0, bytes.length).equals(expectedHeader.subarray(0, bytes.length))) {
      return { records: [], validLength: 0, tornTail: true };
    }
    throw new CorruptStateError(file, 0, `a segment is at least ${SEGMENT_HEADER_BYTES} bytes, this one has ${bytes.length}`);
  }
  if (!bytes.subarray(0, SEGMENT_HEADER_BYTES).equals(expectedHeader)) {
    throw new CorruptStateError(file, 0, `not a segment header for sequence ${sequence} (bad magic, sequence or checksum)`);
  }
  const records: WalRecord[] = [];
  let offset = SEGMENT_HEADER_BYTES;
  const torn = (problem: string): SegmentScan => {
    if (isLast) return { records, validLength: offset, tornTail: true };
    throw new CorruptStateError(file, offset, `${problem} in a segment that is not the last`);
  };
  while (offset < bytes.length) {
    if (offset + RECORD_HEADER_BYTES > bytes.length) return torn('a record header cut short');
    const length = bytes.readUInt32LE(offset);
    const bodyCrc = bytes.readUInt32LE(offset + 4);
    if (bytes.readUInt32LE(offset + 8) !== crc32(bytes.subarray(offset, offset + 8)) || length > MAX_RECORD_BYTES || length === 0) {
      if (allZero(bytes, offset, bytes.length)) return torn('a zeroed record header');
      throw new CorruptStateError(file, offset, 'bad record header (checksum, or a length out of range)');
    }
    const bodyEnd = offset + RECORD_HEADER_BYTES + length;
    const end = bodyEnd + 1;
    if (end > bytes.length) return torn('a record cut short');
    const body = bytes.subarray(offset + RECORD_HEADER_BYTES, bodyEnd);
    if (crc32(body) !== bodyCrc || bytes[bodyEnd] !== RECORD_TRAILER) {
      if (allZero(bytes, end, bytes.length) && hasUnwrittenSector(bytes, offset + RECORD_HEADER_BYTES, end)) return torn('a record with unwritten sectors');
      throw new CorruptStateError(file, offset, crc32(body) !== bodyCrc ? 'record checksum mismatch' : 'record trailer missing');
    }
    records.push(decodeBody(body, file, offset));
    offset = end;
  }
  return { records, validLength: offset, tornTail: false };
}

function decodeBody(body: Buffer, file: string, offset: number): WalRecord {
  const kind = body[0];
  if (kind === 1 && body.length >= 9) return { kind: 'entry', term: body.readDoubleLE(1), data: body.subarray(9), offset };
  if (kind === 2 && body.length === 9) return { kind: 'truncate', finalIndex: body.readDoubleLE(1), offset };
  if (kind === 6 && body.length === 9) return { kind: 'noop', term: body.readDoubleLE(1), offset };
  if (kind === 3 && body.length === 13) {
    const vote = body.readInt32LE(9);
    return { kind: 'state', term: body.readDoubleLE(1), votedFor: vote < 0 ? undefined : vote, offset };
  }
  if (kind === 4 && body.length === 5) return { kind: 'seal', next: body.readUInt32LE(1), offset };
  if (kind === 5 && body.length === CHECKPOINT_BODY_BYTES) {
    return { kind: 'checkpoint', index: body.readDoubleLE(1), term: body.readDoubleLE(9), firstKept: body.readDoubleLE(17), lastKept: body.readDoubleLE(25), offset };
  }
  throw new CorruptStateError(file, offset, `unknown record kind ${String(kind)} of ${body.length} bytes`);
}

function allZero(bytes: Buffer, from: number, to: number): boolean {
  for (let k = from; k < to; k++) if (bytes[k] !== 0) return false;
  return true;
}

/**
 * Whether the record in `[from, to)` shows a sector that was never written: its last chunk
 * (from the last sector boundary, or from `from`, to `to`; it holds the trailer, so it is
 * never zero in a record that was written) or a whole 512-byte sector inside it is all zeros.
 */
function hasUnwrittenSector(bytes: Buffer, from: number, to: number): boolean {
  const lastChunk = Math.max(from, Math.floor((to - 1) / SECTOR) * SECTOR);
  if (allZero(bytes, lastChunk, to)) return true;
  for (let start = Math.ceil(from / SECTOR) * SECTOR; start + SECTOR <= to; start += SECTOR) {
    if (allZero(bytes, start, start + SECTOR)) return true;
  }
  return false;
}

/**
 * The header of a snapshot file: defined with the snapshot file format in `snapshot-file.ts`,
 * and exported here too for code that builds segments and snapshot files side by side.
 */
export { snapshotHeader } from './snapshot-file';
