/**
 * A simulator trace as URL-hash-safe text: the seed, the options that fix the run, and the
 * schedule. `encodeTrace` gives `t1.<base64url of compact JSON>`; the visualizer opens it
 * with `#trace=<text>` and replays the schedule step by step. Browser-safe: no `Buffer`,
 * no Node.js module (base64url from ./base64url.ts, over UTF-8 from `TextEncoder`).
 */
import { fromBase64Url, toBase64Url } from './base64url';
import type { CompactionBounds, MessageLimits } from './run-options';
import type { SimulationEvent } from './schedule';

/** The prefix (format version) of an encoded trace. */
export const TRACE_PREFIX = 't1.';

/**
 * The {@link SimulationOptions} a trace carries: the plain-data ones that, with the seed and
 * the schedule, fix the run (functions such as a planted store cannot travel in a URL).
 */
export interface TraceOptions {
  /** Number of servers (default 5). */
  readonly servers?: number;
  /** See {@link SimulationOptions.extensions}. */
  readonly extensions?: boolean;
  /** See {@link SimulationOptions.preVote}. */
  readonly preVote?: boolean;
  /** See {@link SimulationOptions.checkQuorum}. */
  readonly checkQuorum?: boolean;
  /** See {@link SimulationOptions.readMode}. */
  readonly readMode?: 'safe' | 'lease';
  /** See {@link SimulationOptions.clients}. */
  readonly clients?: number;
  /** See {@link SimulationOptions.compaction}. */
  readonly compaction?: boolean | Partial<CompactionBounds>;
  /** See {@link SimulationOptions.limits}. */
  readonly limits?: Partial<MessageLimits>;
  /** See {@link SimulationOptions.livenessBoundMs}. */
  readonly livenessBoundMs?: number;
  /** See {@link SimulationOptions.checkLiveness}. */
  readonly checkLiveness?: boolean;
}

/** A simulator trace: what {@link encodeTrace} encodes and {@link decodeTrace} gives back. */
export interface Trace {
  /** The cluster's seed. */
  readonly seed: number;
  /** The options of the run. */
  readonly options: TraceOptions;
  /** The schedule, step by step. */
  readonly schedule: readonly SimulationEvent[];
  /** When the schedule was shrunk: the length of the schedule it was shrunk from. */
  readonly shrunkFrom?: number;
  /** The step the view was at when shared (the visualizer opens the trace there); absent: the start. */
  readonly at?: number;
}

/** Why {@link decodeTrace} refused its input. */
export type TraceErrorReason = 'prefix' | 'base64' | 'json' | 'shape';

/** Thrown by {@link decodeTrace} on bad input, with the {@link TraceErrorReason}. */
export class TraceError extends Error {
  /** What was wrong: the version prefix, the base64url text, the JSON, or its shape. */
  readonly reason: TraceErrorReason;
  /** Creates the error. */
  constructor(reason: TraceErrorReason, message: string) {
    super(`bad trace (${reason}): ${message}`);
    this.name = 'TraceError';
    this.reason = reason;
  }
}

/** Encodes a trace as `t1.<base64url of its compact JSON>` (URL-hash safe: letters, digits, `-`, `_`, `.`). */
export function encodeTrace(trace: Trace): string {
  const data: Record<string, unknown> = { seed: trace.seed, options: trace.options, schedule: trace.schedule };
  if (trace.shrunkFrom !== undefined) data['shrunkFrom'] = trace.shrunkFrom;
  if (trace.at !== undefined) data['at'] = trace.at;
  return TRACE_PREFIX + toBase64Url(new TextEncoder().encode(JSON.stringify(data)));
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0;

/** The shape check of each known step kind: the number fields it must have. */
const STEP_NUMBERS: Record<SimulationEvent['type'], readonly string[]> = {
  advance: ['ms'],
  deliver: ['pick'],
  drop: ['pick'],
  duplicate: ['pick'],
  hold: ['pick', 'elections'],
  propose: ['value'],
  timeout: ['server'],
  heartbeat: ['server'],
  crash: ['server'],
  restart: ['server'],
  partition: [],
  heal: [],
  isolateLeader: [],
  reconnectAll: [],
  cutLink: ['from', 'to'],
  restoreLinks: [],
  quiet: ['ms'],
  compact: ['server'],
  crashInTransfer: ['pick'],
  transfer: ['pick'],
  read: [],
  client: ['client', 'key'],
};

function checkOptions(value: unknown): TraceOptions {
  if (!isObject(value)) throw new TraceError('shape', 'options is not an object');
  const servers = value['servers'];
  if (servers !== undefined && (!isCount(servers) || servers < 1 || servers > 64)) throw new TraceError('shape', `servers ${JSON.stringify(servers)} is not a number of servers`);
  for (const name of ['extensions', 'preVote', 'checkQuorum', 'checkLiveness'] as const) {
    if (value[name] !== undefined && typeof value[name] !== 'boolean') throw new TraceError('shape', `options.${name} is not a boolean`);
  }
  const readMode = value['readMode'];
  if (readMode !== undefined && readMode !== 'safe' && readMode !== 'lease') throw new TraceError('shape', `readMode ${JSON.stringify(readMode)} is neither safe nor lease`);
  for (const name of ['clients', 'livenessBoundMs'] as const) {
    if (value[name] !== undefined && !isCount(value[name])) throw new TraceError('shape', `options.${name} is not a count`);
  }
  const compaction = value['compaction'];
  if (compaction !== undefined && typeof compaction !== 'boolean') {
    if (!isObject(compaction) || Object.values(compaction).some((bound) => !isCount(bound))) throw new TraceError('shape', 'options.compaction is neither a boolean nor bounds');
  }
  const limits = value['limits'];
  if (limits !== undefined && (!isObject(limits) || Object.values(limits).some((limit) => !isCount(limit)))) throw new TraceError('shape', 'options.limits is not message limits');
  return value as TraceOptions;
}

function checkStep(value: unknown, k: number): SimulationEvent {
  if (!isObject(value) || typeof value['type'] !== 'string') throw new TraceError('shape', `step ${k + 1} has no type`);
  const numbers = STEP_NUMBERS[value['type'] as SimulationEvent['type']] as readonly string[] | undefined;
  if (numbers === undefined || !Object.prototype.hasOwnProperty.call(STEP_NUMBERS, value['type'])) throw new TraceError('shape', `step ${k + 1} has an unknown type ${JSON.stringify(value['type'])}`);
  for (const name of numbers) {
    if (typeof value[name] !== 'number' || !Number.isFinite(value[name])) throw new TraceError('shape', `step ${k + 1} (${value['type']}) has no number ${name}`);
  }
  if (value['type'] === 'partition') {
    const groups = value['groups'];
    if (!Array.isArray(groups) || groups.some((group) => !Array.isArray(group) || group.some((id) => !isCount(id)))) throw new TraceError('shape', `step ${k + 1} (partition) has no groups`);
  }
  return value as unknown as SimulationEvent;
}

/**
 * Decodes {@link encodeTrace}'s text (a leading `#` or `trace=` is allowed).
 * @throws {@link TraceError} with the reason when the text is not a trace.
 */
export function decodeTrace(text: string): Trace {
  let body = text.trim();
  if (body.startsWith('#')) body = body.slice(1);
  if (body.startsWith('trace=')) body = body.slice('trace='.length);
  if (!body.startsWith(TRACE_PREFIX)) throw new TraceError('prefix', `expected text starting with ${JSON.stringify(TRACE_PREFIX)}`);
  let bytes: Uint8Array;
  try {
    bytes = fromBase64Url(body.slice(TRACE_PREFIX.length));
  } catch (error) {
    throw new TraceError('base64', error instanceof Error ? error.message : String(error));
  }
  let json: string;
  try {
    json = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new TraceError('base64', 'the decoded bytes are not UTF-8 text');
  }
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (error) {
    throw new TraceError('json', error instanceof Error ? error.message : String(error));
  }
  if (!isObject(data)) throw new TraceError('shape', 'not an object');
  const seed = data['seed'];
  if (typeof seed !== 'number' || !Number.isInteger(seed)) throw new TraceError('shape', 'seed is not an integer');
  const options = checkOptions(data['options'] ?? {});
  const schedule = data['schedule'];
  if (!Array.isArray(schedule)) throw new TraceError('shape', 'schedule is not a list');
  const steps = schedule.map(checkStep);
  const shrunkFrom = data['shrunkFrom'];
  if (shrunkFrom !== undefined && !isCount(shrunkFrom)) throw new TraceError('shape', 'shrunkFrom is not a count');
  const at = data['at'];
  if (at !== undefined && !isCount(at)) throw new TraceError('shape', 'at is not a count');
  return { seed, options, schedule: steps, ...(shrunkFrom === undefined ? {} : { shrunkFrom }), ...(at === undefined ? {} : { at }) };
}

/** The trace options of a run's {@link SimulationOptions} (the plain-data ones; see {@link TraceOptions}). */
export function traceOptionsOf(options: TraceOptions): TraceOptions {
  const picked: Record<string, unknown> = {};
  for (const name of ['servers', 'extensions', 'preVote', 'checkQuorum', 'readMode', 'clients', 'compaction', 'limits', 'livenessBoundMs', 'checkLiveness'] as const) {
    const value = options[name];
    if (value !== undefined && !(typeof value === 'object' && Object.keys(value).length === 0)) picked[name] = value;
  }
  return picked as TraceOptions;
}
