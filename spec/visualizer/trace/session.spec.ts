/**
 * TraceSession: a simulator schedule replayed step by step on the runner runSchedule uses;
 * it stops at the same violation, its views come from the real servers, seeking gives the
 * same views, and it is read-only.
 */
import { runSchedule, scheduleFor, shrinkSchedule } from '../../../lib';
import { TraceError, decodeTrace, encodeTrace } from '../../../visualizer/src/model/trace-codec';
import { NOMINAL_TRAVEL_MS, ReadOnlyTraceError, TraceSession, plainWords, serversNamed } from '../../../visualizer/src/model/trace-session';
import type { ViewState } from '../../../visualizer/src/model/types';
import { OPTIONS, PLANTED, failingTrace } from './helpers';

function runToEnd(session: TraceSession): number {
  let steps = 0;
  while (session.step()) steps++;
  return steps;
}

describe('TraceSession on a shrunk failing trace (a planted store that never syncs)', () => {
  it('replays to the same violation, at the step runSchedule reports it', () => {
    const { trace, result } = failingTrace();
    expect(result.violation).toBeDefined();
    expect(trace.schedule.length).toBeLessThan(300);
    const session = new TraceSession(trace, PLANTED);
    expect(session.view().violation).toBeUndefined();
    expect(session.length).toBe(result.steps);
    expect(session.view().step).toBe(0);
    runToEnd(session);
    const view = session.view();
    expect(view.violation).toMatchObject({ invariant: result.violation?.invariant, message: result.violation?.message, step: result.steps });
    expect(view.step).toBe(result.steps);
    expect(session.step()).toBe(false);
    expect(session.view()).toEqual(view);
    // The servers the violation names are highlighted.
    expect(view.violation?.servers.length).toBeGreaterThan(0);
    for (const id of view.violation?.servers ?? []) expect(view.violation?.message).toMatch(new RegExp(`\\b${id}\\b`));
  });

  it('a violation only the final checks see shows at the step after the schedule', () => {
    const options = { servers: 3, compaction: false };
    const schedule = scheduleFor(1, { ...options, length: 300 });
    const shrunk = shrinkSchedule(schedule, 1, 'durableMajority', { ...options, ...PLANTED }, 400);
    const result = runSchedule(shrunk, 1, { ...options, ...PLANTED });
    expect(result.violation?.invariant).toBe('durableMajority');
    const session = new TraceSession({ seed: 1, options, schedule: shrunk }, PLANTED);
    expect(session.length).toBe(shrunk.length + 1);
    expect(runToEnd(session)).toBe(shrunk.length);
    const view = session.view();
    expect(view.step).toBe(shrunk.length + 1);
    expect(view.violation).toMatchObject({ invariant: 'durableMajority', message: result.violation?.message, step: shrunk.length + 1 });
    expect(view.narration.filter((line) => line.step === shrunk.length + 1).map((line) => line.text)).toContain('faults stop: heal, reconnect, restore links, restart crashed servers');
  });

  it('without the planted store the same trace breaks nothing', () => {
    const { trace } = failingTrace();
    const session = new TraceSession(trace);
    runToEnd(session);
    expect(session.view().violation).toBeUndefined();
    expect(session.view().step).toBe(trace.schedule.length + 1); // the schedule, then the final checks
  });

  it('describes the trace and narrates each step in words', () => {
    const { trace } = failingTrace();
    const session = new TraceSession(trace, PLANTED);
    const start = session.view();
    expect(start.trace).toBe(`simulate seed ${trace.seed}, 3 servers, shrunk to ${trace.schedule.length} steps (of 300)`);
    expect(start.options).toEqual({ servers: 3, seed: trace.seed, preVote: false, checkQuorum: false, maxLogEntries: 0 });
    expect(start.step).toBe(0);
    expect(start.narration).toEqual([]);
    expect(start.servers).toHaveLength(3);
    expect(start.autopilot).toBe(false);
    expect(session.recording()).toBeUndefined();
    runToEnd(session);
    const view = session.view();
    for (let step = 1; step <= view.step; step++) expect(view.narration.some((line) => line.step === step)).toBe(true);
    const texts = view.narration.map((line) => line.text).join('\n');
    expect(texts).toMatch(/^deliver (AppendEntries|heartbeat|RequestVote|PreVote)( reply)? \d→\d \(/m);
    expect(texts).toMatch(/^a client proposes v\d+/m);
    const lastLine = view.narration[view.narration.length - 1];
    expect(lastLine).toMatchObject({ step: view.step, text: `VIOLATION ${view.violation?.invariant}: ${view.violation?.message}`, servers: view.violation?.servers });
    expect(texts.match(/^VIOLATION /gm)).toHaveLength(1);
    for (const line of view.narration) for (const id of line.servers) expect(id).toBeLessThan(3);
  });

  it('seeks back and forth to identical views', () => {
    const { trace } = failingTrace();
    const forward = new TraceSession(trace, PLANTED);
    const views: ViewState[] = [forward.view()];
    while (forward.step()) views.push(forward.view());
    views.push(forward.view());
    const last = views.length - 1;
    const session = new TraceSession(trace, PLANTED);
    for (const step of [last, 0, Math.floor(last / 2), 1, last, 2, Math.floor(last / 3)]) {
      session.seek(step);
      expect({ step, view: session.view() }).toEqual({ step, view: views[step] });
    }
    session.seek(last + 50); // clamped at the violation
    expect(session.view()).toEqual(views[last]);
  });

  it('hash() reopens the trace at its step', () => {
    const { trace } = failingTrace();
    const session = new TraceSession(trace, PLANTED);
    expect(session.hash()).toBe(`trace=${encodeTrace(trace)}`);
    session.seek(3);
    const hash = session.hash();
    expect(hash).toMatch(/^trace=t1\.[A-Za-z0-9_-]+$/);
    expect(decodeTrace(hash)).toEqual({ ...trace, at: 3 });
    const reopened = TraceSession.fromText(`#${hash}`, PLANTED);
    expect(reopened.view()).toEqual(session.view());
    expect(() => TraceSession.fromText('trace=t1.!!')).toThrow(TraceError);
  });

  it('act() is refused: a trace is read-only', () => {
    const session = new TraceSession(failingTrace().trace, PLANTED);
    expect(() => session.act({ kind: 'crash', server: 0 })).toThrow(ReadOnlyTraceError);
    expect(session.view().step).toBe(0);
  });
});

describe('TraceSession views', () => {
  const trace = { seed: 3, options: { servers: 3 }, schedule: scheduleFor(3, { servers: 3, length: 60 }) };

  it('shows the servers, the waiting messages (with a nominal travel) and the final checks', () => {
    const session = new TraceSession(trace);
    let sawLeader = false;
    let sawMessage = false;
    while (session.step()) {
      const view = session.view();
      const running = session.runner.cluster;
      expect(view.now).toBe(running.now);
      expect(view.messages.map((message) => message.id)).toEqual(running.network.allUndelivered().map((message) => message.id));
      for (const message of view.messages) {
        expect(message.sentAt).toBeLessThanOrEqual(view.now);
        expect(message.deliverAt).toBe(Math.max(view.now, message.sentAt + NOMINAL_TRAVEL_MS));
        expect(['requestVote', 'preVote', 'appendEntries', 'heartbeat', 'installSnapshot', 'timeoutNow']).toContain(message.type);
        expect(message.summary).toMatch(new RegExp(`^[\\w ]+ ${message.from}→${message.to}: `));
        sawMessage = true;
      }
      for (const server of view.servers) {
        const real = running.servers[server.id];
        expect(server.term).toBe(real?.currentTerm);
        expect(server.role).toBe(real?.role);
        expect(server.commitIndex).toBe(real?.volatileState.commitIndex);
        expect(server.log.length).toBeLessThanOrEqual(50);
        if (server.role === 'leader' && server.running) {
          sawLeader = true;
          expect(server.nextIndex).toHaveLength(3);
          expect(server.matchIndex).toHaveLength(3);
          expect(server.electionDeadline).toBeUndefined();
        } else {
          expect(server.nextIndex).toBeUndefined();
        }
        if (!server.running) expect(server.electionDeadline).toBeUndefined();
      }
    }
    expect(sawLeader).toBe(true);
    expect(sawMessage).toBe(true);
    const end = session.view();
    expect(end.step).toBe(61);
    expect(end.violation).toBeUndefined();
    expect(end.narration.filter((line) => line.step === 61).map((line) => line.text).join('\n')).toMatch(/liveness: probe committed on every server/);
    expect(session.step()).toBe(false);
  });

  it('runUntil steps up to a virtual time, at most maxSteps', () => {
    const session = new TraceSession(trace);
    expect(session.runUntil(session.view().now + 1_000_000, 5)).toBe(5);
    expect(session.view().step).toBe(5);
    const taken = session.runUntil(Number.POSITIVE_INFINITY);
    expect(taken).toBe(56);
    expect(session.runUntil(Number.POSITIVE_INFINITY)).toBe(0);
  });

  it('cut links and partitions show as cutLinks', () => {
    const session = new TraceSession({ seed: 1, options: OPTIONS, schedule: [{ type: 'cutLink', from: 0, to: 2 }, { type: 'partition', groups: [[0, 1], [2]] }, { type: 'heal' }, { type: 'restoreLinks' }] });
    session.step();
    expect(session.view().cutLinks).toEqual([[0, 2]]);
    expect(session.view().narration.map((line) => [line.text, line.servers])).toEqual([['link 0→2 cut', [0, 2]]]);
    session.step();
    expect(session.view().cutLinks).toEqual([[0, 2], [1, 2], [2, 0], [2, 1]]);
    session.step();
    session.step();
    expect(session.view().cutLinks).toEqual([]);
  });
});

describe('narration words', () => {
  it.each([
    ['advance 150 ms', 'time +150 ms'],
    ['crash 2 (unsynced writes: 1 lost, 0 kept)', 'server 2 crashed (unsynced writes: 1 lost, 0 kept)'],
    ['restart 1', 'server 1 crashed and restarted'],
    ['deliver #12 1→3 AppendEntries t2 prev=(1,t1) entries=[2..2] commit=1', 'deliver AppendEntries 1→3 (t2 prev=(1,t1) entries=[2..2] commit=1)'],
    ['timeout 0', "server 0's election timer fires"],
    ['propose v3: appended at 4 in term 2', 'a client proposes v3: appended at 4 in term 2'],
    ['something new', 'something new'],
  ])('%s → %s', (line, words) => {
    expect(plainWords(line)).toBe(words);
  });

  it('finds the servers a line names', () => {
    expect(serversNamed('servers 1 and 2 are both leader of term 3', 5)).toEqual([1, 2]);
    expect(serversNamed("server 4's commitIndex went down", 5)).toEqual([4]);
    expect(serversNamed('deliver AppendEntries 3→0', 5)).toEqual([0, 3]);
    expect(serversNamed('server 9 is not there', 5)).toEqual([]);
  });
});
