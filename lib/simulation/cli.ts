/**
 * `npm run simulate -- --seeds 10000 --servers 5`: runs seeded fault schedules and checks
 * every invariant; `--seed N` replays one seed, `--trace` prints its steps. On a violation
 * it prints the seed, the invariant and a shrunk trace, and exits with status 1.
 */
import { performance } from 'node:perf_hooks';
import { runSchedule, scheduleFor, shrinkSchedule, simulate, type SimulationOptions, type SimulationResult } from './simulator';

interface CliOptions {
  seeds: number;
  first: number;
  servers: number;
  length: number;
  trace: boolean;
}

const USAGE = 'usage: simulate [--seeds N] [--seed N] [--servers N] [--length N] [--trace]';

function parse(argv: readonly string[]): CliOptions {
  const options: CliOptions = { seeds: 1000, first: 1, servers: 5, length: 1000, trace: false };
  for (let k = 0; k < argv.length; k++) {
    const flag = argv[k];
    const number = (): number => {
      const value = Number(argv[++k]);
      if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${flag} takes a whole number, got ${argv[k]}\n${USAGE}`);
      return value;
    };
    if (flag === '--seeds') options.seeds = number();
    else if (flag === '--seed') {
      options.first = number();
      options.seeds = 1;
    } else if (flag === '--start') options.first = number();
    else if (flag === '--servers') options.servers = number();
    else if (flag === '--length') options.length = number();
    else if (flag === '--trace') options.trace = true;
    else throw new Error(`unknown option ${flag}\n${USAGE}`);
  }
  if (options.servers < 1) throw new Error(`--servers must be at least 1\n${USAGE}`);
  if (options.seeds < 1) throw new Error(`--seeds must be at least 1: a run that checks nothing proves nothing\n${USAGE}`);
  return options;
}

function progressBar(done: number, total: number, violations: number): string {
  const width = 30;
  const filled = Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} seeds, ${violations} violations`;
}

function main(argv: readonly string[]): number {
  const cli = parse(argv);
  const options: SimulationOptions<string> = { servers: cli.servers, length: cli.length };
  const write = (text: string): boolean => process.stderr.write(text);
  const interactive = process.stderr.isTTY === true;
  const totals = { events: 0, elections: 0, highestTerm: 0, commits: 0, violations: 0 };
  const failures: SimulationResult[] = [];
  const started = performance.now();
  let lastReport = -1;
  for (let k = 0; k < cli.seeds; k++) {
    const seed = cli.first + k;
    const result = simulate(seed, cli.trace ? { ...options, trace: (line) => console.log(line) } : options);
    totals.events += result.events;
    totals.elections += result.elections;
    totals.highestTerm = Math.max(totals.highestTerm, result.highestTerm);
    totals.commits += result.commits;
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
    ['simulated events', totals.events.toLocaleString('en-US')],
    ['wall time', `${seconds.toFixed(1)} s`],
    ['events per second', Math.round(totals.events / seconds).toLocaleString('en-US')],
    ['elections (terms with a leader)', totals.elections.toLocaleString('en-US')],
    ['highest term', String(totals.highestTerm)],
    ['commits (entries)', totals.commits.toLocaleString('en-US')],
    ['violations', String(totals.violations)],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  console.log(`\n| ${'measure'.padEnd(width)} | value |\n| ${'-'.repeat(width)} | ----- |`);
  for (const [name, value] of rows) console.log(`| ${name.padEnd(width)} | ${value} |`);

  const first = failures[0];
  if (first?.violation !== undefined) {
    const schedule = scheduleFor(first.seed, options);
    const shrunk = shrinkSchedule(schedule, first.seed, first.violation.invariant, options);
    console.log(`\nVIOLATION at seed ${first.seed}: ${first.violation.invariant}: ${first.violation.message}`);
    console.log(`shrunk trace (${shrunk.length} of ${schedule.length} steps; replay the whole seed with --seed ${first.seed} --trace):`);
    runSchedule(shrunk, first.seed, { ...options, trace: (line) => console.log(`  ${line}`) });
    console.log(`shrunk schedule as data: ${JSON.stringify(shrunk)}`);
    if (failures.length > 1) console.log(`other failing seeds: ${failures.slice(1, 20).map((f) => f.seed).join(', ')}${failures.length > 20 ? ', …' : ''}`);
    return 1;
  }
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 2;
}
