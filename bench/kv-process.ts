/**
 * Process plumbing for `npm run bench:kv` (bench/kv.ts): free ports, child process groups
 * that are always stopped (on success, on error, on Ctrl-C, on exit), temp dirs that are
 * always removed, and a small HTTP helper for the control requests (status, health).
 *
 * Every server the bench starts is spawned `detached`, as the leader of a process group of
 * its own: the bench stops it by signalling the whole group (`kill(-pgid)`), so that the
 * members our `kv:cluster` forks go too. Being in their own groups, they do not receive the
 * terminal's Ctrl-C themselves; the bench's SIGINT/SIGTERM handler stops them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** How much of a child's output is kept, for error messages. */
const TAIL_CHARS = 4_000;

/** A started server process (group leader) and the tail of its output. */
export interface Group {
  /** A short name for messages (`etcd m1`, `kv:cluster`). */
  readonly name: string;
  readonly child: ChildProcess;
  /** Process group id: the child's pid. */
  readonly pgid: number;
  /** The last few thousand characters of its stdout and stderr, interleaved. */
  tail: string;
  /** Set once the group leader has exited. */
  exited: { readonly code: number | null; readonly signal: NodeJS.Signals | null } | undefined;
}

const groups = new Set<Group>();
const tempDirs = new Set<string>();

/** `count` distinct TCP ports on 127.0.0.1 that were free a moment ago (all held open together, then released). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () =>
      new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
        const server = createServer();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve(server));
      }),
    ),
  );
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  return ports;
}

/** A fresh temp dir, removed by {@link cleanUp} (or at exit). */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** Spawns `command args` as the leader of a new process group, its output captured into {@link Group.tail}. */
export function spawnGroup(name: string, command: string, args: readonly string[], options: { readonly cwd?: string; readonly env?: NodeJS.ProcessEnv } = {}): Group {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  const group: Group = { name, child, pgid: child.pid, tail: '', exited: undefined };
  const keep = (chunk: Buffer): void => {
    group.tail = (group.tail + chunk.toString('utf8')).slice(-TAIL_CHARS);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('exit', (code, signal) => {
    group.exited = { code, signal };
  });
  groups.add(group);
  return group;
}

/**
 * Whether any process of group `pgid` is still running (zombies do not count: an orphaned
 * member is reaped by whoever adopted it, which in a container may be never). Reads /proc;
 * elsewhere falls back to `kill(-pgid, 0)`.
 */
function groupAlive(pgid: number): boolean {
  if (existsSync('/proc/self/stat')) {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      } catch {
        continue; // exited meanwhile
      }
      // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so split after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') return true;
    }
    return false;
  }
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(group: Group, signal: NodeJS.Signals): void {
  try {
    process.kill(-group.pgid, signal);
  } catch {
    // already gone
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Stops a group: SIGTERM to all its processes, then SIGKILL to whatever is left after `graceMs`. */
export async function stopGroup(group: Group, graceMs = 5_000): Promise<void> {
  signalGroup(group, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (groupAlive(group.pgid) && Date.now() < deadline) await sleep(50);
  if (groupAlive(group.pgid)) {
    console.error(`  ${group.name}: still running ${graceMs} ms after SIGTERM; SIGKILL`);
    signalGroup(group, 'SIGKILL');
    while (groupAlive(group.pgid) && Date.now() < deadline + 2_000) await sleep(50);
  }
  groups.delete(group);
}

/** Stops every group still running (SIGKILL after `graceMs`) and removes every temp dir. Safe to call more than once. */
export async function cleanUp(graceMs = 5_000): Promise<void> {
  await Promise.all([...groups].map((group) => stopGroup(group, graceMs)));
  agent.destroy();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/** Last resort at process exit (synchronous): SIGKILL to every group still registered, temp dirs removed. */
function cleanUpSync(): void {
  for (const group of groups) signalGroup(group, 'SIGKILL');
  groups.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

let interruptedBy: NodeJS.Signals | undefined;

/** Whether SIGINT/SIGTERM has arrived (the bench is stopping: failures from here on are expected). */
export function interrupted(): boolean {
  return interruptedBy !== undefined;
}

/**
 * Installs the handlers that make sure nothing is left running: on SIGINT/SIGTERM, `onSignal`
 * (to stop a load in flight) and then {@link cleanUp}, exiting 130/143; at exit, {@link cleanUpSync}.
 */
export function installCleanUpHandlers(onSignal: () => void): void {
  const handle = (signal: NodeJS.Signals): void => {
    if (interruptedBy !== undefined) return;
    interruptedBy = signal;
    console.error(`\n${signal}: stopping the clusters...`);
    onSignal();
    // A short grace: an etcd leader stopped together with its followers waits ~5 s for a leadership transfer.
    void cleanUp(2_000).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);
  process.on('exit', cleanUpSync);
}

/** A response's status and body text. */
export interface HttpReply {
  readonly status: number;
  readonly body: string;
}

/** Keep-alive connections for {@link request} (the preload keeps up to 64 in flight). */
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/**
 * One request outside the measured load (status, health, the preload): node:http over
 * keep-alive connections (global fetch was 3x slower than this at 64 requests in flight
 * against etcd). Throws on network errors and on timeouts.
 */
export function request(method: 'GET' | 'POST' | 'PUT', url: string, body?: string, timeoutMs = 2_000, headers: Readonly<Record<string, string>> = {}): Promise<HttpReply> {
  return new Promise<HttpReply>((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(body, 'utf8');
    const req = httpRequest(url, { method, agent, headers: { ...headers, ...(payload ? { 'content-length': String(payload.length) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${url}: no reply in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Polls `probe` every 100 ms until it returns a value (not undefined) or `timeoutMs` passes; then throws `what` with the last error. */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError})` : ''}`);
    await sleep(100);
  }
}
