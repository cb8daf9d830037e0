import { LoopbackNetwork } from '../../lib/node/loopback-transport';
import { RaftNode } from '../../lib/node/raft-node';
import { InMemoryPersistentState } from '../../lib';
import { KvMetrics } from '../../lib/kv/kv-metrics';
import { KvStore, type KvWrite } from '../../lib/kv/kv-store';
import type { NodeEntry } from '../../lib/node/session-state-machine';

describe('KvMetrics: the member metrics of /metrics', () => {
  it('shows every Raft, storage, peer and refusal series, zeros included, before any traffic', () => {
    const network = new LoopbackNetwork(3);
    const transport = network.transport(0);
    const node = new RaftNode<KvWrite, null>({ id: 0, transport, persistentState: new InMemoryPersistentState<NodeEntry<KvWrite>>(), stateMachine: new KvStore() });
    const metrics = new KvMetrics();
    metrics.watch(node, transport);
    metrics.fsyncSeconds.observe(0.002);
    const text = metrics.text();
    for (const line of [
      'raft_proposals_total 0',
      'raft_elections_total 0',
      'raft_term 0',
      'raft_commit_index 0',
      'raft_applied_index 0',
      'raft_is_leader 0',
      'raft_fsync_duration_seconds_count 1',
      'raft_peer_sent_bytes_total{peer="1"} 0',
      'raft_peer_sent_bytes_total{peer="2"} 0',
      'raft_peer_received_frames_total{peer="2"} 0',
      'raft_peer_dropped_frames_total{peer="1"} 0',
      'raft_refused_connections_total{reason="stranger"} 0',
      'raft_refused_connections_total{reason="badSecret"} 0',
      'raft_refused_connections_total{reason="handshakeTimeout"} 0',
    ]) {
      expect(text.split('\n')).toContain(line);
    }
    expect(text).not.toMatch(/peer="0"/); // no series for the member itself
    expect(text).toMatch(/^# TYPE raft_proposals_total counter$/m);
    expect(text).toMatch(/^# TYPE raft_term gauge$/m);
  });

  it('reads the transport once per scrape, however many per-peer metrics there are', () => {
    const network = new LoopbackNetwork(3);
    const transport = network.transport(0);
    let reads = 0;
    const counted = { ...transport, stats: () => (reads++, transport.stats()) };
    const node = new RaftNode<KvWrite, null>({ id: 0, transport, persistentState: new InMemoryPersistentState<NodeEntry<KvWrite>>(), stateMachine: new KvStore() });
    const metrics = new KvMetrics();
    metrics.watch(node, counted);
    metrics.text();
    expect(reads).toBe(1);
    metrics.text();
    expect(reads).toBe(2);
  });
});
