/**
 * The shape of a visualizer session as the page uses it: a live run ({@link VisualizerSession}
 * in session.ts) and a simulator trace replay (trace-session.ts) both have it.
 */
import type { Action, Recording, ViewState } from './types';

/** What the page drives. */
export interface Session {
  /** What to draw now. */
  view(): ViewState;
  /** One event; `false` when the run is stopped (a violation, or the end of a trace). */
  step(): boolean;
  /** Events up to virtual time `time` (at most `maxSteps`); returns the steps taken; stops at a violation. */
  runUntil(time: number, maxSteps?: number): number;
  /** Applies and records an action (a fork: later recorded actions are discarded). Traces throw. */
  act(action: Action): void;
  /** Rebuilds from the start and replays to `step`, keeping later actions. */
  seek(step: number): void;
  /** The URL hash (without '#') that reproduces this session at its current step. */
  hash(): string;
  /** The recording of a live run (undefined for a trace). */
  recording(): Recording | undefined;
}
