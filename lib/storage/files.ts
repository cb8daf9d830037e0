/**
 * Low-level file steps of {@link FilePersistentState}: every call of `node:fs` that writes,
 * syncs or reads part of a file goes through these, and every system error becomes a
 * {@link StorageError} naming the path.
 */
import { closeSync, fsyncSync, openSync, readSync, renameSync, writeSync } from 'node:fs';
import { CorruptStateError, StorageError } from '../errors';

/** Runs an I/O step, turning a system error into a {@link StorageError} that names the path. */
export function io<R>(path: string, step: () => R): R {
  try {
    return step();
  } catch (error) {
    if (error instanceof CorruptStateError || error instanceof StorageError) throw error;
    throw new StorageError('io', path, `I/O failed on ${path}: ${(error as Error).message}`, error);
  }
}

/** Writes all of `bytes` to `fd` at `position` (a `write` may write fewer bytes than asked). */
export function writeAll(fd: number, bytes: Buffer, position: number): void {
  let written = 0;
  while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written, position + written);
}

/** Fsyncs `directory`, making the files created, renamed or deleted in it durable. */
export function syncDirectory(directory: string): void {
  const fd = openSync(directory, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes `bytes` to `<file>.tmp`, fsyncs it, renames it to `file` and fsyncs `directory`. */
export function writeFileAtomically(directory: string, file: string, bytes: Buffer): void {
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

/**
 * Creates the segment `file` in `directory` (it must not exist) holding `header`, fsyncs it and
 * the directory, and returns it open for reading and writing.
 */
export function createSegment(directory: string, file: string, header: Buffer): number {
  return io(file, () => {
    const fd = openSync(file, 'wx+');
    writeAll(fd, header, 0);
    fsyncSync(fd);
    syncDirectory(directory);
    return fd;
  });
}

/** Runs a clean-up step whose failure only leaves a file for the next open to delete. */
export function bestEffort(step: () => void): void {
  try {
    step();
  } catch {
    // left for the next open
  }
}

/** The first `length` bytes of `file` (fewer when it is shorter). */
export function readHead(file: string, length: number): Buffer {
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
