/**
 * shrinkSchedule and traces. lib has no bug to shrink towards, so the failure comes from a
 * deliberately broken state machine passed as an option (./aliasing-machine): it corrupts
 * the shared data of proposal 7 when it applies it, so runSchedule reports
 * stateMachineSafety whenever proposal 7 is committed, and only then.
 */
import { runSchedule, scheduleFor, shrinkSchedule, simulate, type SimulationEvent } from '../../lib';
import { aliasingOptions } from './aliasing-machine';

const SEED = 2; // a seed whose schedule commits proposal 7 (seed 1 never gets it appended)
const SERVERS = 3;

describe('shrinkSchedule', () => {
  const options = aliasingOptions(SERVERS, 7);
  const schedule = scheduleFor(SEED, options);
  const original = runSchedule(schedule, SEED, aliasingOptions(SERVERS, 7));
  const shrunk = shrinkSchedule(schedule, SEED, 'stateMachineSafety', aliasingOptions(SERVERS, 7));

  it('starts from a 1000-step schedule that fails with stateMachineSafety (and passes with a correct machine)', () => {
    expect(schedule).toHaveLength(1000);
    expect(original.violation?.invariant).toBe('stateMachineSafety');
    expect(original.violation?.message).toMatch(/^state machines differ at the end: server 0: /);
    // The schedule itself is fine: the same run without the broken machine breaks nothing.
    expect(simulate(SEED, { servers: SERVERS }).violation).toBeUndefined();
    expect(runSchedule(schedule, SEED, { ...aliasingOptions(SERVERS, 999) }).violation).toBeUndefined();
  });

  it('returns a much shorter schedule, made of steps of the original in their order', () => {
    expect(shrunk.length).toBeGreaterThan(0);
    expect(shrunk.length).toBeLessThanOrEqual(20);
    expect(shrunk.length * 20).toBeLessThan(schedule.length);
    // Delta debugging only removes steps and shortens waits.
    let k = 0;
    for (const step of shrunk) {
      while (k < schedule.length && !sameStepUpToWait(schedule[k] as SimulationEvent, step)) k++;
      expect(k).toBeLessThan(schedule.length);
      k++;
    }
  });

  it('keeps the step that matters: proposal 7', () => {
    expect(shrunk).toContainEqual({ type: 'propose', value: 7 });
    const without = shrunk.filter((step) => !(step.type === 'propose' && step.value === 7));
    expect(runSchedule(without, SEED, aliasingOptions(SERVERS, 7)).violation).toBeUndefined();
  });

  it('still fails with the same invariant when replayed, and the replay is deterministic', () => {
    const first = runSchedule(shrunk, SEED, aliasingOptions(SERVERS, 7));
    const second = runSchedule(shrunk, SEED, aliasingOptions(SERVERS, 7));
    expect(first.violation?.invariant).toBe('stateMachineSafety');
    expect(second).toEqual(first);
    expect(first.steps).toBe(shrunk.length);
  });

  it('is itself deterministic: the same input shrinks to the same schedule', () => {
    expect(shrinkSchedule(schedule, SEED, 'stateMachineSafety', aliasingOptions(SERVERS, 7))).toEqual(shrunk);
  });

  it('survives a trip through JSON, as the CLI prints it', () => {
    const parsed = JSON.parse(JSON.stringify(shrunk)) as SimulationEvent[];
    expect(runSchedule(parsed, SEED, aliasingOptions(SERVERS, 7))).toEqual(runSchedule(shrunk, SEED, aliasingOptions(SERVERS, 7)));
  });

  it('never returns a schedule that passes, even when stopped early by maxRuns', () => {
    for (const maxRuns of [1, 5, 40]) {
      const partial = shrinkSchedule(schedule, SEED, 'stateMachineSafety', aliasingOptions(SERVERS, 7), maxRuns);
      expect(partial.length).toBeLessThanOrEqual(schedule.length);
      expect(runSchedule(partial, SEED, aliasingOptions(SERVERS, 7)).violation?.invariant).toBe('stateMachineSafety');
    }
  });

  it('leaves a schedule that does not fail with that invariant unchanged', () => {
    const passing = scheduleFor(SEED, { servers: SERVERS, length: 40 });
    expect(runSchedule(passing, SEED, { servers: SERVERS }).violation).toBeUndefined();
    expect(shrinkSchedule(passing, SEED, 'stateMachineSafety', { servers: SERVERS })).toEqual(passing);
  });

  it('does not pass the trace option on to the runs it makes', () => {
    const lines: string[] = [];
    const small = shrinkSchedule(shrunk, SEED, 'stateMachineSafety', { ...aliasingOptions(SERVERS, 7), trace: (line) => lines.push(line) }, 50);
    expect(runSchedule(small, SEED, aliasingOptions(SERVERS, 7)).violation?.invariant).toBe('stateMachineSafety');
    expect(lines).toEqual([]);
  });
});

/** Whether `shrunk` is `step`, or `step` with a shorter wait (advance/quiet). */
function sameStepUpToWait(step: SimulationEvent, shrunk: SimulationEvent): boolean {
  if ((step.type === 'advance' || step.type === 'quiet') && shrunk.type === step.type) return shrunk.ms >= 1 && shrunk.ms <= step.ms;
  return JSON.stringify(step) === JSON.stringify(shrunk);
}

describe('traces', () => {
  /** Time out server 0, deliver its two vote requests and the answers, propose 7, drop one message. */
  const schedule: SimulationEvent[] = [
    { type: 'timeout', server: 0 },
    { type: 'deliver', pick: 0 },
    { type: 'deliver', pick: 0 },
    { type: 'deliver', pick: 0 },
    { type: 'deliver', pick: 0 },
    { type: 'propose', value: 7 },
    { type: 'drop', pick: 0 },
    { type: 'advance', ms: 5 },
    { type: 'crash', server: 2 },
    { type: 'restart', server: 2 },
    { type: 'partition', groups: [[0, 1], [2]] },
    { type: 'heal' },
  ];

  function traceOf(events: readonly SimulationEvent[], options = aliasingOptions(SERVERS, 7)): string[] {
    const lines: string[] = [];
    runSchedule(events, SEED, { ...options, trace: (line) => lines.push(line) });
    return lines;
  }

  it('prints one readable line per step, stamped with the virtual time', () => {
    const lines = traceOf(schedule, aliasingOptions(SERVERS, 999));
    for (const line of lines) expect(line).toMatch(/^t=\s*\d+\.\d {2}\S/);
    const text = lines.join('\n');
    expect(lines[0]).toMatch(/^t=\s+0\.0 {2}timeout 0$/);
    expect(text).toMatch(/deliver #\d+ 0→[12] RequestVote t1 last=\(0,t0\)/);
    expect(text).toMatch(/deliver #\d+ [12]→0 RequestVoteReply t1 granted/);
    expect(text).toMatch(/propose v7: appended at 1 in term 1/);
    expect(text).toMatch(/drop #\d+ 0→[12] AppendEntries t1 prev=\(0,t0\) entries=\[\] commit=0/);
    expect(text).toMatch(/advance 5 ms/);
    expect(text).toMatch(/crash 2\n.*restart 2\n.*partition \{0,1\} \{2\}\n.*heal/);
    expect(text).toMatch(/faults stop: heal, reconnect, restore links, restart crashed servers/);
    expect(lines[lines.length - 1]).toMatch(/liveness: probe committed on every server \(index \d+\)/);
    expect(text).not.toMatch(/VIOLATION/);
  });

  it('ends a failing run with a VIOLATION line naming the invariant', () => {
    const lines = traceOf(schedule);
    expect(lines[lines.length - 1]).toMatch(/^t=\s*\d+\.\d {2}VIOLATION stateMachineSafety: state machines differ at the end: server 0: /);
    expect(lines.filter((line) => line.includes('VIOLATION'))).toHaveLength(1);
  });

  it('does not change the run: the same result with and without a trace', () => {
    const plain = runSchedule(schedule, SEED, aliasingOptions(SERVERS, 7));
    const traced = runSchedule(schedule, SEED, { ...aliasingOptions(SERVERS, 7), trace: () => undefined });
    expect(traced).toEqual(plain);
  });
});
