/**
 * A deliberately broken state machine, for tests that need a simulation that fails without
 * a bug in lib: it mutates the data of the entry it applies (here: when it applies proposal
 * number `bad`), which in an in-memory cluster is one object shared by every server's log.
 * Every server that applies that entry after the first sees a different value, so the
 * state machines disagree at the end and `runSchedule` reports `stateMachineSafety`. The
 * checker compares entries by `key` (the proposal number), so nothing else notices.
 *
 * The failure is deterministic (it depends only on whether proposal `bad` is committed)
 * and needs no counter outside a run, so a replay fails the same way.
 */
import type { SimulatedStateMachine, SimulationOptions } from '../../lib';

/** A proposal: its number, and a list that the broken machine writes into. */
export interface Tagged {
  readonly n: number;
  readonly seenBy: number[];
}

class AliasingMachine implements SimulatedStateMachine<Tagged> {
  readonly #bad: number;
  readonly #applied: string[] = [];

  constructor(bad: number) {
    this.#bad = bad;
  }

  apply(data: Tagged): void {
    if (data.n === this.#bad) data.seenBy.push(this.#applied.length); // the bug: writes into shared data
    this.#applied.push(JSON.stringify(data));
  }

  snapshot(): string {
    return this.#applied.join(' ');
  }
}

/** Simulation options that fail with `stateMachineSafety` exactly when proposal `bad` gets committed. */
export function aliasingOptions(servers: number, bad = 7): SimulationOptions<Tagged> {
  return {
    servers,
    value: (n) => ({ n, seenBy: [] }),
    key: (data) => `v${data.n}`,
    stateMachine: () => new AliasingMachine(bad),
  };
}
