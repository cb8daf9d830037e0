/**
 * A simulator trace for the browser test: the simulate command line (`runSimulateCli`, the
 * CLI minus the process) run over a planted fault, the forgetful store of
 * spec/simulation/planted.spec.ts (a restarted server forgets the vote of its current term
 * and votes twice: two leaders of one term). The CLI shrinks the failing schedule and prints
 * `visualize: <base>#trace=...`; this returns that line's hash.
 *
 * The planted store cannot travel in a URL (a trace carries the seed, plain options and the
 * schedule), so the visualizer replays the shrunk schedule over honest stores: the same
 * steps, without the double vote.
 */
import { ForgetfulState } from '../../simulation/forgetful-state';
import { runSimulateCli } from '../../../lib/simulation/cli-run';

/** What the CLI printed, and the `#trace=...` hash of its `visualize:` line. */
export interface PlantedTrace {
  readonly hash: string;
  readonly lines: readonly string[];
}

/**
 * Runs the simulate CLI over the forgetful store (3 servers, schedules rich in restarts and
 * timeouts, as planted.spec.ts draws them) until a seed fails.
 * @throws when no seed fails or no `visualize:` line is printed.
 */
export function plantedTrace(): PlantedTrace {
  const lines: string[] = [];
  const status = runSimulateCli(
    [
      '--seeds', '100', '--servers', '3', '--length', '300', '--no-compaction', '--no-extensions',
      '--weights', 'restart=10,timeout=20,advance=2,quiet=0,heartbeat=0,propose=2',
      '--visualizer-url', 'http://127.0.0.1:4173/',
    ],
    { log: (line) => lines.push(line), progress: () => undefined, interactive: false },
    {
      persistentState: (id, checker) => new ForgetfulState<string>(id, checker),
      onRestart: (_id, store) => (store as ForgetfulState<string>).forgetVote(),
    },
  );
  const line = lines.find((l) => l.startsWith('visualize: '));
  if (status !== 1 || line === undefined) {
    throw new Error(`the simulate CLI over a forgetful store printed no visualize: line (status ${status}):\n${lines.join('\n')}`);
  }
  return { hash: new URL(line.slice('visualize: '.length)).hash, lines };
}
