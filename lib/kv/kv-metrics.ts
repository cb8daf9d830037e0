import type { PeerStats, PeerTransport, TransportStats } from '../net/peer-transport';
import type { NodeCounters, RaftNode } from '../node/raft-node';
import type { WireValue } from '../net/peer-transport';
import { createKvHttpMetrics, type KvHttpMetrics } from './http-metrics';
import { type Counter, type Histogram, MetricsRegistry, FSYNC_LATENCY_BUCKETS } from './metrics';

/**
 * The metrics of one key-value member, as `/metrics` shows them: Raft (proposals, commits,
 * applied index, term, elections, role), storage (fsync latency), transport (bytes and
 * frames per peer, drops, refused connections) and HTTP (responses and their latency).
 * Counters kept elsewhere (the node's, the transport's) are read at each scrape.
 */
export class KvMetrics {
  /** The registry behind the text. */
  readonly registry = new MetricsRegistry();
  /** `raft_fsync_duration_seconds`: one observation per sync that wrote something. */
  readonly fsyncSeconds: Histogram;
  /** The HTTP request metrics and their hook. */
  readonly http: KvHttpMetrics;
  /** Each moves counters kept elsewhere up to date, at each scrape. */
  readonly #refreshers: (() => void)[] = [];
  /** The transport's stats of the scrape under way (read once, used by every per-peer metric). */
  #scrape: TransportStats | undefined;
  #transport: PeerTransport | undefined;

  /** Registers every metric (node and transport ones read nothing until {@link KvMetrics.watch}). */
  constructor() {
    this.fsyncSeconds = this.registry.histogram({ name: 'raft_fsync_duration_seconds', help: 'Seconds one sync of the Raft store took (write and fdatasync).', buckets: FSYNC_LATENCY_BUCKETS });
    this.http = createKvHttpMetrics(this.registry);
  }

  /** Reads `node` and `transport` at every scrape. */
  watch<C extends WireValue, R extends WireValue>(node: RaftNode<C, R>, transport: PeerTransport): void {
    this.#transport = transport;
    const stats = (): TransportStats => this.#scrape ?? transport.stats();
    const counter = (name: string, help: string, read: (counters: NodeCounters) => number): void => {
      const metric = this.registry.counter({ name, help });
      this.#refreshers.push(() => follow(metric, read(node.counters)));
    };
    counter('raft_proposals_total', 'Commands proposed on this member while it led (its own and forwarded ones).', (c) => c.proposals);
    counter('raft_forwarded_proposals_total', 'Commands this member forwarded to the leader.', (c) => c.forwardedProposals);
    counter('raft_failed_proposals_total', 'Proposals that failed (no leader, unknown outcome, stopped, refused).', (c) => c.failedProposals);
    counter('raft_applied_entries_total', 'Entries applied to the state machine since start.', (c) => c.applied);
    counter('raft_reads_total', 'Linearizable reads served since start.', (c) => c.reads);
    counter('raft_elections_total', 'Elections this member started.', (c) => c.elections);
    counter('raft_leader_changes_total', 'Times the known leader changed.', (c) => c.leaderChanges);
    counter('raft_invalid_messages_total', 'Messages from peers refused as malformed.', (c) => c.invalidMessages);
    counter('raft_server_errors_total', 'Steps the server could not take (a failed sync, say).', (c) => c.serverErrors);
    this.registry.gauge({ name: 'raft_term', help: 'The current term.', collect: () => node.server.currentTerm });
    this.registry.gauge({ name: 'raft_commit_index', help: 'The highest log index known committed.', collect: () => node.server.volatileState.commitIndex });
    this.registry.gauge({ name: 'raft_applied_index', help: 'The highest log index applied to the state machine.', collect: () => node.server.volatileState.lastApplied });
    this.registry.gauge({ name: 'raft_snapshot_index', help: 'The last index covered by the latest snapshot.', collect: () => node.server.snapshot.index });
    this.registry.gauge({ name: 'raft_is_leader', help: '1 while this member leads, else 0.', collect: () => (node.server.role === 'leader' ? 1 : 0) });
    const perPeer = (name: string, help: string, read: (peer: PeerStats) => number): void => {
      const metric = this.registry.counter({ name, help, labelNames: ['peer'] });
      this.#refreshers.push(() => stats().peers.forEach((peer, id) => id !== node.id && follow(metric, read(peer), { peer: String(id) })));
    };
    perPeer('raft_peer_sent_bytes_total', 'Bytes written to a peer, frame headers included.', (p) => p.bytesSent);
    perPeer('raft_peer_received_bytes_total', 'Bytes read from a peer, frame headers included.', (p) => p.bytesReceived);
    perPeer('raft_peer_sent_frames_total', 'Frames written to a peer.', (p) => p.framesSent);
    perPeer('raft_peer_received_frames_total', 'Frames read from a peer.', (p) => p.framesReceived);
    perPeer('raft_peer_dropped_frames_total', 'Frames dropped: the send queue was full or the peer unreachable.', (p) => p.framesDropped);
    this.registry.gauge({
      name: 'raft_peer_connected',
      help: '1 while an authenticated connection to the peer is open.',
      labelNames: ['peer'],
      collect: () => stats().peers.flatMap((peer, id) => (id === node.id ? [] : [{ labels: { peer: String(id) }, value: peer.connected ? 1 : 0 }])),
    });
    const refused = this.registry.counter({ name: 'raft_refused_connections_total', help: 'Peer connections closed before or while authenticating, by reason.', labelNames: ['reason'] });
    this.#refreshers.push(() => {
      for (const [reason, count] of Object.entries(stats().refused)) follow(refused, count, { reason });
    });
  }

  /** The Prometheus text of every metric, read now. */
  text(): string {
    this.#scrape = this.#transport?.stats();
    try {
      for (const refresh of this.#refreshers) refresh();
      return this.registry.text();
    } finally {
      this.#scrape = undefined;
    }
  }
}

/** Moves a counter up to `value` (a total kept elsewhere); a series at 0 is shown too. */
function follow(counter: Counter, value: number, labels?: Readonly<Record<string, string>>): void {
  counter.inc(Math.max(0, value - counter.get(labels)), labels);
}
