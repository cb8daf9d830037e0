import type { EventEmitter } from 'eventemitter3';

/**
 * Holds the events a server raises during a call and emits them when its outermost entry
 * point returns, with the server's state complete. So a listener that calls back into the
 * server (proposes on `roleChange`, say) never catches it half-way through a transition.
 * Events keep their order, also across calls made from listeners.
 */
export class DeferredEvents<Events extends EventEmitter.ValidEventTypes> {
  readonly #emitter: EventEmitter<Events>;
  readonly #pending: { name: EventEmitter.EventNames<Events>; args: unknown[] }[] = [];
  #depth = 0;
  #emitting = false;

  /** Events will be emitted on `emitter`. */
  constructor(emitter: EventEmitter<Events>) {
    this.#emitter = emitter;
  }

  /** Queues an event, emitted when the outermost {@link DeferredEvents.run} returns. */
  raise<Name extends EventEmitter.EventNames<Events>>(name: Name, ...args: EventEmitter.EventArgs<Events, Name>): void {
    this.#pending.push({ name, args });
  }

  /** Runs an entry point's body; when the outermost one returns (or throws), emits what it raised. */
  run<R>(body: () => R): R {
    this.#depth++;
    try {
      return body();
    } finally {
      this.#depth--;
      if (this.#depth === 0 && this.#pending.length > 0) this.#emitAll();
    }
  }

  #emitAll(): void {
    if (this.#emitting) return; // the loop below, further up the stack, emits these too, in order
    this.#emitting = true;
    try {
      for (let event = this.#pending.shift(); event !== undefined; event = this.#pending.shift()) {
        (this.#emitter.emit as (name: EventEmitter.EventNames<Events>, ...args: unknown[]) => boolean)(event.name, ...event.args);
      }
    } finally {
      this.#emitting = false;
    }
  }
}
