// Three member processes of the key-value service (lib/kv/cli.ts) on loopback: writes and
// linearizable reads through every member, status agreement, metrics, client sessions, and
// bad input refused without writing anything. One cluster for the whole file.

import * as http from 'node:http';
import { Cluster, kvPath, metricValue, metrics, poll, request, status, type Answer, type Status } from './helpers';

/** A PUT with a chunked body (no Content-Length) of `total` bytes sent in 64 KiB chunks; resolves with the answer. */
function chunkedPut(url: string, path: string, total: number): Promise<Answer> {
  const target = new URL(url);
  return new Promise<Answer>((done, fail) => {
    const req = http.request({ host: target.hostname, port: Number(target.port), method: 'PUT', path, agent: false, headers: { 'Transfer-Encoding': 'chunked' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
    });
    const timer = setTimeout(() => req.destroy(new Error('no answer within 10 s')), 10_000);
    req.on('close', () => clearTimeout(timer));
    // The server may answer and close before the whole body is written: a write error then is fine.
    req.on('error', (error) => fail(error));
    let sent = 0;
    const chunk = Buffer.alloc(64 * 1024, 'y');
    const writeMore = (): void => {
      while (sent < total) {
        const piece = chunk.subarray(0, Math.min(chunk.length, total - sent));
        sent += piece.length;
        if (!req.write(piece)) {
          req.once('drain', writeMore);
          return;
        }
      }
      req.end();
    };
    writeMore();
  });
}

jest.setTimeout(60_000);

describe('a three-process key-value cluster', () => {
  let cluster: Cluster | undefined;
  let leaderId = -1;

  const urls = (): string[] => cluster!.members.map((member) => member.url);

  beforeAll(async () => {
    cluster = await Cluster.create('kv-basic');
    await cluster.start();
    leaderId = await cluster.leader();
  }, 60_000);

  afterAll(async () => {
    await cluster?.destroy();
  }, 30_000);

  it('writes through the leader and both followers, reads back through every member, deletes through a follower', async () => {
    const members = cluster!.members;
    const followers = members.filter((member) => member.id !== leaderId);
    expect(followers).toHaveLength(2);
    // One PUT through each member (leader and followers: followers forward).
    for (const member of members) {
      const answer = await request(member.url, kvPath(`basic-${member.id}`), { method: 'PUT', body: `value from ${member.id} ✓` });
      expect(answer.status).toBe(204);
    }
    // Every value through every member: a follower's GET is linearizable, so it sees them all.
    for (const reader of members) {
      for (const writer of members) {
        const answer = await request(reader.url, kvPath(`basic-${writer.id}`));
        expect({ reader: reader.id, key: writer.id, status: answer.status, body: answer.body }).toEqual({ reader: reader.id, key: writer.id, status: 200, body: `value from ${writer.id} ✓` });
      }
    }
    // DELETE through a follower, then 404 everywhere.
    const follower = followers[0]!;
    expect((await request(follower.url, kvPath('basic-0'), { method: 'DELETE' })).status).toBe(204);
    for (const reader of members) {
      const answer = await request(reader.url, kvPath('basic-0'));
      expect({ reader: reader.id, status: answer.status }).toEqual({ reader: reader.id, status: 404 });
      expect((await request(reader.url, kvPath('basic-1'))).status).toBe(200);
    }
    // The others are untouched, and deleting a missing key is still 204.
    expect((await request(follower.url, kvPath('never-written'), { method: 'DELETE' })).status).toBe(204);
    // The followers forwarded their writes to the leader (they did not lead).
    for (const member of followers) expect(metricValue(await metrics(member.url), 'raft_forwarded_proposals_total')).toBeGreaterThan(0);
    expect(metricValue(await metrics(members[leaderId]!.url), 'raft_forwarded_proposals_total')).toBe(0);
  });

  it('reports the same leader and term on every member, and one leader', async () => {
    const statuses: Status[] = await Promise.all(urls().map((url) => status(url)));
    statuses.forEach((s, id) => expect(s.id).toBe(id));
    expect(new Set(statuses.map((s) => s.leaderId))).toEqual(new Set([leaderId]));
    expect(new Set(statuses.map((s) => s.term)).size).toBe(1);
    expect(statuses.filter((s) => s.role === 'leader').map((s) => s.id)).toEqual([leaderId]);
    expect(statuses.filter((s) => s.role === 'follower')).toHaveLength(2);
    for (const s of statuses) {
      expect(s.term).toBeGreaterThan(0);
      expect(s.commitIndex).toBeGreaterThan(0);
      expect(s.lastApplied).toBeLessThanOrEqual(s.commitIndex);
    }
  });

  it('serves Prometheus metrics with the Raft, storage and transport series', async () => {
    for (const url of urls()) {
      const text = await metrics(url);
      expect(text).toMatch(/^raft_term \d+$/m);
      expect(text).toMatch(/^raft_commit_index \d+$/m);
      expect(text).toMatch(/^raft_fsync_duration_seconds_bucket\{le="[^"]+"\} \d+$/m);
      expect(text).toMatch(/^raft_peer_sent_bytes_total\{peer="\d"\} \d+$/m);
      expect(text).toContain('raft_refused_connections_total');
    }
    const leaderText = await metrics(urls()[leaderId]!);
    const term = Number(/^raft_term (\d+)$/m.exec(leaderText)?.[1]);
    expect(term).toBe((await status(urls()[leaderId]!)).term);
    // The leader synced something and sent bytes to both peers.
    expect(Number(/^raft_fsync_duration_seconds_count (\d+)$/m.exec(leaderText)?.[1])).toBeGreaterThan(0);
    for (const peer of [0, 1, 2].filter((id) => id !== leaderId)) {
      expect(Number(new RegExp(`^raft_peer_sent_bytes_total\\{peer="${peer}"\\} (\\d+)$`, 'm').exec(leaderText)?.[1])).toBeGreaterThan(0);
    }
  });

  it('applies a retried write with the same client session once', async () => {
    const members = cluster!.members;
    const follower = members.find((member) => member.id !== leaderId)!;
    const other = members.find((member) => member.id !== leaderId && member.id !== follower.id)!;
    const key = kvPath('session-key');
    const session = (sequence: number): Record<string, string> => ({ 'Client-Id': 'client-X', 'Client-Sequence': String(sequence) });
    expect((await request(follower.url, key, { method: 'PUT', body: 'a', headers: session(1) })).status).toBe(204);
    expect((await request(follower.url, key, { method: 'PUT', body: 'b', headers: session(2) })).status).toBe(204);
    const before = await status(members[leaderId]!.url);
    // The retry of sequence 1, through another member (the leader, then the other follower).
    expect((await request(members[leaderId]!.url, key, { method: 'PUT', body: 'a', headers: session(1) })).status).toBe(204);
    expect((await request(other.url, key, { method: 'PUT', body: 'a', headers: session(1) })).status).toBe(204);
    for (const member of members) {
      const answer = await request(member.url, key);
      expect({ member: member.id, status: answer.status, body: answer.body }).toEqual({ member: member.id, status: 200, body: 'b' });
    }
    // The retries were logged (they are proposals) but not applied again: the value stayed "b".
    expect((await status(members[leaderId]!.url)).commitIndex).toBeGreaterThanOrEqual(before.commitIndex);
    // A DELETE retried with an old sequence does not delete either.
    expect((await request(other.url, key, { method: 'DELETE', headers: session(2) })).status).toBe(204);
    expect((await request(follower.url, key)).body).toBe('b');
  });

  it('refuses bad input with 414, 413, 405 and 404 and writes nothing', async () => {
    const members = cluster!.members;
    // Wait for the followers to learn the last commit, so every member's indexes are stable.
    const before = await poll('every member at the same commit index', 10_000, async () => {
      const statuses = await Promise.all(members.map((member) => status(member.url)));
      return statuses.every((s) => s.commitIndex === statuses[0]!.commitIndex && s.lastApplied === s.commitIndex) ? statuses : undefined;
    });
    for (const member of members) {
      // A key of 1,025 bytes (the limit is 1,024), and one of 1,024 two-byte characters.
      expect((await request(member.url, kvPath('k'.repeat(1025)), { method: 'PUT', body: 'v' })).status).toBe(414);
      expect((await request(member.url, kvPath('é'.repeat(513)))).status).toBe(414);
      expect((await request(member.url, kvPath('k'.repeat(1025)), { method: 'DELETE' })).status).toBe(414);
      // A value of 1 MiB + 1 byte: refused on its Content-Length.
      const big = await request(member.url, kvPath('big'), { method: 'PUT', body: Buffer.alloc(1024 * 1024 + 1, 'x') });
      expect(big.status).toBe(413);
      // The same without a Content-Length: refused once the running count passes 1 MiB.
      expect((await chunkedPut(member.url, kvPath('big'), 1024 * 1024 + 1)).status).toBe(413);
      // A key of exactly 1,024 bytes is fine (absent: 404).
      expect((await request(member.url, kvPath('k'.repeat(1024)))).status).toBe(404);
      // Methods and paths.
      const post = await request(member.url, kvPath('k'), { method: 'POST', body: 'v' });
      expect(post.status).toBe(405);
      expect(post.headers.allow).toBe('GET, PUT, DELETE');
      expect((await request(member.url, kvPath('k'), { method: 'PATCH', body: 'v' })).status).toBe(405);
      expect((await request(member.url, '/status', { method: 'PUT', body: 'v' })).status).toBe(405);
      expect((await request(member.url, '/nope', { method: 'PUT', body: 'v' })).status).toBe(404);
      expect((await request(member.url, '/kv', { method: 'PUT', body: 'v' })).status).toBe(404);
      expect((await request(member.url, '/', { method: 'GET' })).status).toBe(404);
    }
    const after = await Promise.all(members.map((member) => status(member.url)));
    expect(after.map((s) => s.commitIndex)).toEqual(before.map((s) => s.commitIndex));
    expect(after.map((s) => s.lastApplied)).toEqual(before.map((s) => s.lastApplied));
    for (const member of members) expect((await request(member.url, kvPath('big'))).status).toBe(404);
    // The limits themselves are allowed: a 1,024-byte key with a 1 MiB value.
    const edgeKey = kvPath('k'.repeat(1024));
    expect((await request(members[0]!.url, edgeKey, { method: 'PUT', body: Buffer.alloc(1024 * 1024, 'z') })).status).toBe(204);
    const edge = await request(members[1]!.url, edgeKey);
    expect(edge.status).toBe(200);
    expect(edge.body.length).toBe(1024 * 1024);
  });
});
