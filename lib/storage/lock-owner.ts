import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * Who took a directory lock (see `lib/storage/lock.ts`): enough to tell later whether that
 * very process still runs, even when its pid has since been given to another process.
 */
export interface LockOwner {
  /** The process id. */
  readonly pid: number;
  /** When the process started, in clock ticks after boot (field 22 of `/proc/<pid>/stat`); `undefined` where there is no `/proc`. */
  readonly startTime: number | undefined;
  /** `/proc/sys/kernel/random/boot_id` without dashes (it changes at every boot); `undefined` where there is none. */
  readonly bootId: string | undefined;
  /** 16 random hex digits, new for every lock taken: no two owners are ever equal. */
  readonly nonce: string;
}

const OWNER_NAME = /^owner\.([1-9][0-9]{0,9})\.([0-9]{1,20}|x)\.([0-9a-f]{32}|x)\.([0-9a-f]{16})$/;

/** This boot's id, or `undefined` where the system does not tell. */
const thisBoot = readBootId();
/** This process's start time, or `undefined` where there is no `/proc`. */
const thisStart = readStat(process.pid)?.startTime;

/** A new owner standing for this process, with a fresh nonce. */
export function newOwner(): LockOwner {
  return { pid: process.pid, startTime: thisStart, bootId: thisBoot, nonce: randomBytes(8).toString('hex') };
}

/** The file name that records `owner`: `owner.<pid>.<startTime>.<bootId>.<nonce>` (`x` for a part not known). */
export function ownerName(owner: LockOwner): string {
  return `owner.${owner.pid}.${owner.startTime ?? 'x'}.${owner.bootId ?? 'x'}.${owner.nonce}`;
}

/** The owner recorded by a file name made by {@link ownerName}, or `undefined` for any other name. */
export function parseOwnerName(name: string): LockOwner | undefined {
  const match = OWNER_NAME.exec(name);
  if (match === null) return undefined;
  const [, pid, start, boot, nonce] = match as unknown as [string, string, string, string, string];
  const startTime = start === 'x' ? undefined : Number(start);
  if (startTime !== undefined && !Number.isSafeInteger(startTime)) return undefined;
  return { pid: Number(pid), startTime, bootId: boot === 'x' ? undefined : boot, nonce };
}

/** Whether `owner` names this process (same pid, start time and boot; any nonce). */
export function isThisProcess(owner: LockOwner): boolean {
  return owner.pid === process.pid && owner.startTime === thisStart && owner.bootId === thisBoot;
}

/**
 * Whether the process `owner` names still runs. `false` when the machine has rebooted since,
 * when no process has the pid, when it is a zombie, or when the process with that pid
 * started at another time than the owner (the pid was reused). Where the system cannot tell
 * (no `/proc`), a running process with that pid counts as the owner.
 */
export function ownerRuns(owner: LockOwner): boolean {
  if (owner.bootId !== undefined && thisBoot !== undefined && owner.bootId !== thisBoot) return false;
  if (!pidRuns(owner.pid)) return false;
  const stat = readStat(owner.pid);
  return stat === undefined || owner.startTime === undefined || stat.startTime === owner.startTime;
}

/** Whether a process with id `pid` runs (a zombie does not); `true` for a process of another user. */
export function pidRuns(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid < 1) return false; // 0 and negatives address process groups
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const state = readStat(pid)?.state;
  return state !== 'Z' && state !== 'X';
}

/** State letter and start time of a process from `/proc/<pid>/stat`, or `undefined` where unreadable. */
function readStat(pid: number): { state: string; startTime: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTime = Number(fields[19]);
  if (state === undefined || !Number.isSafeInteger(startTime)) return undefined;
  return { state, startTime };
}

function readBootId(): string | undefined {
  try {
    const id = readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim().replace(/-/g, '').toLowerCase();
    return /^[0-9a-f]{32}$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}
