/**
 * The file `FORMAT` of a {@link FilePersistentState} directory: which version of the on-disk
 * format (`wal.ts`) the store is written in.
 */
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { io, syncDirectory, writeAll, writeFileAtomically } from './files';

/** The name of the file holding the format version. */
export const FORMAT_FILE = 'FORMAT';
/** The FORMAT of stores written by this version (checkpoints and snapshot files may occur). */
export const FORMAT_TEXT = 'raft-ts write-ahead log, version 3\n';
/** The FORMAT of stores written before compaction; still opened, upgraded at their first compaction. */
export const FORMAT_V2_TEXT = 'raft-ts write-ahead log, version 2\n';

/** Creates FORMAT (version 3) in `directory`, where it must not exist, and fsyncs it and the directory. */
export function createFormatFile(directory: string): void {
  const format = join(directory, FORMAT_FILE);
  io(format, () => {
    const formatFd = openSync(format, 'wx');
    writeAll(formatFd, Buffer.from(FORMAT_TEXT, 'latin1'), 0);
    fsyncSync(formatFd);
    closeSync(formatFd);
    syncDirectory(directory);
  });
}

/** Rewrites FORMAT in `directory` as version 3 (temporary file, fsync, rename, directory fsync). */
export function upgradeFormatFile(directory: string): void {
  writeFileAtomically(directory, join(directory, FORMAT_FILE), Buffer.from(FORMAT_TEXT, 'latin1'));
}
