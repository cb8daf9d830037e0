/**
 * Smoke test of the simulator's command line (`npm run simulate`), run as a child process
 * from the repository root, the way a user runs it.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join('lib', 'simulation', 'cli.ts');

function simulateCli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('npx', ['ts-node', '--transpile-only', CLI, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 55_000,
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  if (result.error !== undefined) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The rows of the summary table, `| name | value |`, as a map. */
function summary(stdout: string): Map<string, string> {
  const rows = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const match = /^\| (.+?)\s+\| (.+?) \|$/.exec(line);
    if (match !== null) rows.set(match[1] as string, match[2] as string);
  }
  return rows;
}

describe('simulate CLI', () => {
  it('runs 5 seeds on 3 servers, prints the summary table with no violations, and exits 0', () => {
    const { status, stdout, stderr } = simulateCli('--seeds', '5', '--servers', '3');
    expect({ status, stderr: status === 0 ? '' : stderr }).toEqual({ status: 0, stderr: '' });
    expect(stdout).toMatch(/^\| measure +\| value \|$/m);
    expect(stdout).toMatch(/^\| violations +\| 0 \|$/m);
    const rows = summary(stdout);
    expect(rows.get('servers')).toBe('3');
    expect(rows.get('seeds')).toBe('5 (1..5)');
    expect(rows.get('steps per schedule')).toBe('1000');
    expect(rows.get('violations')).toBe('0');
    expect(Number((rows.get('commits (entries)') ?? '').replace(/,/g, ''))).toBeGreaterThan(5);
    expect(Number((rows.get('elections (terms with a leader)') ?? '').replace(/,/g, ''))).toBeGreaterThan(5);
    expect(Number(rows.get('highest term'))).toBeGreaterThan(1);
    expect(stdout).not.toMatch(/VIOLATION/);
    // Progress goes to stderr, not into the table.
    expect(stderr).toMatch(/5\/5 seeds, 0 violations/);
  }, 60_000);

  it('replays one seed with --trace, printing its steps', () => {
    const { status, stdout } = simulateCli('--seed', '3', '--servers', '3', '--length', '50', '--trace');
    expect(status).toBe(0);
    expect(stdout).toMatch(/^t=\s*\d+\.\d {2}/m);
    expect(stdout).toMatch(/liveness: probe committed on every server/);
    const rows = summary(stdout);
    expect(rows.get('seeds')).toBe('1 (3..3)');
    expect(rows.get('steps per schedule')).toBe('50');
    expect(rows.get('violations')).toBe('0');
  }, 60_000);

  it('exits 2 with a usage line on an unknown flag', () => {
    const { status, stdout, stderr } = simulateCli('--bogus');
    expect(status).toBe(2);
    expect(stderr).toMatch(/unknown option --bogus/);
    expect(stderr).toMatch(/^usage: simulate \[--seeds N\]/m);
    expect(stdout).not.toMatch(/\| violations/);
  }, 60_000);

  it('--help prints the usage on stdout and exits 0', () => {
    const { status, stdout, stderr } = simulateCli('--help');
    expect(status).toBe(0);
    expect(stdout).toMatch(/^usage: simulate \[--seeds N\]/m);
    expect(stdout).toMatch(/--weights K=W,\.\.\./);
    expect(stderr).toBe('');
  }, 60_000);

  it('takes fault weights and message limits as flags', () => {
    const { status, stdout } = simulateCli('--seeds', '2', '--servers', '3', '--length', '100', '--weights', 'hold=10,crash=3', '--max-inflight', '2');
    expect(status).toBe(0);
    const rows = summary(stdout);
    expect(rows.get('weights')).toBe('hold=10, crash=3');
    expect(rows.get('message limits')).toBe('maxInflightMessages=2');
    expect(rows.get('violations')).toBe('0');
  }, 60_000);

  it('exits 2 with a usage line on an unknown kind of step in --weights', () => {
    const { status, stderr } = simulateCli('--weights', 'meteor=1');
    expect(status).toBe(2);
    expect(stderr).toMatch(/--weights: unknown kind of step meteor/);
    expect(stderr).toMatch(/^usage: simulate/m);
  }, 60_000);

  it('exits 2 with a usage line on a flag without a whole number', () => {
    const { status, stderr } = simulateCli('--seeds', 'many');
    expect(status).toBe(2);
    expect(stderr).toMatch(/--seeds takes a whole number, got many/);
    expect(stderr).toMatch(/^usage: simulate/m);
  }, 60_000);
});
