/**
 * A process that opens FilePersistentState directories on command, for the lock race test
 * (lock-race.spec.ts):
 *
 *   node -r ts-node/register/transpile-only spec/storage/lock-child.ts   (with an IPC channel)
 *
 * Parent → child: `{ type: 'open', dir, at }`: wait (busy, so that every child starts at
 * the same instant) until the wall clock reaches `at`, then open `dir` and hold it;
 * `{ type: 'close' }`: close the store held. Child → parent: `{ type: 'ready', pid }` once
 * started; `{ type: 'opened' }`, `{ type: 'refused', reason, message }` or
 * `{ type: 'failed', message }` per open; `{ type: 'closed' }` per close. The child exits
 * when the IPC channel closes.
 */
import { FilePersistentState } from '../../lib/storage/file-persistent-state';
import { StorageError } from '../../lib/errors';

/** A command from the parent. */
export type LockChildCommand = { type: 'open'; dir: string; at: number } | { type: 'close' };

/** A report to the parent. */
export type LockChildReport =
  | { type: 'ready'; pid: number }
  | { type: 'opened' }
  | { type: 'refused'; reason: string; message: string }
  | { type: 'failed'; message: string }
  | { type: 'closed' };

function report(message: LockChildReport): void {
  process.send?.(message);
}

if (require.main === module) {
  let held: FilePersistentState<string> | undefined;
  process.on('message', (raw: unknown) => {
    const command = raw as LockChildCommand;
    if (command.type === 'open') {
      while (Date.now() < command.at) {
        // start barrier: every child leaves this loop in the same millisecond
      }
      try {
        held = FilePersistentState.open<string>(command.dir);
        report({ type: 'opened' });
      } catch (error) {
        if (error instanceof StorageError) report({ type: 'refused', reason: error.reason, message: error.message });
        else report({ type: 'failed', message: (error as Error).stack ?? String(error) });
      }
    } else {
      held?.close();
      held = undefined;
      report({ type: 'closed' });
    }
  });
  process.on('disconnect', () => process.exit(0));
  report({ type: 'ready', pid: process.pid });
}
