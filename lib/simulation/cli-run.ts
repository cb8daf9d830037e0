import { performance } from 'node:perf_hooks';
import { DEFAULT_VISUALIZER_URL, USAGE, parseCliOptions } from './cli-options';
import { compactionEnabled, runSchedule, scheduleFor, shrinkSchedule, simulate, type SimulationOptions, type SimulationResult } from './simulator';
import { encodeTrace, traceOptionsOf } from './trace-codec';

/** Where {@link runSimulateCli} writes: result lines, and progress (stderr in the CLI). */
export interface CliOutput {
  /** One line of the report (stdout). */
  readonly log: (line: string) => void;
  /** Progress text, written as is (stderr). */
  readonly progress: (text: string) => void;
  /** Whether progress may redraw one line (a terminal). */
  readonly interactive: boolean;
}

function progressBar(done: number, total: number, violations: number): string {
  const width = 30;
  const filled = Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} seeds, ${violations} violations`;
}

/** The visualizer's address that opens trace `encoded`: `base` (without any `#...`), then `#trace=` and the text. */
export function visualizeUrl(base: string, encoded: string): string {
  const hash = base.indexOf('#');
  return `${hash < 0 ? base : base.slice(0, hash)}#trace=${encoded}`;
}

/**
 * The simulator's command line, minus the process: parses `argv`, runs the seeds, prints the
 * summary and, for the first failing seed (a violation, or a run that threw: `noException`),
 * the seed, the invariant, a shrunk trace and a `visualize:` line (the visualizer's address
 * with the shrunk schedule, `--visualizer-url` or {@link DEFAULT_VISUALIZER_URL}). Returns the exit status: 0 when every seed
 * passed (or for `--help`), 1 on a failure.
 * `extra` adds simulation options (a test plants a fault with it).
 * @throws {@link UsageError} for a bad command line (the CLI exits with status 2).
 */
export function runSimulateCli(argv: readonly string[], output: CliOutput, extra: Partial<SimulationOptions<string>> = {}): number {
  const cli = parseCliOptions(argv);
  const print = output.log;
  if (cli.help) {
    print(USAGE);
    return 0;
  }
  const options: SimulationOptions<string> = {
    ...extra,
    servers: cli.servers,
    length: cli.length,
    weights: cli.weights,
    limits: cli.limits,
    compaction: cli.compaction ? (Object.keys(cli.bounds).length > 0 ? cli.bounds : true) : false,
    ...(cli.extensions ? { extensions: true, clients: cli.clients, ...cli.raft } : {}),
  };
  const compacting = compactionEnabled(options);
  const write = output.progress;
  const interactive = output.interactive;
  const totals = { events: 0, elections: 0, highestTerm: 0, commits: 0, compactions: 0, snapshotsInstalled: 0, violations: 0, preVote: 0, checkQuorum: 0, lease: 0, operations: 0, writes: 0, logReads: 0, indexReads: 0, unknown: 0, nonLinearizable: 0 };
  const failures: SimulationResult[] = [];
  const started = performance.now();
  let lastReport = -1;
  for (let k = 0; k < cli.seeds; k++) {
    const seed = cli.first + k;
    const result = simulate(seed, cli.trace ? { ...options, trace: print } : options);
    totals.events += result.events;
    totals.elections += result.elections;
    totals.highestTerm = Math.max(totals.highestTerm, result.highestTerm);
    totals.commits += result.commits;
    totals.compactions += result.compactions;
    totals.snapshotsInstalled += result.snapshotsInstalled;
    if (result.raft.preVote) totals.preVote++;
    if (result.raft.checkQuorum) totals.checkQuorum++;
    if (result.raft.readMode === 'lease') totals.lease++;
    totals.operations += result.clientOperations;
    totals.writes += result.clientOperationKinds.writes;
    totals.logReads += result.clientOperationKinds.logReads;
    totals.indexReads += result.clientOperationKinds.indexReads;
    totals.unknown += result.unknownOperations;
    if (result.violation?.invariant === 'linearizable') totals.nonLinearizable++;
    if (result.violation !== undefined) {
      totals.violations++;
      failures.push(result);
    }
    const percent = Math.floor(((k + 1) * 100) / cli.seeds);
    if (interactive) write(`\r${progressBar(k + 1, cli.seeds, totals.violations)}`);
    else if (percent % 10 === 0 && percent !== lastReport) {
      lastReport = percent;
      write(`${progressBar(k + 1, cli.seeds, totals.violations)}\n`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  if (interactive) write('\n');

  const rows: [string, string][] = [
    ['servers', String(cli.servers)],
    ['seeds', `${cli.seeds} (${cli.first}..${cli.first + cli.seeds - 1})`],
    ['steps per schedule', String(cli.length)],
    ...(Object.keys(cli.weights).length === 0 ? [] : [['weights', Object.entries(cli.weights).map(([kind, weight]) => `${kind}=${weight}`).join(', ')] as [string, string]]),
    ...(Object.keys(cli.limits).length === 0 ? [] : [['message limits', Object.entries(cli.limits).map(([name, value]) => `${name}=${value}`).join(', ')] as [string, string]]),
    [
      'compaction',
      !compacting
        ? 'off'
        : `on (${Object.keys(cli.bounds).length === 0 ? 'bounds drawn from each seed' : Object.entries(cli.bounds).map(([name, value]) => `${name}=${value}`).join(', ')})`,
    ],
    ...(cli.extensions
      ? ([
          ['seeds with preVote / checkQuorum / lease reads', `${totals.preVote} / ${totals.checkQuorum} / ${totals.lease}${Object.keys(cli.raft).length === 0 ? '' : ` (forced: ${Object.entries(cli.raft).map(([name, value]) => `${name}=${String(value)}`).join(', ')})`}`],
          ['clients per seed', String(cli.clients)],
        ] as [string, string][])
      : ([['extensions', 'off']] as [string, string][])),
    ['simulated events', totals.events.toLocaleString('en-US')],
    ['wall time', `${seconds.toFixed(1)} s`],
    ['events per second', Math.round(totals.events / seconds).toLocaleString('en-US')],
    ['elections (terms with a leader)', totals.elections.toLocaleString('en-US')],
    ['highest term', String(totals.highestTerm)],
    ['commits (entries)', totals.commits.toLocaleString('en-US')],
    ...(compacting
      ? ([
          ['compactions (snapshots taken)', totals.compactions.toLocaleString('en-US')],
          ['snapshots installed', totals.snapshotsInstalled.toLocaleString('en-US')],
        ] as [string, string][])
      : []),
    ...(cli.extensions && cli.clients > 0
      ? ([
          ['client operations completed', totals.operations.toLocaleString('en-US')],
          ['  writes / log reads / readIndex reads', [totals.writes, totals.logReads, totals.indexReads].map((n) => n.toLocaleString('en-US')).join(' / ')],
          ['client writes with unknown outcome', totals.unknown.toLocaleString('en-US')],
          ['safety violations (other invariants)', String(totals.violations - totals.nonLinearizable)],
          ['non-linearizable histories', String(totals.nonLinearizable)],
        ] as [string, string][])
      : []),
    ['violations', String(totals.violations)],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  print(`\n| ${'measure'.padEnd(width)} | value |\n| ${'-'.repeat(width)} | ----- |`);
  for (const [name, value] of rows) print(`| ${name.padEnd(width)} | ${value} |`);

  const first = failures[0];
  if (first?.violation !== undefined) {
    const schedule = scheduleFor(first.seed, options);
    const shrunk = shrinkSchedule(schedule, first.seed, first.violation.invariant, options);
    print(`\nVIOLATION at seed ${first.seed}: ${first.violation.invariant}: ${first.violation.message}`);
    if (cli.extensions) print(`raft options of seed ${first.seed}: ${JSON.stringify(first.raft)}`);
    const flags = [`--seed ${first.seed}`, `--servers ${cli.servers}`, `--length ${cli.length}`];
    if (Object.keys(cli.weights).length > 0) flags.push(`--weights ${Object.entries(cli.weights).map(([kind, weight]) => `${kind}=${weight}`).join(',')}`);
    if (cli.limits.maxEntriesPerMessage !== undefined) flags.push(`--max-entries ${cli.limits.maxEntriesPerMessage}`);
    if (cli.limits.maxInflightMessages !== undefined) flags.push(`--max-inflight ${cli.limits.maxInflightMessages}`);
    if (!cli.compaction) flags.push('--no-compaction');
    if (cli.bounds.maxLogEntries !== undefined) flags.push(`--max-log-entries ${cli.bounds.maxLogEntries}`);
    if (cli.bounds.trailingLogEntries !== undefined) flags.push(`--trailing-log-entries ${cli.bounds.trailingLogEntries}`);
    if (cli.bounds.maxSnapshotChunkBytes !== undefined) flags.push(`--max-chunk-bytes ${cli.bounds.maxSnapshotChunkBytes}`);
    if (!cli.extensions) flags.push('--no-extensions');
    if (cli.raft.preVote !== undefined) flags.push(`--pre-vote ${cli.raft.preVote ? 'on' : 'off'}`);
    if (cli.raft.checkQuorum !== undefined) flags.push(`--check-quorum ${cli.raft.checkQuorum ? 'on' : 'off'}`);
    if (cli.raft.readMode !== undefined) flags.push(`--read-mode ${cli.raft.readMode}`);
    if (cli.extensions && cli.clients !== 3) flags.push(`--clients ${cli.clients}`);
    print(`shrunk trace (${shrunk.length} of ${schedule.length} steps; replay the whole seed with ${flags.join(' ')} --trace):`);
    runSchedule(shrunk, first.seed, { ...options, trace: (line) => print(`  ${line}`) });
    print(`shrunk schedule as data: ${JSON.stringify(shrunk)}`);
    print(`visualize: ${visualizeUrl(cli.visualizerUrl ?? DEFAULT_VISUALIZER_URL, encodeTrace({ seed: first.seed, options: traceOptionsOf(options), schedule: shrunk, shrunkFrom: schedule.length }))}`);
    if (failures.length > 1) print(`other failing seeds: ${failures.slice(1, 20).map((f) => f.seed).join(', ')}${failures.length > 20 ? ', …' : ''}`);
    return 1;
  }
  return 0;
}

