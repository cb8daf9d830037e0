/**
 * The simulator with log compaction: the two state machine invariants (stateMachineMatchesLog,
 * appliedNeverBackwards) fire on deliberately broken histories, state machines and stores,
 * and stay silent on honest ones; seeds with compaction run clean; schedules draw the
 * compaction steps; the DigestStateMachine round-trips through its snapshots.
 */
import { InvalidArgumentError, SafetyChecker, generateSchedule, simulate, type InMemoryCluster, type InvariantName, type LogEntry, type SimulationEvent } from '../../lib';
import { SimulatedDiskState } from '../../lib/simulation/disk';
import { EMPTY_DIGEST, digestStep } from '../../lib/simulation/invariants';
import { DigestStateMachine } from '../../lib/simulation/machine';
import { checkAppliedState } from '../../lib/simulation/observe';
import { compactionFor, runSchedule, scheduleFor } from '../../lib/simulation/simulator';
import type { Snapshot } from '../../lib/types';

const key = (data: string): string => JSON.stringify(data);
const e = (index: number, term: number, data: string): LogEntry<string> => ({ index, term, data });

function expectViolation(checker: SafetyChecker<string>, invariant: InvariantName): string {
  expect(checker.violation?.invariant).toBe(invariant);
  return checker.violation?.message ?? '';
}

/** A checker that knows entries 1..n committed (term 1, 'v1'..'vn'), and the machine built by applying them. */
function committed(n: number): { checker: SafetyChecker<string>; machine: DigestStateMachine<string> } {
  const checker = new SafetyChecker<string>();
  const machine = new DigestStateMachine<string>(key);
  const entries = Array.from({ length: n }, (_, k) => e(k + 1, 1, `v${k + 1}`));
  checker.entriesCommitted({}, 0, entries);
  entries.forEach((entry) => machine.apply(entry));
  return { checker, machine };
}

describe('stateMachineMatchesLog', () => {
  it('holds for a machine that applied the committed prefix, or restored a snapshot of it', () => {
    const { checker, machine } = committed(5);
    checker.stateMachineObserved(0, 5, machine.applied, machine.digest);
    const restored = new DigestStateMachine<string>(key);
    restored.restoreSnapshot(machine.takeSnapshot());
    checker.stateMachineObserved(1, 5, restored.applied, restored.digest);
    checker.stateMachineObserved(2, 0, 0, EMPTY_DIGEST);
    expect(checker.violation).toBeUndefined();
    expect(checker.prefixDigest(5)).toBe(machine.digest);
  });

  it('fires when the machine lags or leads lastApplied', () => {
    const { checker, machine } = committed(5);
    checker.stateMachineObserved(3, 6, machine.applied, machine.digest);
    expect(expectViolation(checker, 'stateMachineMatchesLog')).toBe("server 3's state machine applied up to index 5, but its lastApplied is 6");
  });

  it('fires when the machine skipped, repeated or altered an entry', () => {
    const broken = new DigestStateMachine<string>(key);
    const { checker } = committed(3);
    [e(1, 1, 'v1'), e(2, 1, 'v2'), e(2, 1, 'v2'), e(3, 1, 'v3')].forEach((entry) => broken.apply(entry)); // applies 2 twice
    checker.stateMachineObserved(1, 3, broken.applied, broken.digest);
    expect(expectViolation(checker, 'stateMachineMatchesLog')).toMatch(/^server 1's state machine at index 3 has digest 0x[0-9a-f]{8}, but applying the committed entries 1\.\.3 gives 0x[0-9a-f]{8}$/);
    const altered = committed(2);
    const other = new DigestStateMachine<string>(key);
    [e(1, 1, 'v1'), e(2, 1, 'other')].forEach((entry) => other.apply(entry));
    altered.checker.stateMachineObserved(0, 2, other.applied, other.digest);
    expectViolation(altered.checker, 'stateMachineMatchesLog');
  });

  it('fires when a server applied beyond anything committed', () => {
    const { checker, machine } = committed(2);
    machine.apply(e(3, 1, 'v3'));
    checker.stateMachineObserved(0, 3, machine.applied, machine.digest);
    expect(expectViolation(checker, 'stateMachineMatchesLog')).toBe('server 0 applied up to index 3, beyond the 2 entries known committed');
  });

  it('the digest is order- and index-sensitive', () => {
    const ab = digestStep(digestStep(EMPTY_DIGEST, 1, 1, 'a'), 2, 1, 'b');
    const ba = digestStep(digestStep(EMPTY_DIGEST, 1, 1, 'b'), 2, 1, 'a');
    expect(ab).not.toBe(ba);
    expect(digestStep(EMPTY_DIGEST, 1, 1, 'a')).not.toBe(digestStep(EMPTY_DIGEST, 1, 2, 'a'));
  });

  /** A disk whose snapshots carry the data of the previous one (a store that writes the new header and forgets the new body). */
  class StaleSnapshotDisk<T> extends SimulatedDiskState<T> {
    #previous: Uint8Array | undefined;
    override saveSnapshot(snapshot: Snapshot, firstKept: number): void {
      const data = this.#previous ?? snapshot.data;
      this.#previous = snapshot.data;
      super.saveSnapshot({ lastIncluded: snapshot.lastIncluded, data }, firstKept);
    }
  }

  it('is found by random schedules over a store that keeps stale snapshot data, and only with the fault', () => {
    const found: string[] = [];
    for (let seed = 1; seed <= 15; seed++) {
      const options = { servers: 3, length: 400, compaction: { maxLogEntries: 4, trailingLogEntries: 0 } };
      const faulty = simulate<string>(seed, { ...options, persistentState: (id, checker) => new StaleSnapshotDisk<string>(id, checker) });
      if (faulty.violation !== undefined) {
        expect(['stateMachineMatchesLog', 'noException']).toContain(faulty.violation.invariant);
        if (faulty.violation.invariant === 'stateMachineMatchesLog') found.push(faulty.violation.message);
      }
      expect({ seed, violation: simulate<string>(seed, options).violation }).toEqual({ seed, violation: undefined });
    }
    expect(found.length).toBeGreaterThanOrEqual(5);
    expect(found[0]).toMatch(/^server \d's state machine applied up to index \d+, but its lastApplied is \d+$/);
  });
});

describe('appliedNeverBackwards', () => {
  /** A cluster stand-in with one running server whose lastApplied the test sets (a broken Server). */
  function fakeCluster(lastApplied: { value: number }): InMemoryCluster<string> {
    const server = { id: 0, get volatileState() { return { commitIndex: lastApplied.value, lastApplied: lastApplied.value }; } };
    return { servers: [server], isRunning: () => true } as unknown as InMemoryCluster<string>;
  }

  it('fires when one Server object\'s lastApplied goes down', () => {
    const checker = new SafetyChecker<string>();
    const lastApplied = { value: 0 };
    const cluster = fakeCluster(lastApplied);
    for (const value of [0, 2, 2, 5]) {
      lastApplied.value = value;
      checkAppliedState(cluster, checker, []);
    }
    expect(checker.violation).toBeUndefined();
    lastApplied.value = 4;
    checkAppliedState(cluster, checker, []);
    expect(expectViolation(checker, 'appliedNeverBackwards')).toBe("server 0's lastApplied went down from 5 to 4");
  });

  it('a new Server object may start lower (a restart), but exactly at its durable snapshot', () => {
    const checker = new SafetyChecker<string>();
    checker.lastAppliedObserved({}, 0, 9);
    checker.restartedAt(0, 4, 4);
    checker.lastAppliedObserved({}, 0, 4);
    expect(checker.violation).toBeUndefined();
    checker.restartedAt(0, 3, 4);
    expect(expectViolation(checker, 'appliedNeverBackwards')).toBe("server 0 restarted with lastApplied 3, but its store's snapshot ends at 4");
  });

  it('fires when a restart goes back to an older snapshot than the last start', () => {
    const checker = new SafetyChecker<string>();
    checker.lastAppliedObserved({}, 1, 8);
    checker.restartedAt(1, 6, 6);
    checker.restartedAt(1, 5, 5);
    expect(expectViolation(checker, 'appliedNeverBackwards')).toBe('server 1 restarted from a snapshot ending at 5, below the one at 6 it started from before');
  });

  it('fires when a restart starts from a snapshot beyond anything the server applied', () => {
    const checker = new SafetyChecker<string>();
    checker.lastAppliedObserved({}, 2, 3);
    checker.restartedAt(2, 7, 7);
    expect(expectViolation(checker, 'appliedNeverBackwards')).toBe('server 2 restarted from a snapshot ending at 7, beyond the 3 entries it ever applied');
  });

  it('fires when a leader\'s snapshot is installed below what the server applied; commits continue after an installed snapshot', () => {
    const checker = new SafetyChecker<string>();
    const leader = {};
    checker.entriesCommitted(leader, 0, [e(1, 1, 'a'), e(2, 1, 'b'), e(3, 1, 'c'), e(4, 1, 'd')]);
    const follower = {};
    checker.serverStarted(follower, 1, 0);
    checker.snapshotInstalled(follower, 1, { index: 3, term: 1 });
    checker.entriesCommitted(follower, 1, [e(4, 1, 'd')]); // continues at 4
    expect(checker.violation).toBeUndefined();
    checker.snapshotInstalled(follower, 1, { index: 2, term: 1 });
    expect(expectViolation(checker, 'appliedNeverBackwards')).toBe('server 1 installed a snapshot ending at index 2, below the 4 entries it had applied');
  });

  it('a snapshot of a term that was not committed there is a State Machine Safety violation', () => {
    const checker = new SafetyChecker<string>();
    checker.entriesCommitted({}, 0, [e(1, 1, 'a'), e(2, 2, 'b')]);
    checker.snapshotInstalled({}, 1, { index: 2, term: 1 });
    expect(expectViolation(checker, 'stateMachineSafety')).toBe('server 1 installed a snapshot ending at index 2 of term 1, but index 2 was committed in term 2');
  });
});

describe('the checker with compacted logs', () => {
  it('a leader whose snapshot covers the committed entries is complete; one whose snapshot has another term is not', () => {
    const checker = new SafetyChecker<string>();
    checker.entriesCommitted({}, 0, [e(1, 1, 'a'), e(2, 1, 'b'), e(3, 2, 'c')]);
    checker.leaderElected(1, 3, { lastIndex: 4, entry: (index) => (index === 4 ? e(4, 3, 'd') : undefined), snapshot: { index: 3, term: 2 } });
    expect(checker.violation).toBeUndefined();
    checker.leaderElected(2, 4, { lastIndex: 3, entry: () => undefined, snapshot: { index: 3, term: 1 } });
    expectViolation(checker, 'leaderCompleteness');
  });

  it('a matchIndex at or before a snapshot is compared with the snapshot term', () => {
    const checker = new SafetyChecker<string>();
    const leaderLog = { lastIndex: 5, entry: (index: number) => (index >= 4 ? e(index, 2, `x${index}`) : undefined), snapshot: { index: 3, term: 2 } };
    const follower = { lastIndex: 3, entry: () => undefined, snapshot: { index: 3, term: 2 } };
    checker.matchIndexObserved(0, 2, leaderLog, 1, 2, follower, 3);
    checker.matchIndexObserved(0, 2, leaderLog, 1, 2, follower, 2);
    expect(checker.violation).toBeUndefined();
    checker.matchIndexObserved(0, 2, leaderLog, 1, 2, follower, 4);
    expectViolation(checker, 'matchIndexBound');
  });
});

describe('DigestStateMachine', () => {
  it('round-trips through its snapshot bytes, with the inner machine', () => {
    let inner = '';
    const make = () => new DigestStateMachine<string>(key, { apply: (data) => (inner += data), snapshot: () => inner, restore: (state) => (inner = state) });
    const machine = make();
    machine.apply(e(1, 1, 'a'));
    machine.apply(e(2, 1, 'b'));
    const bytes = machine.takeSnapshot();
    inner = 'garbage';
    const copy = make();
    copy.restoreSnapshot(bytes);
    expect([copy.applied, copy.digest, inner, copy.restores]).toEqual([2, machine.digest, 'ab', 1]);
  });

  it('refuses bytes that are not one of its snapshots (chunks of two snapshots mixed, say)', () => {
    const machine = new DigestStateMachine<string>(key);
    const bytes = machine.takeSnapshot();
    expect(() => machine.restoreSnapshot(bytes.subarray(0, bytes.length - 2))).toThrow(InvalidArgumentError);
    expect(() => machine.restoreSnapshot(new TextEncoder().encode('{"x":1}'))).toThrow(InvalidArgumentError);
  });
});

describe('schedules and seeds with compaction', () => {
  it('draws compaction bounds per seed within their ranges, reproducibly', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const bounds = compactionFor(seed);
      expect(bounds).toEqual(compactionFor(seed));
      expect(bounds.maxLogEntries).toBeGreaterThanOrEqual(3);
      expect(bounds.maxLogEntries).toBeLessThanOrEqual(40);
      expect(bounds.trailingLogEntries).toBeGreaterThanOrEqual(0);
      expect(bounds.trailingLogEntries).toBeLessThan(bounds.maxLogEntries);
      expect(bounds.maxSnapshotChunkBytes === 1_048_576 || (bounds.maxSnapshotChunkBytes >= 1 && bounds.maxSnapshotChunkBytes <= 16)).toBe(true);
    }
    const all = Array.from({ length: 200 }, (_, k) => compactionFor(k + 1));
    expect(all.some((b) => b.maxSnapshotChunkBytes === 1_048_576)).toBe(true); // whole snapshots in one chunk
    expect(all.some((b) => b.maxSnapshotChunkBytes <= 16)).toBe(true); // and snapshots in many chunks
    expect(all.filter((b) => b.trailingLogEntries === 0).length).toBeGreaterThan(50); // no trailing entries for about a third
  });

  it('draws compact and crashInTransfer steps only with compaction; without it, the schedules are the old ones', () => {
    const kinds = (schedule: SimulationEvent[]) => new Set(schedule.map((step) => step.type));
    const on = generateSchedule(1, { servers: 5, length: 3000, compaction: true });
    expect(kinds(on).has('compact')).toBe(true);
    expect(kinds(on).has('crashInTransfer')).toBe(true);
    const off = generateSchedule(1, { servers: 5, length: 3000 });
    expect(kinds(off).has('compact')).toBe(false);
    expect(kinds(off).has('crashInTransfer')).toBe(false);
    expect(scheduleFor(1, { compaction: false })).toEqual(generateSchedule(1, { servers: 5, length: 1000 }));
    expect(scheduleFor(1, {})).toEqual(generateSchedule(1, { servers: 5, length: 1000, compaction: true }));
  });

  it('crashes servers during snapshot transfers and compacts on request (traced)', () => {
    const lines: string[] = [];
    for (let seed = 1; seed <= 20 && !lines.some((line) => /of undelivered/.test(line)); seed++) {
      simulate(seed, { servers: 3, length: 600, compaction: { maxLogEntries: 3, trailingLogEntries: 0 }, trace: (line) => lines.push(line) });
    }
    expect(lines.some((line) => /(crash|restart) \d, (receiver|sender) of undelivered #\d+ \d→\d Install(Snapshot t\d+ last=\(\d+,t\d+\) offset=\d+|SnapshotReply)/.test(line))).toBe(true);
    expect(lines.some((line) => /compact \d: snapshot at \(\d+,t\d+\)/.test(line))).toBe(true);
  });

  it.each([3, 5])('runs 150 seeds with compaction on %i servers without a violation, compacting and installing snapshots', (servers) => {
    const totals = { compactions: 0, installed: 0 };
    const failures: string[] = [];
    for (let seed = 1; seed <= 150; seed++) {
      const result = simulate(seed, { servers, length: 300 });
      totals.compactions += result.compactions;
      totals.installed += result.snapshotsInstalled;
      if (result.violation !== undefined) failures.push(`seed ${seed}: ${result.violation.invariant}: ${result.violation.message}`);
    }
    expect(failures).toEqual([]);
    expect(totals.compactions).toBeGreaterThan(150);
    expect(totals.installed).toBeGreaterThan(15);
  });

  it('the shrunk schedules of seeds 165 (5 servers) and 230 (3 servers) run clean: before 967aa76 a leader sent AppendEntries with a compacted prevLogEntry (term 0) there', () => {
    const seed165: SimulationEvent[] = JSON.parse(
      '[{"type":"timeout","server":4},{"type":"quiet","ms":264},{"type":"propose","value":13},{"type":"timeout","server":1},{"type":"quiet","ms":515},{"type":"propose","value":19},{"type":"deliver","pick":0.9589751262885062},{"type":"advance","ms":177},{"type":"quiet","ms":148},{"type":"cutLink","from":4,"to":1},{"type":"propose","value":20},{"type":"advance","ms":3}]',
    ) as SimulationEvent[];
    const seed230: SimulationEvent[] = JSON.parse(
      '[{"type":"quiet","ms":278},{"type":"propose","value":17},{"type":"cutLink","from":1,"to":0},{"type":"propose","value":19},{"type":"propose","value":20},{"type":"restart","server":2,"keep":0,"lastReceiver":false},{"type":"quiet","ms":365},{"type":"cutLink","from":1,"to":2},{"type":"propose","value":21},{"type":"propose","value":22},{"type":"quiet","ms":52}]',
    ) as SimulationEvent[];
    expect(runSchedule(seed165, 165, { servers: 5 }).violation).toBeUndefined();
    expect(runSchedule(seed230, 230, { servers: 3 }).violation).toBeUndefined();
  });

  it('replays a seed exactly', () => {
    expect(simulate(7, { servers: 3, length: 400 })).toEqual(simulate(7, { servers: 3, length: 400 }));
    expect(runSchedule(scheduleFor(9, { servers: 3 }), 9, { servers: 3 })).toEqual(simulate(9, { servers: 3 }));
  });
});
