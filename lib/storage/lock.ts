import { closeSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, renameSync, rmdirSync, rmSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { StorageError } from '../errors';
import { isThisProcess, newOwner, ownerName, ownerRuns, parseOwnerName, pidRuns, type LockOwner } from './lock-owner';

/** Directories this process holds open, by real path. */
const openHere = new Set<string>();

/** Bound on rounds of the acquisition loop; each round after the first follows a change made by another process. */
const MAX_ROUNDS = 100;

/**
 * Takes the lock of a store directory, so that one process at a time uses it. Returns the
 * function that releases it. A lock held by a running process, or by this process, is
 * refused with a {@link StorageError} whose `reason` is `'locked'`; a lock left by a process
 * that no longer runs is taken over.
 *
 * **The lock.** `LOCK` is a directory holding exactly one file, named after its owner:
 * `owner.<pid>.<startTime>.<bootId>.<nonce>` (see `lock-owner.ts`): the pid, the process's
 * start time from `/proc/<pid>/stat`, the boot id, and a random nonce new for each lock
 * taken. An owner "runs" when the machine has not rebooted since, a process with that pid
 * exists and is not a zombie, and it started at the recorded time: so a pid given to another
 * process (a container restarted, pids wrapping round) does not keep a dead owner's lock,
 * and does not make a lock look held. Where there is no `/proc`, the pid alone decides.
 *
 * **Taking it** relies on one atomic step, `rename(2)` of a directory onto `LOCK`, which
 * succeeds only if `LOCK` is absent or an *empty* directory, and fails otherwise (ENOTEMPTY
 * or EEXIST for a held lock, ENOTDIR for a file):
 * 1. make a staging directory `LOCK.new.<owner>` holding our owner file;
 * 2. rename it onto `LOCK`: on success the lock is ours (a non-empty directory replaced an
 *    empty one or nothing, atomically);
 * 3. otherwise list `LOCK`: if an owner in it runs, refuse; else delete each dead owner's
 *    file *by its own name* and go back to 2. Whoever renames first wins; the others find a
 *    running owner in step 3 and are refused.
 *
 * Why two takers never both hold it: step 2 only ever replaces an empty directory, and a
 * held lock is never empty, because its owner file is removed only by its owner (on
 * release) or by a taker that found that owner dead. Why a takeover never removes a fresh
 * lock: it deletes the one file it judged dead, by a name no other lock can have (the
 * nonce); if `LOCK` was replaced meanwhile, that delete finds nothing and the next rename
 * fails on the new, non-empty lock. There is no moment when a held lock is absent.
 *
 * **Release** deletes the owner file, then removes `LOCK` only if it is empty (`rmdir`), so
 * it can never remove a lock another process took meanwhile.
 *
 * **A `LOCK` file** (the format of earlier versions: the pid in decimal) is refused while a
 * process with that pid, other than this one, runs. Otherwise it is moved aside by renaming
 * it onto an empty file `LOCK.old.<owner>` made first: rename onto a file fails (ENOTDIR)
 * when `LOCK` has become a directory meanwhile, so this never moves a new-style lock either.
 *
 * **This process**: a directory already open here (by real path) is refused. A lock naming
 * this process in a directory not open here (a copy of a live directory, say) is dead.
 * Staging directories and moved-aside files of dead owners are deleted by the next holder.
 *
 * Limits: the lock is for one machine (or one pid namespace): processes in different pid
 * namespaces sharing the directory cannot see each other's pids and are not excluded.
 * Processes of an earlier version racing with this one over the same directory are not
 * excluded either (that version's takeover was not atomic); they are refused a new-style lock.
 */
export function lockDirectory(directory: string): () => void {
  const key = realPath(directory);
  if (openHere.has(key)) throw new StorageError('locked', directory, `${directory} is already open in this process`);
  const path = join(directory, 'LOCK');
  const owner = newOwner();
  const name = ownerName(owner);
  const staging = join(directory, `LOCK.new.${name}`);
  io(staging, () => {
    mkdirSync(staging);
    const fd = openSync(join(staging, name), 'wx');
    try {
      writeSync(fd, `${JSON.stringify({ ...owner, since: new Date().toISOString() })}\n`);
    } finally {
      closeSync(fd);
    }
  });
  try {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      let code: string | undefined;
      try {
        renameSync(staging, path);
      } catch (error) {
        code = (error as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOTDIR') throw ioError(path, error);
      }
      if (code === undefined) {
        openHere.add(key);
        removeDebris(directory);
        return () => release(key, path, name);
      }
      if (code === 'ENOTDIR') clearOldLock(directory, path, name);
      else clearDeadOwners(directory, path);
    }
    throw new StorageError('locked', directory, `could not take the lock ${path}: it kept changing`);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}

/** Deletes the files of dead owners in the lock directory `path`; throws 'locked' if an owner runs. */
function clearDeadOwners(directory: string, path: string): void {
  let entries: string[];
  try {
    entries = readdirSync(path);
  } catch {
    return; // gone or replaced meanwhile: try again
  }
  for (const entry of entries) {
    const owner = parseOwnerName(entry);
    if (owner !== undefined && !isThisProcess(owner) && ownerRuns(owner)) {
      throw new StorageError('locked', directory, `${directory} is open in process ${owner.pid} (${join(path, entry)})`);
    }
  }
  // every owner is dead (or the entry is no owner at all): delete each by its own name
  for (const entry of entries) io(path, () => rmSync(join(path, entry), { recursive: true, force: true }));
}

/** Moves aside a `LOCK` file of an earlier version unless the process it names runs. */
function clearOldLock(directory: string, path: string, name: string): void {
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch {
    return; // gone, or a directory now: try again
  }
  const pid = /^\s*[0-9]+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (pid !== process.pid && pidRuns(pid)) throw new StorageError('locked', directory, `${directory} is open in process ${pid} (${path})`);
  const aside = join(directory, `LOCK.old.${name}`);
  io(aside, () => writeFileSync(aside, '', { flag: 'w' }));
  let moved = true;
  try {
    renameSync(path, aside); // onto a file: fails with ENOTDIR if LOCK is a directory now
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTDIR' && code !== 'EISDIR' && code !== 'ENOENT') throw ioError(path, error);
    moved = false;
  }
  if (moved && readOr(aside, text) !== text) {
    // an earlier version's process made a new LOCK file meanwhile: put it back if we can
    try {
      linkSync(aside, path);
    } catch {
      // LOCK exists again: leave it
    }
  }
  rmSync(aside, { force: true });
}

/** Deletes staging directories and moved-aside files left by processes that no longer run. */
function removeDebris(directory: string): void {
  let entries: string[];
  try {
    entries = readdirSync(directory);
  } catch {
    return;
  }
  for (const entry of entries) {
    const match = /^LOCK\.(?:new|old)\.(.*)$/.exec(entry);
    const owner = match === null ? undefined : parseOwnerName(match[1] as string);
    if (owner === undefined || !dead(owner)) continue;
    try {
      rmSync(join(directory, entry), { recursive: true, force: true });
    } catch {
      // best effort: debris does not stop anyone from taking the lock
    }
  }
}

/** Whether an owner named by debris no longer works on it (this process has no open in progress). */
function dead(owner: LockOwner): boolean {
  return isThisProcess(owner) || !ownerRuns(owner);
}

function release(key: string, path: string, name: string): void {
  openHere.delete(key);
  try {
    unlinkSync(join(path, name));
    rmdirSync(path); // only if empty: a lock taken by another process meanwhile is left alone
  } catch {
    // already gone, or another process's lock now: nothing of ours to release
  }
}

function realPath(directory: string): string {
  try {
    return realpathSync(directory);
  } catch {
    return directory;
  }
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return fallback;
  }
}

function io<R>(path: string, step: () => R): R {
  try {
    return step();
  } catch (error) {
    throw ioError(path, error);
  }
}

function ioError(path: string, error: unknown): StorageError {
  if (error instanceof StorageError) return error;
  return new StorageError('io', path, `cannot take the lock at ${path}: ${(error as Error).message}`, error);
}
