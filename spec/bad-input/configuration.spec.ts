import { ConfigurationError, InMemoryPersistentState, RaftError, Server, type ServerOptions } from '../../lib';
import { thrown } from './harness';

const channel = (): void => undefined;

function build(overrides: Record<string, unknown>): Server<string> {
  const options = { id: 0, clusterSize: 3, messageChannel: channel, clock: () => 0, random: () => 0.5, ...overrides };
  return new Server<string>(options as unknown as ServerOptions<string>);
}

/** How an error message may show a value: strings quoted or bare, numbers as written, functions/objects by kind. */
function renderings(value: unknown): string[] {
  if (typeof value === 'string') return [JSON.stringify(value), value];
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' || value === undefined || value === null) return [String(value)];
  return [];
}

/** A persistent state missing one method. */
function stateWithout(method: string): unknown {
  const state = new InMemoryPersistentState<string>();
  const proxy: Record<string, unknown> = {
    get currentTerm() {
      return state.currentTerm;
    },
    get votedFor() {
      return state.votedFor;
    },
    get currentLogIndex() {
      return state.currentLogIndex;
    },
  };
  for (const name of ['advanceToTerm', 'incrementTerm', 'vote', 'getLogEntry', 'getLastLogEntry', 'appendToLog', 'truncateLog']) {
    if (name !== method) proxy[name] = (...args: never[]) => (state as unknown as Record<string, (...a: never[]) => unknown>)[name]?.(...args);
  }
  return proxy;
}

type Case = [name: string, overrides: Record<string, unknown>, option: string, value: unknown];

const cases: Case[] = [
  ['clusterSize 0', { clusterSize: 0 }, 'clusterSize', 0],
  ['clusterSize -1', { clusterSize: -1 }, 'clusterSize', -1],
  ['clusterSize 1.5', { clusterSize: 1.5 }, 'clusterSize', 1.5],
  ['clusterSize NaN', { clusterSize: Number.NaN }, 'clusterSize', Number.NaN],
  ['clusterSize Infinity', { clusterSize: Number.POSITIVE_INFINITY }, 'clusterSize', Number.POSITIVE_INFINITY],
  ["clusterSize '3' (a string)", { clusterSize: '3' }, 'clusterSize', '3'],
  ['clusterSize missing', { clusterSize: undefined }, 'clusterSize', undefined],
  ['id -1', { id: -1 }, 'id', -1],
  ['id equal to clusterSize', { id: 3 }, 'id', 3],
  ['id far outside the cluster', { id: 100 }, 'id', 100],
  ['id 0.5', { id: 0.5 }, 'id', 0.5],
  ['id NaN', { id: Number.NaN }, 'id', Number.NaN],
  ["id '0' (a string)", { id: '0' }, 'id', '0'],
  ['id missing', { id: undefined }, 'id', undefined],
  ['id 1 in a cluster of 1', { id: 1, clusterSize: 1 }, 'id', 1],
  ['heartbeatTimeout equal to electionTimeout', { electionTimeout: 100, heartbeatTimeout: 100 }, 'heartbeatTimeout', 100],
  ['heartbeatTimeout above electionTimeout', { electionTimeout: 100, heartbeatTimeout: 250 }, 'heartbeatTimeout', 250],
  ['default heartbeatTimeout (50) not below electionTimeout 50', { electionTimeout: 50 }, 'heartbeatTimeout', 50],
  ['heartbeatTimeout 0', { heartbeatTimeout: 0 }, 'heartbeatTimeout', 0],
  ['heartbeatTimeout -10', { heartbeatTimeout: -10 }, 'heartbeatTimeout', -10],
  ['heartbeatTimeout NaN', { heartbeatTimeout: Number.NaN }, 'heartbeatTimeout', Number.NaN],
  ['messageChannel missing', { messageChannel: undefined }, 'messageChannel', undefined],
  ["messageChannel 'send' (a string)", { messageChannel: 'send' }, 'messageChannel', 'send'],
  ['messageChannel an object', { messageChannel: {} }, 'messageChannel', {}],
  ['messageChannel null', { messageChannel: null }, 'messageChannel', null],
  ['clock a number', { clock: 42 }, 'clock', 42],
  ["clock 'now' (a string)", { clock: 'now' }, 'clock', 'now'],
  ['clock null', { clock: null }, 'clock', null],
  ['random a number', { random: 0.5 }, 'random', 0.5],
  ['random an object', { random: {} }, 'random', {}],
  ['electionTimeout 0', { electionTimeout: 0 }, 'electionTimeout', 0],
  ['electionTimeout -150', { electionTimeout: -150 }, 'electionTimeout', -150],
  ['electionTimeout NaN', { electionTimeout: Number.NaN }, 'electionTimeout', Number.NaN],
  ['electionTimeout Infinity', { electionTimeout: Number.POSITIVE_INFINITY }, 'electionTimeout', Number.POSITIVE_INFINITY],
  ["electionTimeout '150' (a string)", { electionTimeout: '150' }, 'electionTimeout', '150'],
  ['electionTimeoutRange -1', { electionTimeoutRange: -1 }, 'electionTimeoutRange', -1],
  ['electionTimeoutRange -0.001', { electionTimeoutRange: -0.001 }, 'electionTimeoutRange', -0.001],
  ['electionTimeoutRange NaN', { electionTimeoutRange: Number.NaN }, 'electionTimeoutRange', Number.NaN],
  ['electionTimeoutRange Infinity', { electionTimeoutRange: Number.POSITIVE_INFINITY }, 'electionTimeoutRange', Number.POSITIVE_INFINITY],
  ['maxEntriesPerMessage 0', { maxEntriesPerMessage: 0 }, 'maxEntriesPerMessage', 0],
  ['maxEntriesPerMessage -5', { maxEntriesPerMessage: -5 }, 'maxEntriesPerMessage', -5],
  ['maxEntriesPerMessage 2.5', { maxEntriesPerMessage: 2.5 }, 'maxEntriesPerMessage', 2.5],
  ['maxEntriesPerMessage NaN', { maxEntriesPerMessage: Number.NaN }, 'maxEntriesPerMessage', Number.NaN],
  ['maxEntriesPerMessage Infinity', { maxEntriesPerMessage: Number.POSITIVE_INFINITY }, 'maxEntriesPerMessage', Number.POSITIVE_INFINITY],
  ["maxEntriesPerMessage '100' (a string)", { maxEntriesPerMessage: '100' }, 'maxEntriesPerMessage', '100'],
  ['maxInflightMessages 0 (documented extra option)', { maxInflightMessages: 0 }, 'maxInflightMessages', 0],
  ['maxInflightMessages 1.5 (documented extra option)', { maxInflightMessages: 1.5 }, 'maxInflightMessages', 1.5],
  ['persistentState a number', { persistentState: 42 }, 'persistentState', 42],
  ["persistentState 'disk' (a string)", { persistentState: 'disk' }, 'persistentState', 'disk'],
  ['persistentState an empty object', { persistentState: {} }, 'persistentState', undefined],
];

const missingMethods = ['advanceToTerm', 'incrementTerm', 'vote', 'getLogEntry', 'getLastLogEntry', 'appendToLog', 'truncateLog'];

describe('Server constructor: ConfigurationError for every invalid option', () => {
  it.each(cases)('%s', (_name, overrides, option, value) => {
    const error = thrown(() => build(overrides));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error).toBeInstanceOf(RaftError);
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toContain(option);
    const shown = renderings(value);
    if (shown.length > 0) expect(shown.some((s) => message.includes(s))).toBe(true);
    expect((error as Error).name).toBe('ConfigurationError');
  });

  it.each(missingMethods)('persistentState without %s', (method) => {
    const error = thrown(() => build({ persistentState: stateWithout(method) }));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error).toBeInstanceOf(RaftError);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain('persistentState');
    expect((error as Error).message).toContain(method);
  });

  it.each(missingMethods)('persistentState whose %s is not a function', (method) => {
    const state = stateWithout(method) as Record<string, unknown>;
    state[method] = 'not a function';
    const error = thrown(() => build({ persistentState: state }));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain(method);
  });

  // IPersistentState's optional methods are used "when present": one that is present but is
  // not a function is an invalid store, and should be refused up front rather than failing
  // with a TypeError in the middle of a later election or AppendEntries.
  it.each(['sync', 'appendEntries'])('persistentState whose optional %s is present but not a function', (method) => {
    const state = stateWithout('none') as Record<string, unknown>;
    state[method] = 42;
    const error = thrown(() => {
      const server = build({ persistentState: state });
      // A follower storing entries uses both appendEntries (when present) and sync.
      server.processMessage({
        type: 'appendEntries',
        leaderTerm: 1,
        leaderId: 1,
        prevLogEntry: { index: 0, term: 0 },
        entries: [{ index: 1, term: 1, data: 'x' }],
        leaderCommitIndex: 0,
        replyChannel: () => undefined,
      });
    });
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain(method);
  });

  it.each<[string, unknown]>([
    ['undefined', undefined],
    ['null', null],
    ['a number', 3],
    ['a string', 'options'],
  ])('options that are %s', (_name, options) => {
    const error = thrown(() => new Server<string>(options as ServerOptions<string>));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error).toBeInstanceOf(RaftError);
  });

  it('ConfigurationError exposes the option and the value', () => {
    const error = thrown(() => build({ electionTimeout: 100, heartbeatTimeout: 120 }));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).option).toBe('heartbeatTimeout');
    expect((error as ConfigurationError).value).toBe(120);
    expect((error as ConfigurationError).message).toContain('electionTimeout');
    expect((error as RaftError).code).toEqual(expect.any(String));
  });

  describe('valid edge values are accepted', () => {
    it.each<[string, Record<string, unknown>]>([
      ['a cluster of one', { clusterSize: 1, id: 0 }],
      ['the last id', { clusterSize: 7, id: 6 }],
      ['electionTimeoutRange 0', { electionTimeoutRange: 0 }],
      ['heartbeatTimeout just below electionTimeout', { electionTimeout: 100, heartbeatTimeout: 99.5 }],
      ['maxEntriesPerMessage 1', { maxEntriesPerMessage: 1 }],
      ['a persistent state with only the required methods', { persistentState: stateWithout('none') }],
      ['a persistent state with valid optional methods', { persistentState: Object.assign(stateWithout('none') as object, { sync: () => undefined }) }],
    ])('%s', (_name, overrides) => {
      const server = build(overrides);
      expect(server.role).toBe('follower');
      expect(server.currentTerm).toBe(0);
      expect(server.volatileState).toEqual({ commitIndex: 0, lastApplied: 0 });
    });
  });

  it('a refused constructor sends no message', () => {
    const sent: unknown[] = [];
    thrown(() => build({ messageChannel: (...args: unknown[]) => sent.push(args), heartbeatTimeout: 500 }));
    expect(sent).toEqual([]);
  });
});
