// The hand-written Prometheus registry: exact text format 0.0.4 output.
import {
  Counter,
  FSYNC_LATENCY_BUCKETS,
  Gauge,
  Histogram,
  MetricsRegistry,
  PROMETHEUS_CONTENT_TYPE,
  escapeLabelValue,
  formatMetricValue,
} from '../../lib/kv/metrics';

describe('MetricsRegistry', () => {
  it('renders an unlabelled counter with HELP and TYPE, starting at 0', () => {
    const registry = new MetricsRegistry();
    const counter = registry.counter({ name: 'raft_proposals_total', help: 'Entries proposed.' });
    expect(registry.text()).toBe('# HELP raft_proposals_total Entries proposed.\n# TYPE raft_proposals_total counter\nraft_proposals_total 0\n');
    counter.inc();
    counter.inc(2.5);
    expect(counter.get()).toBe(3.5);
    expect(registry.text()).toBe('# HELP raft_proposals_total Entries proposed.\n# TYPE raft_proposals_total counter\nraft_proposals_total 3.5\n');
  });

  it('renders labelled series in first-seen order, with label names in declared order', () => {
    const registry = new MetricsRegistry();
    const requests = registry.counter({ name: 'kv_http_requests_total', help: 'Requests.', labelNames: ['method', 'status'] });
    expect(registry.text()).toBe('# HELP kv_http_requests_total Requests.\n# TYPE kv_http_requests_total counter\n');
    requests.inc(1, { status: '204', method: 'PUT' });
    requests.inc(1, { method: 'GET', status: '200' });
    requests.inc(1, { method: 'PUT', status: '204' });
    expect(registry.text()).toBe(
      '# HELP kv_http_requests_total Requests.\n' +
        '# TYPE kv_http_requests_total counter\n' +
        'kv_http_requests_total{method="PUT",status="204"} 2\n' +
        'kv_http_requests_total{method="GET",status="200"} 1\n',
    );
    expect(requests.get({ method: 'GET', status: '200' })).toBe(1);
    expect(requests.get({ method: 'GET', status: '500' })).toBe(0);
    expect(registry.text()).not.toContain('500'); // get does not create a series
  });

  it('escapes label values and help text', () => {
    const registry = new MetricsRegistry();
    const gauge = registry.gauge({ name: 'g', help: 'back\\slash and\nnewline', labelNames: ['path'] });
    gauge.set(1, { path: 'a"b\\c\nd' });
    expect(registry.text()).toBe('# HELP g back\\\\slash and\\nnewline\n# TYPE g gauge\ng{path="a\\"b\\\\c\\nd"} 1\n');
    expect(escapeLabelValue('x"\\\n')).toBe('x\\"\\\\\\n');
  });

  it('formats special values', () => {
    expect(formatMetricValue(Infinity)).toBe('+Inf');
    expect(formatMetricValue(-Infinity)).toBe('-Inf');
    expect(formatMetricValue(NaN)).toBe('NaN');
    expect(formatMetricValue(-2)).toBe('-2');
    expect(formatMetricValue(0.25)).toBe('0.25');
  });

  it('gauges go up, down and are set', () => {
    const gauge = new Gauge({ name: 'raft_term', help: 'Current term.' });
    gauge.set(5);
    gauge.inc();
    gauge.dec(3);
    expect(gauge.get()).toBe(3);
    expect(gauge.render()).toBe('# HELP raft_term Current term.\n# TYPE raft_term gauge\nraft_term 3\n');
  });

  it('reads a gauge through collect at every scrape', () => {
    let term = 1;
    const registry = new MetricsRegistry();
    registry.gauge({ name: 'raft_term', help: 'Current term.', collect: () => term });
    expect(registry.text()).toBe('# HELP raft_term Current term.\n# TYPE raft_term gauge\nraft_term 1\n');
    term = 7;
    expect(registry.text()).toBe('# HELP raft_term Current term.\n# TYPE raft_term gauge\nraft_term 7\n');
  });

  it('reads a labelled gauge through collect, replacing the previous samples', () => {
    let samples = [{ labels: { peer: 'b' }, value: 3 }, { labels: { peer: 'c' }, value: 4 }];
    const registry = new MetricsRegistry();
    const gauge = registry.gauge({ name: 'raft_match_index', help: 'Match index per peer.', labelNames: ['peer'], collect: () => samples });
    expect(registry.text()).toBe('# HELP raft_match_index Match index per peer.\n# TYPE raft_match_index gauge\nraft_match_index{peer="b"} 3\nraft_match_index{peer="c"} 4\n');
    samples = [{ labels: { peer: 'c' }, value: 9 }];
    expect(registry.text()).toBe('# HELP raft_match_index Match index per peer.\n# TYPE raft_match_index gauge\nraft_match_index{peer="c"} 9\n');
    expect(gauge.get({ peer: 'b' })).toBe(0);
  });

  it('renders a histogram with cumulative buckets, +Inf, _sum and _count', () => {
    const registry = new MetricsRegistry();
    const histogram = registry.histogram({ name: 'fsync_seconds', help: 'Fsync latency.', buckets: [0.001, 0.01, 0.1] });
    histogram.observe(0.0005);
    histogram.observe(0.001); // le is inclusive
    histogram.observe(0.05);
    histogram.observe(3);
    expect(registry.text()).toBe(
      '# HELP fsync_seconds Fsync latency.\n' +
        '# TYPE fsync_seconds histogram\n' +
        'fsync_seconds_bucket{le="0.001"} 2\n' +
        'fsync_seconds_bucket{le="0.01"} 2\n' +
        'fsync_seconds_bucket{le="0.1"} 3\n' +
        'fsync_seconds_bucket{le="+Inf"} 4\n' +
        'fsync_seconds_sum 3.0515\n' +
        'fsync_seconds_count 4\n',
    );
  });

  it('renders an empty histogram and a labelled one, le last', () => {
    const empty = new Histogram({ name: 'h', help: 'H.', buckets: [1] });
    expect(empty.render()).toBe('# HELP h H.\n# TYPE h histogram\nh_bucket{le="1"} 0\nh_bucket{le="+Inf"} 0\nh_sum 0\nh_count 0\n');
    const labelled = new Histogram({ name: 'req_seconds', help: 'R.', labelNames: ['method'], buckets: [0.5, 1] });
    expect(labelled.render()).toBe('# HELP req_seconds R.\n# TYPE req_seconds histogram\n');
    labelled.observe(0.75, { method: 'GET' });
    expect(labelled.render()).toBe(
      '# HELP req_seconds R.\n' +
        '# TYPE req_seconds histogram\n' +
        'req_seconds_bucket{method="GET",le="0.5"} 0\n' +
        'req_seconds_bucket{method="GET",le="1"} 1\n' +
        'req_seconds_bucket{method="GET",le="+Inf"} 1\n' +
        'req_seconds_sum{method="GET"} 0.75\n' +
        'req_seconds_count{method="GET"} 1\n',
    );
  });

  it('defaults to fsync latency buckets from 100 µs to 1 s', () => {
    const histogram = new Histogram({ name: 'fsync_seconds', help: 'F.' });
    expect(histogram.buckets).toEqual(FSYNC_LATENCY_BUCKETS);
    expect(FSYNC_LATENCY_BUCKETS[0]).toBe(0.0001);
    expect(FSYNC_LATENCY_BUCKETS[FSYNC_LATENCY_BUCKETS.length - 1]).toBe(1);
    const text = histogram.render();
    expect(text).toContain('fsync_seconds_bucket{le="0.0001"} 0\n');
    expect(text).toContain('fsync_seconds_bucket{le="0.00025"} 0\n');
    expect(text).toContain('fsync_seconds_bucket{le="1"} 0\nfsync_seconds_bucket{le="+Inf"} 0\n');
  });

  it('times an observation', () => {
    const histogram = new Histogram({ name: 'h', help: 'H.', buckets: [1000] });
    const seconds = histogram.startTimer()();
    expect(seconds).toBeGreaterThanOrEqual(0);
    expect(histogram.render()).toContain('h_count 1\n');
  });

  it('renders metrics in registration order and refuses a duplicate name', () => {
    const registry = new MetricsRegistry();
    registry.gauge({ name: 'b', help: 'B.' });
    registry.counter({ name: 'a_total', help: 'A.' });
    expect(registry.text()).toBe('# HELP b B.\n# TYPE b gauge\nb 0\n# HELP a_total A.\n# TYPE a_total counter\na_total 0\n');
    expect(() => registry.counter({ name: 'b', help: 'again' })).toThrow(/registered already/);
    expect(registry.get('a_total')).toBeInstanceOf(Counter);
    expect(registry.get('c')).toBeUndefined();
  });

  it('refuses bad names, labels and values', () => {
    expect(() => new Counter({ name: '1bad', help: '' })).toThrow(TypeError);
    expect(() => new Counter({ name: 'ok', help: '', labelNames: ['__reserved'] })).toThrow(TypeError);
    expect(() => new Counter({ name: 'ok', help: '', labelNames: ['a-b'] })).toThrow(TypeError);
    expect(() => new Counter({ name: 'ok', help: '', labelNames: ['a', 'a'] })).toThrow(TypeError);
    expect(() => new Histogram({ name: 'ok', help: '', labelNames: ['le'] })).toThrow(TypeError);
    expect(() => new Histogram({ name: 'ok', help: '', buckets: [1, 1] })).toThrow(TypeError);
    expect(() => new Histogram({ name: 'ok', help: '', buckets: [] })).toThrow(TypeError);
    expect(() => new Histogram({ name: 'ok', help: '', buckets: [1, Infinity] })).toThrow(TypeError);
    const counter = new Counter({ name: 'c', help: '', labelNames: ['method'] });
    expect(() => counter.inc(-1, { method: 'GET' })).toThrow(RangeError);
    expect(() => counter.inc(1)).toThrow(/takes labels \[method\]/);
    expect(() => counter.inc(1, { method: 'GET', extra: 'x' })).toThrow(TypeError);
    expect(() => new Histogram({ name: 'h', help: '' }).observe(NaN)).toThrow(RangeError);
  });

  it('names the 0.0.4 content type', () => {
    expect(PROMETHEUS_CONTENT_TYPE).toBe('text/plain; version=0.0.4');
  });
});
