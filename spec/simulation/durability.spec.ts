/**
 * What the simulator sees now that its stores model a disk (SimulatedDiskState, the default
 * store of runSchedule): writes that a crash loses because they were not synced before the
 * reply that promised them. Faults are planted in stores (no bug is committed to lib):
 *
 *  - a store whose sync() does nothing, as if the server never synced before replying:
 *    a follower's acknowledgement counts toward a commit the disks do not hold;
 *  - a store that makes a vote durable one sync() late, as if the vote were recorded after
 *    the reply granting it: a crash right after the vote forgets it, and the server votes
 *    again in the same term.
 *
 * Each is found by random schedules and named by invariant, and the same schedules on the
 * honest store find nothing. Also here: the Durable Majority invariant by hand, hold steps
 * that bring a success reply of an earlier term to a leader of a later one (the Figure 2
 * trap), and runs that throw, reported as `noException` and shrunk.
 */
import {
  InMemoryCluster,
  SafetyChecker,
  generateSchedule,
  runSchedule,
  scheduleFor,
  shrinkSchedule,
  simulate,
  type FaultWeights,
  type IPersistentState,
  type ServerId,
  type SimulationEvent,
  type SimulationOptions,
} from '../../lib';
import { SimulatedDiskState } from '../../lib/simulation/disk';

// ---------------------------------------------------------------- planted faulty disks

/** sync() makes nothing durable. */
class NoSyncDisk<T> extends SimulatedDiskState<T> {
  override sync(): void {}
}

/** A vote reaches the disk only at the sync() after the one that should have made it durable. */
class LateVoteDisk<T> extends SimulatedDiskState<T> {
  #late: ServerId | undefined;

  override vote(candidate: ServerId): void {
    this.#late = candidate; // kept aside: the live image shows no vote until the next write
  }

  override get votedFor(): ServerId | undefined {
    return this.#late ?? super.votedFor;
  }

  override advanceToTerm(term: number): void {
    this.#late = undefined;
    super.advanceToTerm(term);
  }

  override incrementTerm(): void {
    this.#late = undefined;
    super.incrementTerm();
  }

  override sync(): void {
    super.sync();
    if (this.#late !== undefined) {
      super.vote(this.#late); // written now, durable only at the next sync()
      this.#late = undefined;
    }
  }

  override crash(keep?: number): ReturnType<SimulatedDiskState<T>['crash']> {
    this.#late = undefined;
    return super.crash(keep);
  }
}

type Disk = new (id: ServerId, checker: SafetyChecker<string>) => SimulatedDiskState<string>;

/** Runs seeds 1..count with the faulty disk and with the honest one; returns the faulty failures. */
function hunt(disk: Disk, count: number, servers: number, weights: Partial<FaultWeights>, length = 300) {
  const found: { seed: number; invariant: string; message: string }[] = [];
  for (let seed = 1; seed <= count; seed++) {
    const options = { servers, length, weights };
    const faulty = simulate<string>(seed, { ...options, persistentState: (id, checker) => new disk(id, checker) });
    if (faulty.violation !== undefined) found.push({ seed, invariant: faulty.violation.invariant, message: faulty.violation.message });
    const honest = simulate<string>(seed, options);
    expect({ seed, violation: honest.violation }).toEqual({ seed, violation: undefined });
  }
  return found;
}

describe('planted disk faults are found by random schedules, and only with the fault', () => {
  it('a store that never makes writes durable (no sync before a reply): durableMajority', () => {
    const found = hunt(NoSyncDisk, 10, 3, {});
    expect(found.length).toBeGreaterThanOrEqual(8);
    // Mostly a commit the disks do not hold; now and then a crash first forgets a vote, or
    // loses entries a success reply promised (a leader's matchIndex then runs ahead).
    for (const failure of found) expect(['durableMajority', 'electionSafety', 'matchIndexBound']).toContain(failure.invariant);
    const majority = found.filter((failure) => failure.invariant === 'durableMajority');
    expect(majority.length).toBeGreaterThanOrEqual(5);
    expect(majority[0]?.message).toMatch(/^server \d committed entry \d+ \(term \d+, "v\d+"\) while only [01] of 3 stores held it durably/);
  });

  it('a vote made durable after the reply granting it: electionSafety once a crash forgets it', () => {
    const weights: Partial<FaultWeights> = { crash: 12, restart: 12, timeout: 20, advance: 4, quiet: 1, propose: 1, hold: 0, partition: 0 };
    const found = hunt(LateVoteDisk, 150, 3, weights);
    expect(found.length).toBeGreaterThanOrEqual(2);
    for (const failure of found) expect(['electionSafety', 'leaderCompleteness', 'durableMajority', 'stateMachineSafety']).toContain(failure.invariant);
    expect(found.some((failure) => failure.invariant === 'electionSafety')).toBe(true);
  });

  it('control: the late-vote store is harmless without crashes (the live image is right)', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const result = simulate<string>(seed, { servers: 3, length: 300, weights: { crash: 0, restart: 0 }, persistentState: (id, checker) => new LateVoteDisk<string>(id, checker) });
      expect({ seed, violation: result.violation }).toEqual({ seed, violation: undefined });
    }
  });
});

// ---------------------------------------------------------------- Durable Majority by hand

describe('SafetyChecker: Durable Majority', () => {
  const entry = { index: 1, term: 1, data: 'a' };

  function checkerWith(held: boolean[]) {
    const checker = new SafetyChecker<string>();
    checker.watchStores({ servers: held.length, durableEntry: (server, index) => (held[server] && index === 1 ? entry : undefined) });
    return checker;
  }

  it('accepts a first commit held durably by a majority', () => {
    const checker = checkerWith([true, true, false]);
    checker.entriesCommitted({}, 0, [entry]);
    expect(checker.violation).toBeUndefined();
  });

  it('reports a first commit held by a minority, naming the holders', () => {
    const checker = checkerWith([true, false, false, false, true]);
    checker.entriesCommitted({}, 0, [entry]);
    expect(checker.violation).toEqual({
      invariant: 'durableMajority',
      message: 'server 0 committed entry 1 (term 1, "a") while only 2 of 5 stores held it durably (servers 0, 4); a majority is 3',
    });
  });

  it('counts only stores holding the same term and data', () => {
    const checker = new SafetyChecker<string>();
    const other = { index: 1, term: 2, data: 'a' };
    checker.watchStores({ servers: 3, durableEntry: (server) => (server === 0 ? entry : other) });
    checker.entriesCommitted({}, 0, [entry]);
    expect(checker.violation?.invariant).toBe('durableMajority');
  });

  it('checks only the first commit of an index, and nothing without watchStores', () => {
    const checker = checkerWith([true, true, true]);
    checker.entriesCommitted({}, 0, [entry]);
    checker.watchStores({ servers: 3, durableEntry: () => undefined });
    checker.entriesCommitted({}, 1, [entry]); // a second server commits index 1: not a first commit
    expect(checker.violation).toBeUndefined();
    const plain = new SafetyChecker<string>();
    plain.entriesCommitted({}, 0, [entry]);
    expect(plain.violation).toBeUndefined();
  });
});

// ---------------------------------------------------------------- hold steps: the Figure 2 trap is reachable

describe('hold steps', () => {
  it('generateSchedule draws them, with 1 to 3 elections', () => {
    const holds = generateSchedule(1, { servers: 5, length: 5000 }).filter((step): step is Extract<SimulationEvent, { type: 'hold' }> => step.type === 'hold');
    expect(holds.length).toBeGreaterThan(20);
    expect(new Set(holds.map((step) => step.elections))).toEqual(new Set([1, 2, 3]));
  });

  it('bring a success reply of an earlier term to the same server leading a later term', () => {
    let reached = 0;
    const examples: string[] = [];
    for (let seed = 1; seed <= 200 && reached < 3; seed++) {
      const lines: string[] = [];
      let cluster: InMemoryCluster<string> | undefined;
      const options: SimulationOptions<string> = {
        servers: 3,
        length: 400,
        weights: { hold: 8, crash: 0, restart: 0 },
        onStart: (started) => {
          cluster = started;
          started.network.tap(({ to, message }) => {
            const leader = started.servers[to];
            if (message.type === 'appendEntriesReply' && message.reply.success && leader?.role === 'leader' && leader.currentTerm > message.reply.followerTerm) {
              reached++;
              examples.push(`seed ${seed}: reply of term ${message.reply.followerTerm} to leader ${to} of term ${leader.currentTerm}`);
            }
          });
        },
        trace: (line) => lines.push(line),
      };
      expect(simulate(seed, options).violation).toBeUndefined(); // lib ignores such replies
      expect(cluster).toBeDefined();
    }
    expect(examples.length).toBeGreaterThanOrEqual(3);
  });

  it('bring, with the default mix, a success reply to its receiver leading a later term over a rewritten log (caught by matchIndexBound if counted)', () => {
    // The reply acknowledges index m in the follower's term; the leader's entry at m is of a
    // later term (or gone): its log was rewritten since, so the reply must not count.
    const seeds: number[] = [];
    for (let seed = 1; seed <= 200 && seeds.length < 2; seed++) {
      const result = simulate(seed, {
        onStart: (started) => {
          started.network.tap(({ to, message }) => {
            const leader = started.servers[to];
            if (message.type !== 'appendEntriesReply' || !message.reply.success || leader?.role !== 'leader') return;
            const { followerTerm, matchIndex } = message.reply;
            const mine = leader.persistentState.getLogEntry(matchIndex);
            if (leader.currentTerm > followerTerm && (mine === undefined || mine.term > followerTerm) && !seeds.includes(seed)) seeds.push(seed);
          });
        },
      });
      expect(result.violation).toBeUndefined(); // lib ignores such replies
    }
    expect(seeds.length).toBe(2);
  });

  it('take, with a pick below one half, a success reply acknowledging uncommitted entries; a crash then spares its receiver', () => {
    const d: SimulationEvent = { type: 'deliver', pick: 0 };
    const schedule: SimulationEvent[] = [
      { type: 'timeout', server: 0 }, d, d, d, d, // server 0 leads term 1
      { type: 'propose', value: 1 }, d, d, d, // heartbeats to 1 and 2, then entry 1 to server 1
      { type: 'hold', pick: 0, elections: 1 }, // the oldest waiting message is #8 (entry 1 to server 2)
      { type: 'crash', server: 0, keep: 0, lastReceiver: false },
    ];
    const lines: string[] = [];
    const limits = { maxEntriesPerMessage: 100, maxInflightMessages: 64 };
    const result = runSchedule(schedule, 1, { servers: 3, limits, checkLiveness: false, trace: (line) => lines.push(line) });
    expect(result.violation).toBeUndefined();
    const text = lines.join('\n');
    expect(text).toMatch(/hold #11 1→0 AppendEntriesReply t1 ok match=1 for 1 election\n/);
    expect(text).toMatch(/crash 1\n?$/); // not server 0, which the held reply waits for
  });

  it('a held message is released after its elections, or at the end, unless a crash lost it', () => {
    const schedule: SimulationEvent[] = [
      { type: 'timeout', server: 0 },
      { type: 'hold', pick: 0, elections: 2 },
      { type: 'deliver', pick: 0 },
      { type: 'deliver', pick: 0 },
      { type: 'deliver', pick: 0 },
    ];
    const lines: string[] = [];
    const result = runSchedule(schedule, 1, { servers: 3, trace: (line) => lines.push(line) });
    expect(result.violation).toBeUndefined();
    const text = lines.join('\n');
    expect(text).toMatch(/hold #\d+ 0→1 RequestVote t1 last=\(0,t0\) for 2 elections/);
    expect(text).toMatch(/faults stop[^\n]*\n.*release held #\d+ 0→1 RequestVote t1/);
  });
});

// ---------------------------------------------------------------- runs that throw

describe('a run that throws', () => {
  /** A state machine that throws when it applies proposal `bad`: the call it happens in throws a ListenerError. */
  function throwingOptions(bad: number): SimulationOptions<string> {
    return {
      servers: 3,
      stateMachine: () => ({
        apply: (data: string) => {
          if (data === `v${bad}`) throw new Error(`cannot apply ${data}`);
        },
        snapshot: () => '',
      }),
    };
  }

  it('ends with a noException violation naming the step and the error, instead of throwing', () => {
    const result = simulate(4, throwingOptions(3));
    expect(result.violation?.invariant).toBe('noException');
    expect(result.violation?.message).toMatch(/^(step \d+ \(\w+\)|the liveness check) threw \w+: .*cannot apply v3/);
  });

  it('is shrunk like any violation, to a short schedule that still throws', () => {
    const options = throwingOptions(3);
    const schedule = scheduleFor(4, options);
    const shrunk = shrinkSchedule(schedule, 4, 'noException', options);
    expect(shrunk.length).toBeLessThan(40);
    expect(shrunk).toContainEqual({ type: 'propose', value: 3 });
    expect(runSchedule(shrunk, 4, options).violation?.invariant).toBe('noException');
  });
});
