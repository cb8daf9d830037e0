/**
 * One server of the cluster crash test (cluster-kill.spec.ts), in its own process:
 *
 *   node -r ts-node/register/transpile-only spec/storage/cluster-child.ts <dir> <id> <clusterSize> <seed> <now> <incarnation>
 *
 * (cwd: the repository root, with an IPC channel). A Server on a FilePersistentState in
 * <dir>, whose clock is virtual: it reads the time the parent last sent (<now> at start).
 * Messages cross the IPC channel as JSON frames, as in examples/transport.ts: a request
 * carries a correlation id, and the reply callback is rebuilt from it on the far side. The
 * parent routes every frame and drives time; the child never uses a wall-clock timer.
 *
 * Parent → child: `{ seq, now, cmd }` with cmd one of
 *   `{ type: 'tick' }`, `{ type: 'deliver', frame }`, `{ type: 'propose', data }`,
 *   `{ type: 'log', from, to }` (entries of the store), `{ type: 'close' }`.
 * Child → parent: `{ type: 'ready', status }` once started, then one
 *   `{ type: 'response', seq, ok, result?, error?, outbox, committed, status }` per command:
 *   the frames it sent and the entries it emitted as committed while handling it.
 */
import { FilePersistentState } from '../../lib/storage/file-persistent-state';
import { seededRandom } from '../../lib/random';
import { Server } from '../../lib/server';
import type { AppendEntriesReply, Message, RequestVoteReply } from '../../lib/messages';
import type { ClusterFrame, ChildCommand, ChildStatus, ChildToParent, CommittedReport, RequestBody } from './cluster-protocol';

type Reply = RequestVoteReply | AppendEntriesReply;

function send(message: ChildToParent): void {
  process.send?.(message);
}

function main(): void {
  const [dir, idText, sizeText, seedText, nowText, incarnationText] = process.argv.slice(2);
  const id = Number(idText);
  const clusterSize = Number(sizeText);
  const seed = Number(seedText);
  const incarnation = Number(incarnationText);
  let now = Number(nowText);
  if (dir === undefined || !process.send) {
    process.stderr.write('usage: cluster-child.ts <dir> <id> <clusterSize> <seed> <now> <incarnation> (with an IPC channel)\n');
    process.exit(64);
  }

  let outbox: ClusterFrame[] = [];
  let committed: CommittedReport[] = [];
  const pending = new Map<number, (reply: Reply) => void>();
  // correlation ids of different incarnations never collide: a reply meant for a killed
  // incarnation finds no callback here
  let nextCallId = incarnation * 1_000_000_000 + 1;

  const state = FilePersistentState.open<string>(dir);
  const server = new Server<string>({
    id,
    clusterSize,
    clock: () => now,
    random: seededRandom(seed * 31 + id * 7 + incarnation),
    persistentState: state,
    messageChannel: (to, message) => {
      const callId = nextCallId++;
      const { replyChannel, ...body } = message;
      pending.set(callId, replyChannel as (reply: Reply) => void);
      outbox.push({ kind: 'request', from: id, to, callId, body: body as RequestBody });
    },
  });
  server.on('committed', (entries) => {
    for (const entry of entries) committed.push({ index: entry.index, term: entry.term, data: entry.data });
  });

  const status = (): ChildStatus => ({
    id,
    incarnation,
    role: server.role,
    term: server.currentTerm,
    votedFor: state.votedFor,
    leaderId: server.leaderId,
    commitIndex: server.volatileState.commitIndex,
    lastIndex: state.currentLogIndex,
    nextDeadline: server.nextDeadline(),
  });

  const receive = (frame: ClusterFrame): void => {
    if (frame.kind === 'request') {
      const replyChannel = (reply: Reply): void => {
        outbox.push({ kind: 'reply', from: id, to: frame.from, callId: frame.callId, body: reply });
      };
      server.processMessage({ ...frame.body, replyChannel } as Message<string>);
    } else {
      const callback = pending.get(frame.callId);
      pending.delete(frame.callId);
      callback?.(frame.body as Reply);
    }
  };

  process.on('message', (raw: unknown) => {
    const message = raw as { seq: number; now: number; cmd: ChildCommand };
    now = Math.max(now, message.now);
    let result: unknown;
    let error: string | undefined;
    try {
      const cmd = message.cmd;
      switch (cmd.type) {
        case 'tick':
          server.tick();
          break;
        case 'deliver':
          receive(cmd.frame);
          break;
        case 'propose':
          result = server.propose(cmd.data);
          break;
        case 'log':
          result = state.getLogEntries(cmd.from, cmd.to).map((e) => ({ index: e.index, term: e.term, data: e.data }));
          break;
        case 'close':
          state.close();
          break;
      }
    } catch (caught) {
      error = (caught as Error).stack ?? String(caught);
    }
    const response: ChildToParent = { type: 'response', seq: message.seq, ok: error === undefined, result, error, outbox, committed, status: status() };
    outbox = [];
    committed = [];
    send(response);
    if (message.cmd.type === 'close') process.disconnect();
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', status: status() });
}

try {
  main();
} catch (error) {
  process.send?.({ type: 'fatal', error: (error as Error).stack ?? String(error) } satisfies ChildToParent);
  process.exitCode = 1;
  process.disconnect?.();
}
