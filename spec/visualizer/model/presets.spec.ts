/** The presets produce what they claim, for their default options and other sizes. */
import { DEFAULT_OPTIONS, VisualizerSession } from '../../../visualizer/src/model/session';
import { PRESET_NAMES, isPresetName, presetRecording } from '../../../visualizer/src/model/presets';
import type { ViewState } from '../../../visualizer/src/model/types';

/** Steps and calls `see` on each view (the first one too); stops at `steps` or a violation. */
function watch(session: VisualizerSession, steps: number, see: (view: ViewState) => void): void {
  see(session.view());
  for (let k = 0; k < steps && session.step(); k++) see(session.view());
}

describe('presets', () => {
  it('names the four presets of the page', () => {
    expect([...PRESET_NAMES]).toEqual(['split-vote', 'partitioned-leader', 'leader-restart', 'follower-behind']);
    expect(isPresetName('split-vote')).toBe(true);
    expect(isPresetName('nope')).toBe(false);
  });

  it.each([3, 5, 7])('split-vote: two candidates in the same term, then a leader (%i servers)', (servers) => {
    const session = VisualizerSession.fromRecording(presetRecording('split-vote', { ...DEFAULT_OPTIONS, servers }));
    let split = false;
    let leader = false;
    watch(session, 3000, (view) => {
      const candidates = view.servers.filter((s) => s.role === 'candidate');
      if (candidates.some((a) => candidates.some((b) => a.id !== b.id && a.term === b.term))) split = true;
      if (view.servers.some((s) => s.role === 'leader')) leader = true;
    });
    expect(split).toBe(true);
    expect(leader).toBe(true);
    expect(session.view().violation).toBeUndefined();
  });

  it.each([3, 5, 6])('partitioned-leader: a minority-side leader and a new majority leader (%i servers)', (servers) => {
    const recording = presetRecording('partitioned-leader', { ...DEFAULT_OPTIONS, servers });
    const session = VisualizerSession.fromRecording(recording);
    const start = session.view();
    const old = start.servers.find((s) => s.role === 'leader');
    expect(old).toBeDefined();
    expect(start.cutLinks.length).toBeGreaterThan(0);
    let newLeader = false;
    watch(session, 4000, (view) => {
      const other = view.servers.find((s) => s.role === 'leader' && s.id !== old?.id && s.term > (old?.term ?? 0));
      if (other !== undefined && view.cutLinks.length > 0) newLeader = true;
    });
    expect(newLeader).toBe(true);
    const end = session.view();
    expect(end.cutLinks).toEqual([]); // healed
    expect(end.servers[old?.id ?? 0]?.role).not.toBe('leader');
    expect(end.violation).toBeUndefined();
  });

  it('leader-restart: the leader crashes, a new one is elected, the old one comes back as a follower and catches up', () => {
    const session = VisualizerSession.fromRecording(presetRecording('leader-restart', DEFAULT_OPTIONS));
    const start = session.view();
    const crashed = start.servers.find((s) => !s.running);
    expect(crashed).toBeDefined();
    let newLeader = false;
    let restarted = false;
    watch(session, 4000, (view) => {
      if (view.servers.some((s) => s.role === 'leader' && s.id !== crashed?.id)) newLeader = true;
      if (view.servers[crashed?.id ?? 0]?.running === true) restarted = true;
    });
    expect(newLeader && restarted).toBe(true);
    const end = session.view();
    const leader = end.servers.find((s) => s.role === 'leader');
    expect(end.servers[crashed?.id ?? 0]?.role).toBe('follower');
    expect(end.servers[crashed?.id ?? 0]?.commitIndex).toBe(leader?.commitIndex);
  });

  it.each([0, 5])('follower-behind: a follower far behind is brought up to date (maxLogEntries %i)', (maxLogEntries) => {
    const session = VisualizerSession.fromRecording(presetRecording('follower-behind', { ...DEFAULT_OPTIONS, maxLogEntries }));
    const behind = session.view().servers.find((s) => !s.running);
    expect(behind).toBeDefined();
    let gap = 0;
    watch(session, 6000, (view) => {
      const leader = view.servers.find((s) => s.role === 'leader');
      const follower = view.servers[behind?.id ?? 0];
      if (leader !== undefined && follower?.running === true) gap = Math.max(gap, leader.commitIndex - follower.commitIndex);
    });
    expect(gap).toBeGreaterThanOrEqual(5);
    const end = session.view();
    const leader = end.servers.find((s) => s.role === 'leader');
    expect(end.servers[behind?.id ?? 0]?.commitIndex).toBe(leader?.commitIndex);
    if (maxLogEntries > 0) expect(end.narration.some((l) => l.text.startsWith(`server ${behind?.id} installed a snapshot`))).toBe(true);
    expect(end.violation).toBeUndefined();
  });
});
