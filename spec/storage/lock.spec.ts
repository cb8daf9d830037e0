/**
 * The directory lock of FilePersistentState (lib/storage/lock.ts), case by case:
 * - a takeover that judged a lock dead never removes a fresh lock that replaced it in the
 *   meantime (the interleaving is forced: just before the taker's first removal of anything
 *   under LOCK, the dead lock is swapped for the lock of a live process);
 * - release leaves alone a lock that is not its own;
 * - pid reuse: a LOCK naming a running pid whose process started at another time, or on an
 *   earlier boot, is dead and taken over; one naming the running process itself is refused;
 * - debris of dead takers is cleared, a live taker's is left.
 * The live lock holder is a real process (lock-child.ts); the concurrent race is in
 * lock-race.spec.ts.
 */
import fs = require('node:fs');
import { spawnSync } from 'node:child_process';
import { join, sep } from 'node:path';
import { FilePersistentState, StorageError } from '../../lib';
import { LockChild, expectReport } from './lock-child-handle';
import { exists, removeTempDirs, tempDir, thrown } from './helpers';

jest.setTimeout(90_000);

const hasProc = fs.existsSync('/proc/self/stat') && fs.existsSync('/proc/sys/kernel/random/boot_id');
const describeWithProc = hasProc ? describe : describe.skip;

/** A store with one entry, closed (no lock). */
function store(label: string): string {
  const dir = tempDir(label);
  const state = FilePersistentState.open<string>(dir);
  state.appendToLog('x', 1);
  state.close();
  return dir;
}

/** The LOCK of a directory as plain data: the names in it (a directory), or its text (a file). */
function lockView(dir: string): unknown {
  const path = join(dir, 'LOCK');
  if (!fs.existsSync(path)) return 'absent';
  return fs.statSync(path).isDirectory() ? { names: fs.readdirSync(path).sort() } : { text: fs.readFileSync(path, 'latin1') };
}

/** Start time of process `pid` from /proc (read here independently of lib/storage/lock-owner.ts). */
function startTimeOf(pid: number): number {
  const text = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  return Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[19]);
}

/** This boot's id as the lock records it (32 hex digits). */
function bootId(): string {
  return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim().replace(/-/g, '');
}

/** Makes `dir/LOCK` a lock held by the owner described (format documented in lib/storage/lock.ts). */
function writeLock(dir: string, pid: number, startTime: number, boot: string, nonce = '0123456789abcdef'): string {
  const name = `owner.${pid}.${startTime}.${boot}.${nonce}`;
  fs.mkdirSync(join(dir, 'LOCK'));
  fs.writeFileSync(join(dir, 'LOCK', name), '');
  return name;
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const result = spawnSync(process.execPath, ['-e', '0']);
  if (typeof result.pid !== 'number' || result.status !== 0) throw new Error('could not run node -e 0');
  return result.pid;
}

/** Opens `dir`, returning the error thrown, or closing the store and returning 'opened'. */
function openOutcome(dir: string): unknown {
  try {
    FilePersistentState.open<string>(dir).close();
    return 'opened';
  } catch (error) {
    return error;
  }
}

/**
 * Opens `dir` (whose lock is dead) while forcing the worst interleaving: when the opener first
 * removes or renames anything at or under `dir/LOCK` (it has judged the lock dead by then),
 * another process is made to have taken the directory first: the dead lock is removed and a
 * copy of `fresh` (the lock of a live process) put in its place. Returns what open did.
 */
function openWhileReplaced(dir: string, fresh: string): { outcome: unknown; swapped: boolean } {
  const lock = join(dir, 'LOCK');
  // Node's rmSync loads its helper on first use, and that helper keeps the fs functions it
  // finds then: load it now, before the spies, or it would keep them after mockRestore
  fs.rmSync(join(dir, 'no-such-file'), { force: true });
  const real = { rmSync: fs.rmSync, cpSync: fs.cpSync };
  let swapped = false;
  const methods = ['unlinkSync', 'rmSync', 'rmdirSync', 'renameSync'] as const;
  const spies = methods.map((method) => {
    const original = fs[method] as (...args: unknown[]) => unknown;
    return jest.spyOn(fs, method).mockImplementation(((...args: unknown[]) => {
      const target = args[0];
      if (!swapped && typeof target === 'string' && (target === lock || target.startsWith(lock + sep))) {
        swapped = true;
        real.rmSync(lock, { recursive: true, force: true });
        real.cpSync(fresh, lock, { recursive: true });
      }
      return original(...args);
    }) as never);
  });
  try {
    return { outcome: openOutcome(dir), swapped };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}

describe('the directory lock', () => {
  let holder: LockChild;
  let holderDir: string;
  afterAll(async () => {
    await holder?.end();
    removeTempDirs();
  });
  beforeAll(async () => {
    holder = new LockChild();
    expectReport(await holder.next(), 'ready');
    holderDir = store('held');
    holder.send({ type: 'open', dir: holderDir, at: 0 });
    expectReport(await holder.next(), 'opened');
  });

  describe('a takeover never removes a fresh lock', () => {
    it.each([
      ['a lock left by a process killed with SIGKILL', 'killed'],
      ["an earlier version's LOCK file naming a dead pid", 'old-file'],
    ])('over %s replaced by a live process\'s lock just before the removal: refused with "locked", the fresh lock intact', async (_name, kind) => {
      const dir = store('fresh');
      if (kind === 'killed') {
        const victim = new LockChild();
        expectReport(await victim.next(), 'ready');
        victim.send({ type: 'open', dir, at: 0 });
        expectReport(await victim.next(), 'opened');
        await victim.end();
      } else {
        fs.writeFileSync(join(dir, 'LOCK'), `${deadPid()}\n`);
      }
      const fresh = join(holderDir, 'LOCK');
      const { outcome, swapped } = openWhileReplaced(dir, fresh);
      expect(swapped).toBe(true);
      expect(outcome).toBeInstanceOf(StorageError);
      expect([(outcome as StorageError).reason, String(outcome)]).toEqual(['locked', expect.stringContaining(String(holder.process.pid))]);
      expect(lockView(dir)).toEqual(lockView(holderDir));
      expect(fs.readdirSync(dir).filter((name) => name.startsWith('LOCK.'))).toEqual([]); // no staging left behind
    });
  });

  it('close() leaves alone a LOCK that is not its own', () => {
    const dir = store('release');
    const state = FilePersistentState.open<string>(dir);
    fs.rmSync(join(dir, 'LOCK'), { recursive: true });
    fs.cpSync(join(holderDir, 'LOCK'), join(dir, 'LOCK'), { recursive: true });
    state.close();
    expect(lockView(dir)).toEqual(lockView(holderDir));
  });

  it('a lock held by a live process is refused with "locked", naming its pid, and left alone', () => {
    const error = thrown(() => FilePersistentState.open<string>(holderDir));
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).reason).toBe('locked');
    expect((error as StorageError).message).toContain(String(holder.process.pid));
    expect(fs.readdirSync(join(holderDir, 'LOCK'))).toHaveLength(1);
  });

  describeWithProc('pid reuse: a running pid alone does not make a lock held', () => {
    it('a LOCK naming this process\'s pid with another start time (an earlier process that had this pid) is taken over', () => {
      const dir = store('reuse-self');
      const stale = writeLock(dir, process.pid, startTimeOf(process.pid) - 1, bootId());
      const state = FilePersistentState.open<string>(dir);
      const names = fs.readdirSync(join(dir, 'LOCK'));
      expect(names).toEqual([expect.stringMatching(new RegExp(`^owner\\.${process.pid}\\.${startTimeOf(process.pid)}\\.`))]);
      expect(names).not.toContain(stale);
      state.close();
      expect(exists(join(dir, 'LOCK'))).toBe(false);
    });

    it('a LOCK naming another running process: refused with its true start time, taken over with another one', () => {
      const pid = holder.process.pid as number;
      const held = store('reuse-live');
      writeLock(held, pid, startTimeOf(pid), bootId());
      const error = thrown(() => FilePersistentState.open<string>(held));
      expect(error).toBeInstanceOf(StorageError);
      expect((error as StorageError).reason).toBe('locked');
      const reused = store('reuse-other');
      writeLock(reused, pid, startTimeOf(pid) + 1, bootId());
      expect(openOutcome(reused)).toBe('opened');
    });

    it('a LOCK from an earlier boot is taken over, even if its pid and start time match a running process', () => {
      const pid = holder.process.pid as number;
      const dir = store('reuse-boot');
      const otherBoot = bootId().replace(/^./, (digit) => (digit === '0' ? '1' : '0'));
      writeLock(dir, pid, startTimeOf(pid), otherBoot);
      expect(openOutcome(dir)).toBe('opened');
    });

    it('a LOCK naming this very process in a directory not open here (a copy of an open one) is taken over', () => {
      const dir = store('copy-source');
      const state = FilePersistentState.open<string>(dir);
      const copy = tempDir('copy');
      fs.cpSync(dir, copy, { recursive: true });
      expect(openOutcome(copy)).toBe('opened');
      state.close();
    });
  });

  describeWithProc('debris of takers', () => {
    it('the next holder deletes the staging directory of a dead taker and leaves a live one\'s', () => {
      const pid = holder.process.pid as number;
      const dir = store('debris');
      const dead = `LOCK.new.owner.${deadPid()}.1.${bootId()}.00000000000000aa`;
      const live = `LOCK.new.owner.${pid}.${startTimeOf(pid)}.${bootId()}.00000000000000bb`;
      for (const name of [dead, live]) fs.mkdirSync(join(dir, name));
      const state = FilePersistentState.open<string>(dir);
      expect(exists(join(dir, dead))).toBe(false);
      expect(exists(join(dir, live))).toBe(true);
      state.close();
    });
  });
});
