// A closed-loop load generator: `concurrency` loops, each sending its next request when the previous
// answer has been read in full. Every response's latency (and time to first byte) is kept, so
// percentiles are exact rather than bucketed.
import { Pool } from "undici";

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  latenciesMs: Float64Array;
  ttfbMs: Float64Array;
}

export interface LoadSpec {
  url: string;
  path: string;
  body: string;
  concurrency: number;
  seconds: number;
  headers?: Record<string, string>;
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const origin = new URL(spec.url).origin;
  const pool = new Pool(origin, { connections: spec.concurrency, keepAliveTimeout: 60_000, pipelining: 1 });
  const latencies: number[] = [];
  const ttfbs: number[] = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + spec.seconds * 1000;
  const loop = async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      try {
        const res = await pool.request({
          path: spec.path,
          method: "POST",
          headers: { "content-type": "application/json", ...spec.headers },
          body: spec.body,
        });
        let first = 0;
        for await (const _ of res.body) if (!first) first = performance.now();
        if (res.statusCode !== 200) errors++;
        else {
          latencies.push(performance.now() - t0);
          ttfbs.push((first || performance.now()) - t0);
        }
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, loop));
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  return {
    requests: latencies.length,
    errors,
    seconds,
    latenciesMs: Float64Array.from(latencies),
    ttfbMs: Float64Array.from(ttfbs),
  };
}

export function percentile(values: Float64Array, p: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function merge(results: LoadResult[]): LoadResult {
  const cat = (key: "latenciesMs" | "ttfbMs") => {
    const out = new Float64Array(results.reduce((n, r) => n + r[key].length, 0));
    let at = 0;
    for (const r of results) (out.set(r[key], at), (at += r[key].length));
    return out;
  };
  return {
    requests: results.reduce((n, r) => n + r.requests, 0),
    errors: results.reduce((n, r) => n + r.errors, 0),
    seconds: results.reduce((n, r) => n + r.seconds, 0),
    latenciesMs: cat("latenciesMs"),
    ttfbMs: cat("ttfbMs"),
  };
}
