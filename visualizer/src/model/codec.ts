/**
 * The recording codec: a {@link Recording} as URL-hash-safe text, `v1.<base64url of compact
 * JSON>`, and back, with every field checked. Pure TypeScript (no Node `Buffer`): runs in
 * Node 20 and in browsers.
 */
import { fromBase64Url as decodeBase64Url, toBase64Url } from '../../../lib/simulation/base64url';
import type { Action, Chaos, RecordedAction, Recording, RunOptions } from './types';

/** The prefix of every encoded recording of this format. */
export const RECORDING_VERSION = 'v1';

/** Smallest cluster the visualizer runs. */
export const MIN_SERVERS = 3;
/** Largest cluster the visualizer runs. */
export const MAX_SERVERS = 7;
/** Largest `maxLogEntries` accepted (0: no compaction). */
export const MAX_LOG_ENTRIES_OPTION = 100_000;
/** Largest delivery delay accepted, virtual ms. */
export const MAX_LATENCY = 10_000;
/** Largest step count accepted in a recording. */
export const MAX_STEP = 100_000_000;

/** Bad recording text, options or action; `reason` says what is wrong, in words. */
export class RecordingError extends Error {
  /** What is wrong with the input. */
  readonly reason: string;

  /** An error for `reason`. */
  constructor(reason: string) {
    super(`Bad recording: ${reason}`);
    this.name = 'RecordingError';
    this.reason = reason;
  }
}

/** Base64url of the recording's JSON: the same code as a simulator trace's URL. */
export { toBase64Url };

/**
 * Base64url text (no padding) as bytes.
 * @throws {@link RecordingError} on a character outside the alphabet or an impossible length.
 */
export function fromBase64Url(text: string): Uint8Array {
  try {
    return decodeBase64Url(text);
  } catch (error) {
    throw new RecordingError(error instanceof Error ? error.message : String(error));
  }
}

/** An action as a compact array: a one-letter code, then its fields. */
type CompactAction = (string | number | number[][])[];

function compactAction(action: Action): CompactAction {
  switch (action.kind) {
    case 'crash':
      return ['c', action.server];
    case 'restart':
      return ['r', action.server];
    case 'timeout':
      return ['t', action.server];
    case 'propose':
      return ['p', action.server];
    case 'drop':
      return ['d', action.message];
    case 'cut':
      return ['x', action.from, action.to];
    case 'restore':
      return ['o', action.from, action.to];
    case 'partition':
      return ['P', action.groups.map((group) => [...group])];
    case 'heal':
      return ['h'];
    case 'chaos':
      return ['C', action.chaos.loss, action.chaos.minLatency, action.chaos.maxLatency];
    case 'autopilot':
      return ['a', action.on ? 1 : 0];
  }
}

/** Encodes `recording` as `v1.<base64url of compact JSON>`, safe in a URL hash. */
export function encodeRecording(recording: Recording): string {
  const { options: o } = recording;
  const json = JSON.stringify({
    o: [o.servers, o.seed, o.preVote ? 1 : 0, o.checkQuorum ? 1 : 0, o.maxLogEntries],
    a: recording.actions.map(({ step, action }) => [step, ...compactAction(action)]),
    at: recording.at,
  });
  return `${RECORDING_VERSION}.${toBase64Url(new TextEncoder().encode(json))}`;
}

function isInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

/**
 * Why `options` are not valid run options, or `undefined` when they are: servers 3..7, seed a
 * safe integer, booleans, maxLogEntries 0..{@link MAX_LOG_ENTRIES_OPTION}.
 */
export function checkOptions(options: RunOptions): string | undefined {
  if (!isInt(options.servers) || options.servers < MIN_SERVERS || options.servers > MAX_SERVERS) return `servers must be an integer in ${MIN_SERVERS}..${MAX_SERVERS}, got ${String(options.servers)}`;
  if (!isInt(options.seed)) return `seed must be a safe integer, got ${String(options.seed)}`;
  if (typeof options.preVote !== 'boolean') return 'preVote must be a boolean';
  if (typeof options.checkQuorum !== 'boolean') return 'checkQuorum must be a boolean';
  if (!isInt(options.maxLogEntries) || options.maxLogEntries < 0 || options.maxLogEntries > MAX_LOG_ENTRIES_OPTION) return `maxLogEntries must be an integer in 0..${MAX_LOG_ENTRIES_OPTION}, got ${String(options.maxLogEntries)}`;
  return undefined;
}

/** Why `chaos` is not valid, or `undefined`: loss in [0, 1], 0 <= minLatency <= maxLatency <= {@link MAX_LATENCY}. */
export function checkChaos(chaos: Chaos): string | undefined {
  const { loss, minLatency, maxLatency } = chaos;
  if (typeof loss !== 'number' || !(loss >= 0 && loss <= 1)) return `loss must be a number in [0, 1], got ${String(loss)}`;
  if (typeof minLatency !== 'number' || !(minLatency >= 0 && minLatency <= MAX_LATENCY)) return `minLatency must be a number in [0, ${MAX_LATENCY}], got ${String(minLatency)}`;
  if (typeof maxLatency !== 'number' || !(maxLatency >= minLatency && maxLatency <= MAX_LATENCY)) return `maxLatency must be a number in [minLatency, ${MAX_LATENCY}], got ${String(maxLatency)}`;
  return undefined;
}

/** Why `action` is not a valid action for a cluster of `servers`, or `undefined` when it is. */
export function checkAction(action: Action, servers: number): string | undefined {
  const server = (id: unknown, what: string): string | undefined => (isInt(id) && id >= 0 && id < servers ? undefined : `${what} must be a server id in 0..${servers - 1}, got ${String(id)}`);
  if (typeof action !== 'object' || action === null) return 'an action must be an object';
  switch (action.kind) {
    case 'crash':
    case 'restart':
    case 'timeout':
    case 'propose':
      return server(action.server, `${action.kind}'s server`);
    case 'drop':
      return isInt(action.message) && action.message > 0 ? undefined : `drop's message must be a positive integer, got ${String(action.message)}`;
    case 'cut':
    case 'restore': {
      const bad = server(action.from, `${action.kind}'s from`) ?? server(action.to, `${action.kind}'s to`);
      if (bad !== undefined) return bad;
      return action.from === action.to ? `${action.kind} needs two different servers` : undefined;
    }
    case 'partition': {
      if (!Array.isArray(action.groups)) return 'partition needs an array of groups';
      const seen = new Set<number>();
      for (const group of action.groups) {
        if (!Array.isArray(group)) return 'each group of a partition must be an array of server ids';
        for (const id of group as unknown[]) {
          const bad = server(id, 'a partition member');
          if (bad !== undefined) return bad;
          if (seen.has(id as number)) return `server ${String(id)} is in two groups of the partition`;
          seen.add(id as number);
        }
      }
      return undefined;
    }
    case 'heal':
      return undefined;
    case 'chaos':
      return typeof action.chaos === 'object' && action.chaos !== null ? checkChaos(action.chaos) : 'chaos needs its settings';
    case 'autopilot':
      return typeof action.on === 'boolean' ? undefined : 'autopilot needs on: true or false';
    default:
      return `unknown action kind ${JSON.stringify((action as { kind?: unknown }).kind)}`;
  }
}

function expandAction(item: unknown[], servers: number, position: number): RecordedAction {
  const [step, code, ...args] = item;
  if (!isInt(step) || step < 0 || step > MAX_STEP) throw new RecordingError(`action ${position}: step must be an integer in 0..${MAX_STEP}, got ${String(step)}`);
  const count = (n: number): void => {
    if (args.length !== n) throw new RecordingError(`action ${position} (${String(code)}) needs ${n} field(s), got ${args.length}`);
  };
  let action: Action;
  switch (code) {
    case 'c':
    case 'r':
    case 't':
    case 'p':
      count(1);
      action = { kind: ({ c: 'crash', r: 'restart', t: 'timeout', p: 'propose' } as const)[code], server: args[0] as number };
      break;
    case 'd':
      count(1);
      action = { kind: 'drop', message: args[0] as number };
      break;
    case 'x':
    case 'o':
      count(2);
      action = { kind: code === 'x' ? 'cut' : 'restore', from: args[0] as number, to: args[1] as number };
      break;
    case 'P':
      count(1);
      action = { kind: 'partition', groups: args[0] as number[][] };
      break;
    case 'h':
      count(0);
      action = { kind: 'heal' };
      break;
    case 'C':
      count(3);
      action = { kind: 'chaos', chaos: { loss: args[0] as number, minLatency: args[1] as number, maxLatency: args[2] as number } };
      break;
    case 'a':
      count(1);
      if (args[0] !== 0 && args[0] !== 1) throw new RecordingError(`action ${position}: autopilot must be 0 or 1`);
      action = { kind: 'autopilot', on: args[0] === 1 };
      break;
    default:
      throw new RecordingError(`action ${position}: unknown action code ${JSON.stringify(code)}`);
  }
  const bad = checkAction(action, servers);
  if (bad !== undefined) throw new RecordingError(`action ${position}: ${bad}`);
  return { step, action };
}

/**
 * Decodes text made by {@link encodeRecording} (a leading `#` or `run=` is accepted too).
 * @throws {@link RecordingError} naming the reason: bad version, bad base64url or JSON,
 * options out of range, or a bad action.
 */
export function decodeRecording(text: string): Recording {
  if (typeof text !== 'string') throw new RecordingError('expected text');
  let body = text.trim();
  if (body.startsWith('#')) body = body.slice(1);
  if (body.startsWith('run=')) body = body.slice(4);
  const dot = body.indexOf('.');
  if (dot < 0) throw new RecordingError(`no version prefix (expected "${RECORDING_VERSION}.")`);
  const version = body.slice(0, dot);
  if (version !== RECORDING_VERSION) throw new RecordingError(`unsupported version ${JSON.stringify(version)} (expected "${RECORDING_VERSION}")`);
  const bytes = fromBase64Url(body.slice(dot + 1));
  let data: unknown;
  try {
    data = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new RecordingError(`not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new RecordingError('the JSON is not an object');
  const { o, a, at } = data as { o?: unknown; a?: unknown; at?: unknown };
  if (!Array.isArray(o) || o.length !== 5) throw new RecordingError('options must be an array of 5 values');
  const [servers, seed, preVote, checkQuorum, maxLogEntries] = o as unknown[];
  const flag = (value: unknown, name: string): boolean => {
    if (value !== 0 && value !== 1) throw new RecordingError(`${name} must be 0 or 1, got ${JSON.stringify(value)}`);
    return value === 1;
  };
  const options: RunOptions = { servers: servers as number, seed: seed as number, preVote: flag(preVote, 'preVote'), checkQuorum: flag(checkQuorum, 'checkQuorum'), maxLogEntries: maxLogEntries as number };
  const bad = checkOptions(options);
  if (bad !== undefined) throw new RecordingError(bad);
  if (!Array.isArray(a)) throw new RecordingError('actions must be an array');
  const actions: RecordedAction[] = [];
  a.forEach((item: unknown, position) => {
    if (!Array.isArray(item)) throw new RecordingError(`action ${position} is not an array`);
    const recorded = expandAction(item, options.servers, position);
    const previous = actions[actions.length - 1];
    if (previous !== undefined && recorded.step < previous.step) throw new RecordingError(`action ${position}: steps must not go down (${recorded.step} after ${previous.step})`);
    actions.push(recorded);
  });
  if (!isInt(at) || at < 0 || at > MAX_STEP) throw new RecordingError(`at must be an integer in 0..${MAX_STEP}, got ${String(at)}`);
  return { options, actions, at };
}
