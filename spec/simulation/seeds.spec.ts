/**
 * A fixed set of 200 seeded fault schedules, run inside `npm test`: seeds 1..100 on 3
 * servers and 1..100 on 5 servers, 1000 steps each. None may break an invariant, and the
 * run must not be vacuous: many entries committed, many elections, terms well past 1.
 */
import { simulate, type SimulatedStateMachine, type SimulationResult } from '../../lib';

const SEEDS = Array.from({ length: 100 }, (_, k) => k + 1);

function describeFailures(results: readonly SimulationResult[], servers: number): string[] {
  return results
    .filter((result) => result.violation !== undefined)
    .map((result) => `seed ${result.seed} on ${servers} servers: ${result.violation?.invariant}: ${result.violation?.message} (replay: npm run simulate -- --seed ${result.seed} --servers ${servers} --trace)`);
}

describe.each([3, 5])('simulate on %i servers, seeds 1..100', (servers) => {
  let results: SimulationResult[] = [];
  beforeAll(() => {
    results = SEEDS.map((seed) => simulate(seed, { servers }));
  });

  it('breaks no invariant on any seed', () => {
    expect(describeFailures(results, servers)).toEqual([]);
  });

  it('runs every schedule to its end and reaches the liveness check', () => {
    for (const result of results) {
      expect(result.steps).toBe(1000);
      expect(result.events).toBeGreaterThan(result.steps);
      // The liveness probe is committed on every server at the end, so each run commits at least once.
      expect(result.commits).toBeGreaterThanOrEqual(1);
      expect(result.elections).toBeGreaterThanOrEqual(1);
      expect(result.highestTerm).toBeGreaterThanOrEqual(result.elections);
    }
  });

  it('is not vacuous: many commits, many elections, terms well past 1', () => {
    const total = (pick: (result: SimulationResult) => number): number => results.reduce((sum, result) => sum + pick(result), 0);
    expect(total((result) => result.commits)).toBeGreaterThan(1000);
    expect(total((result) => result.elections)).toBeGreaterThan(500);
    expect(Math.max(...results.map((result) => result.highestTerm))).toBeGreaterThan(10);
    expect(results.filter((result) => result.highestTerm > 1).length).toBeGreaterThan(90);
    // Most runs commit more than the liveness probe: proposals made during the faults get through.
    expect(results.filter((result) => result.commits > 5).length).toBeGreaterThan(50);
  });

  it('the seed matters: different seeds give different histories', () => {
    const distinct = new Set(results.map((result) => `${result.events}/${result.elections}/${result.highestTerm}/${result.commits}`));
    expect(distinct.size).toBeGreaterThan(50);
  });
});

describe('determinism', () => {
  it.each([1, 2, 17, 99])('seed %i gives an identical result object twice (3 and 5 servers)', (seed) => {
    for (const servers of [3, 5]) {
      const first = simulate(seed, { servers });
      const second = simulate(seed, { servers });
      expect(second).toEqual(first);
      expect(first.seed).toBe(seed);
    }
  });

  it('gives an identical trace twice', () => {
    const traceOf = (): string[] => {
      const lines: string[] = [];
      simulate(7, { servers: 3, length: 300, trace: (line) => lines.push(line) });
      return lines;
    };
    const first = traceOf();
    expect(first.length).toBeGreaterThan(100);
    expect(first[first.length - 1]).toMatch(/liveness: probe committed on every server/);
    expect(traceOf()).toEqual(first);
  });
});

/**
 * A key-value store driven by the 'v<n>' strings the simulator proposes: value n writes
 * `n` under key `k<n mod 7>` and counts the writes. Its snapshot is JSON with sorted keys.
 */
class KeyValueMachine implements SimulatedStateMachine<string> {
  #map = new Map<string, number>();
  #writes = 0;
  applied = 0;
  /** Present when built restorable: then the machine takes part in compaction. */
  restore?: (state: string) => void;

  constructor(restorable = false) {
    if (restorable) {
      this.restore = (state) => {
        const parsed = JSON.parse(state) as { writes: number; map: Record<string, number> };
        this.#writes = parsed.writes;
        this.#map = new Map(Object.entries(parsed.map));
      };
    }
  }

  apply(data: string): void {
    const match = /^v(\d+)$/.exec(data);
    if (match === null) throw new Error(`unexpected data ${data}`);
    const n = Number(match[1]);
    this.#map.set(`k${n % 7}`, n);
    this.#writes++;
    this.applied++;
  }

  snapshot(): string {
    const entries = [...this.#map.entries()].sort(([a], [b]) => a.localeCompare(b));
    return JSON.stringify({ writes: this.#writes, map: Object.fromEntries(entries) });
  }
}

describe('a key-value state machine on every server', () => {
  it.each([3, 5])('agrees on all servers at the end of seeds 1..50 on %i servers', (servers) => {
    for (const seed of SEEDS.slice(0, 50)) {
      const machines: KeyValueMachine[] = [];
      const snapshots: string[] = [];
      const result = simulate(seed, {
        servers,
        stateMachine: () => {
          const machine = new KeyValueMachine();
          const snapshot = machine.snapshot.bind(machine);
          machine.snapshot = () => {
            const text = snapshot();
            snapshots.push(text);
            return text;
          };
          machines.push(machine);
          return machine;
        },
      });
      expect({ seed, violation: result.violation }).toEqual({ seed, violation: undefined });
      // One machine per Server object: at least one per server, plus one per restart.
      expect(machines.length).toBeGreaterThanOrEqual(servers);
      // The simulator compared one snapshot per server, and they are equal and not empty.
      expect(snapshots).toHaveLength(servers);
      expect(new Set(snapshots).size).toBe(1);
      const final = JSON.parse(snapshots[0] as string) as { writes: number; map: Record<string, number> };
      expect(final.writes).toBeGreaterThanOrEqual(result.commits);
      expect(Object.keys(final.map).length).toBeGreaterThan(0);
      expect(machines.reduce((sum, machine) => sum + machine.applied, 0)).toBeGreaterThanOrEqual(servers * result.commits);
    }
  });

  it('does not change the history: same result with and without a state machine', () => {
    for (const seed of [3, 4, 5]) {
      // A machine without `restore` runs without compaction.
      const plain = simulate(seed, { servers: 5, compaction: false });
      const withMachine = simulate(seed, { servers: 5, stateMachine: () => new KeyValueMachine() });
      expect(withMachine).toEqual(plain);
      // (A restorable one runs with compaction, and its state travels in the snapshots: their
      // size, so the number of chunks, and with it the history, may differ.)
    }
  });

  it('agrees on all servers at the end with compaction, restored from snapshots (seeds 1..40, 3 servers)', () => {
    let installed = 0;
    for (const seed of SEEDS.slice(0, 40)) {
      const result = simulate(seed, { servers: 3, stateMachine: () => new KeyValueMachine(true) });
      expect({ seed, violation: result.violation }).toEqual({ seed, violation: undefined });
      installed += result.snapshotsInstalled;
    }
    expect(installed).toBeGreaterThan(0);
  });
});
