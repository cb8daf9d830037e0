import { EventEmitter } from 'eventemitter3';
import { ListenerError } from './errors';

/** One listener as eventemitter3 stores it. */
interface StoredListener {
  readonly fn: (...args: unknown[]) => unknown;
  readonly context: unknown;
  readonly once: boolean;
}

/**
 * Holds the events a server raises during a call and emits them when its outermost entry
 * point returns, with the server's state complete. So a listener that calls back into the
 * server (proposes on `roleChange`, say) never catches it half-way through a transition.
 * Events keep their order, also across calls made from listeners.
 *
 * A listener that throws stops nothing: every event of the call still reaches every
 * listener, in order, and then the call throws a {@link ListenerError} carrying what the
 * listeners threw. Nothing is left queued for a later call.
 */
export class DeferredEvents<Events extends EventEmitter.ValidEventTypes> {
  readonly #emitter: EventEmitter<Events>;
  readonly #pending: ({ name: EventEmitter.EventNames<Events>; args: unknown[] } | { call: () => void })[] = [];
  #depth = 0;
  #emitting = false;
  #errors: unknown[] = [];

  /** Events will be emitted on `emitter`. */
  constructor(emitter: EventEmitter<Events>) {
    this.#emitter = emitter;
  }

  /** Queues an event, emitted when the outermost entry point exits. */
  raise<Name extends EventEmitter.EventNames<Events>>(name: Name, ...args: EventEmitter.EventArgs<Events, Name>): void {
    this.#pending.push({ name, args });
  }

  /** Queues a callback (a read's `onDone`), called in order with the events when the outermost entry point exits; what it throws is collected like a listener's. */
  callLater(call: () => void): void {
    this.#pending.push({ call });
  }

  /** Starts an entry point's body; pair it with {@link DeferredEvents.exit} in a `finally`. */
  enter(): void {
    this.#depth++;
  }

  /**
   * Ends an entry point's body; `completed` says whether it returned (rather than threw). The
   * outermost exit emits what was raised.
   * @throws {@link ListenerError} when listeners threw and the body completed.
   */
  exit(completed: boolean): void {
    this.#depth--;
    if (this.#depth === 0 && this.#pending.length > 0) this.#emitAll(completed);
  }

  #emitAll(rethrow: boolean): void {
    if (this.#emitting) return; // the loop below, further up the stack, emits these too, in order
    this.#emitting = true;
    try {
      for (let event = this.#pending.shift(); event !== undefined; event = this.#pending.shift()) {
        if ('call' in event) this.#run(event.call);
        else this.#emit(event.name as string | symbol, event.args);
      }
    } finally {
      this.#emitting = false;
    }
    const errors = this.#errors;
    if (errors.length === 0) return;
    this.#errors = [];
    if (rethrow) throw new ListenerError(errors);
  }

  /** Calls each listener of `name` as eventemitter3 would, collecting what they throw. */
  #emit(name: string | symbol, args: unknown[]): void {
    const key = typeof name === 'string' && EventEmitter.prefixed ? `${EventEmitter.prefixed}${name}` : name;
    const stored = (this.#emitter as unknown as { _events: Record<string | symbol, StoredListener | StoredListener[] | undefined> })._events[key];
    if (stored === undefined) return;
    if (!Array.isArray(stored)) {
      this.#call(name, stored, args);
      return;
    }
    for (const listener of stored.slice()) this.#call(name, listener, args);
  }

  #run(call: () => void): void {
    try {
      call();
    } catch (error) {
      this.#errors.push(error);
    }
  }

  #call(name: string | symbol, listener: StoredListener, args: unknown[]): void {
    if (listener.once) this.#emitter.removeListener(name as EventEmitter.EventNames<Events>, listener.fn as never, undefined, true);
    try {
      listener.fn.apply(listener.context, args);
    } catch (error) {
      this.#errors.push(error);
    }
  }
}
