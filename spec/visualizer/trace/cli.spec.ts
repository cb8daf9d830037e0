/**
 * The simulate CLI prints, with a violation, a `visualize:` line: the visualizer's address
 * with the shrunk schedule as a trace, which a TraceSession replays to the same violation.
 */
import { UsageError, USAGE, parseCliOptions } from '../../../lib/simulation/cli-options';
import { runSimulateCli, visualizeUrl } from '../../../lib/simulation/cli-run';
import { decodeTrace } from '../../../visualizer/src/model/trace-codec';
import { TraceSession } from '../../../visualizer/src/model/trace-session';
import { PLANTED } from './helpers';

const ARGS = ['--seeds', '3', '--servers', '3', '--length', '300', '--no-compaction', '--no-extensions'];

function cli(argv: string[], extra = {}): { status: number; lines: string[] } {
  const lines: string[] = [];
  const status = runSimulateCli(argv, { log: (line) => lines.push(line), progress: () => undefined, interactive: false }, extra);
  return { status, lines };
}

describe('simulate CLI: the visualize line', () => {
  it('is printed with a violation, and opens the shrunk schedule at the same violation', () => {
    const { status, lines } = cli(ARGS, { ...PLANTED, checkLiveness: false });
    expect(status).toBe(1);
    const violation = lines.map((line) => /^\n?VIOLATION at seed (\d+): (\w+): (.*)$/.exec(line)).find((match) => match !== null);
    expect(violation).toBeDefined();
    const visualize = lines.filter((line) => line.startsWith('visualize: '));
    expect(visualize).toHaveLength(1);
    const match = /^visualize: http:\/\/127\.0\.0\.1:4173\/#trace=(t1\.[A-Za-z0-9_-]+)$/.exec(visualize[0] as string);
    expect(match).not.toBeNull();
    const trace = decodeTrace(match?.[1] as string);
    expect(trace.seed).toBe(Number(violation?.[1]));
    expect(trace.options).toEqual({ servers: 3, compaction: false, checkLiveness: false });
    expect(trace.shrunkFrom).toBe(300);
    const shrunkLine = lines.find((line) => line.startsWith('shrunk schedule as data: '));
    expect(trace.schedule).toEqual(JSON.parse((shrunkLine as string).slice('shrunk schedule as data: '.length)));
    expect(lines.find((line) => line.startsWith('shrunk trace ('))).toMatch(new RegExp(`^shrunk trace \\(${trace.schedule.length} of 300 steps`));

    const session = TraceSession.fromText(visualize[0]?.slice(visualize[0].indexOf('#')) as string, PLANTED);
    while (session.step());
    expect(session.view().violation?.invariant).toBe(violation?.[2]);
    expect(session.view().trace).toBe(`simulate seed ${trace.seed}, 3 servers, shrunk to ${trace.schedule.length} step${trace.schedule.length === 1 ? '' : 's'} (of 300)`);
  });

  it('takes its base from --visualizer-url (any #... of the base replaced)', () => {
    const { lines } = cli([...ARGS, '--visualizer-url', 'https://example.test:9000/raft/#old'], { ...PLANTED, checkLiveness: false });
    expect(lines.filter((line) => line.startsWith('visualize: '))).toEqual([expect.stringMatching(/^visualize: https:\/\/example\.test:9000\/raft\/#trace=t1\.[A-Za-z0-9_-]+$/)]);
    expect(visualizeUrl('http://h/', 't1.x')).toBe('http://h/#trace=t1.x');
  });

  it('is not printed when every seed passes', () => {
    const { status, lines } = cli(['--seeds', '2', '--servers', '3', '--length', '100']);
    expect(status).toBe(0);
    expect(lines.some((line) => line.startsWith('visualize'))).toBe(false);
  });

  it('--visualizer-url is in the usage and takes an http(s) address', () => {
    expect(USAGE).toMatch(/--visualizer-url BASE/);
    expect(parseCliOptions(['--visualizer-url', 'http://localhost:5000/'])).toMatchObject({ visualizerUrl: 'http://localhost:5000/' });
    expect(parseCliOptions([]).visualizerUrl).toBeUndefined();
    expect(() => parseCliOptions(['--visualizer-url', 'localhost:5000'])).toThrow(UsageError);
    expect(() => parseCliOptions(['--visualizer-url', 'localhost:5000'])).toThrow(/^--visualizer-url takes an http:\/\/ or https:\/\/ address, got localhost:5000$/m);
  });
});
