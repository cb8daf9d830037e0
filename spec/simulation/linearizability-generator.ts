/**
 * Seeded generators of key-value histories for the linearizability checker's tests: a
 * sequential execution in a random real order, each operation stretched into a random
 * interval around its linearization point, so the history is linearizable by construction.
 */
import type { KvOperation } from '../../lib/simulation/linearizability';

/** The shape of a generated history. */
export interface HistoryShape {
  /** Concurrent clients (each one's operations are sequential). */
  readonly clients: number;
  /** Distinct keys, `k0`, `k1`, ... */
  readonly keys: number;
  /** Operations in all. */
  readonly operations: number;
  /** How far an operation's interval may reach on each side of its linearization point. */
  readonly maxSpan: number;
  /** Probability that an operation's outcome is unknown (a write then applied or not, at random). */
  readonly unknownRate: number;
}

/** Draws a linearizable history of `shape` from `random` (a generator in [0, 1)). */
export function linearizableHistory(random: () => number, shape: HistoryShape): KvOperation[] {
  const int = (n: number): number => Math.floor(random() * n);
  const free = new Array<number>(shape.clients).fill(-1);
  const state = new Map<string, string | undefined>();
  const history: KvOperation[] = [];
  let at = 0;
  for (let i = 0; i < shape.operations; i++) {
    at += 1 + int(3);
    let clients = free.map((f, c) => (f < at ? c : -1)).filter((c) => c >= 0);
    while (clients.length === 0) {
      at++;
      clients = free.map((f, c) => (f < at ? c : -1)).filter((c) => c >= 0);
    }
    const client = clients[int(clients.length)] as number;
    const low = Math.max((free[client] as number) + 1, at - shape.maxSpan);
    const invokedAt = low + int(at - low + 1);
    const returnedAt = at + int(shape.maxSpan + 1);
    free[client] = returnedAt;
    const key = `k${int(shape.keys)}`;
    const unknown = random() < shape.unknownRate;
    const draw = random();
    const base = { client, key, invokedAt };
    if (draw < 0.45) {
      if (unknown) {
        history.push({ ...base, kind: 'get', returnedAt: undefined, outcome: 'unknown' });
      } else {
        history.push({ ...base, kind: 'get', returnedAt, result: state.get(key), outcome: 'ok' });
      }
      continue;
    }
    const kind = draw < 0.7 ? 'put' : 'append';
    const value = kind === 'put' ? `v${i}` : `a${i}.`;
    if (!unknown || random() < 0.5) state.set(key, kind === 'put' ? value : (state.get(key) ?? '') + value);
    history.push({ ...base, kind, value, returnedAt: unknown ? undefined : returnedAt, outcome: unknown ? 'unknown' : 'ok' });
  }
  return history;
}
