// The gateway's counter and histogram series must read, to a scraper and to the cluster primary,
// exactly as prom-client's own Counter and Histogram fed the same updates.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { AggregatorRegistry, Counter, Histogram, Registry } from "prom-client";
import { CounterSeries, HistogramSeries } from "../../../src/core/observability/metric-series.ts";

const test = suite("metric-series");
const BOUNDS = [0.001, 0.01, 0.1, 1, 10];
const route = fc.constantFrom("/chat/completions", "/embeddings", "/info", 'odd "route"\\');
const status = fc.constantFrom("200", "400", "499", "502");
const seconds = fc.oneof(fc.double({ min: 0, max: 20, noNaN: true }), fc.constantFrom(...BOUNDS));
const updates = fc.array(fc.record({ route, status, seconds, tokens: fc.integer({ min: 1, max: 5000 }) }), {
  maxLength: 60,
});

function feedBoth(list: Array<{ route: string; status: string; seconds: number; tokens: number }>) {
  const ours = new Registry();
  const theirs = new Registry();
  const requests = new CounterSeries("t_requests_total", "requests", ["route", "status"], ours);
  const duration = new HistogramSeries("t_duration_seconds", "duration", ["route", "status"], BOUNDS, ours);
  const firstToken = new HistogramSeries("t_first_token_seconds", "ttft", [], BOUNDS, ours);
  const tokens = new CounterSeries("t_tokens_total", "tokens", [], ours);
  const pRequests = new Counter({
    name: "t_requests_total",
    help: "requests",
    labelNames: ["route", "status"],
    registers: [theirs],
  });
  const pDuration = new Histogram({
    name: "t_duration_seconds",
    help: "duration",
    labelNames: ["route", "status"],
    buckets: BOUNDS,
    registers: [theirs],
  });
  const pFirstToken = new Histogram({
    name: "t_first_token_seconds",
    help: "ttft",
    buckets: BOUNDS,
    registers: [theirs],
  });
  const pTokens = new Counter({ name: "t_tokens_total", help: "tokens", registers: [theirs] });
  list.forEach((u, i) => {
    requests.labels(u.route, u.status).inc();
    pRequests.inc({ route: u.route, status: u.status });
    duration.labels(u.route, u.status).observe(u.seconds);
    pDuration.observe({ route: u.route, status: u.status }, u.seconds);
    if (i % 2) {
      firstToken.labels().observe(u.seconds);
      pFirstToken.observe(u.seconds);
    }
    tokens.labels().inc(u.tokens);
    pTokens.inc(u.tokens);
  });
  return { ours, theirs };
}

test("the_exposition_text_is_prom_clients", async () => {
  await fc.assert(
    fc.asyncProperty(updates, async (list) => {
      const { ours, theirs } = feedBoth(list);
      assert.is(await ours.metrics(), await theirs.metrics());
    }),
    { numRuns: 200 },
  );
});

test("workers_aggregate_as_prom_clients_do", async () => {
  await fc.assert(
    fc.asyncProperty(updates, updates, async (a, b) => {
      const [oursA, oursB] = [feedBoth(a).ours, feedBoth(b).ours];
      const [theirsA, theirsB] = [feedBoth(a).theirs, feedBoth(b).theirs];
      const merged = AggregatorRegistry.aggregate([await oursA.getMetricsAsJSON(), await oursB.getMetricsAsJSON()]);
      const expected = AggregatorRegistry.aggregate([
        await theirsA.getMetricsAsJSON(),
        await theirsB.getMetricsAsJSON(),
      ]);
      assert.is(await merged.metrics(), await expected.metrics());
    }),
    { numRuns: 100 },
  );
});

test("reset_zeroes_every_series_and_children_in_hand_keep_counting", async () => {
  const registry = new Registry();
  const requests = new CounterSeries("r_total", "r", ["route"], registry);
  const plain = new HistogramSeries("p_seconds", "p", [], [1], registry);
  const chat = requests.labels("/a");
  chat.inc(3);
  plain.labels().observe(0.5);
  registry.resetMetrics();
  chat.inc();
  assert.is(
    await registry.metrics(),
    '# HELP r_total r\n# TYPE r_total counter\nr_total{route="/a"} 1\n\n# HELP p_seconds p\n# TYPE p_seconds histogram\np_seconds_bucket{le="1"} 0\np_seconds_bucket{le="+Inf"} 0\np_seconds_sum 0\np_seconds_count 0\n',
  );
});

test.run();
