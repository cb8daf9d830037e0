/**
 * The linearizability checker (lib/simulation/linearizability): hand-written histories from
 * the literature and Porcupine's register tests, unknown outcomes, per-key independence,
 * the explanation and its minimization, the step budget, and seeded random histories that
 * are linearizable by construction, or mutated to be impossible.
 */
import { InvalidArgumentError, seededRandom } from '../../lib';
import {
  checkLinearizability,
  formatExplanation,
  formatOperation,
  kvStep,
  type KvOperation,
  type LinearizabilityResult,
} from '../../lib/simulation/linearizability';
import { linearizableHistory } from './linearizability-generator';

function put(client: number, key: string, value: string, invokedAt: number, returnedAt: number): KvOperation {
  return { client, kind: 'put', key, value, invokedAt, returnedAt, outcome: 'ok' };
}
function append(client: number, key: string, value: string, invokedAt: number, returnedAt: number): KvOperation {
  return { client, kind: 'append', key, value, invokedAt, returnedAt, outcome: 'ok' };
}
function get(client: number, key: string, result: string | undefined, invokedAt: number, returnedAt: number): KvOperation {
  return { client, kind: 'get', key, result, invokedAt, returnedAt, outcome: 'ok' };
}
function unknown(op: KvOperation): KvOperation {
  return { ...op, returnedAt: undefined, outcome: 'unknown' };
}
function verdict(history: KvOperation[]): boolean | 'unknown' {
  return checkLinearizability(history).linearizable;
}
function explanationOf(result: LinearizabilityResult, key: string) {
  const k = result.keys.find((r) => r.key === key);
  if (k?.explanation === undefined) throw new Error(`no explanation for ${key}`);
  return k.explanation;
}

describe('the key-value model', () => {
  it('puts set, appends concatenate (absent + v = v), gets must read the current value', () => {
    expect(kvStep(undefined, append(0, 'x', 'a', 0, 1))).toEqual({ state: 'a' });
    expect(kvStep('a', append(0, 'x', 'b', 0, 1))).toEqual({ state: 'ab' });
    expect(kvStep('ab', put(0, 'x', 'c', 0, 1))).toEqual({ state: 'c' });
    expect(kvStep('c', get(0, 'x', 'c', 0, 1))).toEqual({ state: 'c' });
    expect(kvStep('c', get(0, 'x', undefined, 0, 1))).toBeNull();
    expect(kvStep(undefined, get(0, 'x', '', 0, 1))).toBeNull();
  });
});

describe('hand-written histories', () => {
  it('accepts a sequential history and the empty one', () => {
    expect(verdict([])).toBe(true);
    expect(
      verdict([
        get(0, 'x', undefined, 0, 1),
        put(0, 'x', 'a', 2, 3),
        get(1, 'x', 'a', 4, 5),
        append(1, 'x', 'b', 6, 7),
        get(0, 'x', 'ab', 8, 9),
        put(2, 'x', 'c', 10, 11),
        get(2, 'x', 'c', 12, 13),
      ]),
    ).toBe(true);
    expect(verdict([put(0, 'x', 'a', 0, 1), get(0, 'x', 'b', 2, 3)])).toBe(false);
  });

  it('lets a read concurrent with a put see either value', () => {
    expect(verdict([put(0, 'x', '1', 0, 10), get(1, 'x', undefined, 2, 5)])).toBe(true);
    expect(verdict([put(0, 'x', '1', 0, 10), get(1, 'x', '1', 2, 5)])).toBe(true);
    // ...but not the new value, then the old one: reads in real-time order cannot go back.
    expect(verdict([put(0, 'x', '1', 0, 10), get(1, 'x', '1', 2, 5), get(2, 'x', undefined, 6, 8)])).toBe(false);
  });

  it("passes Porcupine's register examples (initial value written first)", () => {
    const init = put(9, 'r', '0', -10, -5);
    // put 100 over [0, 100]; get 100 over [25, 75]; get 0 over [30, 60]: the old read goes first.
    expect(verdict([init, put(0, 'r', '100', 0, 100), get(1, 'r', '100', 25, 75), get(2, 'r', '0', 30, 60)])).toBe(true);
    // put 200 over [0, 100]; get 200 over [10, 30]; get 0 over [40, 90]: the new value was already read.
    expect(verdict([init, put(0, 'r', '200', 0, 100), get(1, 'r', '200', 10, 30), get(2, 'r', '0', 40, 90)])).toBe(false);
  });

  it('rejects a stale read, and explains it by naming the read', () => {
    const stale = get(2, 'x', '1', 4, 5);
    const result = checkLinearizability([put(0, 'x', '1', 0, 1), put(1, 'x', '2', 2, 3), stale]);
    expect(result.linearizable).toBe(false);
    const e = explanationOf(result, 'x');
    expect(e.failed).toBe(stale);
    expect(e.core).toHaveLength(3);
    expect(e.minimal).toBe(true);
    expect(e.possibleValues).toEqual(['2']);
    expect(e.concurrent).toEqual([]);
    expect(formatExplanation(result)).toBe(
      [
        'not linearizable: key x',
        'key x: a minimal core of 3 of its 3 operations is not linearizable:',
        '  client 0 put x "1" [t=0..1]',
        '  client 1 put x "2" [t=2..3]',
        '  client 2 get x -> "1" [t=4..5]',
        'longest linearizable prefix: client 0 put x "1" [t=0..1], client 1 put x "2" [t=2..3]',
        'client 2 get x -> "1" [t=4..5]: no order of the operations before it gives "1" (possible values: "2")',
        'concurrent with it: (none)',
      ].join('\n'),
    );
  });

  it('treats a return and an invocation at the same time as concurrent', () => {
    expect(verdict([put(0, 'x', '1', 0, 5), get(1, 'x', undefined, 5, 6)])).toBe(true);
    expect(verdict([put(0, 'x', '1', 0, 5), get(1, 'x', undefined, 6, 7)])).toBe(false);
    expect(verdict([put(0, 'x', '1', 3, 3), get(1, 'x', '1', 3, 3)])).toBe(true);
  });

  it('orders concurrent appends either way, but only one way once a read has seen it', () => {
    const both = [append(0, 'x', 'a', 0, 10), append(1, 'x', 'b', 1, 11)];
    expect(verdict([...both, get(2, 'x', 'ab', 12, 13)])).toBe(true);
    expect(verdict([...both, get(2, 'x', 'ba', 12, 13)])).toBe(true);
    expect(verdict([...both, get(2, 'x', 'a', 12, 13)])).toBe(false);
    expect(verdict([...both, get(2, 'x', 'b', 5, 6), get(2, 'x', 'ba', 7, 8)])).toBe(true);
    expect(verdict([...both, get(2, 'x', 'b', 5, 6), get(2, 'x', 'ab', 7, 8)])).toBe(false);
    expect(verdict([append(0, 'x', 'a', 0, 1), append(1, 'x', 'b', 2, 3), get(2, 'x', 'ba', 4, 5)])).toBe(false);
  });

  it('lets a write with an unknown outcome be observed or not, but only once', () => {
    const maybe = unknown(append(0, 'x', 'a', 0, 1));
    expect(verdict([maybe, get(1, 'x', 'a', 5, 6)])).toBe(true);
    expect(verdict([maybe, get(1, 'x', undefined, 5, 6)])).toBe(true);
    expect(verdict([maybe, get(1, 'x', undefined, 5, 6), get(1, 'x', 'a', 7, 8)])).toBe(true);
    // once seen, it stays applied
    expect(verdict([maybe, get(1, 'x', 'a', 5, 6), get(1, 'x', undefined, 7, 8)])).toBe(false);
    // not before it was invoked
    expect(verdict([get(1, 'x', 'a', -5, -1), unknown(append(0, 'x', 'a', 0, 1))])).toBe(false);
    const twice = get(1, 'x', 'aa', 5, 6);
    const result = checkLinearizability([maybe, twice]);
    expect(result.linearizable).toBe(false);
    const e = explanationOf(result, 'x');
    expect(e.failed).toBe(twice);
    expect(e.possibleValues).toEqual([undefined, 'a']);
    expect(formatExplanation(result)).toContain(
      'client 1 get x -> "aa" [t=5..6]: no order of the operations before it gives "aa" (possible values: absent, "a")',
    );
    expect(formatExplanation(result)).toContain('client 0 append x "a" [t=0..?] (outcome unknown)');
    // an unknown put overwrites at most once too
    expect(verdict([put(0, 'x', '1', 0, 1), unknown(put(1, 'x', '2', 2, 3)), get(2, 'x', '2', 4, 5), get(2, 'x', '1', 6, 7)])).toBe(false);
    expect(verdict([put(0, 'x', '1', 0, 1), unknown(put(1, 'x', '2', 2, 3)), get(2, 'x', '1', 4, 5), get(2, 'x', '2', 6, 7)])).toBe(true);
  });

  it('drops reads with an unknown outcome', () => {
    const result = checkLinearizability([put(0, 'x', '1', 0, 1), unknown(get(1, 'x', 'nonsense', 2, 3))]);
    expect(result).toMatchObject({ linearizable: true, operations: 1 });
  });

  it('checks keys independently, and explains only the failing one', () => {
    const history = [
      put(0, 'x', '1', 0, 1),
      put(0, 'y', '1', 0, 1),
      put(1, 'x', '2', 2, 3),
      put(1, 'y', '2', 2, 3),
      get(2, 'x', '2', 4, 5),
      get(2, 'y', '1', 4, 5),
    ];
    const result = checkLinearizability(history);
    expect(result.linearizable).toBe(false);
    expect(result.keys.map((k) => [k.key, k.linearizable, k.operations])).toEqual([
      ['x', true, 3],
      ['y', false, 3],
    ]);
    expect(result.keys[0]?.explanation).toBeUndefined();
    const text = formatExplanation(result);
    expect(text.split('\n')[0]).toBe('not linearizable: key y');
    expect(text).not.toContain(' x ');
    // A value written on another key does not count.
    expect(verdict([put(0, 'x', '1', 0, 1), get(1, 'y', '1', 2, 3)])).toBe(false);
  });

  it('formats a linearizable result on one line', () => {
    const result = checkLinearizability([put(0, 'x', '1', 0, 1), get(1, 'y', undefined, 0, 1)]);
    expect(formatExplanation(result)).toBe(`linearizable: 2 operations on 2 keys (${result.steps} steps)`);
    expect(formatOperation(get(3, 'a b', undefined, 1, 2))).toBe('client 3 get "a b" -> absent [t=1..2]');
  });

  it('refuses malformed operations and options', () => {
    expect(() => checkLinearizability([put(0, 'x', '1', 5, 4)])).toThrow(InvalidArgumentError);
    expect(() => checkLinearizability([{ client: 0, kind: 'put', key: 'x', invokedAt: 0, returnedAt: 1, outcome: 'ok' }])).toThrow(
      /history\[0\]\.value/,
    );
    expect(() => checkLinearizability([get(0, 'x', undefined, Number.NaN, 1)])).toThrow(InvalidArgumentError);
    expect(() => checkLinearizability([{ ...get(0, 'x', undefined, 0, 1), returnedAt: undefined }])).toThrow(InvalidArgumentError);
    expect(() => checkLinearizability([], { maxSteps: 0 })).toThrow(InvalidArgumentError);
  });
});

describe('minimization', () => {
  it('shrinks a long history around a stale read to a small core that still names the read', () => {
    const random = seededRandom(7);
    const history = linearizableHistory(random, { clients: 4, keys: 1, operations: 120, maxSpan: 6, unknownRate: 0.05 });
    const end = Math.max(...history.map((o) => o.returnedAt ?? o.invokedAt));
    const stale = get(7, 'k0', 'old', end + 10, end + 11);
    history.splice(30, 0, put(5, 'k0', 'old', -20, -19));
    history.push(put(6, 'k0', 'new', end + 1, end + 2), stale);
    const result = checkLinearizability(history);
    expect(result.linearizable).toBe(false);
    const e = explanationOf(result, 'k0');
    expect(e.failed).toBe(stale);
    expect(e.minimal).toBe(true);
    expect(e.core.length).toBeLessThanOrEqual(3);
    expect(e.core).toContain(stale);
    expect(e.core).toContain(history[30]);
    expect(e.possibleValues).not.toContain('old');
    const text = formatExplanation(result);
    expect(text).toContain('a minimal core of 3 of its');
    expect(text).toContain('client 7 get k0 -> "old"');
  });

  it('keeps the whole history without minimization, and stops early when its checks run out', () => {
    const history = [put(0, 'x', '1', 0, 1), put(1, 'x', '2', 2, 3), put(1, 'x', '3', 2, 3), get(2, 'x', '9', 4, 5)];
    const whole = explanationOf(checkLinearizability(history, { minimize: false }), 'x');
    expect(whole.core).toHaveLength(4);
    expect(whole.minimal).toBe(false);
    const cut = explanationOf(checkLinearizability(history, { maxMinimizeChecks: 1 }), 'x');
    expect(cut.minimal).toBe(false);
    const stepCut = explanationOf(checkLinearizability(history, { maxMinimizeSteps: 1 }), 'x');
    expect(stepCut.minimal).toBe(false);
    expect(stepCut.core.length).toBeGreaterThan(1);
    const full = explanationOf(checkLinearizability(history), 'x');
    expect(full.core).toEqual([history[3]]);
    expect(full.minimal).toBe(true);
    expect(full.possibleValues).toEqual([undefined]);
  });
});

describe('the step budget', () => {
  it("answers 'unknown' rather than search past it", () => {
    const history = linearizableHistory(seededRandom(3), { clients: 5, keys: 1, operations: 100, maxSpan: 20, unknownRate: 0.2 });
    const result = checkLinearizability(history, { maxSteps: 5 });
    expect(result.linearizable).toBe('unknown');
    expect(result.keys[0]?.steps).toBe(5);
    expect(formatExplanation(result)).toBe('undecided: the step budget ran out on key k0');
    expect(checkLinearizability(history).linearizable).toBe(true);
  });
});

describe('seeded random histories', () => {
  const shapes = [
    { clients: 3, keys: 1, operations: 12, maxSpan: 4, unknownRate: 0 },
    { clients: 5, keys: 2, operations: 30, maxSpan: 10, unknownRate: 0.15 },
    { clients: 8, keys: 3, operations: 60, maxSpan: 25, unknownRate: 0.1 },
  ];

  it('accepts 300 histories linearizable by construction', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const shape = shapes[seed % shapes.length] as (typeof shapes)[number];
      const history = linearizableHistory(seededRandom(seed), shape);
      const result = checkLinearizability(history);
      if (result.linearizable !== true) throw new Error(`seed ${seed}: ${formatExplanation(result)}`);
    }
  });

  it('rejects 300 of them with one read changed to an impossible value, naming that read', () => {
    let mutated = 0;
    for (let seed = 1; mutated < 300; seed++) {
      const random = seededRandom(seed);
      const shape = shapes[seed % shapes.length] as (typeof shapes)[number];
      const history = linearizableHistory(random, shape);
      const reads = history.map((o, i) => (o.kind === 'get' && o.outcome === 'ok' ? i : -1)).filter((i) => i >= 0);
      if (reads.length === 0) continue;
      const at = reads[Math.floor(random() * reads.length)] as number;
      const original = history[at] as KvOperation;
      // '#' occurs in no written value; appending to the real result keeps it plausible-looking.
      const impossible: KvOperation = { ...original, result: `${original.result ?? ''}#` };
      history[at] = impossible;
      const result = checkLinearizability(history);
      expect(result.linearizable).toBe(false);
      const e = explanationOf(result, original.key);
      expect(e.failed).toBe(impossible);
      expect(e.minimal).toBe(true);
      mutated++;
    }
  });
});

describe('seeded random histories with a planted stale read', () => {
  it('rejects 200 of them, naming the stale read', () => {
    let planted = 0;
    for (let seed = 1; planted < 200; seed++) {
      const random = seededRandom(seed);
      const history = linearizableHistory(random, { clients: 4, keys: 2, operations: 40, maxSpan: 8, unknownRate: 0.1 });
      const okPut = (o: KvOperation): boolean => o.kind === 'put' && o.outcome === 'ok';
      // A read that began after two puts on its key, one after the other, that both returned:
      // reading the first one's value (written by it alone) is stale.
      const candidates: [number, KvOperation][] = [];
      history.forEach((read, r) => {
        if (read.kind !== 'get' || read.outcome !== 'ok') return;
        const done = history.filter((w) => okPut(w) && w.key === read.key && (w.returnedAt as number) < read.invokedAt);
        const old = done.find((w) => done.some((w2) => (w.returnedAt as number) < w2.invokedAt));
        if (old !== undefined) candidates.push([r, old]);
      });
      if (candidates.length === 0) continue;
      const [r, old] = candidates[Math.floor(random() * candidates.length)] as [number, KvOperation];
      const stale: KvOperation = { ...(history[r] as KvOperation), result: old.value };
      history[r] = stale;
      const result = checkLinearizability(history);
      expect(result.linearizable).toBe(false);
      expect(explanationOf(result, stale.key).failed).toBe(stale);
      planted++;
    }
  });
});

/** Every order of the operations, tried one by one: the definition, for small histories. */
function bruteForce(history: readonly KvOperation[]): boolean {
  const ops = history.filter((o) => o.kind !== 'get' || o.outcome === 'ok');
  const end = (o: KvOperation): number => (o.outcome === 'ok' ? (o.returnedAt as number) : Infinity);
  const search = (left: readonly KvOperation[], state: string | undefined): boolean => {
    if (left.every((o) => o.outcome === 'unknown')) return true;
    return left.some((o) => {
      if (left.some((p) => p !== o && end(p) < o.invokedAt)) return false;
      const after = kvStep(state, o);
      return after !== null && search(left.filter((p) => p !== o), after.state);
    });
  };
  return search(ops, undefined);
}

describe('against the definition', () => {
  it('agrees with a brute-force search on 2,000 small random histories, linearizable or not', () => {
    const random = seededRandom(99);
    const int = (n: number): number => Math.floor(random() * n);
    const pool = [undefined, 'a', 'b', 'ab', 'ba', 'aa', 'bab'];
    let linearizable = 0;
    for (let i = 0; i < 2000; i++) {
      const history: KvOperation[] = [];
      const size = 1 + int(7);
      for (let j = 0; j < size; j++) {
        const invokedAt = int(12);
        const returnedAt = invokedAt + int(6);
        const draw = int(6);
        const base = { client: j, key: 'x', invokedAt, returnedAt };
        const op: KvOperation =
          draw < 3
            ? { ...base, kind: 'get', result: pool[int(pool.length)], outcome: 'ok' }
            : { ...base, kind: draw === 3 ? 'put' : 'append', value: int(2) === 0 ? 'a' : 'b', outcome: 'ok' };
        history.push(int(5) === 0 ? unknown(op) : op);
      }
      const expected = bruteForce(history);
      const result = checkLinearizability(history);
      if (result.linearizable !== expected) {
        throw new Error(`history ${i}: expected ${String(expected)}:\n${history.map(formatOperation).join('\n')}`);
      }
      if (expected) linearizable++;
      else expect(result.keys[0]?.explanation?.failed).toBeDefined();
    }
    // Both answers are well represented.
    expect(linearizable).toBeGreaterThan(200);
    expect(linearizable).toBeLessThan(1800);
  });
});

describe('performance', () => {
  it('checks 1,000 operations over 10 keys with 5 concurrent clients in few steps', () => {
    const history = linearizableHistory(seededRandom(2024), { clients: 5, keys: 10, operations: 1000, maxSpan: 15, unknownRate: 0.05 });
    const result = checkLinearizability(history);
    expect(result.linearizable).toBe(true);
    expect(result.keys).toHaveLength(10);
    // Steps are the machine-independent unit of work (well under a microsecond each);
    // this history takes 2,181, about one per event.
    expect(result.steps).toBeLessThan(4_000);
  });
});
