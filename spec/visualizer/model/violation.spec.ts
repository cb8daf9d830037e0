/**
 * A planted bug (a store that forgets its vote) breaks Election Safety: the run stops at the
 * event that broke it, the view names the invariant and the servers, and seeking back
 * before it runs again up to it.
 */
import { ObservedPersistentState } from '../../../lib/testing';
import type { ServerId } from '../../../lib/core';
import { DEFAULT_OPTIONS, VisualizerSession, type SessionInternals } from '../../../visualizer/src/model/session';
import { presetRecording } from '../../../visualizer/src/model/presets';

/** A store whose vote is never written: its server may vote twice in a term. */
class ForgetfulVoteState extends ObservedPersistentState<string> {
  override vote(_candidate: ServerId): void {}
}

const forgetful: SessionInternals = { persistentState: (id, checker) => new ForgetfulVoteState(id, checker) };

describe('a violation', () => {
  it('stops the run and names the invariant and the servers', () => {
    const session = VisualizerSession.fromRecording(presetRecording('split-vote', DEFAULT_OPTIONS), forgetful);
    let steps = 0;
    while (session.step() && steps < 5000) steps++;
    const view = session.view();
    expect(view.violation).toBeDefined();
    expect(view.violation?.invariant).toBe('electionSafety');
    expect(view.violation?.message).toMatch(/^servers \d and \d are both leader of term 1$/);
    expect(view.violation?.servers).toHaveLength(2);
    expect(view.violation?.step).toBe(view.step);
    const leaders = view.servers.filter((s) => s.role === 'leader').map((s) => s.id);
    expect(leaders).toEqual(expect.arrayContaining([...(view.violation?.servers ?? [])]));
    expect(view.narration.at(-1)?.text).toMatch(/^invariant electionSafety broken: servers \d and \d are both leader of term 1$/);
    // stopped: no more steps
    expect(session.step()).toBe(false);
    expect(session.view().step).toBe(view.step);
    expect(session.runUntil(Infinity)).toBe(0);
    // seeking back runs again; seeking past stops at the violation
    const at = view.step;
    session.seek(at - 1);
    expect(session.view().violation).toBeUndefined();
    expect(session.step()).toBe(false);
    expect(session.view()).toEqual(view);
    session.seek(at + 100);
    expect(session.view()).toEqual(view);
    // the same options without the planted bug run safely
    const healthy = VisualizerSession.fromRecording(presetRecording('split-vote', DEFAULT_OPTIONS));
    for (let k = 0; k < 3000; k++) expect(healthy.step()).toBe(true);
  });

  it('an exception inside the run is a noException violation', () => {
    class Exploding extends ObservedPersistentState<string> {
      override appendToLog(data: string, term: number): void {
        if (data === 'v2') throw new Error('disk on fire');
        super.appendToLog(data, term);
      }
    }
    const session = VisualizerSession.create(DEFAULT_OPTIONS, { persistentState: (id, checker) => new Exploding(id, checker) });
    for (let k = 0; k < 3000 && session.view().servers.every((s) => s.role !== 'leader'); k++) session.step();
    const leader = session.view().servers.find((s) => s.role === 'leader')?.id ?? 0;
    session.act({ kind: 'propose', server: leader });
    expect(session.view().violation).toBeUndefined();
    session.act({ kind: 'propose', server: leader });
    expect(session.view().violation?.invariant).toBe('noException');
    expect(session.view().violation?.message).toMatch(/disk on fire/);
    expect(session.step()).toBe(false);
  });
});
