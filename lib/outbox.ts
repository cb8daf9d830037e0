import type { Message } from './messages';
import type { IPersistentState } from './persistent-state';
import type { ServerId } from './types';

/**
 * The only way anything leaves a server: requests through `messageChannel`, replies through
 * the callbacks requests carry. Both first make the store's buffered writes durable, so no
 * message or reply ever promises what a crash could take back ("persist before you speak",
 * Figure 2).
 */
export class Outbox<T> {
  readonly #store: IPersistentState<T>;
  readonly #messageChannel: (to: ServerId, message: Message<T>) => void;
  #unsynced = false;

  /** An outbox that writes through `store` and sends through `messageChannel`. */
  constructor(store: IPersistentState<T>, messageChannel: (to: ServerId, message: Message<T>) => void) {
    this.#store = store;
    this.#messageChannel = messageChannel;
  }

  /** Records that the store was written: the next message or reply syncs first. */
  written(): void {
    this.#unsynced = true;
  }

  /** Makes buffered writes durable now, if there are any. */
  flush(): void {
    if (!this.#unsynced) return;
    this.#unsynced = false;
    this.#store.sync?.();
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
