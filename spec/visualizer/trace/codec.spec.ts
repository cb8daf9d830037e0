/** The trace codec: `t1.<base64url JSON>` round trips, is URL-hash safe, and refuses bad text with a reason. */
import { scheduleFor } from '../../../lib';
import { TRACE_PREFIX, TraceError, decodeTrace, encodeTrace, traceOptionsOf, type Trace } from '../../../visualizer/src/model/trace-codec';

/** base64url of a text, the Node way (to build bad input). */
const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64url');

describe('trace codec', () => {
  it('round trips a drawn schedule with its options, and the text is URL-hash safe', () => {
    const options = { servers: 3, extensions: true, preVote: true, checkQuorum: false, readMode: 'safe' as const, clients: 2, compaction: { maxLogEntries: 5 }, limits: { maxEntriesPerMessage: 2 } };
    const trace: Trace = { seed: 3870, options, schedule: scheduleFor(3870, { ...options, length: 400 }), shrunkFrom: 1000 };
    const text = encodeTrace(trace);
    expect(text.startsWith(TRACE_PREFIX)).toBe(true);
    expect(text).toMatch(/^t1\.[A-Za-z0-9_-]+$/);
    expect(encodeURIComponent(text)).toBe(text);
    expect(decodeTrace(text)).toEqual(trace);
    expect(decodeTrace(`#trace=${text}`)).toEqual(trace);
    expect(decodeTrace(`trace=${text}`)).toEqual(trace);
  });

  it('is base64url of the compact JSON, the same as Node encodes it (every padding length)', () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const trace: Trace = { seed, options: {}, schedule: scheduleFor(seed, { length: seed }) };
      const text = encodeTrace(trace);
      expect(text.slice(3)).toBe(b64(JSON.stringify({ seed, options: {}, schedule: trace.schedule })));
      expect(decodeTrace(text)).toEqual(trace);
    }
  });

  it('keeps `at` and `shrunkFrom` only when given', () => {
    const bare: Trace = { seed: 1, options: {}, schedule: [] };
    expect(decodeTrace(encodeTrace(bare))).toEqual(bare);
    expect(decodeTrace(encodeTrace({ ...bare, at: 4 }))).toEqual({ ...bare, at: 4 });
  });

  it('traceOptionsOf keeps only the plain-data options that fix a run', () => {
    const picked = traceOptionsOf({ servers: 3, extensions: true, compaction: true, limits: {}, length: 10, trace: () => undefined } as never);
    expect(picked).toEqual({ servers: 3, extensions: true, compaction: true });
  });

  it.each<[string, TraceError['reason'], string]>([
    ['no prefix', 'prefix', 'v1.abc'],
    ['empty', 'prefix', ''],
    ['a character outside base64url', 'base64', 't1.ab+c'],
    ['a base64url length that cannot be', 'base64', 't1.abcde'],
    ['bytes that are not UTF-8', 'base64', `t1.${Buffer.from([0xff, 0xfe, 0xfd]).toString('base64url')}`],
    ['text that is not JSON', 'json', `t1.${b64('{"seed":')}`],
    ['JSON that is not an object', 'shape', `t1.${b64('[1,2]')}`],
    ['no seed', 'shape', `t1.${b64('{"options":{},"schedule":[]}')}`],
    ['a schedule that is not a list', 'shape', `t1.${b64('{"seed":1,"options":{},"schedule":{}}')}`],
    ['a step of an unknown type', 'shape', `t1.${b64('{"seed":1,"options":{},"schedule":[{"type":"explode"}]}')}`],
    ['a step of an inherited name', 'shape', `t1.${b64('{"seed":1,"options":{},"schedule":[{"type":"toString"}]}')}`],
    ['a step without its number', 'shape', `t1.${b64('{"seed":1,"options":{},"schedule":[{"type":"advance"}]}')}`],
    ['a partition without groups', 'shape', `t1.${b64('{"seed":1,"options":{},"schedule":[{"type":"partition"}]}')}`],
    ['bad servers', 'shape', `t1.${b64('{"seed":1,"options":{"servers":0},"schedule":[]}')}`],
    ['a bad read mode', 'shape', `t1.${b64('{"seed":1,"options":{"readMode":"fast"},"schedule":[]}')}`],
    ['bad compaction bounds', 'shape', `t1.${b64('{"seed":1,"options":{"compaction":{"maxLogEntries":-1}},"schedule":[]}')}`],
    ['a bad at', 'shape', `t1.${b64('{"seed":1,"options":{},"schedule":[],"at":-2}')}`],
  ])('refuses %s (reason %s)', (_what, reason, text) => {
    let caught: unknown;
    try {
      decodeTrace(text);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TraceError);
    expect((caught as TraceError).reason).toBe(reason);
    expect((caught as TraceError).message).toMatch(new RegExp(`^bad trace \\(${reason}\\): `));
  });
});
