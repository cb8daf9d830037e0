import { describe, InvalidArgumentError } from './errors';
import { holdsSnapshots } from './persistent-state';
import type { ServerState } from './server-state';
import { takeSnapshotData } from './state-machine';
import type { LogPosition, Snapshot } from './types';

/**
 * Log compaction (Raft §7): when a server snapshots its state and drops the log the snapshot
 * covers, and how it takes a leader's snapshot in place of its own state.
 */

/**
 * Snapshots the state at `lastApplied` (`data`, or the state machine's snapshot) and drops
 * the entries it covers but the last `trailingLogEntries`. Does nothing when nothing was
 * applied since the latest snapshot.
 * @returns the latest snapshot's last entry.
 * @throws {@link InvalidArgumentError} when the store cannot hold snapshots, when `data` is
 * given but is no `Uint8Array`, or when it is absent and there is no state machine.
 */
export function compactLog<T>(state: ServerState<T>, data?: Uint8Array): LogPosition {
  const { log, options } = state;
  if (!holdsSnapshots(log.store)) throw new InvalidArgumentError('compact: persistentState cannot hold snapshots (it lacks firstLogIndex, getSnapshot or saveSnapshot)');
  if (data !== undefined && !(data instanceof Uint8Array)) throw new InvalidArgumentError(`compact expects data to be a Uint8Array or absent, got ${describe(data)}`);
  if (data === undefined && options.stateMachine === undefined) throw new InvalidArgumentError('compact() without data needs the `stateMachine` option: there is nothing to snapshot');
  const index = log.lastApplied;
  if (index <= log.snapshot.index) return log.snapshot;
  const term = log.termAt(index) as number; // applied entries after the snapshot are in the log
  const bytes = data === undefined ? takeSnapshotData(options.stateMachine!) : data.slice();
  const lastIncluded = { index, term };
  log.saveSnapshot({ lastIncluded, data: bytes }, Math.max(log.firstIndex, index - options.trailingLogEntries + 1));
  state.outbox.written();
  return lastIncluded;
}

/**
 * Compacts when the log holds more than `maxLogEntries` entries and something was applied
 * since the latest snapshot. (A log swollen with entries that cannot commit, followers being
 * down, is then snapshotted again at each commit: the bound is kept, at that cost.)
 */
export function compactIfDue<T>(state: ServerState<T>): void {
  const { log, options } = state;
  if (log.entryCount <= options.maxLogEntries || log.lastApplied <= log.snapshot.index) return;
  compactLog(state);
}

/**
 * Puts a leader's complete snapshot in place of this server's state: stores it (keeping a
 * log suffix that matches it, dropping the rest), counts what it covers as committed and
 * applied, restores the state machine, and raises `snapshotInstalled`. The caller has
 * checked that the snapshot goes past `commitIndex`; its reply syncs the store first.
 */
export function installSnapshot<T>(state: ServerState<T>, snapshot: Snapshot): void {
  const { log } = state;
  const index = snapshot.lastIncluded.index;
  log.saveSnapshot(snapshot, index + 1);
  state.outbox.written();
  log.commitIndex = index;
  log.lastApplied = index;
  state.options.stateMachine?.restoreSnapshot(snapshot.data);
  state.events.raise('snapshotInstalled', snapshot);
}
