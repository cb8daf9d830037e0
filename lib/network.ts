import { InvalidArgumentError, describe } from './errors';
import type { Message, Reply } from './messages';
import type { ServerId } from './types';
import { WaitingOrder } from './waiting-order';

/** How an {@link InMemoryNetwork} moves messages: by itself at once, or only when told to. */
export type DeliveryMode = 'immediate' | 'manual';

/** A message or reply waiting in an {@link InMemoryNetwork}, as `undelivered` lists it. */
export interface UndeliveredMessage<T> {
  /** The network-wide id used by `deliver` and `drop`; ids grow in sending order. */
  readonly id: number;
  /** The server that sent it. */
  readonly from: ServerId;
  /** The request as sent (with the sender's own `replyChannel`), or a reply. */
  readonly message: Message<T> | Reply;
}

/** An {@link UndeliveredMessage} with its receiver, as `allUndelivered` lists it. */
export interface AddressedMessage<T> extends UndeliveredMessage<T> {
  /** The server it is for. */
  readonly to: ServerId;
}

/** A message in the network, with what it takes to hand it over. */
interface Envelope<T> extends AddressedMessage<T> {
  /** Hands the payload to its receiver; the network has already checked that it may. */
  readonly handOver: () => void;
  /** Its place in the {@link WaitingOrder} while it waits there, else -1. */
  slot: number;
  /** A reply that left its sender before the sender crashed: it may arrive although the sender is down. */
  orphan?: boolean;
}

/**
 * What the network needs from its owner ({@link InMemoryCluster}): which servers are up.
 * @internal
 */
export interface NetworkHost {
  isRunning(id: ServerId): boolean;
}

/**
 * The locked synchronous channel between the servers of an {@link InMemoryCluster}, with
 * links that can be cut.
 *
 * Every call into a server goes through {@link InMemoryNetwork.run}, which holds a lock: a
 * message sent while the lock is held is queued, never handed over inside another handler.
 * In `'immediate'` delivery the queue is drained in FIFO order before the outermost call
 * returns. In `'manual'` delivery nothing moves by itself: {@link InMemoryNetwork.undelivered}
 * lists what waits for each server, and {@link InMemoryNetwork.deliver} or
 * {@link InMemoryNetwork.drop} act on one message at a time.
 *
 * A message across a cut link, or to or from a crashed server, is lost: at sending time, and
 * again at delivery time if the link was cut or the server crashed meanwhile.
 *
 * @example
 * ```ts
 * const cluster = InMemoryCluster.make<string>(3, { delivery: 'manual' });
 * cluster.timeout(0);                                   // server 0 asks for votes
 * for (const { id } of cluster.network.undelivered(1)) cluster.network.deliver(1, id);
 * ```
 */
export class InMemoryNetwork<T> {
  /** How messages move. */
  readonly delivery: DeliveryMode;
  readonly #host: NetworkHost;
  readonly #clusterSize: number;
  readonly #fifo: Envelope<T>[] = [];
  #fifoHead = 0;
  readonly #waiting: Map<number, Envelope<T>>[];
  readonly #order = new WaitingOrder<Envelope<T>>();
  readonly #held: Map<number, Envelope<T>>[];
  #heldCount = 0;
  #nextId = 1;
  #locked = false;
  #handingOver = false;
  readonly #deferred: (() => void)[] = [];
  readonly #isolated = new Set<ServerId>();
  readonly #cutLinks = new Set<number>();
  #groupOf: number[] | undefined = undefined;
  #delivered = 0;
  #dropped = 0;
  #taps: ((message: AddressedMessage<T>) => void)[] = [];

  /** @internal Built by {@link InMemoryCluster}. */
  constructor(clusterSize: number, delivery: DeliveryMode, host: NetworkHost) {
    this.#clusterSize = clusterSize;
    this.delivery = delivery;
    this.#host = host;
    this.#waiting = Array.from({ length: clusterSize }, () => new Map());
    this.#held = Array.from({ length: clusterSize }, () => new Map());
  }

  /** Messages handed over so far. */
  get deliveredCount(): number {
    return this.#delivered;
  }

  /** Messages lost so far: cut links, crashed servers, and `drop`. */
  get droppedCount(): number {
    return this.#dropped;
  }

  /**
   * In `'manual'` delivery, the messages and replies waiting for server `to`, oldest first
   * (held messages, see {@link InMemoryNetwork.hold}, are not listed).
   * Always empty in `'immediate'` delivery once a call has returned.
   * @throws {@link InvalidArgumentError} when `to` is not a server of the cluster.
   */
  undelivered(to: ServerId): readonly UndeliveredMessage<T>[] {
    this.#checkServer(to);
    return Array.from((this.#waiting[to] as Map<number, Envelope<T>>).values(), ({ id, from, message }) => ({ id, from, message }));
  }

  /** In `'manual'` delivery, every waiting message of every server, oldest (lowest id) first, in O(n). */
  allUndelivered(): readonly AddressedMessage<T>[] {
    return Array.from(this.#order.values(), addressed);
  }

  /**
   * In `'manual'` delivery, the `position`-th waiting message over all servers, oldest
   * (lowest id) first: `undeliveredAt(k)` is `allUndelivered()[k]`, in O(log n) instead of
   * O(n). `undefined` outside `0..undeliveredCount - 1`.
   * @throws {@link InvalidArgumentError} unless `position` is an integer.
   */
  undeliveredAt(position: number): AddressedMessage<T> | undefined {
    if (!Number.isSafeInteger(position)) throw new InvalidArgumentError(`Expected a position (an integer), got ${describe(position)}`);
    const envelope = this.#order.at(position);
    return envelope === undefined ? undefined : addressed(envelope);
  }

  /** Number of messages waiting in `'manual'` delivery, over all servers (held ones excluded), in O(1). */
  get undeliveredCount(): number {
    return this.#order.size;
  }

  /** Number of messages held back with {@link InMemoryNetwork.hold}, over all servers. */
  get heldCount(): number {
    return this.#heldCount;
  }

  /**
   * Hands message `id` to server `to` now (and, in `'immediate'` mode, everything it causes).
   * The message may be waiting or held ({@link InMemoryNetwork.hold}). A message whose link
   * was cut or whose receiver crashed since it was sent is lost instead.
   * @throws {@link InvalidArgumentError} when no message `id` waits for `to` or is held for it.
   */
  deliver(to: ServerId, id: number): void {
    const envelope = this.#take(to, id);
    this.run(() => this.#handOver(envelope));
  }

  /**
   * Loses message `id` (waiting or held) to server `to`.
   * @throws {@link InvalidArgumentError} when no message `id` waits for `to` or is held for it.
   */
  drop(to: ServerId, id: number): void {
    this.#take(to, id);
    this.#dropped++;
  }

  /**
   * In `'manual'` delivery, puts a copy of waiting message `id` (a duplicate, as a faulty
   * network may make) at the end of `to`'s list, and returns the copy's id.
   * @throws {@link InvalidArgumentError} when no message `id` waits for `to`.
   */
  duplicate(to: ServerId, id: number): number {
    const original = this.#find(to, id);
    const copy: Envelope<T> = { ...original, id: this.#nextId++, slot: -1 };
    this.#enqueue(copy);
    return copy.id;
  }

  /**
   * In `'manual'` delivery, holds waiting message `id` back: it leaves the lists of waiting
   * messages (`undelivered`, `allUndelivered`, `undeliveredAt`, `undeliveredCount`) and
   * stays in the network, as a message stuck in a router does, until {@link InMemoryNetwork.deliver}
   * or {@link InMemoryNetwork.drop} names it. A crash of its sender or receiver loses it.
   * @throws {@link InvalidArgumentError} when no message `id` waits for `to`.
   */
  hold(to: ServerId, id: number): void {
    const envelope = this.#find(to, id);
    this.#dequeue(envelope);
    (this.#held[to] as Map<number, Envelope<T>>).set(id, envelope);
    this.#heldCount++;
  }

  /**
   * Whether message `id` to server `to` is held back ({@link InMemoryNetwork.hold}): false
   * once it was delivered, dropped or lost.
   * @throws {@link InvalidArgumentError} when `to` is not a server of the cluster or `id` not an integer.
   */
  isHeld(to: ServerId, id: number): boolean {
    this.#checkServer(to);
    checkMessageId(id);
    return (this.#held[to] as Map<number, Envelope<T>>).has(id);
  }

  /** Cuts the one-way link from `from` to `to` (messages the other way still pass) until {@link InMemoryNetwork.restoreLink}. */
  cutLink(from: ServerId, to: ServerId): void {
    this.#checkServer(from);
    this.#checkServer(to);
    this.#cutLinks.add(from * this.#clusterSize + to);
  }

  /** Restores the one-way link from `from` to `to`. */
  restoreLink(from: ServerId, to: ServerId): void {
    this.#checkServer(from);
    this.#checkServer(to);
    this.#cutLinks.delete(from * this.#clusterSize + to);
  }

  /** Restores every link cut with {@link InMemoryNetwork.cutLink}. */
  restoreAllLinks(): void {
    this.#cutLinks.clear();
  }

  /**
   * Calls `listener` with every message or reply just before it is handed over, for
   * counting, tracing or drawing. Returns a function that removes the listener.
   * @throws {@link InvalidArgumentError} unless `listener` is a function.
   *
   * @example
   * ```ts
   * let appends = 0;
   * cluster.network.tap(({ message }) => { if (message.type === 'appendEntries') appends++; });
   * ```
   */
  tap(listener: (message: AddressedMessage<T>) => void): () => void {
    if (typeof listener !== 'function') throw new InvalidArgumentError(`Expected a listener function, got ${describe(listener)}`);
    this.#taps = [...this.#taps, listener];
    return () => {
      this.#taps = this.#taps.filter((l) => l !== listener);
    };
  }

  /**
   * Whether a message from `from` to `to` would cross the network now.
   * @throws {@link InvalidArgumentError} when either is not a server of the cluster.
   */
  isConnected(from: ServerId, to: ServerId): boolean {
    this.#checkServer(from);
    this.#checkServer(to);
    return this.#connected(from, to);
  }

  /**
   * Runs `action` holding the channel's lock. Messages sent meanwhile are queued; in
   * `'immediate'` mode the outermost call drains the queue, FIFO, before returning.
   * Nested calls (an event listener calling back into the cluster) just run.
   */
  run<R>(action: () => R): R {
    if (this.#locked) return action();
    this.#locked = true;
    try {
      const result = action();
      this.#drain();
      return result;
    } finally {
      this.#locked = false;
    }
  }

  /**
   * Runs `action` holding the lock, like {@link InMemoryNetwork.run}; but when the lock is
   * already held (an event listener calling back into the cluster from inside a handler),
   * queues it to run right after the current handler, before the outermost call returns.
   */
  runOrDefer(action: () => void): void {
    if (this.#locked) this.#deferred.push(action);
    else this.run(action);
  }

  /**
   * @internal Whether the network is handing a message over right now (so the receiver's
   * `processMessage` runs at once, not deferred). Reading it clears it.
   */
  takeHandOver(): boolean {
    const handingOver = this.#handingOver;
    this.#handingOver = false;
    return handingOver;
  }

  /** @internal Queues a request from `from` to `to`. */
  sendMessage(from: ServerId, to: ServerId, message: Message<T>, handOver: (message: Message<T>) => void): void {
    this.#send(from, to, message, () => handOver(message));
  }

  /** @internal Queues a reply from `from` to `to`; `handOver` calls the requester's own callback. */
  sendReply(from: ServerId, to: ServerId, reply: Reply, handOver: () => void): void {
    this.#send(from, to, reply, handOver);
  }

  /** @internal Cuts `id` off from every other server. */
  isolate(id: ServerId): void {
    this.#isolated.add(id);
  }

  /** @internal Undoes {@link InMemoryNetwork.isolate}. */
  unisolate(id: ServerId): void {
    this.#isolated.delete(id);
  }

  /** @internal Splits the servers into groups; a server in no group is alone. */
  setGroups(groups: readonly (readonly ServerId[])[]): void {
    const groupOf = Array.from({ length: this.#clusterSize }, (_, id) => groups.length + id);
    groups.forEach((group, g) => group.forEach((id) => (groupOf[id] = g)));
    this.#groupOf = groupOf;
  }

  /** @internal Removes every partition. */
  clearGroups(): void {
    this.#groupOf = undefined;
  }

  /**
   * @internal Loses every message to or from `id` (it crashed), held ones included; but with
   * `keepSentReplies`, replies `id` sent before it crashed stay in the network (packets
   * already on the wire) and may still arrive.
   */
  purge(id: ServerId, keepSentReplies = false): void {
    const lost = (envelope: Envelope<T>): boolean => {
      if (envelope.to === id) return true;
      if (envelope.from !== id) return false;
      if (keepSentReplies && isReply(envelope.message)) {
        envelope.orphan = true;
        return false;
      }
      return true;
    };
    for (let k = this.#fifoHead; k < this.#fifo.length; k++) {
      const envelope = this.#fifo[k] as Envelope<T>;
      if (lost(envelope)) {
        this.#fifo[k] = { ...envelope, handOver: () => undefined, to: -1 };
        this.#dropped++;
      }
    }
    for (const waiting of this.#waiting) {
      for (const envelope of waiting.values()) {
        if (lost(envelope)) {
          this.#dequeue(envelope);
          this.#dropped++;
        }
      }
    }
    for (const held of this.#held) {
      for (const [key, envelope] of held) {
        if (lost(envelope)) {
          held.delete(key);
          this.#heldCount--;
          this.#dropped++;
        }
      }
    }
  }

  #send(from: ServerId, to: ServerId, message: Message<T> | Reply, handOver: () => void): void {
    if (!this.#mayPass(from, to)) {
      this.#dropped++;
      return;
    }
    const envelope: Envelope<T> = { id: this.#nextId++, from, to, message, handOver, slot: -1 };
    if (this.delivery === 'manual') {
      this.#enqueue(envelope);
    } else {
      this.#fifo.push(envelope);
      if (!this.#locked) this.run(() => undefined);
    }
  }

  /** Adds a message to the waiting lists (its id is the highest so far). */
  #enqueue(envelope: Envelope<T>): void {
    (this.#waiting[envelope.to] as Map<number, Envelope<T>>).set(envelope.id, envelope);
    this.#order.push(envelope);
  }

  /** Takes a message off the waiting lists. */
  #dequeue(envelope: Envelope<T>): void {
    (this.#waiting[envelope.to] as Map<number, Envelope<T>>).delete(envelope.id);
    this.#order.remove(envelope);
  }

  #connected(from: ServerId, to: ServerId): boolean {
    if (this.#isolated.has(from) || this.#isolated.has(to)) return false;
    if (this.#cutLinks.size > 0 && this.#cutLinks.has(from * this.#clusterSize + to)) return false;
    return this.#groupOf === undefined || this.#groupOf[from] === this.#groupOf[to];
  }

  #mayPass(from: ServerId, to: ServerId): boolean {
    return this.#host.isRunning(from) && this.#host.isRunning(to) && this.#connected(from, to);
  }

  #handOver(envelope: Envelope<T>): void {
    if (envelope.to < 0) return; // purged while queued
    const passes = envelope.orphan === true ? this.#host.isRunning(envelope.to) && this.#connected(envelope.from, envelope.to) : this.#mayPass(envelope.from, envelope.to);
    if (!passes) {
      this.#dropped++;
      return;
    }
    this.#delivered++;
    for (const listener of this.#taps) listener(envelope);
    this.#handingOver = true;
    try {
      envelope.handOver();
    } finally {
      this.#handingOver = false;
    }
  }

  /** Runs deferred calls and, in `'immediate'` mode, hands over queued messages, FIFO, until both queues are empty. */
  #drain(): void {
    for (;;) {
      const deferred = this.#deferred.shift();
      if (deferred !== undefined) {
        deferred();
      } else if (this.#fifoHead < this.#fifo.length) {
        const envelope = this.#fifo[this.#fifoHead] as Envelope<T>;
        this.#fifo[this.#fifoHead] = undefined as unknown as Envelope<T>;
        this.#fifoHead++;
        this.#handOver(envelope);
      } else {
        break;
      }
    }
    this.#fifo.length = 0;
    this.#fifoHead = 0;
  }

  /** The waiting message `id` to `to`. */
  #find(to: ServerId, id: number): Envelope<T> {
    this.#checkServer(to);
    checkMessageId(id);
    const envelope = (this.#waiting[to] as Map<number, Envelope<T>>).get(id);
    if (envelope === undefined) throw new InvalidArgumentError(`No undelivered message ${id} waits for server ${to}`);
    return envelope;
  }

  /** Takes the waiting or held message `id` to `to` out of the network. */
  #take(to: ServerId, id: number): Envelope<T> {
    this.#checkServer(to);
    checkMessageId(id);
    const held = this.#held[to] as Map<number, Envelope<T>>;
    const envelope = held.get(id);
    if (envelope !== undefined) {
      held.delete(id);
      this.#heldCount--;
      return envelope;
    }
    const waiting = this.#find(to, id);
    this.#dequeue(waiting);
    return waiting;
  }

  #checkServer(id: ServerId): void {
    if (!Number.isSafeInteger(id) || id < 0 || id >= this.#clusterSize) {
      throw new InvalidArgumentError(`Expected a server id in [0, ${this.#clusterSize}), got ${describe(id)}`);
    }
  }
}

/** Whether a payload is a reply (its handing over calls the requester's own callback, never the sender). */
function isReply<T>(message: Message<T> | Reply): message is Reply {
  return message.type === 'requestVoteReply' || message.type === 'appendEntriesReply' || message.type === 'installSnapshotReply' || message.type === 'timeoutNowReply';
}

/** The public view of a message in the network. */
function addressed<T>({ id, from, to, message }: Envelope<T>): AddressedMessage<T> {
  return { id, from, to, message };
}

function checkMessageId(id: number): void {
  if (!Number.isSafeInteger(id)) throw new InvalidArgumentError(`Expected a message id (an integer), got ${describe(id)}`);
}
