import { parseArgs } from 'node:util';
import { DEFAULT_FAULT_WEIGHTS, type FaultWeights } from './schedule';
import type { CompactionBounds, MessageLimits } from './simulator';

/** What `npm run simulate` was asked to do. */
export interface CliOptions {
  /** Print the usage and stop. */
  readonly help: boolean;
  /** How many seeds to run. */
  readonly seeds: number;
  /** The first seed. */
  readonly first: number;
  /** Servers per cluster. */
  readonly servers: number;
  /** Steps per schedule. */
  readonly length: number;
  /** Print every step of every run. */
  readonly trace: boolean;
  /** Fault weights that replace the defaults. */
  readonly weights: Partial<FaultWeights>;
  /** Message limits that replace the ones drawn from each seed. */
  readonly limits: Partial<MessageLimits>;
  /** Whether the servers compact their logs (`--no-compaction` turns it off). */
  readonly compaction: boolean;
  /** Compaction bounds that replace the ones drawn from each seed. */
  readonly bounds: Partial<CompactionBounds>;
  /**
   * The extensions of issue 10 (`--no-extensions` turns them off): pre-vote, check-quorum and
   * read mode drawn per seed, transfer, read and client steps, the client workload checked for
   * linearizability.
   */
  readonly extensions: boolean;
  /** The Raft options forced by `--pre-vote`, `--check-quorum`, `--read-mode` (the others are drawn per seed). */
  readonly raft: { readonly preVote?: boolean; readonly checkQuorum?: boolean; readonly readMode?: 'safe' | 'lease' };
  /** Clients of the workload (`--clients`; default 3, 0 turns the workload off). */
  readonly clients: number;
  /** The visualizer's address the `visualize:` line of a violation starts with (`--visualizer-url`; default {@link DEFAULT_VISUALIZER_URL}). */
  readonly visualizerUrl?: string;
}

/** Where `npm run visualize` serves the visualizer by default: the base of the `visualize:` line a violation prints. */
export const DEFAULT_VISUALIZER_URL = 'http://127.0.0.1:4173/';

/** The usage text printed by `--help` and after a bad argument. */
export const USAGE = [
  'usage: simulate [--seeds N] [--seed N] [--start N] [--servers N] [--length N] [--trace]',
  '                [--weights KIND=W,...] [--max-entries N] [--max-inflight N]',
  '                [--no-compaction] [--max-log-entries N] [--trailing-log-entries N] [--max-chunk-bytes N]',
  '                [--no-extensions] [--pre-vote on|off] [--check-quorum on|off] [--read-mode safe|lease] [--clients N]',
  '                [--visualizer-url BASE] [--help]',
  '',
  '  --seeds N          run N seeds (default 1000)',
  '  --start N          first seed (default 1)',
  '  --seed N           run seed N only (same as --start N --seeds 1)',
  '  --servers N        servers per cluster (default 5)',
  '  --length N         steps per schedule (default 1000)',
  '  --trace            print every step',
  '  --weights K=W,...  relative weights of kinds of step, replacing the defaults; repeatable',
  `                     kinds: ${Object.keys(DEFAULT_FAULT_WEIGHTS).join(', ')}`,
  '  --max-entries N    entries per AppendEntries (default: drawn from each seed: 1, 2, 3 or 100)',
  '  --max-inflight N   AppendEntries in flight per follower (default: drawn from each seed: 1, 2, 4 or 64)',
  '  --compaction       servers compact their logs and send snapshots (the default); schedules also',
  '                     draw compact and crashInTransfer steps',
  '  --no-compaction    servers keep their whole logs (the schedules drawn before compaction existed)',
  '  --max-log-entries N       compaction bound (default: drawn from each seed, 3..40, small ones more often)',
  '  --trailing-log-entries N  entries kept after a compaction (default: drawn, 0 for a third of the seeds, else 0..max-log-entries - 1)',
  '  --max-chunk-bytes N       InstallSnapshot bytes per message (default: drawn from each seed, 1..16, or 1 MiB for a quarter of them)',
  '  --extensions       pre-vote, check-quorum, leadership transfers, reads and the client workload (the',
  '                     default): preVote and checkQuorum each on for half the seeds, readMode lease for half',
  '                     of those with checkQuorum; schedules also draw transfer, read and client steps, and',
  "                     each seed's client history is checked for linearizability (invariant 'linearizable')",
  '  --no-extensions    none of these (the schedules and results drawn before them)',
  '  --pre-vote on|off  force preVote on or off on every seed (default: drawn from each seed)',
  '  --check-quorum on|off  force checkQuorum (default: drawn; --read-mode lease turns it on)',
  '  --read-mode safe|lease  force readMode (default: drawn, lease only with checkQuorum; lease needs checkQuorum)',
  '  --clients N        concurrent clients of the workload, at most one operation each (default 3; 0: no workload)',
  '  --visualizer-url BASE  where the visualizer runs: a violation prints BASE#trace=... to watch the shrunk',
  `                     schedule step by step (default ${DEFAULT_VISUALIZER_URL}, where npm run visualize serves it)`,
  '  --help, -h         print this and exit',
].join('\n');

/** A command-line mistake: the CLI prints it with the usage and exits with status 2. */
export class UsageError extends Error {
  /** Creates the error; its message ends with the usage text. */
  constructor(problem: string) {
    super(`${problem}\n${USAGE}`);
    this.name = 'UsageError';
  }
}

/**
 * Parses the simulator's command line with `node:util` `parseArgs` (strict: unknown flags
 * and stray arguments are refused).
 * @throws {@link UsageError} on any mistake, with a message that names it.
 */
export function parseCliOptions(argv: readonly string[]): CliOptions {
  let parsed: ReturnType<typeof parseWith>;
  try {
    parsed = parseWith(argv);
  } catch (error) {
    throw new UsageError(explain(error));
  }
  const { values } = parsed;
  const number = (flag: string, text: string | undefined, fallback: number, min: number): number => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (text.trim() === '' || !Number.isSafeInteger(value) || value < 0) throw new UsageError(`--${flag} takes a whole number, got ${text}`);
    if (value < min) throw new UsageError(flag === 'seeds' ? '--seeds must be at least 1: a run that checks nothing proves nothing' : `--${flag} must be at least ${min}`);
    return value;
  };
  const single = values.seed !== undefined;
  const limits: { -readonly [K in keyof MessageLimits]?: number } = {};
  if (values['max-entries'] !== undefined) limits.maxEntriesPerMessage = number('max-entries', values['max-entries'], 0, 1);
  if (values['max-inflight'] !== undefined) limits.maxInflightMessages = number('max-inflight', values['max-inflight'], 0, 1);
  if (values.compaction === true && values['no-compaction'] === true) throw new UsageError('--compaction and --no-compaction contradict each other');
  const compaction = values['no-compaction'] !== true;
  const bounds: { -readonly [K in keyof CompactionBounds]?: number } = {};
  if (values['max-log-entries'] !== undefined) bounds.maxLogEntries = number('max-log-entries', values['max-log-entries'], 0, 1);
  if (values['trailing-log-entries'] !== undefined) bounds.trailingLogEntries = number('trailing-log-entries', values['trailing-log-entries'], 0, 0);
  if (values['max-chunk-bytes'] !== undefined) bounds.maxSnapshotChunkBytes = number('max-chunk-bytes', values['max-chunk-bytes'], 0, 1);
  if (!compaction && Object.keys(bounds).length > 0) throw new UsageError('--no-compaction cannot take compaction bounds');
  if (bounds.maxLogEntries !== undefined && bounds.trailingLogEntries !== undefined && bounds.trailingLogEntries >= bounds.maxLogEntries) {
    throw new UsageError('--trailing-log-entries must be below --max-log-entries');
  }
  if (values.extensions === true && values['no-extensions'] === true) throw new UsageError('--extensions and --no-extensions contradict each other');
  const extensions = values['no-extensions'] !== true;
  const onOff = (flag: string, text: string | undefined): boolean | undefined => {
    if (text === undefined) return undefined;
    if (text === 'on' || text === 'true') return true;
    if (text === 'off' || text === 'false') return false;
    throw new UsageError(`--${flag} takes on or off, got ${text}`);
  };
  const raft: { preVote?: boolean; checkQuorum?: boolean; readMode?: 'safe' | 'lease' } = {};
  const preVote = onOff('pre-vote', values['pre-vote']);
  const checkQuorum = onOff('check-quorum', values['check-quorum']);
  if (preVote !== undefined) raft.preVote = preVote;
  if (checkQuorum !== undefined) raft.checkQuorum = checkQuorum;
  const readMode = values['read-mode'];
  if (readMode !== undefined) {
    if (readMode !== 'safe' && readMode !== 'lease') throw new UsageError(`--read-mode takes safe or lease, got ${readMode}`);
    if (readMode === 'lease' && checkQuorum === false) throw new UsageError('--read-mode lease needs check-quorum: it cannot go with --check-quorum off');
    raft.readMode = readMode;
  }
  const clients = number('clients', values.clients, 3, 0);
  if (!extensions && (Object.keys(raft).length > 0 || values.clients !== undefined)) {
    throw new UsageError('--no-extensions cannot take --pre-vote, --check-quorum, --read-mode or --clients');
  }
  return {
    help: values.help === true,
    seeds: single ? 1 : number('seeds', values.seeds, 1000, 1),
    first: single ? number('seed', values.seed, 1, 0) : number('start', values.start, 1, 0),
    servers: number('servers', values.servers, 5, 1),
    length: number('length', values.length, 1000, 0),
    trace: values.trace === true,
    weights: parseWeights(values.weights ?? []),
    limits,
    compaction,
    bounds,
    extensions,
    raft,
    clients,
    ...(values['visualizer-url'] === undefined ? {} : { visualizerUrl: visualizerUrl(values['visualizer-url']) }),
  };
}

/** Checks a `--visualizer-url` value: an http(s) address. */
function visualizerUrl(text: string): string {
  if (!/^https?:\/\/\S+$/.test(text)) throw new UsageError(`--visualizer-url takes an http:// or https:// address, got ${text}`);
  return text;
}

function parseWith(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      help: { type: 'boolean', short: 'h' },
      seeds: { type: 'string' },
      seed: { type: 'string' },
      start: { type: 'string' },
      servers: { type: 'string' },
      length: { type: 'string' },
      trace: { type: 'boolean' },
      weights: { type: 'string', multiple: true },
      'max-entries': { type: 'string' },
      'max-inflight': { type: 'string' },
      compaction: { type: 'boolean' },
      'no-compaction': { type: 'boolean' },
      'max-log-entries': { type: 'string' },
      'trailing-log-entries': { type: 'string' },
      'max-chunk-bytes': { type: 'string' },
      extensions: { type: 'boolean' },
      'no-extensions': { type: 'boolean' },
      'pre-vote': { type: 'string' },
      'check-quorum': { type: 'string' },
      'read-mode': { type: 'string' },
      clients: { type: 'string' },
      'visualizer-url': { type: 'string' },
    },
  });
}

/** `parseArgs`'s complaint, in this CLI's words. */
function explain(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const text = (error as { message?: unknown }).message;
  const message = typeof text === 'string' ? text : String(error);
  const quoted = /'([^']+)'/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${quoted ?? message}`;
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `unexpected argument ${quoted ?? message}`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && quoted !== undefined) {
    const flag = quoted.split(' ')[0] as string;
    return /ambiguous/.test(message) ? `${flag} needs a value (write ${flag}=-1 for a value that starts with a dash)` : `${flag} needs a value`;
  }
  return message;
}

/** `kind=weight` pairs, comma-separated, from every `--weights` flag. */
function parseWeights(flags: readonly string[]): Partial<FaultWeights> {
  const weights: { -readonly [K in keyof FaultWeights]?: number } = {};
  for (const pair of flags.flatMap((flag) => flag.split(','))) {
    const match = /^\s*(\w+)\s*=\s*(\S+)\s*$/.exec(pair);
    if (match === null) throw new UsageError(`--weights takes KIND=WEIGHT pairs, got ${JSON.stringify(pair)}`);
    const [, kind, text] = match as unknown as [string, string, string];
    if (!Object.prototype.hasOwnProperty.call(DEFAULT_FAULT_WEIGHTS, kind)) throw new UsageError(`--weights: unknown kind of step ${kind}`);
    const weight = Number(text);
    if (!Number.isFinite(weight) || weight < 0) throw new UsageError(`--weights: the weight of ${kind} must be a number >= 0, got ${text}`);
    weights[kind as keyof FaultWeights] = weight;
  }
  const total = Object.entries({ ...DEFAULT_FAULT_WEIGHTS, ...weights }).reduce((sum, [, weight]) => sum + weight, 0);
  if (total <= 0) throw new UsageError('--weights: at least one kind of step needs a weight above 0');
  return weights;
}
