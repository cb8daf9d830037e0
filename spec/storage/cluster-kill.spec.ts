/**
 * A 3-server cluster, each server in its own child process (cluster-child.ts) on a
 * FilePersistentState, with this process as the network and the clock: it routes every
 * message (JSON frames over each child's IPC channel, correlation ids for replies) and tells
 * the children the virtual time; nothing depends on wall-clock timeouts for Raft timing.
 *
 * The test elects a leader, loads it with proposals, kills it with SIGKILL mid-load (entries
 * in flight, and a proposal being handled as the signal lands), lets the other two elect a
 * new leader and commit more, restarts the killed server from its directory, and checks the
 * committed-entries invariant: every entry any server ever reported committed (index → data)
 * is the same on every server that reported that index, and none is lost — after the restart
 * all three report the same committed prefix, which includes everything reported before.
 * Wall time only bounds the waits (a bound hit fails the test with a message).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { ClusterFrame, ChildCommand, ChildStatus, ChildToParent, CommittedReport } from './cluster-protocol';
import { REPO_ROOT, removeTempDirs, tempDir } from './helpers';

jest.setTimeout(180_000);

const SIZE = 3;
const SEED = 20_240_917;
/** Bound on one command's round trip or a child's start-up (a failure, never a verdict). */
const COMMAND_BOUND_MS = 60_000;

interface Response {
  result: unknown;
  outbox: ClusterFrame[];
  committed: CommittedReport[];
  status: ChildStatus;
}

/** One incarnation of one server: a child process. */
class Node {
  readonly process: ChildProcess;
  status: ChildStatus | undefined;
  alive = true;
  stderr = '';
  readonly exited: Promise<void>;
  readonly ready: Promise<void>;
  readonly #pending = new Map<number, { resolve: (response: Response) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  #seq = 0;

  constructor(
    readonly id: number,
    readonly incarnation: number,
    dir: string,
    now: number,
  ) {
    this.process = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join('spec', 'storage', 'cluster-child.ts'), dir, String(id), String(SIZE), String(SEED), String(now), String(incarnation)], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.process.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString('utf8');
    });
    this.exited = new Promise<void>((resolve) => {
      this.process.once('exit', () => {
        this.alive = false;
        for (const [, waiter] of this.#pending) {
          clearTimeout(waiter.timer);
          waiter.reject(new Error(`server ${id}.${incarnation} exited`));
        }
        this.#pending.clear();
        resolve();
      });
    });
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`bound hit: server ${id}.${incarnation} not ready within ${COMMAND_BOUND_MS} ms; stderr: ${this.stderr}`)), COMMAND_BOUND_MS);
      this.process.on('message', (raw: unknown) => {
        const message = raw as ChildToParent;
        if (message.type === 'ready') {
          clearTimeout(timer);
          this.status = message.status;
          resolve();
        } else if (message.type === 'fatal') {
          clearTimeout(timer);
          reject(new Error(`server ${id}.${incarnation} failed to start: ${message.error}`));
        } else {
          const waiter = this.#pending.get(message.seq);
          if (waiter === undefined) return;
          this.#pending.delete(message.seq);
          clearTimeout(waiter.timer);
          if (!message.ok) waiter.reject(new Error(`server ${id}.${incarnation}: ${message.error ?? 'command failed'}`));
          else {
            this.status = message.status;
            waiter.resolve({ result: message.result, outbox: message.outbox, committed: message.committed, status: message.status });
          }
        }
      });
      this.process.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`server ${id}.${incarnation} exited (${String(code ?? signal)}) before it was ready; stderr: ${this.stderr}`));
      });
    });
    this.ready.catch(() => undefined);
  }

  /** Sends a command with the virtual time and resolves with the child's response. */
  command(now: number, cmd: ChildCommand): Promise<Response> {
    const seq = ++this.#seq;
    return new Promise<Response>((resolve, reject) => {
      if (!this.alive) {
        reject(new Error(`server ${this.id}.${this.incarnation} is dead`));
        return;
      }
      const timer = setTimeout(() => {
        this.#pending.delete(seq);
        reject(new Error(`bound hit: server ${this.id}.${this.incarnation} did not answer ${cmd.type} within ${COMMAND_BOUND_MS} ms; stderr: ${this.stderr}`));
      }, COMMAND_BOUND_MS);
      this.#pending.set(seq, { resolve, reject, timer });
      this.process.send({ seq, now, cmd });
    });
  }

  kill(): void {
    if (this.alive) this.process.kill('SIGKILL');
  }
}

describe('a 3-process cluster on FilePersistentState survives kill -9 of its leader', () => {
  const everyNode: Node[] = [];
  afterAll(async () => {
    for (const node of everyNode) node.kill();
    await Promise.all(everyNode.map((node) => node.exited));
    removeTempDirs();
  });

  it('keeps every committed entry: same data at each index on every server, nothing lost after the restart', async () => {
    const root = tempDir('cluster-kill');
    const dirs = Array.from({ length: SIZE }, (_, id) => join(root, `server-${id}`));
    let now = 0;
    const queue: ClusterFrame[] = [];
    const nodes: Node[] = [];
    const start = (id: number, incarnation: number): Node => {
      const node = new Node(id, incarnation, dirs[id] as string, now);
      everyNode.push(node);
      nodes[id] = node;
      return node;
    };

    // ------------------------------------------------------------ what the servers report
    const committedAt = new Map<number, { data: string; by: string }>(); // index → first report
    const reports = new Map<string, string[]>(); // "id.incarnation" → committed data in index order
    const violations: string[] = [];
    let messagesDelivered = 0;
    const absorb = (node: Node, response: Response): void => {
      queue.push(...response.outbox);
      const who = `${node.id}.${node.incarnation}`;
      const list = reports.get(who) ?? [];
      reports.set(who, list);
      for (const entry of response.committed) {
        if (entry.index !== list.length + 1) violations.push(`server ${who} reported index ${entry.index} after ${list.length}`);
        list.push(entry.data);
        const first = committedAt.get(entry.index);
        if (first === undefined) committedAt.set(entry.index, { data: entry.data, by: who });
        else if (first.data !== entry.data) violations.push(`index ${entry.index}: server ${first.by} committed ${first.data}, server ${who} committed ${entry.data}`);
      }
    };
    const live = (): Node[] => nodes.filter((node) => node.alive);
    const leader = (): Node | undefined => {
      let best: Node | undefined;
      for (const node of live()) {
        const s = node.status as ChildStatus;
        if (s.role === 'leader' && (best === undefined || s.term > (best.status as ChildStatus).term)) best = node;
      }
      return best;
    };
    const committedOf = (node: Node): string[] => reports.get(`${node.id}.${node.incarnation}`) ?? [];

    // ------------------------------------------------------------ the network and the clock
    /** Delivers the oldest frame in flight, or, when none is, moves the clock to the next deadline and ticks. */
    const step = async (): Promise<void> => {
      const frame = queue.shift();
      if (frame !== undefined) {
        const target = nodes[frame.to];
        if (target === undefined || !target.alive) return; // lost: its receiver is down
        messagesDelivered++;
        absorb(target, await target.command(now, { type: 'deliver', frame }));
        return;
      }
      const running = live();
      now = Math.max(now, Math.min(...running.map((node) => (node.status as ChildStatus).nextDeadline)));
      for (const node of running) {
        if ((node.status as ChildStatus).nextDeadline <= now) absorb(node, await node.command(now, { type: 'tick' }));
      }
    };
    const runUntil = async (predicate: () => boolean, maxSteps: number, what: string): Promise<void> => {
      for (let k = 0; k < maxSteps; k++) {
        if (predicate()) return;
        await step();
      }
      if (!predicate()) throw new Error(`bound hit: ${what} not reached within ${maxSteps} steps (virtual time ${now} ms; queue ${queue.length})`);
    };
    const propose = async (data: string): Promise<{ type: string }> => {
      const target = leader();
      if (target === undefined) return { type: 'delay' };
      const response = await target.command(now, { type: 'propose', data });
      absorb(target, response);
      return response.result as { type: string };
    };
    /** Proposes `data` to the leader, waiting (bounded) for one if there is none. */
    const proposeSurely = async (data: string): Promise<void> => {
      for (let attempt = 0; attempt < 50; attempt++) {
        await runUntil(() => leader() !== undefined, 5_000, `a leader to propose ${data} to`);
        if ((await propose(data)).type === 'appended') return;
        await step();
      }
      throw new Error(`bound hit: ${data} was never appended`);
    };

    // ------------------------------------------------------------ the scenario
    for (let id = 0; id < SIZE; id++) start(id, 0);
    await Promise.all(nodes.map((node) => node.ready));

    await runUntil(() => leader() !== undefined, 5_000, 'a first leader');
    const first = leader() as Node;
    const firstTerm = (first.status as ChildStatus).term;

    // load: proposals interleaved with message delivery
    for (let k = 1; k <= 25; k++) {
      await proposeSurely(`a${k}`);
      for (let s = 0; s < 3; s++) await step();
    }
    await runUntil(() => committedOf(first).length >= 10, 5_000, 'ten commits on the first leader');
    // more proposals whose AppendEntries are still in flight when the leader dies
    for (let k = 26; k <= 30; k++) await proposeSurely(`a${k}`);
    expect(leader()).toBe(first);
    expect(queue.length).toBeGreaterThan(0);
    // and one more proposal being handled as SIGKILL lands (its answer may or may not come back)
    const inFlight = first.command(now, { type: 'propose', data: 'a31' }).then(
      (response) => absorb(first, response),
      () => undefined,
    );
    first.kill();
    await first.exited;
    await inFlight;
    const killedId = first.id;
    const killedStatus = first.status as ChildStatus;
    const committedBeforeKill = [...committedOf(first)];
    const everCommittedBeforeKill = new Map(committedAt);
    expect(first.process.signalCode).toBe('SIGKILL');
    expect(committedBeforeKill.length).toBeGreaterThanOrEqual(10);

    // the other two elect a new leader and go on
    await runUntil(() => leader() !== undefined && (leader()?.status as ChildStatus).term > firstTerm, 10_000, 'a new leader after the kill');
    const second = leader() as Node;
    expect(second.id).not.toBe(killedId);
    const bs = Array.from({ length: 30 }, (_, k) => `b${k + 1}`);
    for (const data of bs) {
      await proposeSurely(data);
      await step();
    }
    const survivors = live();
    await runUntil(() => survivors.every((node) => bs.every((data) => committedOf(node).includes(data))), 20_000, 'the b proposals committed on both survivors');

    // restart the killed server from its directory
    const restarted = start(killedId, 1);
    await restarted.ready;
    const recovered = restarted.status as ChildStatus;
    expect(recovered.term).toBeGreaterThanOrEqual(killedStatus.term);
    if (recovered.term === killedStatus.term) expect(recovered.votedFor).toBe(killedStatus.votedFor); // its own vote of that term
    expect(recovered.lastIndex).toBeGreaterThanOrEqual(committedBeforeKill.length);
    const onDisk = (await restarted.command(now, { type: 'log', from: 1, to: committedBeforeKill.length })).result as CommittedReport[];
    expect(onDisk.map((entry) => entry.data)).toEqual(committedBeforeKill); // what it committed is on its disk

    const cs = Array.from({ length: 10 }, (_, k) => `c${k + 1}`);
    for (const data of cs) {
      await proposeSurely(data);
      await step();
    }
    const everyoneCaughtUp = (): boolean => {
      const lead = leader();
      if (lead === undefined) return false;
      const target = (lead.status as ChildStatus).commitIndex;
      return cs.every((data) => committedOf(lead).includes(data)) && live().length === SIZE && live().every((node) => committedOf(node).length === target);
    };
    await runUntil(everyoneCaughtUp, 20_000, 'all three servers reporting the same committed prefix, with the c proposals');

    // ------------------------------------------------------------ the verdict
    expect(violations).toEqual([]);
    const finals = nodes.map((node) => committedOf(node));
    expect(finals[1]).toEqual(finals[0]);
    expect(finals[2]).toEqual(finals[0]);
    const final = finals[0] as string[];
    // nothing reported committed, by anyone, ever, is missing or different
    const missing: string[] = [];
    for (const [index, { data, by }] of committedAt) if (final[index - 1] !== data) missing.push(`index ${index} (${data}, reported by ${by}) is ${String(final[index - 1])} in the end`);
    expect(missing).toEqual([]);
    for (const [index, { data }] of everCommittedBeforeKill) expect(final[index - 1]).toBe(data);
    // every proposal after the kill is there exactly once, and nothing is there twice
    for (const data of [...bs, ...cs]) expect(final.filter((d) => d === data)).toHaveLength(1);
    expect(new Set(final).size).toBe(final.length);

    for (const node of live()) await node.command(now, { type: 'close' });
    console.log(
      `cluster kill test: server ${killedId} (leader of term ${firstTerm}) killed with ${committedBeforeKill.length} entries committed; ` +
        `server ${second.id} led term ${(second.status as ChildStatus).term}; ${final.length} entries committed on all three in the end; ` +
        `${committedAt.size} indices reported, ${violations.length} violations; ${messagesDelivered} messages routed; virtual time ${now.toFixed(0)} ms`,
    );
  });
});
