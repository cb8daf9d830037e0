/**
 * The deterministic operation sequence of the crash test, shared by the child that runs it on
 * a FilePersistentState (crash-child.ts) and the parent that replays it on an
 * InMemoryPersistentState model (kill.spec.ts).
 *
 * Each operation is chosen from a seeded generator and the store's current view (term,
 * vote, log length, last term) only, so the parent, starting from the same state with the
 * same seed, computes the same operations. Terms stay valid: entries carry the current
 * term, terms only grow.
 */
import type { IPersistentState } from '../../lib/persistent-state';

/** The data of an entry: the run and step that appended it, its place in the batch, and sometimes padding. */
export interface Payload {
  readonly r: number;
  readonly s: number;
  readonly k: number;
  readonly p?: string;
}

/** One mutation call of IPersistentState. */
export type Op =
  | { readonly kind: 'appendEntries'; readonly entries: readonly { readonly data: Payload; readonly term: number }[] }
  | { readonly kind: 'appendToLog'; readonly data: Payload; readonly term: number }
  | { readonly kind: 'truncateLog'; readonly finalIndex: number }
  | { readonly kind: 'advanceToTerm'; readonly term: number }
  | { readonly kind: 'incrementTerm' }
  | { readonly kind: 'vote'; readonly candidate: number };

/** What the generator looks at. */
export interface View {
  readonly currentTerm: number;
  readonly votedFor: number | undefined;
  readonly currentLogIndex: number;
}

/** The segment size the child uses: small, so that rotations happen during the test. */
export const CHILD_MAX_SEGMENT_BYTES = 16 * 1024;
/** The child stops (closes the store and exits) after this many steps if nobody kills it. */
export const CHILD_MAX_STEPS = 1_000_000;
/** Truncations never go more than this far back from the end (a stand-in for a commit index). */
export const TRUNCATE_WINDOW = 50;

/** The view of a store. */
export function viewOf(state: IPersistentState<Payload>): View {
  return { currentTerm: state.currentTerm, votedFor: state.votedFor, currentLogIndex: state.currentLogIndex };
}

/** The seed of run `run` of a test whose base seed is `base`. */
export function runSeed(base: number, run: number): number {
  let h = (base ^ Math.imul(run + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

function payload(random: () => number, run: number, step: number, k: number): Payload {
  // one entry in 12 is padded to 100..2100 bytes, so that records cross 512-byte sectors and
  // a batch is sometimes several KiB (written by one write call)
  if (random() < 1 / 12) return { r: run, s: step, k, p: 'x'.repeat(100 + Math.floor(random() * 2000)) };
  return { r: run, s: step, k };
}

/** The operation of step `step` of run `run`, for a store in state `view`. */
export function nextOp(random: () => number, view: View, run: number, step: number): Op {
  const term = view.currentTerm;
  if (term === 0) return { kind: 'incrementTerm' };
  const r = random();
  if (r < 0.3) {
    const count = 1 + Math.floor(random() * 20);
    const entries = Array.from({ length: count }, (_, k) => ({ data: payload(random, run, step, k), term }));
    return { kind: 'appendEntries', entries };
  }
  if (r < 0.5) return { kind: 'appendToLog', data: payload(random, run, step, 0), term };
  if (r < 0.65) {
    const length = view.currentLogIndex;
    const floor = Math.max(0, length - TRUNCATE_WINDOW);
    // up to 2 past the end: a truncation that changes nothing (and writes nothing)
    return { kind: 'truncateLog', finalIndex: floor + Math.floor(random() * (length - floor + 3)) };
  }
  if (r < 0.75) return { kind: 'advanceToTerm', term: term + 1 + Math.floor(random() * 3) };
  if (r < 0.87) return { kind: 'incrementTerm' };
  return { kind: 'vote', candidate: Math.floor(random() * 5) };
}

/** Performs `op` on `state` as one call. */
export function applyOp(state: IPersistentState<Payload>, op: Op): void {
  switch (op.kind) {
    case 'appendEntries':
      if (state.appendEntries) state.appendEntries(op.entries);
      else for (const entry of op.entries) state.appendToLog(entry.data, entry.term);
      return;
    case 'appendToLog':
      state.appendToLog(op.data, op.term);
      return;
    case 'truncateLog':
      state.truncateLog(op.finalIndex);
      return;
    case 'advanceToTerm':
      state.advanceToTerm(op.term);
      return;
    case 'incrementTerm':
      state.incrementTerm();
      return;
    case 'vote':
      state.vote(op.candidate);
      return;
  }
}

/**
 * `op` split into the mutations that each write one record (an appendEntries of k entries is
 * k records; a truncation past the end writes none): a crash may keep any prefix of them.
 */
export function recordsOf(op: Op, view: View): ((state: IPersistentState<Payload>) => void)[] {
  switch (op.kind) {
    case 'appendEntries':
      return op.entries.map((entry) => (state) => state.appendToLog(entry.data, entry.term));
    case 'truncateLog':
      return op.finalIndex < view.currentLogIndex ? [(state) => state.truncateLog(op.finalIndex)] : [];
    default:
      return [(state) => applyOp(state, op)];
  }
}

/** A short description of an operation for failure messages. */
export function describeOp(op: Op): string {
  switch (op.kind) {
    case 'appendEntries':
      return `appendEntries(${op.entries.length} entries of term ${op.entries[0]?.term})`;
    case 'appendToLog':
      return `appendToLog(term ${op.term})`;
    case 'truncateLog':
      return `truncateLog(${op.finalIndex})`;
    case 'advanceToTerm':
      return `advanceToTerm(${op.term})`;
    case 'incrementTerm':
      return 'incrementTerm()';
    case 'vote':
      return `vote(${op.candidate})`;
  }
}
