/**
 * Scenarios in the spirit of RaftScope's keys. Each preset is a function from the page's
 * {@link RunOptions} to a {@link Recording}: it runs the scenario once in a scratch session
 * to find the steps at which to act (after a leader is elected, say), and returns the
 * options, the actions (some of them in the future of `at`, applied as the run reaches
 * them) and `at`, the step where the interesting part starts. Open it with
 * `VisualizerSession.fromRecording(presetRecording(name, options))`.
 */
import { VisualizerSession } from './session';
import type { ServerId } from '../../../lib/core';
import type { Recording, RunOptions, ViewState } from './types';

/** The presets, by the `#preset` select's values. */
export const PRESET_NAMES = ['split-vote', 'partitioned-leader', 'leader-restart', 'follower-behind'] as const;

/** A preset's name. */
export type PresetName = (typeof PRESET_NAMES)[number];

/** What each preset shows, in a sentence (for a tooltip). */
export const PRESET_DESCRIPTIONS: Readonly<Record<PresetName, string>> = {
  'split-vote': 'Every server times out at once: each votes for itself, nobody wins term 1, and the randomized timeouts break the tie.',
  'partitioned-leader': 'The leader is cut off with a minority; it keeps leading its side (uncommitted proposals pile up) while the majority elects a new leader; then the network heals.',
  'leader-restart': 'The leader crashes after committing some entries; a new leader is elected; the old one restarts as a follower and catches up.',
  'follower-behind': 'A follower is crashed while the leader commits entries without it; it restarts far behind and the leader brings it up to date.',
};

/** Whether `name` is a preset's name. */
export function isPresetName(name: string): name is PresetName {
  return (PRESET_NAMES as readonly string[]).includes(name);
}

/** Step bound of the scratch runs that place a preset's actions. */
const SEARCH_STEPS = 20_000;

function leaderOf(view: ViewState): ServerId | undefined {
  let best: { id: ServerId; term: number } | undefined;
  for (const server of view.servers) {
    if (server.running && server.role === 'leader' && (best === undefined || server.term > best.term)) best = { id: server.id, term: server.term };
  }
  return best?.id;
}

/** Steps `session` until `predicate` holds on its view; false if the bound or a violation came first. */
function stepUntil(session: VisualizerSession, predicate: (view: ViewState) => boolean, bound = SEARCH_STEPS): boolean {
  for (let k = 0; k < bound; k++) {
    if (predicate(session.view())) return true;
    if (!session.step()) return false;
  }
  return predicate(session.view());
}

/** Steps `session` `count` times (fewer at a violation). */
function stepFor(session: VisualizerSession, count: number): void {
  for (let k = 0; k < count && session.step(); k++);
}

/** Runs to a stable leader with `entries` committed entries; returns the leader. */
function settled(session: VisualizerSession, entries: number): ServerId {
  stepUntil(session, (view) => leaderOf(view) !== undefined);
  let leader = leaderOf(session.view()) ?? 0;
  for (let k = 0; k < entries; k++) {
    session.act({ kind: 'propose', server: leader });
    stepFor(session, 5);
  }
  const target = (session.view().servers[leader]?.log.at(-1)?.index ?? 0);
  stepUntil(session, (view) => (view.servers[leader]?.commitIndex ?? 0) >= target && view.servers.every((s) => !s.running || s.commitIndex >= target), 3000);
  leader = leaderOf(session.view()) ?? leader;
  return leader;
}

/**
 * The recording of preset `name` for `options` (the split vote turns pre-vote off, so that
 * the candidates run at once; every other preset keeps the options).
 */
export function presetRecording(name: PresetName, options: RunOptions): Recording {
  switch (name) {
    case 'split-vote': {
      const run = { ...options, preVote: false };
      const actions = Array.from({ length: run.servers }, (_, server) => ({ step: 0, action: { kind: 'timeout' as const, server } }));
      return { options: run, actions, at: 0 };
    }
    case 'partitioned-leader': {
      const session = VisualizerSession.create(options);
      const leader = settled(session, 2);
      const n = options.servers;
      const minority = [leader, ...Array.from({ length: Math.floor((n - 1) / 2) - 1 }, (_, k) => (leader + 1 + k) % n)];
      const majority = Array.from({ length: n }, (_, id) => id).filter((id) => !minority.includes(id));
      const at = session.view().step;
      session.act({ kind: 'partition', groups: [minority, majority] });
      session.act({ kind: 'propose', server: leader });
      session.act({ kind: 'propose', server: leader });
      stepUntil(session, (view) => majority.some((id) => view.servers[id]?.role === 'leader'));
      stepFor(session, 150);
      session.act({ kind: 'heal' });
      return { ...session.recording(), at };
    }
    case 'leader-restart': {
      const session = VisualizerSession.create(options);
      const leader = settled(session, 3);
      const at = session.view().step;
      session.act({ kind: 'crash', server: leader });
      stepUntil(session, (view) => leaderOf(view) !== undefined);
      stepFor(session, 60);
      session.act({ kind: 'restart', server: leader });
      return { ...session.recording(), at };
    }
    case 'follower-behind': {
      const session = VisualizerSession.create(options);
      const leader = settled(session, 1);
      const follower = (leader + 1) % options.servers;
      const at = session.view().step;
      session.act({ kind: 'crash', server: follower });
      const entries = options.maxLogEntries > 0 ? Math.max(8, options.maxLogEntries + 4) : 8;
      for (let k = 0; k < entries; k++) {
        const current = leaderOf(session.view()) ?? leader;
        session.act({ kind: 'propose', server: current });
        stepFor(session, 12);
      }
      stepFor(session, 60);
      session.act({ kind: 'restart', server: follower });
      return { ...session.recording(), at };
    }
  }
}
