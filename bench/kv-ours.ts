/**
 * Our key-value service for `npm run bench:kv` (bench/kv.ts): the 3-member cluster of
 * `npm run kv:cluster -- --dir D` (lib/kv/cluster-cli.ts), started directly with
 * `node -r ts-node/register/transpile-only lib/kv/cluster-cli.ts --dir D` as the leader of a
 * process group of its own (its members stay in that group, so stopping the group stops all).
 *
 * Its command line prints `member I http://HOST:PORT` once member I's HTTP server listens.
 * HTTP API: `PUT /kv/{key}` (body = value; 204 once committed and applied), `GET /kv/{key}`
 * (linearizable; 200 with the value, or 404), `GET /status` (JSON with `role` and `leaderId`).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { HttpRequest, KvSystem, Member } from './kv-load';
import { request, spawnGroup, stopGroup, waitFor } from './kv-process';

/** The repository root (this file is bench/kv-ours.ts). */
const ROOT = join(__dirname, '..');

/** The entry behind `npm run kv:cluster`; `$KV_CLUSTER_CLI` overrides it (to try the harness on a stand-in). */
export const CLUSTER_CLI = process.env['KV_CLUSTER_CLI'] ?? 'lib/kv/cluster-cli.ts';

/** Why our cluster cannot run here, or undefined if it can. */
export function oursUnavailable(): string | undefined {
  return existsSync(resolve(ROOT, CLUSTER_CLI)) ? undefined : `${CLUSTER_CLI} does not exist yet (the kv:cluster command is not written)`;
}

/** The parts of `GET /status` the bench reads. */
interface StatusReply {
  readonly role?: unknown;
  readonly leaderId?: unknown;
}

const MEMBER_LINE = /^member\s+(\S+)\s+(https?:\/\/\S+)\s*$/;
const MEMBERS = 3;

/**
 * Starts our 3-member cluster with data under `dir`; resolves once all three `member` lines
 * are printed and exactly one member's `/status` says it is the leader.
 */
export async function startOurs(dir: string): Promise<KvSystem> {
  const group = spawnGroup('kv:cluster', process.execPath, ['-r', 'ts-node/register/transpile-only', CLUSTER_CLI, '--dir', dir], { cwd: ROOT });
  const members: Member[] = [];
  let partial = '';
  group.child.stdout?.on('data', (chunk: Buffer) => {
    partial += chunk.toString('utf8');
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const match = MEMBER_LINE.exec(line.trim());
      if (match?.[1] !== undefined && match[2] !== undefined && !members.some((member) => member.id === match[1])) {
        members.push({ id: match[1], url: match[2].replace(/\/+$/, '') });
      }
    }
  });

  /** Stops the whole process group. */
  const stop = async (): Promise<void> => {
    await stopGroup(group);
  };

  /** The one member whose `/status` role is `leader`: throws if none or several are. */
  const leader = async (): Promise<Member> => {
    const views = await Promise.all(
      members.map(async (member) => {
        const reply = await request('GET', `${member.url}/status`);
        if (reply.status !== 200) throw new Error(`${member.url}/status answered ${reply.status}`);
        return { member, status: JSON.parse(reply.body) as StatusReply };
      }),
    );
    const leaders = views.filter((view) => String(view.status.role).toLowerCase() === 'leader');
    const only = leaders[0];
    if (leaders.length !== 1 || only === undefined) {
      throw new Error(`expected one leader, /status says: ${views.map((view) => `${view.member.id}: role ${String(view.status.role)}, leaderId ${String(view.status.leaderId)}`).join('; ')}`);
    }
    return only.member;
  };

  try {
    await waitFor(`kv:cluster: ${MEMBERS} member lines and a leader`, 60_000, async () => {
      if (group.exited) throw new Error(`kv:cluster exited (${group.exited.code ?? group.exited.signal})`);
      if (members.length < MEMBERS) return undefined;
      return await leader();
    });
  } catch (error) {
    await stop();
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n--- kv:cluster output:\n${group.tail}`);
  }

  return {
    name: 'ours',
    members,
    leader,
    put: (key: string, value: string): HttpRequest => ({
      method: 'PUT',
      path: `/kv/${encodeURIComponent(key)}`,
      headers: { 'content-type': 'application/octet-stream' },
      body: value,
    }),
    get: (key: string): HttpRequest => ({ method: 'GET', path: `/kv/${encodeURIComponent(key)}`, headers: {} }),
    // A missing key is a 404, counted as non-2xx; a 200 always carries the value.
    found: (): boolean => true,
    stop,
  };
}
