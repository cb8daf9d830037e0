/**
 * The snapshot files of {@link FilePersistentState} (format version 3): one file per snapshot,
 * `snapshot-<lastIncluded index, 16 hex digits>.snap`, holding a 40-byte header (the magic
 * `RAFTSNP1`, index f64 LE, term f64 LE, data length f64 LE, CRC-32 of the data u32 LE, CRC-32
 * of those first 36 bytes u32 LE) and the data. It is written as `<name>.tmp`, fsynced, renamed
 * into place, and the directory fsynced. How compaction orders it with the log: `wal.ts`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { CorruptStateError } from '../errors';
import { io, writeFileAtomically } from './files';

/** The first 8 bytes of every snapshot file. */
export const SNAPSHOT_MAGIC = Buffer.from('RAFTSNP1', 'latin1');
/** Bytes of a snapshot file's header. */
export const SNAPSHOT_HEADER_BYTES = 40;

/** The file name of the snapshot whose last included index is `index`. */
export function snapshotName(index: number): string {
  return `snapshot-${index.toString(16).padStart(16, '0')}.snap`;
}

/** The index in a snapshot file's name, or `undefined` for another file. */
export function snapshotIndex(name: string): number | undefined {
  const match = /^snapshot-([0-9a-f]{16})\.snap$/.exec(name);
  return match === null ? undefined : parseInt(match[1] as string, 16);
}

/** The header of a snapshot file holding `data` as the state up to (`index`, `term`). */
export function snapshotHeader(index: number, term: number, data: Uint8Array): Buffer {
  const header = Buffer.alloc(SNAPSHOT_HEADER_BYTES);
  SNAPSHOT_MAGIC.copy(header, 0);
  header.writeDoubleLE(index, 8);
  header.writeDoubleLE(term, 16);
  header.writeDoubleLE(data.length, 24);
  header.writeUInt32LE(crc32(data), 32);
  header.writeUInt32LE(crc32(header.subarray(0, 36)), 36);
  return header;
}

/**
 * Decodes a snapshot file that must hold the snapshot (`index`, `term`) and returns its data.
 * @throws {@link CorruptStateError} naming `file` when anything does not check out.
 */
export function decodeSnapshotFile(bytes: Buffer, file: string, index: number, term: number): Uint8Array {
  if (bytes.length < SNAPSHOT_HEADER_BYTES) throw new CorruptStateError(file, 0, `a snapshot file is at least ${SNAPSHOT_HEADER_BYTES} bytes, this one has ${bytes.length}`);
  if (!bytes.subarray(0, 8).equals(SNAPSHOT_MAGIC) || bytes.readUInt32LE(36) !== crc32(bytes.subarray(0, 36))) {
    throw new CorruptStateError(file, 0, 'not a snapshot header (bad magic or checksum)');
  }
  if (bytes.readDoubleLE(8) !== index || bytes.readDoubleLE(16) !== term) {
    throw new CorruptStateError(file, 8, `the snapshot is of ${bytes.readDoubleLE(8)} (term ${bytes.readDoubleLE(16)}), the log names ${index} (term ${term})`);
  }
  const length = bytes.readDoubleLE(24);
  if (length !== bytes.length - SNAPSHOT_HEADER_BYTES) throw new CorruptStateError(file, 24, `the header says ${length} bytes of data, the file holds ${bytes.length - SNAPSHOT_HEADER_BYTES}`);
  const data = bytes.subarray(SNAPSHOT_HEADER_BYTES);
  if (crc32(data) !== bytes.readUInt32LE(32)) throw new CorruptStateError(file, SNAPSHOT_HEADER_BYTES, 'snapshot data checksum mismatch');
  return data;
}

/** Writes a snapshot file under a temporary name, fsyncs it, renames it into place and fsyncs the directory. */
export function writeSnapshotFile(directory: string, index: number, term: number, data: Uint8Array): void {
  writeFileAtomically(directory, join(directory, snapshotName(index)), Buffer.concat([snapshotHeader(index, term, data), data]));
}

/**
 * Reads the data of the snapshot (`index`, `term`) from its file in `directory`, which the
 * checkpoint in `namedIn` names.
 * @throws {@link CorruptStateError} naming the snapshot file when it is missing or does not check out.
 * @throws {@link StorageError} when it cannot be read.
 */
export function readSnapshotFile(directory: string, index: number, term: number, namedIn: string): Uint8Array {
  const snapshotFile = join(directory, snapshotName(index));
  if (!io(snapshotFile, () => existsSync(snapshotFile))) throw new CorruptStateError(snapshotFile, 0, `snapshot file missing: the log's checkpoint (in ${namedIn}) names it`);
  return decodeSnapshotFile(io(snapshotFile, () => readFileSync(snapshotFile)), snapshotFile, index, term);
}
