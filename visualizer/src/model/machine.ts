/**
 * The tiny state machine every visualized server runs: it appends each committed value to a
 * list (kept short for display) and counts them, and it can be snapshotted and restored, so
 * log compaction (`maxLogEntries`) works.
 */
import type { SimulatedStateMachine } from '../../../lib/testing';

/** How many of the latest applied values an {@link AppendMachine} keeps. */
export const APPEND_MACHINE_TAIL = 20;

/** Appends every applied value; its state is the count and the latest values, as JSON. */
export class AppendMachine implements SimulatedStateMachine<string> {
  /** Values applied so far. */
  count = 0;
  /** The latest applied values (at most {@link APPEND_MACHINE_TAIL}). */
  tail: string[] = [];

  /** Appends `data`. */
  apply(data: string): void {
    this.count++;
    this.tail.push(data);
    if (this.tail.length > APPEND_MACHINE_TAIL) this.tail.shift();
  }

  /** The state as JSON text. */
  snapshot(): string {
    return JSON.stringify({ count: this.count, tail: this.tail });
  }

  /** Replaces the state with the one `state` (from {@link AppendMachine.snapshot}) holds. */
  restore(state: string): void {
    const parsed = JSON.parse(state) as { count: number; tail: string[] };
    this.count = parsed.count;
    this.tail = [...parsed.tail];
  }
}
