// kill -9 of the leader under load, three times: eight writer loops PUT increasing values
// through every running member; every 204 is recorded as acknowledged; after each kill,
// writes must resume within a bound, and the killed member restarts over its data dir. At
// the end every key is read through every member: no acknowledged write may be lost.

import { Cluster, kvPath, poll, request, sleep, status, type MemberProcess } from './helpers';

jest.setTimeout(60_000);

const WRITERS = 8;
const SLOTS = 3; // keys per writer in use at a time
const KILLS = 3;
const RESUME_BOUND_MS = 15_000;

/** What the writers know about one key. */
interface KeyRecord {
  /** Values acknowledged (204), in the order they were written (increasing). */
  readonly acked: number[];
  /** Values whose outcome is unknown (504, connection reset, timeout, other errors): they may or may not be applied. */
  readonly unknown: Set<number>;
}

interface Counts {
  acked: number;
  status503: number;
  status504: number;
  refused: number;
  networkErrors: number;
  otherStatuses: Record<string, number>;
}

describe('kill -9 of the leader under write load', () => {
  let cluster: Cluster | undefined;

  afterAll(async () => {
    await cluster?.destroy();
  }, 30_000);

  it('loses no acknowledged write across three leader kills and restarts', async () => {
    cluster = await Cluster.create('kv-kill');
    await cluster.start();
    await cluster.leader();
    const members = cluster.members;

    const keys = new Map<string, KeyRecord>();
    const counts: Counts = { acked: 0, status503: 0, status504: 0, refused: 0, networkErrors: 0, otherStatuses: {} };
    /** Start times (ms) of acknowledged writes, to tell writes started after a kill. */
    const ackedStarts: number[] = [];
    let stopping = false;

    const writer = async (w: number): Promise<void> => {
      let value = 0;
      let turn = w;
      const generation = new Array<number>(SLOTS).fill(0);
      while (!stopping) {
        const slot = value % SLOTS;
        const key = `w${w}-s${slot}-g${generation[slot]}`;
        value++;
        let record = keys.get(key);
        if (record === undefined) keys.set(key, (record = { acked: [], unknown: new Set() }));
        const up = members.filter((member) => member.ready);
        const target = up[turn++ % Math.max(1, up.length)];
        if (target === undefined) {
          await sleep(20);
          continue;
        }
        const started = Date.now();
        try {
          const answer = await request(target.url, kvPath(key), { method: 'PUT', body: String(value), timeoutMs: 8000 });
          if (answer.status === 204) {
            record.acked.push(value);
            counts.acked++;
            ackedStarts.push(started);
          } else if (answer.status === 503) {
            counts.status503++; // nothing proposed: the key stays in use
            if (answer.headers['retry-after'] === undefined) counts.otherStatuses['503 without Retry-After'] = (counts.otherStatuses['503 without Retry-After'] ?? 0) + 1;
            await sleep(50);
          } else {
            if (answer.status === 504) counts.status504++;
            else counts.otherStatuses[answer.status] = (counts.otherStatuses[answer.status] ?? 0) + 1;
            record.unknown.add(value);
            generation[slot] = (generation[slot] ?? 0) + 1; // never write that key again
          }
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ECONNREFUSED') {
            counts.refused++; // nothing was sent
          } else {
            counts.networkErrors++;
            record.unknown.add(value);
            generation[slot] = (generation[slot] ?? 0) + 1;
          }
          await sleep(20);
        }
      }
    };

    const loops = Array.from({ length: WRITERS }, (_, w) => writer(w));
    const resumeTimes: number[] = [];
    const electionTimes: number[] = [];
    const phaseTimes: number[] = [];
    try {
      for (let kill = 1; kill <= KILLS; kill++) {
        // Some load first (with every member up), then kill whoever leads now.
        const before = counts.acked;
        await poll(`200 acknowledged writes before kill ${kill}`, 15_000, async () => (counts.acked >= before + 200 ? true : undefined), 20);
        const leaderId = await cluster.leader();
        const victim: MemberProcess = members[leaderId]!;
        const termBefore = (await status(victim.url)).term;
        const killedAt = Date.now();
        await victim.kill();
        // Restart the killed member over its data dir at once (it takes seconds to start),
        // while the other two elect a leader and writes resume.
        const restarted = victim.start();
        restarted.catch(() => undefined);
        const survivors = members.filter((member) => member !== victim);
        await poll(`a new leader after kill ${kill}`, RESUME_BOUND_MS, async () => {
          const statuses = await Promise.all(survivors.map((member) => status(member.url)));
          return statuses.some((s) => s.role === 'leader' && s.term > termBefore) ? true : undefined;
        });
        electionTimes.push(Date.now() - killedAt);
        // Writes started after the kill get acknowledged within the bound.
        await poll(`a write started after kill ${kill} acknowledged`, RESUME_BOUND_MS, async () => (ackedStarts.some((t) => t > killedAt) ? true : undefined), 20);
        resumeTimes.push(Date.now() - killedAt);
        await restarted;
        const newLeader = await cluster.leader();
        await cluster.caughtUp(victim, members[newLeader]!.url);
        phaseTimes.push(Date.now() - killedAt);
      }
    } finally {
      stopping = true;
      await Promise.all(loops);
    }

    // Every key, through every member: the acknowledged value, or a later value whose
    // outcome was unknown (a key is never written again after an unknown outcome).
    const leaderId = await cluster.leader();
    for (const member of members) await cluster.caughtUp(member, members[leaderId]!.url);
    let checked = 0;
    let lost = 0;
    const problems: string[] = [];
    for (const [key, record] of keys) {
      const last = record.acked[record.acked.length - 1];
      for (const member of members) {
        const answer = await request(member.url, kvPath(key), { timeoutMs: 8000 });
        const got = answer.status === 200 ? Number(answer.body) : undefined;
        const fine = got === undefined ? last === undefined && answer.status === 404 : got === last || (record.unknown.has(got) && (last === undefined || got > last));
        if (member.id === 0) checked += record.acked.length;
        if (!fine) {
          lost += record.acked.length;
          problems.push(`${key} via member ${member.id}: ${answer.status} ${answer.body.trim()} (acked ${record.acked.join(',')}; unknown ${[...record.unknown].join(',')})`);
        }
      }
    }
    const statuses = await Promise.all(members.map((member) => status(member.url)));
    console.log(
      `kill -9 of the leader: kills ${KILLS}, keys ${keys.size}, acknowledged writes checked ${checked} (through each of ${members.length} members), lost ${lost}, ` +
        `503 ${counts.status503}, 504 ${counts.status504}, refused connections ${counts.refused}, network errors ${counts.networkErrors}, other statuses ${JSON.stringify(counts.otherStatuses)}, ` +
        `new leader after ${electionTimes.join(', ')} ms, writes resumed after ${resumeTimes.join(', ')} ms, killed member restarted and caught up after ${phaseTimes.join(', ')} ms, final term ${statuses[0]?.term}, commitIndex ${statuses.map((s) => s.commitIndex).join('/')}`,
    );
    expect(problems).toEqual([]);
    expect(lost).toBe(0);
    expect(checked).toBeGreaterThan(150);
    expect(counts.otherStatuses).toEqual({});
    expect(resumeTimes).toHaveLength(KILLS);
  }, 60_000);
});
