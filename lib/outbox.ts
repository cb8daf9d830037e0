import type { Message } from './messages';
import type { IPersistentState } from './persistent-state';
import type { LogIndex, ServerId } from './types';

/**
 * The only way anything leaves a server: requests through `messageChannel`, replies through
 * the callbacks requests carry. Both first make the store's buffered writes durable, so no
 * message or reply ever promises what a crash could take back ("persist before you speak",
 * Figure 2).
 *
 * A failed `sync()` is never taken for a durable write: its error propagates out of the call
 * before anything is sent, the writes stay marked unsynced, and the next send or reply calls
 * `sync()` again first. {@link Outbox.durableIndex} says how much of the log is known durable,
 * which is all a leader may count of its own log toward a majority.
 */
export class Outbox<T> {
  readonly #store: IPersistentState<T>;
  readonly #messageChannel: (to: ServerId, message: Message<T>) => void;
  #unsynced = false;
  /** The last log index known durable while writes are unsynced (the log as of the last good sync, or below a truncation since). */
  #durableIndex: LogIndex;

  /** An outbox that writes through `store` and sends through `messageChannel`; what the store holds now counts as durable. */
  constructor(store: IPersistentState<T>, messageChannel: (to: ServerId, message: Message<T>) => void) {
    this.#store = store;
    this.#messageChannel = messageChannel;
    this.#durableIndex = store.currentLogIndex;
  }

  /**
   * Records that the store was written: the next message or reply syncs first. `fromIndex`
   * is the first log index the write replaced or added, when it touched the log.
   */
  written(fromIndex?: LogIndex): void {
    if (!this.#unsynced) this.#durableIndex = this.#store.currentLogIndex;
    if (fromIndex !== undefined) this.#durableIndex = Math.min(this.#durableIndex, fromIndex - 1);
    this.#unsynced = true;
  }

  /** The highest log index whose entry (and every one before it) is known durable. */
  get durableIndex(): LogIndex {
    return this.#unsynced ? Math.min(this.#durableIndex, this.#store.currentLogIndex) : this.#store.currentLogIndex;
  }

  /**
   * Makes buffered writes durable now, if there are any.
   * @throws whatever `sync()` throws; the writes then stay unsynced and the next flush retries.
   */
  flush(): void {
    if (!this.#unsynced) return;
    this.#store.sync?.();
    this.#unsynced = false;
  }

  /** Sends a request to `to`, after making what it depends on durable. */
  send(to: ServerId, message: Message<T>): void {
    this.flush();
    this.#messageChannel(to, message);
  }

  /** Answers a request through its `replyChannel`, after making what the reply promises durable. */
  reply<R>(replyChannel: (reply: R) => void, reply: R): void {
    this.flush();
    replyChannel(reply);
  }
}
