// A tiny Prometheus registry, written by hand so the library takes no dependency for it:
// counters, gauges (optionally read by a callback at scrape time) and histograms with fixed
// buckets, each with optional label names, rendered in the text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/).
//
// Rendering rules: one `# HELP` and one `# TYPE` line per metric, in registration order; the
// series of a labelled metric in the order their label sets were first seen; label values
// escaped (`\\`, `\"`, `\n`); HELP text escaped (`\\`, `\n`); numbers as JavaScript prints
// them, with `+Inf`, `-Inf` and `NaN` spelled as Prometheus expects. A metric without label
// names always has its one series (0 until changed); a labelled one shows only the label sets
// used so far. The text ends with a newline.

/** The content type of {@link MetricsRegistry.text}: Prometheus text exposition format 0.0.4. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4';

/** Label values of one series, by label name; exactly the metric's label names, no others. */
export type MetricLabels = Readonly<Record<string, string>>;

/** Histogram buckets (upper bounds, in seconds) for disk fsync latency: 100 µs to 1 s. */
export const FSYNC_LATENCY_BUCKETS: readonly number[] = Object.freeze([
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
]);

/** Histogram buckets (upper bounds, in seconds) for request latency: 1 ms to 10 s. */
export const REQUEST_LATENCY_BUCKETS: readonly number[] = Object.freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/** What every metric is created with. */
export interface MetricOptions {
  /** The metric name, matching `[a-zA-Z_:][a-zA-Z0-9_:]*`; a counter's should end in `_total`. */
  readonly name: string;
  /** One line of help text (backslashes and newlines are escaped when rendered). */
  readonly help: string;
  /** The label names, each matching `[a-zA-Z_][a-zA-Z0-9_]*` and not starting with `__`. */
  readonly labelNames?: readonly string[];
}

/** One labelled value a gauge's `collect` callback can report. */
export interface GaugeSample {
  /** The series' label values. */
  readonly labels: MetricLabels;
  /** Its value. */
  readonly value: number;
}

/** What a {@link Gauge} is created with. */
export interface GaugeOptions extends MetricOptions {
  /**
   * Called at every scrape to read the gauge's value(s): a number for a gauge without label
   * names, or the samples of a labelled one. The result replaces whatever was set before.
   */
  readonly collect?: () => number | readonly GaugeSample[];
}

/** What a {@link Histogram} is created with. */
export interface HistogramOptions extends MetricOptions {
  /**
   * The bucket upper bounds, finite and strictly increasing; `+Inf` is added on its own.
   * Default {@link FSYNC_LATENCY_BUCKETS}.
   */
  readonly buckets?: readonly number[];
}

/** Anything a {@link MetricsRegistry} can render. */
export interface Metric {
  /** The metric name. */
  readonly name: string;
  /** Renders the metric's HELP, TYPE and sample lines, each ending in a newline. */
  render(): string;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Formats a sample value as the text format spells it. */
export function formatMetricValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** Escapes a label value: backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Escapes HELP text: backslash and line feed. */
function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Renders `{a="x",b="y"}` (empty string for no labels). */
function renderLabels(names: readonly string[], values: readonly string[], extra?: readonly [string, string]): string {
  const parts = names.map((name, i) => `${name}="${escapeLabelValue(values[i] ?? '')}"`);
  if (extra !== undefined) parts.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/** What counters, gauges and histograms share: name, help, label names, series by label set. */
export abstract class BaseMetric<S> implements Metric {
  /** The metric name. */
  readonly name: string;
  /** The help text. */
  readonly help: string;
  /** The label names, in the order they are rendered. */
  readonly labelNames: readonly string[];
  /** The series by their label values (as JSON), in the order first seen. @internal */
  protected readonly series = new Map<string, { readonly values: readonly string[]; state: S }>();

  /** Checks the name and label names (`reserved` ones are refused). @internal */
  protected constructor(options: MetricOptions, reserved: readonly string[]) {
    if (!METRIC_NAME.test(options.name)) throw new TypeError(`invalid metric name ${JSON.stringify(options.name)}`);
    const labelNames = [...(options.labelNames ?? [])];
    const seen = new Set<string>();
    for (const label of labelNames) {
      if (!LABEL_NAME.test(label) || label.startsWith('__') || reserved.includes(label)) {
        throw new TypeError(`invalid label name ${JSON.stringify(label)} for metric ${options.name}`);
      }
      if (seen.has(label)) throw new TypeError(`duplicate label name ${JSON.stringify(label)} for metric ${options.name}`);
      seen.add(label);
    }
    this.name = options.name;
    this.help = options.help;
    this.labelNames = Object.freeze(labelNames);
  }

  /** The series for a label set, created with `initial()` on first use. @internal */
  protected seriesFor(labels: MetricLabels | undefined, initial: () => S): { readonly values: readonly string[]; state: S } {
    const values = this.labelValues(labels);
    const key = JSON.stringify(values);
    let entry = this.series.get(key);
    if (entry === undefined) {
      entry = { values, state: initial() };
      this.series.set(key, entry);
    }
    return entry;
  }

  /** The state of the series of `labels`, without creating it. @internal */
  protected peek(labels: MetricLabels | undefined): S | undefined {
    return this.series.get(JSON.stringify(this.labelValues(labels)))?.state;
  }

  /** Checks a label set against the label names and returns its values in their order. */
  private labelValues(labels: MetricLabels | undefined): string[] {
    const given = labels ?? {};
    const keys = Object.keys(given);
    if (keys.length !== this.labelNames.length || keys.some((key) => !this.labelNames.includes(key))) {
      throw new TypeError(`metric ${this.name} takes labels [${this.labelNames.join(', ')}], got [${keys.join(', ')}]`);
    }
    return this.labelNames.map((name) => {
      const value = given[name];
      if (typeof value !== 'string') throw new TypeError(`metric ${this.name}: label ${name} must be a string`);
      return value;
    });
  }

  /** The HELP and TYPE lines. @internal */
  protected header(type: string): string {
    return `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${type}\n`;
  }

  /** Renders the metric's HELP, TYPE and sample lines, each ending in a newline. */
  abstract render(): string;
}

/** A value that only goes up (or is reset when the process restarts), such as requests served. */
export class Counter extends BaseMetric<number> {
  /** Creates a counter; register it with {@link MetricsRegistry.register}, or use {@link MetricsRegistry.counter}. */
  constructor(options: MetricOptions) {
    super(options, []);
    if (this.labelNames.length === 0) this.seriesFor(undefined, () => 0);
  }

  /** Adds `amount` (default 1; finite, not negative) to the series of `labels`. */
  inc(amount = 1, labels?: MetricLabels): void {
    if (!Number.isFinite(amount) || amount < 0) throw new RangeError(`counter ${this.name}: cannot add ${amount}`);
    const entry = this.seriesFor(labels, () => 0);
    entry.state += amount;
  }

  /** The current value of the series of `labels` (0 when never incremented). */
  get(labels?: MetricLabels): number {
    return this.peek(labels) ?? 0;
  }

  /** Renders the counter in the text format. */
  render(): string {
    let text = this.header('counter');
    for (const { values, state } of this.series.values()) text += `${this.name}${renderLabels(this.labelNames, values)} ${formatMetricValue(state)}\n`;
    return text;
  }
}

/** A value that goes up and down, such as the current term; optionally read at scrape time. */
export class Gauge extends BaseMetric<number> {
  private readonly collect: (() => number | readonly GaugeSample[]) | undefined;

  /** Creates a gauge; register it with {@link MetricsRegistry.register}, or use {@link MetricsRegistry.gauge}. */
  constructor(options: GaugeOptions) {
    super(options, []);
    this.collect = options.collect;
    if (this.labelNames.length === 0) this.seriesFor(undefined, () => 0);
  }

  /** Sets the series of `labels` to `value`. */
  set(value: number, labels?: MetricLabels): void {
    this.seriesFor(labels, () => 0).state = value;
  }

  /** Adds `amount` (default 1, may be negative) to the series of `labels`. */
  inc(amount = 1, labels?: MetricLabels): void {
    this.seriesFor(labels, () => 0).state += amount;
  }

  /** Subtracts `amount` (default 1) from the series of `labels`. */
  dec(amount = 1, labels?: MetricLabels): void {
    this.inc(-amount, labels);
  }

  /** The current value of the series of `labels`, running `collect` first if there is one. */
  get(labels?: MetricLabels): number {
    this.runCollect();
    return this.peek(labels) ?? 0;
  }

  /** Renders the gauge in the text format, running `collect` first if there is one. */
  render(): string {
    this.runCollect();
    let text = this.header('gauge');
    for (const { values, state } of this.series.values()) text += `${this.name}${renderLabels(this.labelNames, values)} ${formatMetricValue(state)}\n`;
    return text;
  }

  private runCollect(): void {
    if (this.collect === undefined) return;
    const result = this.collect();
    if (typeof result === 'number') {
      this.set(result);
      return;
    }
    this.series.clear();
    if (this.labelNames.length === 0) this.seriesFor(undefined, () => 0);
    for (const sample of result) this.set(sample.value, sample.labels);
  }
}

/** The state of one histogram series. */
export interface HistogramSeries {
  /** Observations per bucket (not cumulative), the last one for `+Inf`. */
  readonly counts: number[];
  /** The sum of the observations. */
  sum: number;
  /** The number of observations. */
  count: number;
}

/** Observations counted in fixed buckets, such as fsync latency in seconds. */
export class Histogram extends BaseMetric<HistogramSeries> {
  /** The finite bucket upper bounds, increasing (`+Inf` is implied). */
  readonly buckets: readonly number[];

  /** Creates a histogram; register it with {@link MetricsRegistry.register}, or use {@link MetricsRegistry.histogram}. */
  constructor(options: HistogramOptions) {
    super(options, ['le']);
    const buckets = [...(options.buckets ?? FSYNC_LATENCY_BUCKETS)];
    if (buckets.length === 0) throw new TypeError(`histogram ${options.name}: at least one bucket is needed`);
    for (let i = 0; i < buckets.length; i++) {
      const bound = buckets[i] as number;
      if (!Number.isFinite(bound) || (i > 0 && bound <= (buckets[i - 1] as number))) {
        throw new TypeError(`histogram ${options.name}: buckets must be finite and strictly increasing`);
      }
    }
    this.buckets = Object.freeze(buckets);
    if (this.labelNames.length === 0) this.seriesFor(undefined, () => this.emptySeries());
  }

  /** Records one observation in the series of `labels`. */
  observe(value: number, labels?: MetricLabels): void {
    if (Number.isNaN(value)) throw new RangeError(`histogram ${this.name}: cannot observe NaN`);
    const entry = this.seriesFor(labels, () => this.emptySeries());
    let bucket = this.buckets.findIndex((bound) => value <= bound);
    if (bucket === -1) bucket = this.buckets.length;
    entry.state.counts[bucket] = (entry.state.counts[bucket] ?? 0) + 1;
    entry.state.sum += value;
    entry.state.count += 1;
  }

  /** Starts a timer; calling the function returned observes the seconds elapsed and returns them. */
  startTimer(labels?: MetricLabels): () => number {
    const start = process.hrtime.bigint();
    return () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      this.observe(seconds, labels);
      return seconds;
    };
  }

  /** Renders the histogram: cumulative `_bucket` lines up to `le="+Inf"`, then `_sum` and `_count`. */
  render(): string {
    let text = this.header('histogram');
    for (const { values, state } of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.buckets.length; i++) {
        cumulative += state.counts[i] ?? 0;
        const le = i < this.buckets.length ? formatMetricValue(this.buckets[i] as number) : '+Inf';
        text += `${this.name}_bucket${renderLabels(this.labelNames, values, ['le', le])} ${formatMetricValue(cumulative)}\n`;
      }
      const labels = renderLabels(this.labelNames, values);
      text += `${this.name}_sum${labels} ${formatMetricValue(state.sum)}\n`;
      text += `${this.name}_count${labels} ${formatMetricValue(state.count)}\n`;
    }
    return text;
  }

  private emptySeries(): HistogramSeries {
    return { counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
  }
}

/** A set of metrics rendered together for a `/metrics` scrape. */
export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();

  /** Adds a metric; throws if one with the same name is registered already. Returns it. */
  register<M extends Metric>(metric: M): M {
    if (this.metrics.has(metric.name)) throw new TypeError(`metric ${metric.name} is registered already`);
    this.metrics.set(metric.name, metric);
    return metric;
  }

  /** Creates and registers a {@link Counter}. */
  counter(options: MetricOptions): Counter {
    return this.register(new Counter(options));
  }

  /** Creates and registers a {@link Gauge}. */
  gauge(options: GaugeOptions): Gauge {
    return this.register(new Gauge(options));
  }

  /** Creates and registers a {@link Histogram}. */
  histogram(options: HistogramOptions): Histogram {
    return this.register(new Histogram(options));
  }

  /** The registered metric of that name, if any. */
  get(name: string): Metric | undefined {
    return this.metrics.get(name);
  }

  /** Renders every metric in registration order, in the text format 0.0.4 ({@link PROMETHEUS_CONTENT_TYPE}). */
  text(): string {
    let text = '';
    for (const metric of this.metrics.values()) text += metric.render();
    return text;
  }
}
