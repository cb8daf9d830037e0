// `npm run kv:cluster -- --dir D` (lib/kv/cluster-cli.ts): three members on 127.0.0.1, one
// `member I http://...` line each; SIGTERM to the cluster process stops all three. Started
// again over the same dir, it finds its ports and data again.

import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { exited, kvPath, NODE_ARGS, poll, removeDir, request, ROOT, running, status, tempDir, track, waitForOutput } from './helpers';

jest.setTimeout(60_000);

interface ClusterProcess {
  readonly child: ChildProcess;
  readonly urls: string[];
  readonly output: string[];
}

/** Spawns cluster-cli in its own process group and waits for its three `member I url` lines. */
async function startClusterCli(dir: string, timeoutMs = 30_000): Promise<ClusterProcess> {
  const child = spawn(process.execPath, [...NODE_ARGS, join(ROOT, 'lib', 'kv', 'cluster-cli.ts'), '--dir', dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  track(child);
  const output: string[] = [];
  const urls: string[] = [];
  await waitForOutput(
    child,
    (line) => {
      const match = /^member (\d) (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
      if (match !== null) urls[Number(match[1])] = match[2]!;
      return [0, 1, 2].every((id) => urls[id] !== undefined);
    },
    (line) => output.push(line),
    () => output.join('\n'),
    'cluster-cli',
    'list three members',
    timeoutMs,
  );
  return { child, urls, output };
}

/** Whether something answers HTTP at `url`. */
async function answers(url: string): Promise<boolean> {
  try {
    await request(url, '/status', { timeoutMs: 1000 });
    return true;
  } catch {
    return false;
  }
}

/** SIGKILLs the whole process group of a detached child (the cluster-cli and its members). */
function killGroup(child: ChildProcess | undefined): void {
  if (child?.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // the group is gone
  }
}

describe('kv:cluster (lib/kv/cluster-cli.ts)', () => {
  let dir: string | undefined;
  let current: ClusterProcess | undefined;
  let firstUrls: string[] = [];

  afterEach(async () => {
    // Whatever happened, nothing of the group survives the test.
    if (current !== undefined) {
      if (running(current.child)) current.child.kill('SIGTERM');
      if (!(await exited(current.child, 8000))) killGroup(current.child);
      killGroup(current.child); // members left behind, if any
      await exited(current.child, 5000);
    }
    current = undefined;
  }, 30_000);

  afterAll(() => removeDir(dir));

  it('starts three members, serves writes and reads, and SIGTERM to it stops all three', async () => {
    dir = tempDir('kv-cluster-cli');
    current = await startClusterCli(dir);
    const { child, urls } = current;
    expect(urls).toHaveLength(3);
    expect(new Set(urls).size).toBe(3);
    firstUrls = [...urls];

    // A write through member 0 (leader or not), read back through all three.
    await poll('a leader', 15_000, async () => ((await status(urls[0]!)).leaderId !== null ? true : undefined));
    expect((await request(urls[0]!, kvPath('cli-key'), { method: 'PUT', body: 'cli-value' })).status).toBe(204);
    for (const url of urls) expect((await request(url, kvPath('cli-key'))).body).toBe('cli-value');

    // SIGTERM to the cluster process only: it stops its members, which hand leadership
    // away and exit; then it exits 0.
    const signalledAt = Date.now();
    process.kill(child.pid!, 'SIGTERM');
    await poll('every member to stop answering', 15_000, async () => ((await Promise.all(urls.map(answers))).every((up) => !up) ? true : undefined), 100);
    const membersGoneMs = Date.now() - signalledAt;
    expect(await exited(child, 10_000)).toBe(true);
    expect(child.exitCode).toBe(0);
    // No member is left in the group (kill(-pgid, 0) fails with ESRCH once the group is empty).
    await poll('an empty process group', 5000, async () => {
      try {
        process.kill(-child.pid!, 0);
        return undefined;
      } catch (error) {
        return (error as NodeJS.ErrnoException).code === 'ESRCH' ? true : undefined;
      }
    });
    console.log(`kv:cluster: all three members stopped answering ${membersGoneMs} ms after SIGTERM`);
  });

  it('started again over the same dir, reuses its ports and keeps the data', async () => {
    expect(dir).toBeDefined();
    expect(firstUrls).toHaveLength(3);
    current = await startClusterCli(dir!);
    const { urls } = current;
    expect(urls).toEqual(firstUrls);
    const value = await poll('the value written before the restart', 20_000, async () => {
      const answer = await request(urls[1]!, kvPath('cli-key'), { timeoutMs: 3000 });
      return answer.status === 200 ? answer.body : undefined;
    });
    expect(value).toBe('cli-value');
    for (const url of urls) expect((await request(url, kvPath('cli-key'))).body).toBe('cli-value');
  });
});
