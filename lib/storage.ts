/**
 * Durable storage on Node.js (`node:fs`, `node:zlib`; Node.js 20.15 or later):
 * {@link FilePersistentState}, a segmented write-ahead log behind {@link IPersistentState},
 * its {@link Codec}s, and its errors ({@link StorageError}, {@link CorruptStateError}, also
 * exported by `raft-ts/core`).
 *
 * ```ts
 * import { FilePersistentState } from 'raft-ts/storage';
 * ```
 *
 * The same names are exported by the package root `raft-ts` too.
 * @module raft-ts/storage
 */
export type { Codec } from './storage/codec';
export { JSON_CODEC } from './storage/codec';
export type { FilePersistentStateOptions } from './storage/file-persistent-state';
export { FilePersistentState } from './storage/file-persistent-state';
export { CorruptStateError, StorageError } from './errors';
