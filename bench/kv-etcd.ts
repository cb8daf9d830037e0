/**
 * etcd for `npm run bench:kv` (bench/kv.ts): a 3-member etcd cluster (Debian's etcd-server,
 * 3.4) on 127.0.0.1, loaded through its v3 JSON gateway (grpc-gateway, served on the client
 * port): PUT = `POST /v3/kv/put {"key","value"}`, linearizable GET = `POST /v3/kv/range {"key"}`
 * (`serializable` false, the default), keys and values base64-encoded.
 *
 * Each member runs with etcd's defaults for durability (WAL fsync on every commit, bbolt
 * commits every 100 ms or 10,000 writes) and for timing (heartbeat 100 ms, election 1000 ms).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { HttpRequest, KvSystem, Member } from './kv-load';
import { freePorts, request, spawnGroup, stopGroup, waitFor, type Group } from './kv-process';

/** The etcd binary: `$ETCD_BIN`, else Debian's. */
export const ETCD_BIN = process.env['ETCD_BIN'] ?? '/usr/bin/etcd';

/** Why etcd cannot run here, or undefined if it can. */
export function etcdUnavailable(): string | undefined {
  return existsSync(ETCD_BIN) ? undefined : `${ETCD_BIN} not found (install it: sudo apt-get install etcd-server)`;
}

/** `etcd --version`'s first line's version (`3.4.23`) and Go version, or the error. */
export function etcdVersion(): string {
  try {
    const out = execFileSync(ETCD_BIN, ['--version'], { encoding: 'utf8' });
    const version = /etcd Version:\s*(\S+)/.exec(out)?.[1] ?? 'unknown';
    const go = /Go Version:\s*(\S+)/.exec(out)?.[1];
    return go ? `${version} (${go})` : version;
  } catch (error) {
    return `unknown (${error instanceof Error ? error.message : String(error)})`;
  }
}

const JSON_HEADERS = { 'content-type': 'application/json' } as const;
const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** The parts of `POST /v3/maintenance/status`'s reply the bench reads (uint64s come as decimal strings). */
interface StatusReply {
  readonly header?: { readonly member_id?: string };
  readonly leader?: string;
}

/** Member id (decimal string, as the gateway sends uint64s) in etcd's usual hex. */
const hexId = (decimal: string): string => BigInt(decimal).toString(16);

/** A member's view: its own id and the leader it knows (both decimal strings), or undefined if it knows none. */
async function memberStatus(member: Member): Promise<{ readonly self: string; readonly leader: string } | undefined> {
  const reply = await request('POST', `${member.url}/v3/maintenance/status`, '{}');
  if (reply.status !== 200) throw new Error(`${member.url}/v3/maintenance/status answered ${reply.status}: ${reply.body.slice(0, 200)}`);
  const status = JSON.parse(reply.body) as StatusReply;
  const self = status.header?.member_id;
  const leader = status.leader;
  if (self === undefined || leader === undefined || leader === '0') return undefined;
  return { self, leader };
}

/**
 * Starts a 3-member etcd cluster with data under `dir` (`dir/m1`...), client and peer ports
 * chosen free on 127.0.0.1, `--initial-cluster-state new`; resolves once every member answers
 * `/health` with `true` and all three name the same leader.
 */
export async function startEtcd(dir: string): Promise<KvSystem> {
  const ports = await freePorts(6);
  const names = ['m1', 'm2', 'm3'] as const;
  const peerUrl = (i: number): string => `http://127.0.0.1:${ports[3 + i]}`;
  const clientUrl = (i: number): string => `http://127.0.0.1:${ports[i]}`;
  const initialCluster = names.map((name, i) => `${name}=${peerUrl(i)}`).join(',');
  const token = `bench-kv-${process.pid}-${Date.now()}`;
  const groups: Group[] = [];
  const members: Member[] = [];
  for (const [i, name] of names.entries()) {
    const args = [
      '--name', name,
      '--data-dir', join(dir, name),
      '--listen-client-urls', clientUrl(i),
      '--advertise-client-urls', clientUrl(i),
      '--listen-peer-urls', peerUrl(i),
      '--initial-advertise-peer-urls', peerUrl(i),
      '--initial-cluster', initialCluster,
      '--initial-cluster-token', token,
      '--initial-cluster-state', 'new',
      '--logger', 'zap',
      '--log-outputs', 'stderr',
      '--log-level', 'warn',
    ];
    groups.push(spawnGroup(`etcd ${name}`, ETCD_BIN, args));
    members.push({ id: name, url: clientUrl(i) });
  }

  /**
   * Stops the members one after the other. (Stopped all at once, the leader waits out its
   * attempt to hand leadership to a follower that is itself stopping, about 5 s.)
   */
  const stop = async (): Promise<void> => {
    for (const group of groups) await stopGroup(group);
  };

  /** The leader as every member sees it: throws unless all three agree. */
  const leader = async (): Promise<Member> => {
    const views = await Promise.all(members.map((member) => memberStatus(member)));
    const leaders = new Set(views.map((view) => view?.leader));
    const agreed = [...leaders][0];
    if (leaders.size !== 1 || agreed === undefined) throw new Error(`etcd members disagree on the leader: ${views.map((view) => (view ? hexId(view.leader) : 'none')).join(', ')}`);
    const index = views.findIndex((view) => view?.self === agreed);
    const member = members[index];
    if (member === undefined) throw new Error(`etcd leader ${hexId(agreed)} is not among the members`);
    return { id: `${member.id} (${hexId(agreed)})`, url: member.url };
  };

  try {
    await waitFor('etcd: all members healthy with one leader', 30_000, async () => {
      for (const group of groups) {
        if (group.exited) throw new Error(`${group.name} exited (${group.exited.code ?? group.exited.signal}):\n${group.tail}`);
      }
      for (const member of members) {
        const health = await request('GET', `${member.url}/health`);
        if (health.status !== 200 || !/"health"\s*:\s*"true"/.test(health.body)) return undefined;
      }
      return await leader();
    });
  } catch (error) {
    await stop();
    const tails = groups.map((group) => `--- ${group.name}:\n${group.tail}`).join('\n');
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${tails}`);
  }

  return {
    name: 'etcd',
    members,
    leader,
    put: (key: string, value: string): HttpRequest => ({
      method: 'POST',
      path: '/v3/kv/put',
      headers: JSON_HEADERS,
      body: JSON.stringify({ key: b64(key), value: b64(value) }),
    }),
    get: (key: string): HttpRequest => ({
      method: 'POST',
      path: '/v3/kv/range',
      headers: JSON_HEADERS,
      body: JSON.stringify({ key: b64(key) }),
    }),
    // A missing key's range reply has no `kvs` (and no `count`): {"header":{...}}.
    found: (body: string): boolean => body.includes('"kvs"'),
    stop,
  };
}
