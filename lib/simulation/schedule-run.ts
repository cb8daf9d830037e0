/**
 * A schedule run one step at a time ({@link ScheduleRun}): what {@link runSchedule} does in a
 * loop, open to a caller that wants to look at the cluster between steps (the visualizer's
 * trace mode). Browser-safe: nothing here reaches a Node.js module.
 */
import type { InMemoryCluster } from '../cluster';
import type { LogIndex, Term } from '../types';
import { SimulatedDiskState } from './disk';
import type { SafetyChecker, Violation } from './invariants';
import { RunContext } from './run-context';
import type { SimulationOptions, SimulationResult } from './run-options';
import type { SimulationEvent } from './schedule';
import { executeStep } from './step-executor';

/** The words of a thrown error in a `noException` violation. */
function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * One schedule on a fresh cluster seeded with `seed`, run step by step: {@link step} runs the
 * next schedule step and checks the invariants after it; {@link finish} runs what is left,
 * stops the faults, checks liveness (and the clients' history), and gives the
 * {@link SimulationResult}. `new ScheduleRun(schedule, seed, options).finish()` is
 * {@link runSchedule}; so is any number of `step()` calls followed by `finish()`.
 * A step that throws ends the run with a `noException` violation naming the step.
 * Deterministic: the same schedule, seed and options give the same run.
 */
export class ScheduleRun<T = string> {
  readonly #schedule: readonly SimulationEvent[];
  readonly #seed: number;
  readonly #run: RunContext<T>;
  #result: SimulationResult | undefined;

  /** Builds the cluster (and calls `options.onStart`); no step runs yet. */
  constructor(schedule: readonly SimulationEvent[], seed: number, options: SimulationOptions<T> = {}) {
    this.#schedule = schedule;
    this.#seed = seed;
    this.#run = new RunContext<T>(seed, options);
    options.onStart?.(this.#run.cluster, this.#run.checker);
  }

  /** The schedule being run. */
  get schedule(): readonly SimulationEvent[] {
    return this.#schedule;
  }

  /** The seed of the cluster. */
  get seed(): number {
    return this.#seed;
  }

  /** Schedule steps run so far (the index of the next one). */
  get index(): number {
    return this.#run.steps;
  }

  /** The cluster ('manual' delivery), to look at between steps. Do not drive it. */
  get cluster(): InMemoryCluster<T> {
    return this.#run.cluster;
  }

  /** The checker every invariant reports to. */
  get checker(): SafetyChecker<T> {
    return this.#run.checker;
  }

  /** The first broken invariant, if any. */
  get violation(): Violation | undefined {
    return this.#run.checker.violation;
  }

  /** Whether no step is left to run: the schedule is over, an invariant broke, or {@link finish} was called. */
  get done(): boolean {
    return this.#result !== undefined || this.violation !== undefined || this.#run.steps >= this.#schedule.length;
  }

  /** Whether {@link finish} has run. */
  get finished(): boolean {
    return this.#result !== undefined;
  }

  /**
   * Runs the next schedule step and checks the invariants after it (and releases the held
   * messages whose time has come). Returns true when it ran a step and no invariant broke;
   * false when there was no step to run ({@link done}) or the step broke an invariant (see
   * {@link violation}).
   */
  step(): boolean {
    if (this.done) return false;
    const run = this.#run;
    const event = this.#schedule[run.steps] as SimulationEvent;
    const current = `step ${run.steps + 1} (${event.type})`;
    try {
      executeStep(run, event);
      run.steps++;
      run.checkStep();
      if (run.checker.violation === undefined) run.release(false);
    } catch (error) {
      run.checker.report('noException', `${current} threw ${describeError(error)}`);
    }
    return run.checker.violation === undefined;
  }

  /**
   * Ends the run: the steps left (until one breaks an invariant), then, unless an invariant
   * broke, the liveness check (unless `checkLiveness: false`) and the clients' history
   * check; then `options.onEnd`. Returns the result; later calls return the same result.
   */
  finish(): SimulationResult {
    if (this.#result !== undefined) return this.#result;
    while (this.step());
    const run = this.#run;
    const { checker, cluster, options, workload } = run;
    let current = 'the liveness check';
    try {
      if (checker.violation === undefined && options.checkLiveness !== false) this.#checkLiveness();
      current = 'the linearizability check';
      if (checker.violation === undefined && workload !== undefined) {
        const explanation = workload.check();
        if (explanation !== undefined) checker.report('linearizable', `the clients' history (${workload.history.length} operations) is not linearizable: ${explanation}`);
      }
    } catch (error) {
      checker.report('noException', `${current} threw ${describeError(error)}`);
    }
    options.onEnd?.(cluster, checker);

    let highestTerm = 0;
    for (const server of cluster.servers) highestTerm = Math.max(highestTerm, server.currentTerm);
    const violation = checker.violation;
    if (violation !== undefined) run.say(`VIOLATION ${violation.invariant}: ${violation.message}`);
    this.#result = {
      seed: this.#seed,
      steps: run.steps,
      events: run.steps + run.delivered + cluster.timersFired,
      elections: checker.leaderTerms,
      highestTerm,
      commits: checker.committedCount,
      compactions: run.stores.reduce((sum, store) => sum + (store instanceof SimulatedDiskState ? store.snapshotWrites : 0), 0) - run.snapshotsInstalled,
      snapshotsInstalled: run.snapshotsInstalled,
      violation,
      raft: run.raft,
      clientOperations: workload?.counts.ok ?? 0,
      unknownOperations: workload?.counts.unknown ?? 0,
      clientOperationKinds: { writes: workload?.counts.writesOk ?? 0, logReads: workload?.counts.logReadsOk ?? 0, indexReads: workload?.counts.indexReadsOk ?? 0 },
    };
    return this.#result;
  }

  /**
   * Stops the faults (heal, reconnect, restore links, release held messages, restart the
   * crashed servers) and checks that within `livenessBoundMs` a leader is elected and a
   * fresh proposal, with every entry before it, is committed on all servers; then that the
   * state machines agree.
   */
  #checkLiveness(): void {
    const run = this.#run;
    const { checker, cluster, options } = run;
    run.say('faults stop: heal, reconnect, restore links, restart crashed servers');
    cluster.heal();
    cluster.network.restoreAllLinks();
    run.isolated.forEach((id) => cluster.reconnect(id));
    run.isolated.clear();
    run.release(true);
    if (checker.violation !== undefined) return;
    for (let id = 0; id < run.servers; id++) if (!cluster.isRunning(id)) run.restart(id);
    const bound = options.livenessBoundMs ?? 10_000;
    const end = cluster.now + bound;
    let probe: { index: LogIndex; term: Term } | undefined;
    let probes = 0;
    const allCommitted = (): boolean => {
      const leader = cluster.leader();
      if (leader === undefined) return false;
      if (probe === undefined || probe.term !== leader.currentTerm) {
        const result = leader.propose(run.value(1_000_000 + ++probes));
        if (result.type !== 'appended') return false;
        probe = { index: result.index, term: result.term };
        run.say(`liveness probe appended at ${probe.index} in term ${probe.term}`);
        return false;
      }
      const target = probe.index;
      return cluster.servers.every((server) => server.volatileState.commitIndex >= target);
    };
    if (!run.settle(end - cluster.now, allCommitted)) {
      if (checker.violation !== undefined) return;
      const leader = cluster.leader();
      checker.report(
        'liveness',
        leader === undefined
          ? `no leader ${bound} ms after faults stopped`
          : `leader ${leader.id} (term ${leader.currentTerm}) did not commit its probe on every server within ${bound} ms after faults stopped (commit indexes ${cluster.servers.map((s) => s.volatileState.commitIndex).join(', ')})`,
      );
      return;
    }
    run.say(`liveness: probe committed on every server (index ${probe?.index})`);
    if (run.machines.length > 0) {
      const snapshots = run.machines.map((machine) => machine.snapshot());
      if (snapshots.some((snapshot) => snapshot !== snapshots[0])) {
        checker.report('stateMachineSafety', `state machines differ at the end: ${snapshots.map((s, id) => `server ${id}: ${s}`).join('; ')}`);
      }
    }
  }
}
