// createKvHttpMetrics fed by a real createKvHttpServer: counts by route, method and status.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createKvHttpMetrics } from '../../lib/kv/http-metrics';
import { createKvHttpServer } from '../../lib/kv/http-service';
import type { KvBackend } from '../../lib/kv/kv-backend';
import { MetricsRegistry } from '../../lib/kv/metrics';

const data = new Map<string, string>();
const backend: KvBackend = {
  put: (key, value) => Promise.resolve(void data.set(key, value)),
  delete: (key) => Promise.resolve(void data.delete(key)),
  get: (key) => Promise.resolve(data.get(key)),
  status: () => ({ id: 1, role: 'leader', term: 2, leaderId: 1, commitIndex: 3, lastApplied: 3 }),
  metrics: () => registry.text(),
};
const registry = new MetricsRegistry();
let server: http.Server;
let base: string;

beforeAll(async () => {
  server = createKvHttpServer(backend, { onResponse: createKvHttpMetrics(registry).onResponse });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

it('counts responses by route, method and status and times them', async () => {
  expect((await fetch(`${base}/kv/a`, { method: 'PUT', body: 'x' })).status).toBe(204);
  expect((await fetch(`${base}/kv/a`)).status).toBe(200);
  expect((await fetch(`${base}/kv/b`)).status).toBe(404);
  expect((await fetch(`${base}/kv/b`)).status).toBe(404);
  const scrape = await fetch(`${base}/metrics`);
  expect(scrape.headers.get('content-type')).toBe('text/plain; version=0.0.4');
  const text = await scrape.text();
  expect(text).toContain('# TYPE kv_http_requests_total counter\n');
  expect(text).toContain('kv_http_requests_total{route="kv",method="PUT",status="204"} 1\n');
  expect(text).toContain('kv_http_requests_total{route="kv",method="GET",status="200"} 1\n');
  expect(text).toContain('kv_http_requests_total{route="kv",method="GET",status="404"} 2\n');
  expect(text).toContain('# TYPE kv_http_request_duration_seconds histogram\n');
  expect(text).toContain('kv_http_request_duration_seconds_bucket{route="kv",method="GET",le="+Inf"} 3\n');
  expect(text).toContain('kv_http_request_duration_seconds_count{route="kv",method="PUT"} 1\n');
  // the scrape itself is counted once its response is sent
  expect(await (await fetch(`${base}/metrics`)).text()).toContain('kv_http_requests_total{route="metrics",method="GET",status="200"} 1\n');
});
