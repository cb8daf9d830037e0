import type { NodeStateMachine } from '../node/session-state-machine';

/** A write of the key-value store, as it is stored in the log. */
export type KvWrite = KvPut | KvDelete;

/** Stores `value` under `key`. */
export type KvPut = {
  /** Discriminant. */
  readonly op: 'put';
  /** The key. */
  readonly key: string;
  /** The value. */
  readonly value: string;
};

/** Removes `key` (nothing happens when it is absent). */
export type KvDelete = {
  /** Discriminant. */
  readonly op: 'delete';
  /** The key. */
  readonly key: string;
};

/**
 * The key-value service's state machine: a map from string keys to string values. `apply`
 * returns `null` (a write's result is only that it happened).
 */
export class KvStore implements NodeStateMachine<KvWrite, null> {
  readonly #entries = new Map<string, string>();

  /** The value of `key`, `undefined` when absent. Read only after `RaftNode.readIndex` for a linearizable read. */
  get(key: string): string | undefined {
    return this.#entries.get(key);
  }

  /** Number of keys. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Applies one put or delete.
   * @throws TypeError for a command of another shape (the same on every replica).
   */
  apply(command: KvWrite): null {
    if (command.op === 'put' && typeof command.key === 'string' && typeof command.value === 'string') this.#entries.set(command.key, command.value);
    else if (command.op === 'delete' && typeof command.key === 'string') this.#entries.delete(command.key);
    else throw new TypeError(`not a key-value command: ${JSON.stringify(command)}`);
    return null;
  }

  /** Every key and value, as JSON. */
  takeSnapshot(): Uint8Array {
    return Buffer.from(JSON.stringify([...this.#entries]));
  }

  /** Replaces every key and value with the snapshot's. */
  restoreSnapshot(data: Uint8Array): void {
    const pairs = JSON.parse(Buffer.from(data).toString('utf8')) as unknown;
    if (!Array.isArray(pairs)) throw new TypeError('not a key-value snapshot');
    this.#entries.clear();
    for (const pair of pairs as unknown[]) {
      if (!Array.isArray(pair) || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') throw new TypeError('not a key-value snapshot');
      this.#entries.set(pair[0], pair[1]);
    }
  }
}
