import type { NormalizedOperation } from './history';
import { KV_INITIAL_STATE, kvStep, stateKey, type KvState } from './kv-model';

/** What {@link searchKey} found for the operations of one key. */
export interface KeySearchResult {
  /** `true`: a linearization exists; `false`: none does; `'unknown'`: the step budget ran out first. */
  readonly linearizable: boolean | 'unknown';
  /** Steps taken (one per event looked at, the unit of the budget). */
  readonly steps: number;
  /**
   * The longest sequence of operations the search managed to linearize, in linearization
   * order (the first one found of that length); all the operations when linearizable.
   */
  readonly longestPrefix: readonly NormalizedOperation[];
}

/**
 * Decides whether the operations of one key are linearizable with respect to the key-value
 * model: the Wing & Gong search with Lowe's cache, as Porcupine does it.
 *
 * The history becomes a doubly linked list of call and return events sorted by time; at
 * equal times calls come before returns, so that an operation returning at `t` and one
 * invoked at `t` are concurrent (see {@link happensBefore}). The search walks the list from
 * the front: at a call, it tries to linearize that operation now (the model must accept it
 * and the pair (set of linearized operations, state) must not have been seen already), and
 * if so lifts its call and return out of the list and starts again from the front; at a
 * return, the operation was not linearized before its return, so it backtracks: it puts the
 * last linearized operation back and tries the next event after it. It fails when it must
 * backtrack with nothing linearized. One pruning on top: a read that can be linearized at
 * a point can be linearized there without loss of generality (it leaves the state alone,
 * and every operation that must precede it is already in, since no return is left before
 * its call): the search linearizes such a read first, and when everything after it fails,
 * it does not try the other events in its place but backtracks one operation further (and
 * a read that fits but is in the cache dooms the prefix the same way).
 * Sets of operations are bigint bitsets; the cache is a
 * set of (bitset, state) strings, which makes the search polynomial on the histories a
 * replicated store produces (few concurrent operations).
 *
 * Operations with an unknown outcome return at `Infinity`, so nothing forces them in; the
 * search succeeds as soon as every operation with a known outcome is linearized, since the
 * writes left over can always be placed at the end (or never have happened: no read
 * follows). Those no read can have observed are left out from the start (see
 * {@link withoutUnobservedUnknownWrites}).
 *
 * `maxSteps` bounds the work: past it, the answer is `'unknown'`. The search is exponential
 * in the number of mutually concurrent operations, as Porcupine's: about one step per event
 * with 5 clients (1,000 operations on 10 keys: about 2,200 steps), 10^3 to 10^6 steps for
 * 300 operations of 10 clients on one key with long overlaps, and past a million (so
 * `'unknown'` by default) with 20 or more operations overlapping at all times.
 */
export function searchKey(history: readonly NormalizedOperation[], maxSteps: number): KeySearchResult {
  const ops = withoutUnobservedUnknownWrites(history);
  const n = ops.length;
  let knownLeft = ops.filter((o) => o.returnedAt !== Infinity).length;
  if (knownLeft === 0) return { linearizable: true, steps: 0, longestPrefix: ops.slice() };

  // Events: 2k is the call of ops[k], 2k+1 its return; HEAD is a sentinel before the first.
  const HEAD = 2 * n;
  const events: number[] = [];
  for (let k = 0; k < n; k++) events.push(2 * k, 2 * k + 1);
  const time = (e: number): number => {
    const o = ops[e >> 1] as NormalizedOperation;
    return e & 1 ? o.returnedAt : o.invokedAt;
  };
  events.sort((a, b) => time(a) - time(b) || (a & 1) - (b & 1) || a - b);
  const next = new Int32Array(2 * n + 1).fill(-1);
  const prev = new Int32Array(2 * n + 1).fill(-1);
  let last = HEAD;
  for (const e of events) {
    next[last] = e;
    prev[e] = last;
    last = e;
  }
  const lift = (call: number): void => {
    const ret = call + 1;
    next[prev[call] as number] = next[call] as number;
    prev[next[call] as number] = prev[call] as number;
    next[prev[ret] as number] = next[ret] as number;
    if ((next[ret] as number) >= 0) prev[next[ret] as number] = prev[ret] as number;
  };
  const unlift = (call: number): void => {
    const ret = call + 1;
    next[prev[ret] as number] = ret;
    if ((next[ret] as number) >= 0) prev[next[ret] as number] = ret;
    next[prev[call] as number] = call;
    prev[next[call] as number] = call;
  };

  const cache = new Set<string>();
  const stack: { readonly call: number; readonly state: KvState }[] = [];
  let linearized = 0n;
  let state: KvState = KV_INITIAL_STATE;
  let longest: readonly NormalizedOperation[] = [];
  let steps = 0;
  /** Where to go on from the front: a read that can be linearized now if any, else the first event. */
  const restart = (): number => {
    for (let e = next[HEAD] as number; e >= 0 && (e & 1) === 0; e = next[e] as number) {
      steps++;
      const o = ops[e >> 1] as NormalizedOperation;
      if (o.op.kind === 'get' && o.op.result === state) return e;
    }
    return next[HEAD] as number;
  };
  let entry = restart();
  while (entry >= 0) {
    if (++steps > maxSteps) return { linearizable: 'unknown', steps: maxSteps, longestPrefix: longest };
    const o = ops[entry >> 1] as NormalizedOperation;
    if ((entry & 1) === 0) {
      const after = kvStep(state, o.op);
      let doomed = false;
      if (after !== null) {
        const bits = linearized | (1n << BigInt(entry >> 1));
        const key = `${bits.toString(16)}:${stateKey(after.state)}`;
        if (!cache.has(key)) {
          cache.add(key);
          stack.push({ call: entry, state });
          state = after.state;
          linearized = bits;
          lift(entry);
          if (o.returnedAt !== Infinity) knownLeft--;
          if (stack.length > longest.length) longest = stack.map((s) => ops[s.call >> 1] as NormalizedOperation);
          if (knownLeft === 0) return { linearizable: true, steps, longestPrefix: longest };
          entry = restart();
          continue;
        }
        // A read that fits here but whose extensions all failed dooms this prefix too.
        doomed = o.op.kind === 'get';
      }
      if (!doomed) {
        entry = next[entry] as number;
        continue;
      }
    }
    // Backtrack (at a return, or doomed). A read linearized where it could be was not a
    // choice (see above), so when everything after it failed, the operation before it is
    // undone too.
    let top = stack.pop();
    for (;;) {
      if (top === undefined) return { linearizable: false, steps, longestPrefix: longest };
      const undone = ops[top.call >> 1] as NormalizedOperation;
      state = top.state;
      linearized &= ~(1n << BigInt(top.call >> 1));
      if (undone.returnedAt !== Infinity) knownLeft++;
      unlift(top.call);
      if (undone.op.kind !== 'get') break;
      top = stack.pop();
    }
    entry = next[top.call] as number;
  }
  return { linearizable: true, steps, longestPrefix: longest };
}

/**
 * The operations of one key without the writes with an unknown outcome whose value occurs
 * in no read's result. Such a write never matters: in a linearization that holds it, the
 * next read would contain its value (a put's value starts the state, an append's stays in
 * it) unless a put overwrites it first; so it can be dropped from any linearization, that
 * is, it can be taken as never applied. Unknown writes are what makes the search
 * exponential (each may or may not be in every set), so this keeps the common case (a
 * client timed out and the write was lost) cheap.
 */
export function withoutUnobservedUnknownWrites(ops: readonly NormalizedOperation[]): NormalizedOperation[] {
  const results = ops.flatMap((o) => (o.op.kind === 'get' && o.op.result !== undefined ? [o.op.result] : []));
  return ops.filter(
    (o) => o.returnedAt !== Infinity || o.op.kind === 'get' || results.some((r) => r.includes(o.op.value ?? '')),
  );
}
