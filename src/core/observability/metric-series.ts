// Counters and histograms kept as plain numbers per label set and turned into prom-client's exposition
// only when the registry is read (a scrape, or the cluster primary asking a worker). prom-client's own
// Counter and Histogram build label objects, hash strings and closures on every update, which is paid
// again by scavenges over the objects of every request in flight; here an update is an addition on a
// child looked up once (see metrics.ts).
import type { Metric, Registry } from "prom-client";

type Labels = Record<string, string | number>;
interface ExportedValue {
  value: number;
  labels: Labels;
  metricName?: string;
}
/** What prom-client's Registry reads from a metric: `get()` for text, JSON and cluster aggregation. */
interface Exported {
  name: string;
  help: string;
  type: "counter" | "histogram";
  values: ExportedValue[];
  aggregator: "sum";
}

abstract class Series<C> {
  private readonly children = new Map<string, { labels: Labels; child: C }>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    registry: Registry,
  ) {
    // The registry only calls name, get() and reset(): the interface prom-client's own aggregated metrics use.
    registry.registerMetric(this as unknown as Metric);
  }

  protected abstract create(): C;

  /** The child for these label values (in labelNames order), created on first use. */
  labels(...values: string[]): C {
    const key = values.join("\u0000");
    let entry = this.children.get(key);
    if (!entry) {
      const labels: Labels = {};
      this.labelNames.forEach((name, i) => (labels[name] = values[i]!));
      entry = { labels, child: this.create() };
      this.children.set(key, entry);
    }
    return entry.child;
  }

  /** Zeroes every series; children handed out stay valid (callers keep them instead of looking up per update). */
  reset(): void {
    for (const { child } of this.children.values()) this.zero(child);
    if (this.labelNames.length === 0) this.labels(); // a series without labels is exported from the start, as prom-client does
  }

  protected abstract zero(child: C): void;

  protected entries(): IterableIterator<{ labels: Labels; child: C }> {
    return this.children.values();
  }

  abstract get(): Exported;
}

export class CounterChild {
  value = 0;

  inc(by = 1): void {
    this.value += by;
  }
}

export class CounterSeries extends Series<CounterChild> {
  constructor(name: string, help: string, labelNames: readonly string[], registry: Registry) {
    super(name, help, labelNames, registry);
    this.reset();
  }

  protected create(): CounterChild {
    return new CounterChild();
  }

  protected zero(child: CounterChild): void {
    child.value = 0;
  }

  get(): Exported {
    const values = [...this.entries()].map(({ labels, child }) => ({ value: child.value, labels }));
    return { name: this.name, help: this.help, type: "counter", values, aggregator: "sum" };
  }
}

export class HistogramChild {
  /** Observations per bucket (not cumulative); above the last bound they are only in `count`. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    for (let i = 0; i < this.bounds.length; i++) {
      if (value <= this.bounds[i]!) {
        this.counts[i]!++;
        break;
      }
    }
    this.sum += value;
    this.count++;
  }
}

export class HistogramSeries extends Series<HistogramChild> {
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    super(name, help, labelNames, registry);
    this.reset();
  }

  protected create(): HistogramChild {
    return new HistogramChild(this.bounds);
  }

  protected zero(child: HistogramChild): void {
    child.counts.fill(0);
    child.sum = 0;
    child.count = 0;
  }

  /** Cumulative buckets, then +Inf, sum and count per series: prom-client's Histogram layout. */
  get(): Exported {
    const values: ExportedValue[] = [];
    for (const { labels, child } of this.entries()) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += child.counts[i]!;
        values.push({ value: cumulative, labels: { le, ...labels }, metricName: `${this.name}_bucket` });
      });
      values.push({ value: child.count, labels: { le: "+Inf", ...labels }, metricName: `${this.name}_bucket` });
      values.push({ value: child.sum, labels, metricName: `${this.name}_sum` });
      values.push({ value: child.count, labels, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: "histogram", values, aggregator: "sum" };
  }
}
