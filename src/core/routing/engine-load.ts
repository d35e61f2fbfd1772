// What an engine's own /metrics says of its load: requests queued and running, how full its KV cache is,
// how often its prefix cache hits. Each engine names these differently; the names are those of the
// pinned releases (entrypoints/engine-metrics.yaml, checked by test/unit/core/engine-load.test.ts against
// saved expositions). Series of one name are summed (vLLM labels by model and engine index).

export type EngineKind = "vllm" | "sglang" | "tgi" | "llamacpp";

export interface EngineLoad {
  readonly engine: EngineKind;
  /** Requests waiting for a slot (the engine's queue). */
  readonly waiting: number | undefined;
  /** Requests being served (in the running batch). */
  readonly running: number | undefined;
  /** KV cache in use, 0..1. */
  readonly kvUsage: number | undefined;
  /** Prompt tokens taken from the prefix cache, and all prompt tokens looked up (counters). */
  readonly cachedPromptTokens: number | undefined;
  readonly promptTokens: number | undefined;
}

/** The metric names read from each engine: the first present of each list wins. */
export const ENGINE_METRICS: Readonly<
  Record<
    EngineKind,
    Readonly<{
      waiting: readonly string[];
      running: readonly string[];
      kvUsage: readonly string[];
      /** Cache hits and lookups: counters of tokens (vLLM: of prompt tokens queried and hit). */
      cacheHits: readonly string[];
      cacheQueries: readonly string[];
    }>
  >
> = {
  vllm: {
    waiting: ["vllm:num_requests_waiting"],
    running: ["vllm:num_requests_running"],
    // vLLM 0.10 renamed gpu_cache_usage_perc; the old name stays for older images.
    kvUsage: ["vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"],
    cacheHits: ["vllm:prefix_cache_hits_total"],
    cacheQueries: ["vllm:prefix_cache_queries_total"],
  },
  sglang: {
    waiting: ["sglang:num_queue_reqs"],
    running: ["sglang:num_running_reqs"],
    kvUsage: ["sglang:token_usage"],
    cacheHits: ["sglang:cached_tokens_total"],
    cacheQueries: ["sglang:prompt_tokens_total"],
  },
  tgi: {
    waiting: ["tgi_queue_size"],
    running: ["tgi_batch_current_size"],
    kvUsage: [],
    cacheHits: [],
    cacheQueries: [],
  },
  llamacpp: {
    waiting: ["llamacpp:requests_deferred"],
    running: ["llamacpp:requests_processing"],
    kvUsage: [],
    // llama.cpp counts evaluated and reused prompt tokens apart: lookups are their sum (see below).
    cacheHits: ["llamacpp:prompt_tokens_cached_total"],
    cacheQueries: ["llamacpp:prompt_tokens_total"],
  },
};

/** The engine whose names an exposition uses, by the prefix of its first known metric. */
function kindOf(values: ReadonlyMap<string, number>): EngineKind | undefined {
  for (const name of values.keys()) {
    if (name.startsWith("vllm:")) return "vllm";
    if (name.startsWith("sglang:")) return "sglang";
    if (name.startsWith("llamacpp:")) return "llamacpp";
    if (name.startsWith("tgi_")) return "tgi";
  }
  return undefined;
}

/** Every sample's value by metric name, summed over its label sets. Comments and malformed lines are
 * skipped; so are values that are not finite numbers. */
export function sampleSums(text: string): Map<string, number> {
  const sums = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.charCodeAt(0) === 35 /* # */) continue;
    const nameEnd = line.search(/[{\s]/);
    if (nameEnd <= 0) continue;
    const name = line.slice(0, nameEnd);
    const close = line[nameEnd] === "{" ? line.indexOf("}", nameEnd) : nameEnd - 1;
    if (close < 0) continue;
    const value = Number(
      line
        .slice(close + 1)
        .trim()
        .split(/\s+/)[0],
    );
    if (!Number.isFinite(value)) continue;
    sums.set(name, (sums.get(name) ?? 0) + value);
  }
  return sums;
}

/** The load an exposition reports; undefined when it is no known engine's. */
export function parseEngineLoad(text: string): EngineLoad | undefined {
  const values = sampleSums(text);
  const engine = kindOf(values);
  if (engine === undefined) return undefined;
  const names = ENGINE_METRICS[engine];
  const first = (list: readonly string[]) => {
    for (const name of list) if (values.has(name)) return values.get(name);
    return undefined;
  };
  let cachedPromptTokens = first(names.cacheHits);
  let promptTokens = first(names.cacheQueries);
  if (engine === "llamacpp" && cachedPromptTokens !== undefined && promptTokens !== undefined)
    promptTokens += cachedPromptTokens; // its prompt_tokens_total excludes the cached ones
  return {
    engine,
    waiting: first(names.waiting),
    running: first(names.running),
    kvUsage: first(names.kvUsage),
    cachedPromptTokens,
    promptTokens,
  };
}
