/**
 * The parent's side of lock-child.ts: a child process that opens stores on command, with
 * its reports queued until taken. Shared by lock-race.spec.ts and lock.spec.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { LockChildCommand, LockChildReport } from './lock-child';
import { REPO_ROOT } from './helpers';

/** Bound on any one report from a child (a failure, not a verdict). */
const REPORT_BOUND_MS = 60_000;

/** A lock-child.ts process and the reports it sent that nobody took yet. */
export class LockChild {
  /** The process. */
  readonly process: ChildProcess;
  readonly #reports: LockChildReport[] = [];
  #waiter: (() => void) | undefined;
  #exited = false;
  #stderr = '';

  /** Starts the process (it reports 'ready' once it can take commands). */
  constructor() {
    this.process = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join('spec', 'storage', 'lock-child.ts')], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.process.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr += chunk.toString('utf8');
    });
    this.process.on('message', (message: unknown) => {
      this.#reports.push(message as LockChildReport);
      this.#waiter?.();
    });
    this.process.on('exit', () => {
      this.#exited = true;
      this.#waiter?.();
    });
  }

  /** Sends a command. */
  send(command: LockChildCommand): void {
    this.process.send(command);
  }

  /** The next report; rejects if the child exits first or the bound passes. */
  async next(): Promise<LockChildReport> {
    const deadline = Date.now() + REPORT_BOUND_MS;
    while (this.#reports.length === 0) {
      if (this.#exited) throw new Error(`child ${String(this.process.pid)} exited before reporting; stderr: ${this.#stderr}`);
      if (Date.now() > deadline) throw new Error(`child ${String(this.process.pid)} sent no report within ${REPORT_BOUND_MS} ms; stderr: ${this.#stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1_000);
        this.#waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#waiter = undefined;
    }
    return this.#reports.shift() as LockChildReport;
  }

  /** Resolves once the process has exited: killed with SIGKILL, or, if `gently`, told to exit. */
  async end(gently = false): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((resolve) => this.process.once('exit', () => resolve()));
    if (gently && this.process.connected) this.process.disconnect();
    else this.process.kill('SIGKILL');
    await exited;
  }
}

/** Throws unless `report` is of type `type`. */
export function expectReport(report: LockChildReport, type: LockChildReport['type']): void {
  if (report.type !== type) throw new Error(`expected a "${type}" report, got ${JSON.stringify(report)}`);
}
