/**
 * Durable storage workloads: entries per second and fsyncs per entry when a store appends
 * batches of 1, 10 and 100 entries and syncs after each batch (as a Server does), for
 * FilePersistentState (our segmented WAL), an LMDB-backed store (the embedded-store option
 * we compared it with), and InMemoryPersistentState (no disk, the ceiling).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { FilePersistentState, InMemoryPersistentState, type IPersistentState } from '../lib';
import { openLmdbState } from './lmdb-state';
import type { Figures } from './workloads';

/** The stores compared. */
export type StoreKind = 'file' | 'lmdb' | 'memory';

const PAYLOAD = '0123456789abcdef';
/** Entries per run for each batch size: enough batches to average the fsync cost. */
const ENTRIES: Record<number, number> = { 1: 400, 10: 3_000, 100: 30_000 };

/** Appends `ENTRIES[batch]` entries in batches of `batch`, syncing after each batch. */
export function storageThroughput(kind: StoreKind, batch: 1 | 10 | 100): Figures {
  const entries = ENTRIES[batch] as number;
  const directory = mkdtempSync(join(tmpdir(), `raft-bench-${kind}-`));
  const store: IPersistentState<string> & { sync(): void; close?(): void; syncCount?: number } =
    kind === 'file' ? FilePersistentState.open<string>(directory) : kind === 'lmdb' ? openLmdbState(directory) : Object.assign(new InMemoryPersistentState<string>(), { sync: () => undefined });
  try {
    store.advanceToTerm(1);
    store.sync();
    const syncsBefore = store.syncCount ?? 0;
    const items = Array.from({ length: batch }, () => ({ data: PAYLOAD, term: 1 }));
    const started = performance.now();
    for (let written = 0; written < entries; written += batch) {
      store.appendEntries?.(items);
      store.sync();
    }
    const seconds = (performance.now() - started) / 1000;
    if (store.currentLogIndex !== entries) throw new Error(`${kind}: ${store.currentLogIndex} entries, expected ${entries}`);
    return { entries, entriesPerSecond: entries / seconds, fsyncsPerEntry: ((store.syncCount ?? 0) - syncsBefore) / entries };
  } finally {
    store.close?.();
    rmSync(directory, { recursive: true, force: true });
  }
}
