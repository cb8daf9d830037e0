import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { StorageError } from '../errors';

/** Directories this process holds open, by resolved path. */
const openHere = new Set<string>();

/**
 * Takes the lock of a store directory: a `LOCK` file holding this process's pid, created
 * exclusively. A lock left by a process that no longer runs (it was killed) is taken over;
 * a lock held by a running process, or by this process, is refused with a
 * {@link StorageError} whose `reason` is `'locked'`. Returns the function that releases it.
 */
export function lockDirectory(directory: string): () => void {
  const path = join(directory, 'LOCK');
  if (openHere.has(directory)) throw new StorageError('locked', directory, `${directory} is already open in this process`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      openHere.add(directory);
      return () => {
        openHere.delete(directory);
        try {
          unlinkSync(path);
        } catch {
          // already gone: nothing to release
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new StorageError('io', path, `cannot create ${path}: ${(error as Error).message}`, error);
      }
    }
    const holder = Number.parseInt(readLock(path), 10);
    if (Number.isSafeInteger(holder) && holder !== process.pid && isRunning(holder)) {
      throw new StorageError('locked', directory, `${directory} is open in process ${holder} (${path})`);
    }
    try {
      unlinkSync(path); // stale: its process is gone (or it was this process, without close)
    } catch {
      // someone else removed it first; try again
    }
  }
  throw new StorageError('locked', directory, `could not take the lock ${path}`);
}

function readLock(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
