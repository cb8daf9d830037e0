/**
 * Property-based "valid history" tests, after the FsCheck tests of the F# Raft: fast-check
 * draws arbitrary histories of actions on a manual-delivery cluster (deliver message i,
 * drop message i, time out server s, heartbeat server s, propose v, advance ms; and, in the
 * fault variant, duplicate, crash, restart, partition, heal) and every one must keep every
 * invariant, checked after every step by runSchedule, and end live. A failure is shrunk by
 * fast-check to a short history. Fixed fast-check seeds keep the test deterministic.
 */
import fc from 'fast-check';
import { runSchedule, type SimulationEvent, type SimulationResult } from '../../lib';
import { aliasingOptions } from './aliasing-machine';

/** One action of a history; `i` selects a waiting message (0 = oldest) in thousandths of the list. */
type Action =
  | { readonly kind: 'deliver'; readonly i: number }
  | { readonly kind: 'drop'; readonly i: number }
  | { readonly kind: 'duplicate'; readonly i: number }
  | { readonly kind: 'timeout'; readonly s: number }
  | { readonly kind: 'heartbeat'; readonly s: number }
  | { readonly kind: 'propose'; readonly v: number }
  | { readonly kind: 'advance'; readonly ms: number }
  | { readonly kind: 'crash'; readonly s: number }
  | { readonly kind: 'restart'; readonly s: number }
  | { readonly kind: 'partition'; readonly side: readonly boolean[] }
  | { readonly kind: 'heal' };

const message = fc.integer({ min: 0, max: 999 });

function basicAction(servers: number): fc.Arbitrary<Action> {
  const server = fc.integer({ min: 0, max: servers - 1 });
  return fc.oneof(
    { weight: 20, arbitrary: message.map((i): Action => ({ kind: 'deliver', i })) },
    { weight: 2, arbitrary: message.map((i): Action => ({ kind: 'drop', i })) },
    { weight: 2, arbitrary: server.map((s): Action => ({ kind: 'timeout', s })) },
    { weight: 2, arbitrary: server.map((s): Action => ({ kind: 'heartbeat', s })) },
    { weight: 6, arbitrary: fc.integer({ min: 1, max: 20 }).map((v): Action => ({ kind: 'propose', v })) },
    { weight: 4, arbitrary: fc.integer({ min: 0, max: 60 }).map((ms): Action => ({ kind: 'advance', ms })) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 400 }).map((ms): Action => ({ kind: 'advance', ms })) },
  );
}

function faultyAction(servers: number): fc.Arbitrary<Action> {
  const server = fc.integer({ min: 0, max: servers - 1 });
  return fc.oneof(
    { weight: 30, arbitrary: basicAction(servers) },
    { weight: 1, arbitrary: message.map((i): Action => ({ kind: 'duplicate', i })) },
    { weight: 1, arbitrary: server.map((s): Action => ({ kind: 'crash', s })) },
    { weight: 1, arbitrary: server.map((s): Action => ({ kind: 'restart', s })) },
    { weight: 1, arbitrary: fc.array(fc.boolean(), { minLength: servers, maxLength: servers }).map((side): Action => ({ kind: 'partition', side })) },
    { weight: 1, arbitrary: fc.constant<Action>({ kind: 'heal' }) },
  );
}

/** The schedule steps runSchedule replays for a history. */
function toSteps(actions: readonly Action[]): SimulationEvent[] {
  return actions.map((action): SimulationEvent => {
    switch (action.kind) {
      case 'deliver':
      case 'drop':
      case 'duplicate':
        return { type: action.kind, pick: (action.i / 1000) ** 3 };
      case 'timeout':
      case 'heartbeat':
      case 'crash':
      case 'restart':
        return { type: action.kind, server: action.s };
      case 'propose':
        return { type: 'propose', value: action.v };
      case 'advance':
        return { type: 'advance', ms: action.ms };
      case 'partition': {
        const ids = action.side.map((_, id) => id);
        return { type: 'partition', groups: [ids.filter((id) => action.side[id]), ids.filter((id) => !action.side[id])].filter((group) => group.length > 0) };
      }
      case 'heal':
        return { type: 'heal' };
    }
  });
}

/** What the histories did, over all runs of a property: so a property that never got anywhere fails. */
interface Coverage {
  runs: number;
  appendedDuringHistory: number;
  deliveredDuringHistory: number;
  committedDuringHistory: number;
  severalElections: number;
  commits: number;
}

function runHistory(actions: readonly Action[], seed: number, servers: number, coverage: Coverage): SimulationResult {
  const lines: string[] = [];
  let faultsStopped = false;
  let appliedDuringHistory = 0;
  const result = runSchedule(toSteps(actions), seed, {
    servers,
    livenessBoundMs: 10_000,
    trace: (line) => {
      if (line.includes('faults stop')) faultsStopped = true;
      if (!faultsStopped) lines.push(line);
    },
    // Counts entries applied before the faults stop (the state machines trivially agree).
    stateMachine: () => ({
      apply: () => {
        if (!faultsStopped) appliedDuringHistory++;
      },
      snapshot: () => '',
    }),
  });
  coverage.runs++;
  if (lines.some((line) => / propose v\d+: appended at /.test(line))) coverage.appendedDuringHistory++;
  if (lines.some((line) => / deliver #\d+ /.test(line))) coverage.deliveredDuringHistory++;
  if (appliedDuringHistory > 0) coverage.committedDuringHistory++;
  if (result.elections >= 2) coverage.severalElections++;
  coverage.commits += result.commits;
  return result;
}

const newCoverage = (): Coverage => ({ runs: 0, appendedDuringHistory: 0, deliveredDuringHistory: 0, committedDuringHistory: 0, severalElections: 0, commits: 0 });

describe.each([3, 5])('arbitrary manual-delivery histories on %i servers', (servers) => {
  it('keep every invariant and end with a live cluster (deliver/drop/timeout/heartbeat/propose/advance)', () => {
    const coverage = newCoverage();
    fc.assert(
      fc.property(fc.array(basicAction(servers), { maxLength: 150, size: 'max' }), fc.integer({ min: 1, max: 1_000_000 }), (actions, seed) => {
        const result = runHistory(actions, seed, servers, coverage);
        expect(result.violation).toBeUndefined();
        expect(result.steps).toBe(actions.length);
      }),
      { seed: 42, numRuns: 1000 },
    );
    expect(coverage.runs).toBeGreaterThanOrEqual(1000);
    expect(coverage.deliveredDuringHistory).toBeGreaterThan(coverage.runs / 2);
    expect(coverage.appendedDuringHistory).toBeGreaterThan(coverage.runs / 5);
    expect(coverage.severalElections).toBeGreaterThan(coverage.runs / 5);
    expect(coverage.committedDuringHistory).toBeGreaterThanOrEqual(3);
    expect(coverage.commits).toBeGreaterThan(coverage.runs * 1.5);
  });

  it('keep every invariant with crashes, restarts, duplicates and partitions too', () => {
    const coverage = newCoverage();
    fc.assert(
      fc.property(fc.array(faultyAction(servers), { maxLength: 150, size: 'max' }), fc.integer({ min: 1, max: 1_000_000 }), (actions, seed) => {
        const result = runHistory(actions, seed, servers, coverage);
        expect(result.violation).toBeUndefined();
      }),
      { seed: 4242, numRuns: 1000 },
    );
    expect(coverage.appendedDuringHistory).toBeGreaterThan(coverage.runs / 5);
    expect(coverage.committedDuringHistory).toBeGreaterThanOrEqual(3);
    expect(coverage.severalElections).toBeGreaterThan(coverage.runs / 5);
  });
});

describe('the property harness finds and shrinks a planted failure', () => {
  it('shrinks a history that commits the poisoned proposal to a handful of actions', () => {
    // The same property as above, but over a deliberately broken state machine (see
    // ./aliasing-machine): it fails whenever proposal 7 gets committed.
    const servers = 3;
    const property = fc.property(fc.array(basicAction(servers), { maxLength: 150, size: 'max' }), (actions) => {
      const result = runSchedule(toSteps(actions), 1, { ...aliasingOptions(servers, 7), livenessBoundMs: 10_000 });
      return result.violation === undefined;
    });
    const details = fc.check(property, { seed: 42, numRuns: 500 });
    expect(details.failed).toBe(true);
    const counterexample = details.counterexample?.[0];
    expect(counterexample).toBeDefined();
    const actions = counterexample ?? [];
    // Minimal enough to read: the poisoned proposal, and a few actions that elect a leader for it.
    expect(actions).toContainEqual({ kind: 'propose', v: 7 });
    expect(actions.length).toBeLessThanOrEqual(6);
    // With this fast-check seed: time out a server, deliver a vote request and its answer, propose 7.
    expect(actions.map((action) => action.kind)).toEqual(['timeout', 'deliver', 'deliver', 'propose']);
    const replay = runSchedule(toSteps(actions), 1, { ...aliasingOptions(servers, 7), livenessBoundMs: 10_000 });
    expect(replay.violation?.invariant).toBe('stateMachineSafety');
  });
});
