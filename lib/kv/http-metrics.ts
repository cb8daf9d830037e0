// Request metrics for the key-value HTTP service: a counter by route, method and status, and a
// latency histogram by route and method, fed by createKvHttpServer's `onResponse` hook.
//
//   const registry = new MetricsRegistry();
//   const httpMetrics = createKvHttpMetrics(registry);
//   createKvHttpServer(backend, { onResponse: httpMetrics.onResponse });

import type { KvHttpOptions, KvHttpRoute } from './http-service';
import { type Counter, type Histogram, type MetricsRegistry, REQUEST_LATENCY_BUCKETS } from './metrics';

/** The request metrics of one HTTP service, and the hook that feeds them. */
export interface KvHttpMetrics {
  /** `<prefix>_requests_total{route,method,status}`: responses sent. */
  readonly requests: Counter;
  /** `<prefix>_request_duration_seconds{route,method}`: from a request's arrival to the end of its response. */
  readonly duration: Histogram;
  /** Pass as {@link KvHttpOptions.onResponse}. */
  readonly onResponse: (method: string, status: number, seconds: number, route: KvHttpRoute) => void;
}

/** Registers the HTTP request metrics in `registry` (names start with `prefix`, default `kv_http`). */
export function createKvHttpMetrics(registry: MetricsRegistry, prefix = 'kv_http'): KvHttpMetrics {
  const requests = registry.counter({
    name: `${prefix}_requests_total`,
    help: 'HTTP responses sent by the key-value service, by route, method and status code.',
    labelNames: ['route', 'method', 'status'],
  });
  const duration = registry.histogram({
    name: `${prefix}_request_duration_seconds`,
    help: 'Seconds from the arrival of an HTTP request to the end of its response, by route and method.',
    labelNames: ['route', 'method'],
    buckets: REQUEST_LATENCY_BUCKETS,
  });
  return {
    requests,
    duration,
    onResponse: (method, status, seconds, route) => {
      requests.inc(1, { route, method, status: String(status) });
      duration.observe(seconds, { route, method });
    },
  };
}
