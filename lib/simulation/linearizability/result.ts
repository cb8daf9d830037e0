import type { KvOperation } from './history';

/** Options of {@link checkLinearizability}. */
export interface LinearizabilityOptions {
  /**
   * The step budget of the search of each key (one step per event the search looks at).
   * A key whose search needs more is reported `'unknown'` rather than searched for ever.
   * Default 1,000,000 (well under a second).
   */
  readonly maxSteps?: number;
  /** Whether to shrink a failing key's operations to a small core for the explanation. Default `true`. */
  readonly minimize?: boolean;
  /**
   * How many candidate histories the shrinking may check per failing key (each one a
   * search with the `maxSteps` budget); when it runs out, the core is small but maybe not
   * minimal. Default 2,000.
   */
  readonly maxMinimizeChecks?: number;
  /**
   * The step budget of all the shrinking searches of one failing key together (past it, the
   * core is small but maybe not minimal). Default 5,000,000.
   */
  readonly maxMinimizeSteps?: number;
}

/**
 * Why a key is not linearizable, on a small core of its operations: the longest
 * linearizable prefix the search found and the operation it could not place after it.
 */
export interface KeyExplanation {
  /** The key. */
  readonly key: string;
  /** How many operations of the history the key has (unknown-outcome reads not counted). */
  readonly operationCount: number;
  /**
   * A sub-history of the key that is still not linearizable, by invocation time: all the
   * key's operations without minimization, a small core with it.
   */
  readonly core: readonly KvOperation[];
  /**
   * `true` when no operation of the core can be dropped while it stays non-linearizable
   * (except writes whose value a read of the core returns, always kept so that a read is
   * never blamed for a value nobody wrote); `false` when minimization was off or cut short.
   */
  readonly minimal: boolean;
  /** The longest linearizable prefix of the core the search found, in linearization order. */
  readonly longestPrefix: readonly KvOperation[];
  /** The operation that could not be placed after that prefix (the first to return among the others). */
  readonly failed: KvOperation;
  /** The core's operations concurrent with `failed`. */
  readonly concurrent: readonly KvOperation[];
  /**
   * For a failed `get`: every value the key can hold at a point where the read could be
   * linearized, given the core's operations that may precede it (`undefined` = absent);
   * `undefined` for a write, or when enumerating them exceeded the step budget.
   */
  readonly possibleValues: readonly (string | undefined)[] | undefined;
}

/** The verdict on one key. */
export interface KeyCheckResult {
  /** The key. */
  readonly key: string;
  /** How many operations were checked (unknown-outcome reads are dropped). */
  readonly operations: number;
  /** `true`, `false`, or `'unknown'` when the step budget ran out. */
  readonly linearizable: boolean | 'unknown';
  /** The steps of the key's search (not counting the minimization). */
  readonly steps: number;
  /** Present when `linearizable` is `false`. */
  readonly explanation?: KeyExplanation;
}

/** What {@link checkLinearizability} found. */
export interface LinearizabilityResult {
  /** `false` if a key is not linearizable; else `'unknown'` if a key ran out of budget; else `true`. */
  readonly linearizable: boolean | 'unknown';
  /** How many operations were checked over all keys. */
  readonly operations: number;
  /** One verdict per key, by key. */
  readonly keys: readonly KeyCheckResult[];
  /** The steps of all the keys' searches: a machine-independent measure of the work. */
  readonly steps: number;
}
