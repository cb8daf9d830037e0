/**
 * `npm run simulate -- --seeds 10000 --servers 5`: runs seeded fault schedules and checks
 * every invariant; `--seed N` replays one seed, `--trace` prints its steps, `--weights` and
 * `--max-entries`/`--max-inflight` set the fault mix and message limits, compaction is on
 * unless `--no-compaction` (`--max-log-entries`, `--trailing-log-entries` and
 * `--max-chunk-bytes` replace the bounds drawn from each seed), `--help` prints
 * the usage. On a violation, or a run that throws (reported as `noException`), it prints
 * the seed, the invariant, a shrunk trace and a `visualize: http://127.0.0.1:4173/#trace=...` line
 * (`--visualizer-url BASE` changes the base), and exits with status 1; a bad command line
 * exits with status 2.
 */
import { UsageError } from './cli-options';
import { runSimulateCli } from './cli-run';

try {
  process.exitCode = runSimulateCli(process.argv.slice(2), {
    log: (line) => console.log(line),
    progress: (text) => process.stderr.write(text),
    interactive: process.stderr.isTTY === true,
  });
} catch (error) {
  if (!(error instanceof UsageError)) throw error; // a bug of the CLI itself: let Node print the stack
  console.error(error.message);
  process.exitCode = 2;
}
