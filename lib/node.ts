/**
 * Raft across processes on Node.js (`node:net`, `node:tls`, `node:http`, `node:fs`):
 * {@link TcpTransport}, a transport between members that authenticates peers before reading
 * any message; {@link RaftNode}, a `Server` run on real timers with group commit and a
 * promise API (proposals, linearizable reads, client sessions, forwarding to the leader);
 * and the replicated key-value service behind `npm run kv` ({@link startKvMember},
 * {@link createKvHttpServer}, {@link KvStore}, the Prometheus {@link MetricsRegistry}).
 *
 * ```ts
 * import { RaftNode, TcpTransport } from 'raft-ts/node';
 * ```
 *
 * The same names are exported by the package root `raft-ts` too.
 * @module raft-ts/node
 */
export type { PeerAddress, PeerStats, PeerTransport, RefusalReason, RequestHandler, TransportStats, WireValue } from './net/peer-transport';
export type { ReconnectDelay, TcpTlsOptions, TcpTransportOptions } from './net/tcp-transport';
export { DEFAULT_HANDSHAKE_TIMEOUT_MS, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_PENDING_REPLIES, DEFAULT_MAX_QUEUE_AGE_MS, DEFAULT_MAX_QUEUE_BYTES, DEFAULT_RECONNECT_DELAY_MS, DEFAULT_REPLY_TIMEOUT_MS, TcpTransport } from './net/tcp-transport';
export type { FrameCodec } from './net/codec';
export { GarbageFrameError, JSON_FRAME_CODEC } from './net/codec';
export { DEFAULT_MAX_FRAME_BYTES, FrameDecoder, FrameTooLargeError, encodeFrame } from './net/frame';
export { HandshakeError } from './net/handshake';
export type { Closable, NodeCounters, NodeServerOptions, NodeStatus, ProposeOptions, RaftNodeEvents, RaftNodeOptions } from './node/raft-node';
export { RaftNode } from './node/raft-node';
export type { NodeEntry, NodeStateMachine } from './node/session-state-machine';
export type { ClientSession, ClientSessionLimits } from './node/client-sessions';
export { DEFAULT_SESSION_LIMITS } from './node/client-sessions';
export { CommandFailedError, NoLeaderError, NodeStoppedError, OutcomeUnknownError, OverloadedError, SessionExpiredError } from './node/node-errors';
export { LoopbackNetwork } from './node/loopback-transport';
export type { KvBackend, KvStatus } from './kv/kv-backend';
export type { KvDelete, KvPut, KvWrite } from './kv/kv-store';
export { KvStore } from './kv/kv-store';
export type { KvMember, KvMemberOptions } from './kv/kv-member';
export { RaftKvBackend, startKvMember } from './kv/kv-member';
export { KvMetrics } from './kv/kv-metrics';
export type { KvHttpOptions, KvHttpRoute } from './kv/http-service';
export { MAX_KEY_BYTES, MAX_VALUE_BYTES, createKvHttpServer } from './kv/http-service';
export type { KvHttpMetrics } from './kv/http-metrics';
export { createKvHttpMetrics } from './kv/http-metrics';
export type { GaugeOptions, GaugeSample, HistogramOptions, HistogramSeries, Metric, MetricLabels, MetricOptions } from './kv/metrics';
export { BaseMetric, Counter, FSYNC_LATENCY_BUCKETS, Gauge, Histogram, MetricsRegistry, PROMETHEUS_CONTENT_TYPE, REQUEST_LATENCY_BUCKETS } from './kv/metrics';
