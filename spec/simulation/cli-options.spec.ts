/**
 * The simulator's command line in-process: parsing with node:util parseArgs (parseCliOptions)
 * and the run itself (runSimulateCli), including a run that throws, which is reported with
 * its seed, shrunk and traced like a violation.
 */
import { USAGE, UsageError, parseCliOptions } from '../../lib/simulation/cli-options';
import { runSimulateCli } from '../../lib/simulation/cli-run';
import type { SimulationOptions } from '../../lib';

describe('parseCliOptions', () => {
  it('has defaults', () => {
    expect(parseCliOptions([])).toEqual({
      help: false, seeds: 1000, first: 1, servers: 5, length: 1000, trace: false, weights: {}, limits: {}, compaction: true, bounds: {}, extensions: true, raft: {}, clients: 3,
    });
  });

  it('reads every flag', () => {
    expect(
      parseCliOptions(['--seeds', '20', '--start', '7', '--servers', '3', '--length', '50', '--trace', '--weights', 'hold=5,crash=0', '--weights', 'drop=1.5', '--max-entries', '2', '--max-inflight', '4']),
    ).toEqual({
      help: false,
      seeds: 20,
      first: 7,
      servers: 3,
      length: 50,
      trace: true,
      weights: { hold: 5, crash: 0, drop: 1.5 },
      limits: { maxEntriesPerMessage: 2, maxInflightMessages: 4 },
      compaction: true,
      bounds: {},
      extensions: true,
      raft: {},
      clients: 3,
    });
    expect(parseCliOptions(['--no-extensions'])).toMatchObject({ extensions: false, raft: {} });
    expect(parseCliOptions(['--pre-vote', 'on', '--check-quorum', 'off', '--read-mode', 'safe', '--clients', '5'])).toMatchObject({
      extensions: true,
      raft: { preVote: true, checkQuorum: false, readMode: 'safe' },
      clients: 5,
    });
    expect(() => parseCliOptions(['--read-mode', 'lease', '--check-quorum', 'off'])).toThrow(/--read-mode lease needs check-quorum/);
    expect(() => parseCliOptions(['--pre-vote', 'maybe'])).toThrow(/--pre-vote takes on or off, got maybe/);
    expect(() => parseCliOptions(['--no-extensions', '--clients', '2'])).toThrow(/--no-extensions cannot take/);
    expect(parseCliOptions(['--no-compaction'])).toMatchObject({ compaction: false, bounds: {} });
    expect(parseCliOptions(['--compaction'])).toMatchObject({ compaction: true, bounds: {} });
    expect(parseCliOptions(['--max-log-entries', '5', '--trailing-log-entries', '0', '--max-chunk-bytes', '3'])).toMatchObject({
      compaction: true,
      bounds: { maxLogEntries: 5, trailingLogEntries: 0, maxSnapshotChunkBytes: 3 },
    });
    expect(parseCliOptions(['--seed', '42'])).toMatchObject({ seeds: 1, first: 42 });
    expect(parseCliOptions(['--seeds=3'])).toMatchObject({ seeds: 3 });
    expect(parseCliOptions(['--help']).help).toBe(true);
    expect(parseCliOptions(['-h']).help).toBe(true);
  });

  it.each<[string[], RegExp]>([
    [['--bogus'], /^unknown option --bogus$/m],
    [['stray'], /^unexpected argument stray$/m],
    [['--seeds', 'many'], /^--seeds takes a whole number, got many$/m],
    [['--seeds', '0'], /^--seeds must be at least 1/m],
    [['--seeds'], /^--seeds needs a value$/m],
    [['--length', '-3'], /^--length needs a value \(write --length=-1 for a value that starts with a dash\)$/m],
    [['--servers', '0'], /^--servers must be at least 1$/m],
    [['--length=-3'], /^--length takes a whole number, got -3$/m],
    [['--max-entries', '0'], /^--max-entries must be at least 1$/m],
    [['--max-inflight', '1.5'], /^--max-inflight takes a whole number, got 1.5$/m],
    [['--weights', 'bogus=1'], /^--weights: unknown kind of step bogus$/m],
    [['--weights', 'hold'], /^--weights takes KIND=WEIGHT pairs, got "hold"$/m],
    [['--weights', 'hold=-1'], /^--weights: the weight of hold must be a number >= 0, got -1$/m],
    [['--weights', 'toString=1'], /^--weights: unknown kind of step toString$/m],
    [['--compaction', '--no-compaction'], /^--compaction and --no-compaction contradict each other$/m],
    [['--no-compaction', '--max-log-entries', '5'], /^--no-compaction cannot take compaction bounds$/m],
    [['--max-log-entries', '0'], /^--max-log-entries must be at least 1$/m],
    [['--max-chunk-bytes', '0'], /^--max-chunk-bytes must be at least 1$/m],
    [['--max-log-entries', '4', '--trailing-log-entries', '4'], /^--trailing-log-entries must be below --max-log-entries$/m],
  ])('refuses %j with a UsageError that ends with the usage', (argv, message) => {
    let error: unknown;
    try {
      parseCliOptions(argv);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message.endsWith(USAGE)).toBe(true);
  });

  it('refuses weights that leave nothing to draw', () => {
    const all = 'deliver,advance,propose,quiet,drop,duplicate,hold,timeout,heartbeat,crash,restart,partition,heal,isolateLeader,reconnectAll,cutLink,restoreLinks';
    expect(() => parseCliOptions(['--weights', all.split(',').map((kind) => `${kind}=0`).join(',')])).toThrow(/at least one kind of step needs a weight above 0/);
  });
});

describe('runSimulateCli', () => {
  function run(argv: string[], extra: Partial<SimulationOptions<string>> = {}) {
    const lines: string[] = [];
    let progress = '';
    const status = runSimulateCli(argv, { log: (line) => lines.push(line), progress: (text) => (progress += text), interactive: false }, extra);
    return { status, text: lines.join('\n'), progress };
  }

  it('--help prints the usage and returns 0 without running anything', () => {
    const { status, text, progress } = run(['--help']);
    expect(status).toBe(0);
    expect(text).toBe(USAGE);
    expect(progress).toBe('');
  });

  it('passes weights and limits on, and shows them in the summary', () => {
    const { status, text } = run(['--seeds', '2', '--servers', '3', '--length', '100', '--weights', 'hold=10', '--max-entries', '1']);
    expect(status).toBe(0);
    expect(text).toMatch(/^\| weights +\| hold=10 \|$/m);
    expect(text).toMatch(/^\| message limits +\| maxEntriesPerMessage=1 \|$/m);
    expect(text).toMatch(/^\| violations +\| 0 \|$/m);
  });

  it('shows compaction in the summary: on with bounds drawn, on with given bounds, or off', () => {
    const on = run(['--seeds', '3', '--servers', '3', '--length', '200']);
    expect(on.status).toBe(0);
    expect(on.text).toMatch(/^\| compaction +\| on \(bounds drawn from each seed\) \|$/m);
    expect(on.text).toMatch(/^\| compactions \(snapshots taken\) +\| [\d,]+ \|$/m);
    expect(on.text).toMatch(/^\| snapshots installed +\| [\d,]+ \|$/m);
    const given = run(['--seeds', '2', '--servers', '3', '--length', '200', '--max-log-entries', '4', '--max-chunk-bytes', '2']);
    expect(given.text).toMatch(/^\| compaction +\| on \(maxLogEntries=4, maxSnapshotChunkBytes=2\) \|$/m);
    const off = run(['--seeds', '2', '--servers', '3', '--length', '200', '--no-compaction']);
    expect(off.text).toMatch(/^\| compaction +\| off \|$/m);
    expect(off.text).not.toMatch(/snapshots installed/);
  });

  it('a run that throws: returns 1 and prints the seed, the error, a shrunk trace and the replay flags', () => {
    const extra: Partial<SimulationOptions<string>> = {
      stateMachine: () => ({
        apply: (data: string) => {
          if (data === 'v3') throw new Error('cannot apply v3');
        },
        snapshot: () => '',
      }),
    };
    const { status, text } = run(['--seeds', '4', '--servers', '3'], extra);
    expect(status).toBe(1);
    expect(text).toMatch(/^VIOLATION at seed 1: noException: step \d+ \(\w+\) threw \w+: .*cannot apply v3$/m);
    expect(text).toMatch(/^shrunk trace \(\d+ of 1000 steps; replay the whole seed with --seed 1 --servers 3 --length 1000 --trace\):$/m);
    expect(text).toMatch(/^ {2}t=.*propose v3: appended/m);
    expect(text).toMatch(/^ {2}t=.*VIOLATION noException: /m);
    expect(text).toMatch(/^shrunk schedule as data: \[/m);
    expect(text).toMatch(/^other failing seeds: (\d+, )*\d+$/m);
  });
});
