/**
 * A linearizability checker for histories of key-value client operations (put, append,
 * get), for the simulator's clients: per-key Wing & Gong / Lowe search as in Porcupine,
 * with a minimal explanation of a violation. See {@link checkLinearizability}.
 */
export type { KvHistory, KvOperation, KvOperationKind, NormalizedOperation } from './linearizability/history';
export { formatOperation, formatValue, happensBefore, normalizeOperation } from './linearizability/history';
export type { KvState, KvStepResult } from './linearizability/kv-model';
export { KV_INITIAL_STATE, kvStep } from './linearizability/kv-model';
export type { KeySearchResult } from './linearizability/search';
export { searchKey, withoutUnobservedUnknownWrites } from './linearizability/search';
export type { MinimizedHistory } from './linearizability/minimize';
export { minimizeKeyHistory } from './linearizability/minimize';
export { explainKey, formatExplanation, possibleValuesBefore } from './linearizability/explain';
export type {
  KeyCheckResult,
  KeyExplanation,
  LinearizabilityOptions,
  LinearizabilityResult,
} from './linearizability/result';
export {
  DEFAULT_LINEARIZABILITY_MAX_STEPS,
  DEFAULT_LINEARIZABILITY_MINIMIZE_CHECKS,
  DEFAULT_LINEARIZABILITY_MINIMIZE_STEPS,
  checkLinearizability,
} from './linearizability/checker';
