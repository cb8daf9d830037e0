// The leader stopped with SIGTERM (it hands leadership over), then more writes than the
// node's compaction bound (`maxLogEntries`, 10,000 by default: the command line has no flag
// to lower it), then the stopped member restarted: the new leader compacted its log, so the
// member catches up from a snapshot.

import * as http from 'node:http';
import { Cluster, kvPath, metricValue, metrics, poll, request, status } from './helpers';

jest.setTimeout(60_000);

const WORKERS = 64; // requests in flight
const PER_WORKER = 188; // 64 × 188 = 12,032 writes
const KEYS_PER_WORKER = 8;

describe('a member restarted after the log was compacted', () => {
  let cluster: Cluster | undefined;
  const agent = new http.Agent({ keepAlive: true, maxSockets: WORKERS });

  afterAll(async () => {
    agent.destroy();
    await cluster?.destroy();
  }, 30_000);

  it('catches up from the leader snapshot and serves the latest values', async () => {
    cluster = await Cluster.create('kv-catchup');
    await cluster.start();
    const firstLeaderId = await cluster.leader();
    const members = cluster.members;
    const stopped = members[firstLeaderId]!;
    const termBefore = (await status(stopped.url)).term;

    // Stop the leader with SIGTERM: it hands leadership to a follower, then exits 0. The
    // hand-over makes a new leader well within the election timeout (1 s at least): without
    // it, the followers would not even start an election that soon.
    const stoppedAt = Date.now();
    const exitCode = stopped.stop();
    const survivors = members.filter((member) => member !== stopped);
    const leaderId = await poll('a new leader after SIGTERM to the leader', 10_000, async () => {
      const statuses = await Promise.all(survivors.map((member) => status(member.url)));
      return statuses.find((s) => s.role === 'leader' && s.term > termBefore)?.id;
    }, 20);
    const handOverMs = Date.now() - stoppedAt;
    expect(await exitCode).toBe(0);
    expect(handOverMs).toBeLessThan(1000);
    const leader = members[leaderId]!;
    const other = survivors.find((member) => member !== leader)!;

    // 12,032 PUTs, 64 in flight, through the leader and the remaining follower. Each worker
    // owns its keys and writes them in turn, so the latest value of every key is known.
    const started = Date.now();
    let retries = 0;
    const worker = async (w: number): Promise<void> => {
      const target = w % 2 === 0 ? leader : other;
      for (let i = 0; i < PER_WORKER; i++) {
        const key = kvPath(`c${w}-${i % KEYS_PER_WORKER}`);
        // A session makes a retry after 503/504 safe.
        const headers = { 'Client-Id': `catch-up-${w}`, 'Client-Sequence': String(i + 1) };
        for (let attempt = 0; ; attempt++) {
          const answer = await request(target.url, key, { method: 'PUT', body: String(i), headers, agent, timeoutMs: 10_000 });
          if (answer.status === 204) break;
          if (attempt >= 5 || (answer.status !== 503 && answer.status !== 504)) throw new Error(`PUT ${key} = ${i}: ${answer.status} ${answer.body}`);
          retries++;
        }
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
    const writeSeconds = (Date.now() - started) / 1000;

    // The leader compacted its log past the stopped member's last entry.
    const leaderMetrics = await metrics(leader.url);
    const leaderSnapshot = metricValue(leaderMetrics, 'raft_snapshot_index') ?? 0;
    expect(leaderSnapshot).toBeGreaterThan(0);
    const leaderStatus = await status(leader.url);
    expect(leaderStatus.commitIndex).toBeGreaterThanOrEqual(WORKERS * PER_WORKER);

    // Restart it over its data dir: it catches up with the leader's commit index.
    const restartedAt = Date.now();
    await stopped.start();
    const caughtUp = await cluster.caughtUp(stopped, leader.url, 30_000);
    const catchUpSeconds = (Date.now() - restartedAt) / 1000;
    expect(caughtUp.lastApplied).toBeGreaterThanOrEqual(leaderStatus.commitIndex);

    // It installed a snapshot (its own log never reached the compaction bound), so it
    // applied far fewer entries than were written.
    await cluster.leader();
    const text = await metrics(stopped.url);
    const snapshotIndex = metricValue(text, 'raft_snapshot_index') ?? 0;
    const applied = metricValue(text, 'raft_applied_entries_total') ?? NaN;
    expect(snapshotIndex).toBeGreaterThan(0);
    expect(applied).toBeLessThan(WORKERS * PER_WORKER - 1000);

    // The latest value of every key, through the restarted member (linearizable reads).
    const lastFor = (j: number): number => PER_WORKER - 1 - ((PER_WORKER - 1 - j) % KEYS_PER_WORKER);
    const wrong: string[] = [];
    await Promise.all(
      Array.from({ length: WORKERS }, async (_, w) => {
        for (let j = 0; j < KEYS_PER_WORKER; j++) {
          const answer = await request(stopped.url, kvPath(`c${w}-${j}`), { agent });
          if (answer.status !== 200 || answer.body !== String(lastFor(j))) wrong.push(`c${w}-${j}: ${answer.status} ${answer.body} (expected ${lastFor(j)})`);
        }
      }),
    );
    expect(wrong).toEqual([]);
    console.log(
      `catch-up: leader stopped (SIGTERM), new leader after ${handOverMs} ms; ${WORKERS * PER_WORKER} PUTs (${WORKERS} in flight) in ${writeSeconds.toFixed(1)} s with ${retries} retries; leader snapshot index ${leaderSnapshot}, ` +
        `commit index ${leaderStatus.commitIndex}; restarted member caught up in ${catchUpSeconds.toFixed(1)} s with snapshot index ${snapshotIndex} and ${applied} entries applied`,
    );
  }, 60_000);
});
