import { installSnapshot } from './compaction';
import type { InstallSnapshotMessage, InstallSnapshotReply } from './messages';
import type { ServerState } from './server-state';
import type { LogPosition, Snapshot, Term } from './types';

/**
 * InstallSnapshot (Raft §7): how a leader sends its snapshot to a follower that needs
 * entries the leader has compacted, and how the follower puts the chunks back together.
 *
 * The leader sends one chunk at a time and moves on when the follower says how many bytes it
 * holds (`bytesReceived`), so a lost chunk or a refused one is resent from where the
 * follower stands, and a follower that lost its partial transfer (a restart) says 0 and gets
 * the snapshot from the start. The follower keeps at most one partial transfer, tied to the
 * leader's term and the snapshot's last entry: a chunk of another snapshot or another term
 * either starts a new transfer (offset 0) or is refused, so chunks of two snapshots never mix.
 */

/** A leader's transfer of one snapshot to one follower: one chunk in flight at a time. */
export class OutgoingSnapshot {
  /** The snapshot being sent (the leader's latest when the transfer started). */
  readonly snapshot: Snapshot;
  /** Bytes the follower is known to hold: the offset of the next chunk. */
  acknowledged = 0;
  /** The chunk in flight: its offset and the heartbeat round it was sent in. */
  #inFlight: { offset: number; round: number } | undefined = undefined;

  /** A transfer of `snapshot`, from its first byte. */
  constructor(snapshot: Snapshot) {
    this.snapshot = snapshot;
  }

  /** Whether a chunk is in flight. */
  get sending(): boolean {
    return this.#inFlight !== undefined;
  }

  /**
   * The next chunk, at most `maxBytes` from `acknowledged`, and whether it is the last;
   * recorded as in flight since heartbeat round `round`.
   */
  nextChunk(maxBytes: number, round: number): { readonly offset: number; readonly data: Uint8Array; readonly done: boolean } {
    const all = this.snapshot.data;
    const offset = this.acknowledged;
    const end = Math.min(all.length, offset + maxBytes);
    this.#inFlight = { offset, round };
    return { offset, data: all.subarray(offset, end), done: end === all.length };
  }

  /**
   * Takes the answer to the chunk sent at `offset`: the follower holds `bytesReceived` bytes.
   * Returns false for the answer to a chunk that is no longer the one in flight (late, or
   * duplicated), which changes nothing.
   */
  answered(offset: number, bytesReceived: number): boolean {
    if (this.#inFlight?.offset !== offset) return false;
    this.#inFlight = undefined;
    this.acknowledged = bytesReceived;
    return true;
  }

  /**
   * At a heartbeat of round `round`: whether a chunk should be sent now, because none is in
   * flight or the one in flight has gone unanswered for a whole heartbeat period.
   */
  dueAt(round: number): boolean {
    return this.#inFlight === undefined || this.#inFlight.round <= round - 2;
  }
}

/** A follower's partial transfer: the chunks of one snapshot, from one leader's term, in order. */
class IncomingSnapshot {
  readonly term: Term;
  readonly lastIncluded: LogPosition;
  readonly #chunks: Uint8Array[] = [];
  received = 0;

  constructor(term: Term, lastIncluded: LogPosition) {
    this.term = term;
    this.lastIncluded = lastIncluded;
  }

  /** Whether a chunk of `term` for `lastIncluded` belongs to this transfer. */
  isFor(term: Term, lastIncluded: LogPosition): boolean {
    return term === this.term && lastIncluded.index === this.lastIncluded.index && lastIncluded.term === this.lastIncluded.term;
  }

  add(chunk: Uint8Array): void {
    this.#chunks.push(chunk);
    this.received += chunk.length;
  }

  /** The whole snapshot's data, in one array. */
  assemble(): Uint8Array {
    if (this.#chunks.length === 1) return this.#chunks[0] as Uint8Array;
    const data = new Uint8Array(this.received);
    let offset = 0;
    for (const chunk of this.#chunks) {
      data.set(chunk, offset);
      offset += chunk.length;
    }
    return data;
  }
}

/** Where a follower keeps its partial transfer between messages (volatile: lost on restart). */
export class SnapshotReceiver {
  #pending: IncomingSnapshot | undefined = undefined;

  /** The last entry of the snapshot under way, if any (for explorers and tests). */
  get pending(): { readonly lastIncluded: LogPosition; readonly received: number } | undefined {
    return this.#pending;
  }

  /**
   * Takes a chunk of a leader of `term` (already checked to be the current one). A chunk at
   * offset 0 starts a new transfer, replacing any other; a chunk that continues the transfer
   * under way (same term, same snapshot, offset at the bytes received) is added to it; any
   * other is refused. Returns whether the chunk was taken, how many bytes of its snapshot
   * are held now, and the whole snapshot once its last chunk was taken.
   */
  accept(term: Term, message: InstallSnapshotMessage): { taken: boolean; bytesReceived: number; complete: Snapshot | undefined } {
    const { lastIncluded, offset, data } = message;
    let pending = this.#pending;
    if (offset === 0) {
      pending = new IncomingSnapshot(term, lastIncluded);
      this.#pending = pending;
    } else if (pending === undefined || !pending.isFor(term, lastIncluded) || offset !== pending.received) {
      const bytesReceived = pending !== undefined && pending.isFor(term, lastIncluded) ? pending.received : 0;
      return { taken: false, bytesReceived, complete: undefined };
    }
    pending.add(data);
    if (!message.done) return { taken: true, bytesReceived: pending.received, complete: undefined };
    this.#pending = undefined;
    return { taken: true, bytesReceived: pending.received, complete: { lastIncluded, data: pending.assemble() } };
  }

  /** Forgets the transfer under way. */
  clear(): void {
    this.#pending = undefined;
  }
}

/**
 * The receiver's side of InstallSnapshot, in any role: refuse a stale leader (with this
 * server's term, changing nothing), follow the current one, take the chunk, and install the
 * snapshot when its last chunk arrives. A snapshot at or behind this server's commitIndex is
 * answered with success and changes nothing: what it covers is already committed here.
 */
export function receiveInstallSnapshot<T>(state: ServerState<T>, message: InstallSnapshotMessage): void {
  state.observeTerm(message.leaderTerm);
  const { log, outbox, id } = state;
  const term = state.currentTerm;
  const reply = (success: boolean, bytesReceived: number): void =>
    outbox.reply<InstallSnapshotReply>(message.replyChannel, { follower: id, followerTerm: term, success, bytesReceived });
  if (message.leaderTerm < term || !state.role.followLeader(message.leaderId)) {
    reply(false, 0);
    return;
  }
  state.heardFromLeader(message.leaderId);
  if (message.lastIncluded.index <= log.commitIndex) {
    reply(true, message.offset + message.data.length);
    return;
  }
  const { taken, bytesReceived, complete } = state.snapshotReceiver.accept(term, message);
  if (complete !== undefined) installSnapshot(state, complete);
  reply(taken, bytesReceived);
}
