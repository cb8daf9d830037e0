import { InvalidArgumentError } from '../../errors';

/** What a client asked of the key-value store: set a key, extend its value, or read it. */
export type KvOperationKind = 'put' | 'append' | 'get';

/**
 * One client operation of a history given to {@link checkLinearizability}.
 *
 * `outcome: 'ok'` means the client saw the answer at `returnedAt`. `outcome: 'unknown'`
 * means it never learnt whether the operation took effect (a timeout, a lost leader): the
 * checker treats it as pending until the end of the history (`returnedAt` is ignored and
 * taken as `Infinity`), so a write may have taken effect at any time after `invokedAt`, or
 * never; a `get` with an unknown outcome has no effect and no observed result, and is
 * dropped. An operation that surely did not take effect is left out by the caller.
 */
export interface KvOperation {
  /** Who issued it (only used in explanations: a client's own operations need not be sequential). */
  readonly client: number;
  /** `put` sets the key to `value`, `append` concatenates `value` (to nothing if absent), `get` reads. */
  readonly kind: KvOperationKind;
  /** The key it is on; keys are checked independently. */
  readonly key: string;
  /** The value written, for `put` and `append`. */
  readonly value?: string;
  /** When the client invoked it (any unit, finite). */
  readonly invokedAt: number;
  /** When the answer came back; `undefined` (or anything) when `outcome` is `'unknown'`. */
  readonly returnedAt: number | undefined;
  /** For a `get` that returned: the value read, `undefined` when the key was absent. */
  readonly result?: string | undefined;
  /** `'ok'`: it returned; `'unknown'`: it may or may not have taken effect. */
  readonly outcome: 'ok' | 'unknown';
}

/** A history: every operation of every client, in any order. */
export type KvHistory = readonly KvOperation[];

/**
 * An operation as the search sees it: `returnedAt` is `Infinity` for an unknown outcome,
 * and `id` is its position in the history given to the checker.
 */
export interface NormalizedOperation {
  /** Position of the operation in the caller's history. */
  readonly id: number;
  /** The caller's record. */
  readonly op: KvOperation;
  /** `op.invokedAt`. */
  readonly invokedAt: number;
  /** `op.returnedAt`, or `Infinity` when the outcome is unknown. */
  readonly returnedAt: number;
}

/**
 * The real-time order of the checker: `a` happens before `b` when `a` returned strictly
 * before `b` was invoked. An operation that returns at `t` and one invoked at the same `t`
 * are concurrent (either order is allowed), the permissive reading of equal timestamps.
 */
export function happensBefore(a: NormalizedOperation, b: NormalizedOperation): boolean {
  return a.returnedAt < b.invokedAt;
}

/**
 * Checks one operation and turns it into the search's form, or returns `undefined` for an
 * operation the checker ignores (a `get` with an unknown outcome).
 *
 * @throws InvalidArgumentError when a time is not a number, a return precedes its
 *   invocation, a write has no value, or a field has a value outside its type.
 */
export function normalizeOperation(op: KvOperation, id: number): NormalizedOperation | undefined {
  const where = `history[${id}]`;
  if (op.kind !== 'put' && op.kind !== 'append' && op.kind !== 'get') {
    throw new InvalidArgumentError(`${where}.kind must be 'put', 'append' or 'get', got ${String(op.kind)}`);
  }
  if (typeof op.key !== 'string') {
    throw new InvalidArgumentError(`${where}.key must be a string, got ${String(op.key)}`);
  }
  if (typeof op.invokedAt !== 'number' || !Number.isFinite(op.invokedAt)) {
    throw new InvalidArgumentError(`${where}.invokedAt must be a finite number, got ${String(op.invokedAt)}`);
  }
  if (op.kind !== 'get' && typeof op.value !== 'string') {
    throw new InvalidArgumentError(`${where}.value must be a string for a ${op.kind}, got ${String(op.value)}`);
  }
  if (op.outcome === 'unknown') {
    return op.kind === 'get' ? undefined : { id, op, invokedAt: op.invokedAt, returnedAt: Infinity };
  }
  if (op.outcome !== 'ok') {
    throw new InvalidArgumentError(`${where}.outcome must be 'ok' or 'unknown', got ${String(op.outcome)}`);
  }
  const returnedAt = op.returnedAt;
  if (typeof returnedAt !== 'number' || Number.isNaN(returnedAt) || returnedAt < op.invokedAt) {
    throw new InvalidArgumentError(
      `${where}.returnedAt must be a number no smaller than invokedAt (${op.invokedAt}) when the outcome is 'ok', got ${String(returnedAt)}`,
    );
  }
  if (op.kind === 'get' && op.result !== undefined && typeof op.result !== 'string') {
    throw new InvalidArgumentError(`${where}.result must be a string or undefined, got ${String(op.result)}`);
  }
  return { id, op, invokedAt: op.invokedAt, returnedAt };
}

/** A value as explanations print it: JSON-quoted, or `absent` for `undefined`. */
export function formatValue(value: string | undefined): string {
  return value === undefined ? 'absent' : JSON.stringify(value);
}

/** A key as explanations print it: bare when it is a plain word, JSON-quoted otherwise. */
export function formatKey(key: string): string {
  return /^[A-Za-z0-9_.:/-]+$/.test(key) ? key : JSON.stringify(key);
}

/**
 * One operation on one line, e.g. `client 2 get x -> "ab" [t=10..15]` or
 * `client 1 append x "b" [t=3..?] (outcome unknown)`.
 */
export function formatOperation(op: KvOperation): string {
  const head = `client ${op.client} ${op.kind} ${formatKey(op.key)}`;
  const what = op.kind === 'get' ? (op.outcome === 'ok' ? ` -> ${formatValue(op.result)}` : '') : ` ${formatValue(op.value)}`;
  const end = op.outcome === 'ok' ? String(op.returnedAt) : '?';
  return `${head}${what} [t=${op.invokedAt}..${end}]${op.outcome === 'unknown' ? ' (outcome unknown)' : ''}`;
}
