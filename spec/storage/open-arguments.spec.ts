/**
 * FilePersistentState.open refuses bad arguments with ConfigurationError (a RaftError), never
 * a plain TypeError, and without creating anything or leaving a lock behind.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigurationError, FilePersistentState, RaftError, type FilePersistentStateOptions } from '../../lib';
import { removeTempDirs, tempDir, thrown } from './helpers';

afterAll(removeTempDirs);

/** Calls open with arguments the types do not allow, as untyped JavaScript could. */
function openUntyped(directory: unknown, ...options: unknown[]): unknown {
  const open = FilePersistentState.open as (directory: unknown, ...options: unknown[]) => unknown;
  return thrown(() => open(directory, ...options));
}

function expectConfiguration(error: unknown, option: string): void {
  expect(error).toBeInstanceOf(ConfigurationError);
  expect(error).toBeInstanceOf(RaftError);
  expect((error as ConfigurationError).option).toBe(option);
}

describe('FilePersistentState.open: bad arguments', () => {
  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a number', 42],
    ['an object', { path: '/tmp/x' }],
    ['the empty string', ''],
    ['a path with a NUL byte', 'store\u0000name'],
  ])('a directory that is %s: ConfigurationError for `directory`', (_name, directory) => {
    expectConfiguration(openUntyped(directory), 'directory');
  });

  it.each([
    ['null', null],
    ['a number', 5],
    ['a string', 'codec'],
    ['an array', []],
    ['a function', () => undefined],
  ])('options that are %s: ConfigurationError for `options`, nothing created', (_name, options) => {
    const dir = join(tempDir('arguments'), 'store');
    expectConfiguration(openUntyped(dir, options), 'options');
    expect(existsSync(dir)).toBe(false);
  });

  it.each([
    ['null', null],
    ['an empty object', {}],
    ['an object with encode only', { encode: () => new Uint8Array() }],
    ['an object with decode only', { decode: (): string => 'x' }],
    ['an object whose encode is not a function', { encode: 1, decode: (): string => 'x' }],
    ['a function', () => undefined],
    ['a string', 'json'],
  ])('a codec that is %s: ConfigurationError for `codec`', (_name, codec) => {
    const dir = tempDir('codec');
    expectConfiguration(openUntyped(dir, { codec }), 'codec');
    expect(readdirSync(dir)).toEqual([]);
  });

  it.each([
    ['null', null],
    ['a string', '4096'],
    ['NaN', Number.NaN],
    ['below 1024', 1023],
    ['a fraction', 4096.5],
  ])('a maxSegmentBytes that is %s: ConfigurationError for `maxSegmentBytes`', (_name, maxSegmentBytes) => {
    expectConfiguration(openUntyped(tempDir('segment-bytes'), { maxSegmentBytes }), 'maxSegmentBytes');
  });

  it('undefined options and undefined fields mean the defaults', () => {
    const dir = tempDir('defaults');
    FilePersistentState.open<string>(dir, undefined).close();
    FilePersistentState.open<string>(dir, {}).close();
    const state = FilePersistentState.open<string>(dir, { codec: undefined, maxSegmentBytes: undefined } as unknown as FilePersistentStateOptions<string>);
    state.appendToLog('json by default', 1);
    state.close();
    expect(readdirSync(dir)).not.toContain('LOCK');
  });
});
