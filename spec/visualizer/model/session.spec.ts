/**
 * The visualizer's model: a live run over the real Server code, deterministic replays,
 * seeking and forking, elections at every size, narration and actions.
 */
import { VisualizerSession, DEFAULT_OPTIONS, decodeRecording, encodeRecording } from '../../../visualizer/src/model/session';
import type { Action, RunOptions, ViewState } from '../../../visualizer/src/model/types';

function leaderOf(view: ViewState): number | undefined {
  return view.servers.find((s) => s.running && s.role === 'leader')?.id;
}

function stepUntil(session: VisualizerSession, predicate: (view: ViewState) => boolean, max = 5000): boolean {
  for (let k = 0; k < max; k++) {
    if (predicate(session.view())) return true;
    if (!session.step()) return false;
  }
  return predicate(session.view());
}

describe('VisualizerSession', () => {
  it.each([3, 4, 5, 6, 7])('elects a leader with %i servers', (servers) => {
    const session = VisualizerSession.create({ ...DEFAULT_OPTIONS, servers, seed: 11 });
    expect(stepUntil(session, (v) => leaderOf(v) !== undefined, 3000)).toBe(true);
    const view = session.view();
    expect(view.servers).toHaveLength(servers);
    const leader = view.servers.find((s) => s.role === 'leader');
    expect(leader?.nextIndex).toHaveLength(servers);
    expect(leader?.matchIndex).toHaveLength(servers);
    expect(leader?.electionDeadline).toBeUndefined();
    expect(view.servers.filter((s) => s.role !== 'leader').every((s) => typeof s.electionDeadline === 'number')).toBe(true);
    expect(view.narration.some((line) => /^server \d is leader of term \d+ \(votes from [\d, ]+\)$/.test(line.text))).toBe(true);
    expect(view.violation).toBeUndefined();
  });

  it('steps are the earliest event: time never goes back, messages carry their delivery times', () => {
    const session = VisualizerSession.create(DEFAULT_OPTIONS);
    let now = 0;
    for (let k = 0; k < 400; k++) {
      expect(session.step()).toBe(true);
      const view = session.view();
      expect(view.now).toBeGreaterThanOrEqual(now);
      now = view.now;
      for (const m of view.messages) {
        expect(m.deliverAt).toBeGreaterThanOrEqual(view.now);
        expect(m.deliverAt - m.sentAt).toBeGreaterThanOrEqual(10);
        expect(m.deliverAt - m.sentAt).toBeLessThanOrEqual(30);
      }
    }
    const types = new Set<string>();
    const s2 = VisualizerSession.create(DEFAULT_OPTIONS);
    for (let k = 0; k < 600; k++) {
      s2.step();
      for (const m of s2.view().messages) types.add(`${m.type}${m.reply ? '+' : ''}`);
    }
    expect([...types]).toEqual(expect.arrayContaining(['preVote', 'preVote+', 'requestVote', 'requestVote+', 'heartbeat', 'heartbeat+']));
  });

  it('runUntil takes the events up to a virtual time', () => {
    const session = VisualizerSession.create(DEFAULT_OPTIONS);
    const steps = session.runUntil(1000);
    expect(steps).toBeGreaterThan(0);
    expect(session.view().now).toBeLessThanOrEqual(1000);
    expect(session.nextEventTime()).toBeGreaterThan(1000);
    expect(session.view().step).toBe(steps);
  });

  it('shows logs from the snapshot on, compacted with maxLogEntries, and the leader\'s view of each follower', () => {
    const session = VisualizerSession.create({ ...DEFAULT_OPTIONS, servers: 3, maxLogEntries: 4 });
    expect(stepUntil(session, (v) => leaderOf(v) !== undefined)).toBe(true);
    for (let k = 0; k < 12; k++) {
      session.act({ kind: 'propose', server: leaderOf(session.view()) ?? 0 });
      for (let j = 0; j < 8; j++) session.step();
    }
    for (let j = 0; j < 200; j++) session.step();
    const view = session.view();
    const leader = view.servers.find((s) => s.role === 'leader');
    expect(leader).toBeDefined();
    for (const server of view.servers) {
      expect(server.snapshotIndex).toBeGreaterThan(0);
      expect(server.log[0]?.index ?? server.snapshotIndex + 1).toBe(server.snapshotIndex + 1);
      expect(server.log.length).toBeLessThanOrEqual(4);
      expect(server.commitIndex).toBe(12);
      expect(leader?.matchIndex?.[server.id]).toBe(12);
      expect(leader?.nextIndex?.[server.id]).toBe(13);
    }
    expect(leader?.log.at(-1)).toEqual({ index: 12, term: leader?.term, text: 'v12' });
    expect(view.violation).toBeUndefined();
  });
});
