/**
 * Replays: a recording (options + actions at their steps) gives the same views; seeking back
 * and forth gives the views of the first pass; acting after a seek forks; the narration says
 * what happened in plain words; the hash reopens the run.
 */
import { DEFAULT_OPTIONS, VisualizerSession, decodeRecording } from '../../../visualizer/src/model/session';
import type { Action, ViewState } from '../../../visualizer/src/model/types';

function leaderOf(view: ViewState): number | undefined {
  return view.servers.find((s) => s.running && s.role === 'leader')?.id;
}

function stepUntil(session: VisualizerSession, predicate: (view: ViewState) => boolean, max = 5000): void {
  for (let k = 0; k < max && !predicate(session.view()); k++) {
    if (!session.step()) break;
  }
  expect(predicate(session.view())).toBe(true);
}

function steps(session: VisualizerSession, count: number): void {
  for (let k = 0; k < count; k++) expect(session.step()).toBe(true);
}

/** A run with every kind of action: crash the leader, restart, propose, cut, partition, heal, chaos with loss, drop, autopilot. */
function busyRun(seed = 3): { session: VisualizerSession; views: Map<number, ViewState> } {
  const session = VisualizerSession.create({ ...DEFAULT_OPTIONS, seed, maxLogEntries: 6 });
  const views = new Map<number, ViewState>();
  const keep = (): void => void views.set(session.view().step, session.view());
  const act = (action: Action): void => {
    session.act(action);
    keep();
  };
  const run = (count: number): void => {
    for (let k = 0; k < count; k++) {
      expect(session.step()).toBe(true);
      keep();
    }
  };
  stepUntil(session, (v) => leaderOf(v) !== undefined);
  keep();
  const leader = leaderOf(session.view()) as number;
  for (let k = 0; k < 4; k++) {
    act({ kind: 'propose', server: (leader + k) % 5 });
    run(7);
  }
  act({ kind: 'crash', server: leader });
  run(150);
  act({ kind: 'propose', server: leader }); // down
  act({ kind: 'restart', server: leader });
  run(40);
  act({ kind: 'cut', from: 0, to: 1 });
  act({ kind: 'timeout', server: 2 });
  run(60);
  const message = session.view().messages[0];
  if (message !== undefined) act({ kind: 'drop', message: message.id });
  act({ kind: 'restore', from: 0, to: 1 });
  act({ kind: 'partition', groups: [[0, 1], [2, 3, 4]] });
  act({ kind: 'propose', server: 3 });
  run(200);
  act({ kind: 'heal' });
  act({ kind: 'chaos', chaos: { loss: 0.2, minLatency: 5, maxLatency: 60 } });
  run(150);
  act({ kind: 'chaos', chaos: { loss: 0, minLatency: 10, maxLatency: 30 } });
  act({ kind: 'autopilot', on: true });
  run(1500);
  act({ kind: 'autopilot', on: false });
  run(100);
  return { session, views };
}

describe('replays', () => {
  it('a recording replays to an identical view, through every kind of action', () => {
    const { session } = busyRun();
    const view = session.view();
    expect(view.violation).toBeUndefined();
    const again = VisualizerSession.fromRecording(session.recording());
    expect(again.view()).toEqual(view);
    const viaHash = VisualizerSession.fromRecording(decodeRecording(session.hash()));
    expect(viaHash.view()).toEqual(view);
    expect(session.hash()).toMatch(/^run=v1\./);
    // the run did things
    const text = view.narration.map((l) => l.text).join('\n');
    expect(text).toMatch(/autopilot: /);
  });

  it('seek back then forward gives the views of the first pass', () => {
    const { session, views } = busyRun(5);
    const last = session.view().step;
    for (const k of [0, 1, 37, 300, 700, last - 500, last]) {
      session.seek(k);
      expect(session.view()).toEqual(views.get(k) ?? expect.anything());
    }
    session.seek(100);
    for (let k = 100; k < 1200; k++) session.step();
    expect(session.view()).toEqual(views.get(1200));
    // and with the recording cut at a step (at < later actions), the later actions still apply
    const early = VisualizerSession.fromRecording({ ...session.recording(), at: 50 });
    for (let k = 50; k < last; k++) early.step();
    expect(early.view()).toEqual(views.get(last));
  });

  it('act after a seek forks: later actions are discarded', () => {
    const { session } = busyRun(7);
    const before = session.recording().actions.length;
    session.seek(300);
    const kept = session.recording().actions.filter((a) => a.step <= 300).length;
    expect(session.recording().actions).toHaveLength(before); // seek keeps them
    session.act({ kind: 'timeout', server: 1 });
    const actions = session.recording().actions;
    expect(actions).toHaveLength(kept + 1);
    expect(actions.at(-1)).toEqual({ step: 300, action: { kind: 'timeout', server: 1 } });
    expect(session.recording().at).toBe(300);
    steps(session, 100);
    const forked = session.view();
    expect(VisualizerSession.fromRecording(session.recording()).view()).toEqual(forked);
  });

  it('act refuses a bad action and records nothing', () => {
    const session = VisualizerSession.create(DEFAULT_OPTIONS);
    expect(() => session.act({ kind: 'crash', server: 9 })).toThrow(/server id in 0..4/);
    expect(() => session.act({ kind: 'cut', from: 1, to: 1 })).toThrow(/two different/);
    expect(session.recording().actions).toEqual([]);
    expect(() => VisualizerSession.create({ ...DEFAULT_OPTIONS, servers: 8 })).toThrow(/3..7/);
  });

  it('narrates in plain words', () => {
    const session = VisualizerSession.create({ ...DEFAULT_OPTIONS, servers: 5, preVote: true });
    stepUntil(session, (v) => leaderOf(v) !== undefined);
    steps(session, 60); // every follower hears from the leader
    const leader = leaderOf(session.view()) as number;
    session.act({ kind: 'propose', server: leader });
    session.act({ kind: 'propose', server: (leader + 1) % 5 });
    steps(session, 60);
    session.act({ kind: 'cut', from: 1, to: 2 });
    session.act({ kind: 'restore', from: 1, to: 2 });
    const message = session.view().messages[0];
    expect(message).toBeDefined();
    session.act({ kind: 'drop', message: message?.id ?? 0 });
    session.act({ kind: 'crash', server: leader });
    steps(session, 10);
    session.act({ kind: 'restart', server: leader });
    session.act({ kind: 'partition', groups: [[0, 1], [2, 3, 4]] });
    session.act({ kind: 'heal' });
    session.act({ kind: 'chaos', chaos: { loss: 0.5, minLatency: 10, maxLatency: 30 } });
    stepUntil(session, (v) => v.narration.some((l) => /^message \d+ \(.*\) lost$/.test(l.text)));
    session.act({ kind: 'chaos', chaos: { loss: 0, minLatency: 10, maxLatency: 30 } });
    session.act({ kind: 'timeout', server: (leader + 2) % 5 });
    steps(session, 400);
    const lines = session.view().narration.map((l) => l.text);
    const expected = [
      /^server \d polls for term \d+ \(pre-vote\)$/,
      /^server \d (timed out|won its pre-vote poll) and asks for votes in term \d+$/,
      /^server \d is leader of term \d+ \(votes from \d(, \d)+\)$/,
      /^v1 proposed to server \d, leader of term \d+: appended at index \d+$/,
      /^v2 proposed to server \d, which forwards it to leader \d: appended at index \d+$/,
      /^entr(y \d+ is|ies \d+\.\.\d+ are) committed: stored on [345] of 5$/,
      /^link 1→2 cut$/,
      /^link 1→2 restored$/,
      /^message \d+ dropped$/,
      new RegExp(`^server ${leader} crashed$`),
      new RegExp(`^server ${leader} restarted \\(term \\d+, log up to \\d+\\)$`),
      /^network partitioned: \{0, 1\} \| \{2, 3, 4\}$/,
      /^network healed: every link restored$/,
      /^chaos: loss 50%, delays 10..30 ms$/,
    ];
    for (const pattern of expected) expect([pattern, lines.some((line) => pattern.test(line))]).toEqual([pattern, true]);
    const view = session.view();
    for (const line of view.narration) {
      expect(line.step).toBeLessThanOrEqual(view.step);
      expect(line.time).toBeLessThanOrEqual(view.now);
    }
  });

  it('keeps the last 500 narration lines and at most 50 log entries per server', () => {
    const session = VisualizerSession.create({ ...DEFAULT_OPTIONS, servers: 3 });
    stepUntil(session, (v) => leaderOf(v) !== undefined);
    const leader = leaderOf(session.view()) as number;
    for (let k = 0; k < 600; k++) session.act({ kind: 'propose', server: leader });
    steps(session, 200);
    const view = session.view();
    expect(view.narration).toHaveLength(500);
    const log = view.servers[leader]?.log ?? [];
    expect(log).toHaveLength(50);
    expect(log.at(-1)?.index).toBeGreaterThanOrEqual(600);
    expect(log.at(-1)?.text).toBe('v600');
  });
});
