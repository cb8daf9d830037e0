/**
 * The embedded-store option compared with FilePersistentState: an IPersistentState over
 * LMDB (the `lmdb` package, prebuilt binaries from the npm registry). Writes are buffered
 * like ours and written by `sync()` in one synchronous LMDB transaction (LMDB syncs to disk
 * on commit by default). Reads come from an in-memory mirror, as in FilePersistentState, so
 * only the durable write path differs. Bench-only: it is not part of the library.
 */
import { open, type RootDatabase } from 'lmdb';
import { InMemoryPersistentState, type IPersistentState, type LogEntry, type LogIndex, type ServerId, type Term } from '../lib';

type Write = { readonly key: number; readonly value: unknown } | { readonly removeFrom: number; readonly removeTo: number };

/** An LMDB-backed store for the storage benchmark. */
export interface LmdbState extends IPersistentState<string> {
  sync(): void;
  close(): void;
  readonly syncCount: number;
}

/** Opens (creates) an LMDB-backed store in `directory`. */
export function openLmdbState(directory: string): LmdbState {
  const db: RootDatabase = open({ path: directory });
  const mirror = new InMemoryPersistentState<string>();
  let pending: Write[] = [];
  let syncs = 0;
  const putState = (): void => {
    pending.push({ key: 0, value: { term: mirror.currentTerm, votedFor: mirror.votedFor ?? -1 } });
  };
  return {
    get currentTerm(): Term {
      return mirror.currentTerm;
    },
    get votedFor(): ServerId | undefined {
      return mirror.votedFor;
    },
    get currentLogIndex(): LogIndex {
      return mirror.currentLogIndex;
    },
    get syncCount(): number {
      return syncs;
    },
    advanceToTerm(term: Term): void {
      mirror.advanceToTerm(term);
      putState();
    },
    incrementTerm(): void {
      mirror.incrementTerm();
      putState();
    },
    vote(candidate: ServerId): void {
      mirror.vote(candidate);
      putState();
    },
    getLogEntry: (index: LogIndex): LogEntry<string> | undefined => mirror.getLogEntry(index),
    getLastLogEntry: (): LogEntry<string> | undefined => mirror.getLastLogEntry(),
    appendToLog(data: string, term: Term): void {
      mirror.appendToLog(data, term);
      pending.push({ key: mirror.currentLogIndex, value: { term, data } });
    },
    appendEntries(entries: readonly { data: string; term: Term }[]): void {
      const first = mirror.currentLogIndex + 1;
      mirror.appendEntries(entries);
      entries.forEach((entry, k) => pending.push({ key: first + k, value: { term: entry.term, data: entry.data } }));
    },
    truncateLog(finalIndex: LogIndex): void {
      const last = mirror.currentLogIndex;
      mirror.truncateLog(finalIndex);
      if (finalIndex < last) pending.push({ removeFrom: finalIndex + 1, removeTo: last });
    },
    sync(): void {
      if (pending.length === 0) return;
      const writes = pending;
      db.transactionSync(() => {
        for (const write of writes) {
          if ('key' in write) db.putSync(write.key, write.value);
          else for (let index = write.removeFrom; index <= write.removeTo; index++) db.removeSync(index);
        }
      });
      pending = [];
      syncs++;
    },
    close(): void {
      this.sync();
      void db.close();
    },
  };
}
