/**
 * The simulator's extensions of issue 10: no-op entries in the checker, Raft options drawn
 * per seed, transfer/read/client steps, and the client workload whose history is checked for
 * linearizability. A planted stale read (answered from a follower's state machine) must be
 * caught as a `linearizable` violation with the checker's explanation.
 */
import { SafetyChecker, type LogEntry } from '../../lib';
import { DEFAULT_FAULT_WEIGHTS, generateSchedule } from '../../lib/simulation/schedule';
import { extensionsFor, simulate, workloadKeysFor, type SimulationResult } from '../../lib/simulation/simulator';
import { KvStateMachine, parseKvCommand } from '../../lib/simulation/workload';
import { runSimulateCli } from '../../lib/simulation/cli-run';

const e = (index: number, term: number, data: string): LogEntry<string> => ({ index, term, data });
const noop = (index: number, term: number): LogEntry<string> => ({ index, term, data: undefined as unknown as string, kind: 'noop' });

describe('SafetyChecker and no-op entries', () => {
  it('takes the no-ops a committed event skipped, from the log, and keeps comparing servers', () => {
    const checker = new SafetyChecker<string>();
    const log = [e(1, 1, 'a'), noop(2, 2), e(3, 2, 'b'), noop(4, 3)];
    const at = (index: number): LogEntry<string> | undefined => log[index - 1];
    const first = {};
    checker.entriesCommitted(first, 0, [e(1, 1, 'a')]);
    checker.noopsApplied(first, 0, 2, at);
    checker.entriesCommitted(first, 0, [e(3, 2, 'b')]);
    checker.noopsApplied(first, 0, 4, at); // a trailing no-op, seen through lastApplied
    expect(checker.violation).toBeUndefined();
    expect(checker.committedCount).toBe(4);
    // The digest skips no-ops: a state machine that applied 1 and 3 matches lastApplied 4.
    expect(checker.prefixDigest(4)).toBe(checker.prefixDigest(3));
    checker.stateMachineObserved(0, 4, 3, checker.prefixDigest(3) as number);
    expect(checker.violation).toBeUndefined();
    // A server whose event skipped an index that its log shows as data is reported.
    const second = {};
    checker.noopsApplied(second, 1, 2, (index) => (index === 1 ? e(1, 1, 'a') : undefined));
    expect(checker.violation).toMatchObject({ invariant: 'stateMachineSafety' }); // index 1 is data: it had to be reported
  });

  it('reports a server that applies data at a no-op index, and a machine stopped short of data', () => {
    const checker = new SafetyChecker<string>();
    checker.noopsApplied({}, 0, 1, () => noop(1, 1));
    checker.entriesCommitted({}, 1, [e(1, 1, 'x')]);
    expect(checker.violation?.invariant).toBe('stateMachineSafety');

    const other = new SafetyChecker<string>();
    other.entriesCommitted({}, 0, [e(1, 1, 'a'), e(2, 1, 'b')]);
    other.stateMachineObserved(0, 2, 1, other.prefixDigest(1) as number);
    expect(other.violation?.invariant).toBe('stateMachineMatchesLog');
  });
});

describe('KvStateMachine', () => {
  it('puts, appends, records reads, ignores other data, and round-trips its snapshot', () => {
    const machine = new KvStateMachine();
    const command = (c: number, s: number, op: string, k: string, v?: string): string => JSON.stringify({ c, s, op, k, ...(v === undefined ? {} : { v }) });
    machine.apply(command(0, 1, 'get', 'x'));
    machine.apply(command(0, 2, 'append', 'x', 'a'));
    machine.apply('v7');
    machine.apply(command(1, 3, 'append', 'x', 'b'));
    machine.apply(command(1, 4, 'get', 'x'));
    machine.apply(command(2, 5, 'put', 'y', 'p'));
    expect(machine.get('x')).toBe('ab');
    expect(machine.reads.has('0:1') && machine.reads.get('0:1') === undefined).toBe(true);
    expect(machine.reads.get('1:4')).toBe('ab');
    const copy = new KvStateMachine();
    copy.restore(machine.snapshot());
    expect(copy.snapshot()).toBe(machine.snapshot());
    expect(copy.get('y')).toBe('p');
    expect(parseKvCommand('v1')).toBeUndefined();
  });
});

describe('options and schedules with extensions', () => {
  it('draws preVote, checkQuorum and readMode per seed (lease only with checkQuorum); forced ones win', () => {
    const drawn = Array.from({ length: 400 }, (_, k) => extensionsFor(k + 1, { extensions: true }));
    expect(drawn.filter((raft) => raft.preVote).length).toBeGreaterThan(150);
    expect(drawn.filter((raft) => raft.checkQuorum).length).toBeGreaterThan(150);
    expect(drawn.filter((raft) => raft.readMode === 'lease').length).toBeGreaterThan(50);
    expect(drawn.every((raft) => raft.readMode === 'safe' || raft.checkQuorum)).toBe(true);
    expect(extensionsFor(3, { extensions: true, readMode: 'lease' })).toMatchObject({ checkQuorum: true, readMode: 'lease' });
    expect(extensionsFor(3, { extensions: true, preVote: false, checkQuorum: false })).toMatchObject({ preVote: false, checkQuorum: false, readMode: 'safe' });
    expect(extensionsFor(3)).toEqual({ preVote: false, checkQuorum: false, readMode: 'safe' });
    expect([2, 3]).toContain(workloadKeysFor(9));
  });

  it('draws transfer, read and client steps only with extensions, so older schedules stay the same', () => {
    const plain = generateSchedule(5, { servers: 5, length: 2000, compaction: true });
    const extended = generateSchedule(5, { servers: 5, length: 2000, compaction: true, extensions: true });
    const kinds = (schedule: readonly { type: string }[]): Set<string> => new Set(schedule.map((step) => step.type));
    for (const kind of ['transfer', 'read', 'client']) {
      expect(kinds(plain).has(kind)).toBe(false);
      expect(kinds(extended).has(kind)).toBe(true);
    }
    expect(DEFAULT_FAULT_WEIGHTS.transfer + DEFAULT_FAULT_WEIGHTS.read + DEFAULT_FAULT_WEIGHTS.client).toBe(0);
  });
});

function failures(results: readonly SimulationResult[], servers: number): string[] {
  return results
    .filter((result) => result.violation !== undefined)
    .map((result) => `seed ${result.seed} (${JSON.stringify(result.raft)}): ${result.violation?.invariant}: ${result.violation?.message} (replay: npm run simulate -- --seed ${result.seed} --servers ${servers} --trace)`);
}

describe.each([
  [3, 150],
  [5, 100],
])('the client workload on %i servers, %i seeds', (servers, count) => {
  let results: SimulationResult[] = [];
  beforeAll(() => {
    results = Array.from({ length: count }, (_, k) => simulate(k + 1, { servers, extensions: true }));
  });

  it('breaks no invariant and no history is non-linearizable', () => {
    expect(failures(results, servers)).toEqual([]);
  });

  it('is not vacuous: operations complete on every seed, over every mix of options', () => {
    expect(results.every((result) => result.clientOperations > 0)).toBe(true);
    expect(results.reduce((sum, result) => sum + result.clientOperations, 0)).toBeGreaterThan(count * 10);
    const total = (kind: 'writes' | 'logReads' | 'indexReads'): number => results.reduce((sum, result) => sum + result.clientOperationKinds[kind], 0);
    expect(total('writes')).toBeGreaterThan(count * 3);
    expect(total('logReads')).toBeGreaterThan(count);
    expect(total('indexReads')).toBeGreaterThan(count);
    expect(results.filter((result) => result.raft.readMode === 'lease').reduce((sum, result) => sum + result.clientOperationKinds.indexReads, 0)).toBeGreaterThan(0);
    expect(results.some((result) => result.raft.readMode === 'lease')).toBe(true);
    expect(results.some((result) => result.raft.preVote && !result.raft.checkQuorum)).toBe(true);
  });
});

describe('a planted stale read', () => {
  it('reads answered from a follower are caught as non-linearizable, with the explanation', () => {
    const found: SimulationResult[] = [];
    for (let seed = 1; seed <= 40 && found.length === 0; seed++) {
      const result = simulate(seed, { servers: 3, extensions: true, readFrom: (leader, cluster) => (leader + 1) % cluster.servers.length });
      if (result.violation !== undefined) found.push(result);
    }
    expect(found).toHaveLength(1);
    const violation = found[0]?.violation;
    expect(violation?.invariant).toBe('linearizable');
    expect(violation?.message).toMatch(/is not linearizable: not linearizable: key/);
    expect(violation?.message).toMatch(/no order of the operations before it gives/);
  });
});

describe('npm run simulate with a planted stale read', () => {
  it('reports the first non-linearizable seed with the explanation, the options of the seed and a shrunk trace', () => {
    const lines: string[] = [];
    const status = runSimulateCli(['--seeds', '8', '--servers', '3'], { log: (line) => lines.push(line), progress: () => undefined, interactive: false }, {
      readFrom: (leader, cluster) => (leader + 1) % cluster.servers.length,
    });
    const text = lines.join('\n');
    expect(status).toBe(1);
    expect(text).toMatch(/^\| non-linearizable histories +\| [1-8] \|$/m);
    expect(text).toMatch(/^\| safety violations \(other invariants\) +\| 0 \|$/m);
    expect(text).toMatch(/^VIOLATION at seed \d+: linearizable: the clients' history \(\d+ operations\) is not linearizable/m);
    expect(text).toMatch(/^raft options of seed \d+: \{"preVote":(true|false),"checkQuorum":(true|false),"readMode":"(safe|lease)"\}$/m);
    const shrunk = /^shrunk trace \((\d+) of 1000 steps/m.exec(text);
    expect(Number(shrunk?.[1])).toBeLessThan(100);
  });
});
