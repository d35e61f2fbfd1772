// A replica's prefix KV cache and prefill queue, as the engine simulator models them: the prompt is cut
// into blocks of `blockTokens` (a token is four characters here), each block named by a hash of the text up
// to its end; the blocks found from the start are reused, the rest are prefilled at `prefillMsPerToken`.
// At most `maxRunning` prompts are prefilled at once; the others wait in order (vLLM's waiting queue).
// Blocks are kept in LRU order up to `capacityTokens`. Counters and gauges are served as vLLM names them.
import { createHash } from "node:crypto";

export interface KvCacheOptions {
  capacityTokens: number;
  blockTokens?: number;
  prefillMsPerToken: number;
  maxRunning?: number;
  /** Blocks any replica has held, shared by a fleet's caches: what an ideal router could have reused
   * (`reusable`), the ceiling a measured hit rate is read against. */
  everSeen?: Set<string>;
}

export interface Prefill {
  promptTokens: number;
  cachedTokens: number;
  /** Milliseconds spent waiting for a slot, and prefilling. */
  waitedMs: number;
  prefillMs: number;
}

const CHARS_PER_TOKEN = 4;

export class KvCache {
  readonly blockTokens: number;
  readonly maxRunning: number;
  private readonly capacityBlocks: number;
  private readonly blocks = new Map<string, true>();
  private readonly queue: Array<() => void> = [];
  running = 0;
  queries = 0;
  hits = 0;
  /** Prompt tokens some replica of the fleet held (with `everSeen`). */
  reusable = 0;

  constructor(readonly options: KvCacheOptions) {
    this.blockTokens = options.blockTokens ?? 16;
    this.maxRunning = options.maxRunning ?? 4;
    this.capacityBlocks = Math.floor(options.capacityTokens / this.blockTokens);
  }

  get waiting(): number {
    return this.queue.length;
  }

  /** KV in use, as vLLM reports it: the blocks of the prompts being prefilled, over the capacity (cached
   * blocks no request holds can be evicted, so they count as free). */
  get usage(): number {
    return this.runningBlocks / this.capacityBlocks;
  }
  private runningBlocks = 0;

  clear(): void {
    this.blocks.clear();
    this.queries = 0;
    this.hits = 0;
    this.reusable = 0;
    this.options.everSeen?.clear();
  }

  /** Waits for a slot, prefills what is not cached, keeps the prompt's blocks. */
  async prefill(prompt: string, sleep: (ms: number) => Promise<unknown>): Promise<Prefill> {
    const queued = performance.now();
    if (this.running >= this.maxRunning) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.running++;
    const started = performance.now();
    const names = this.blockNames(prompt);
    this.runningBlocks += names.length;
    try {
      let reused = 0;
      while (reused < names.length && this.blocks.has(names[reused]!)) reused++;
      const seen = this.options.everSeen;
      let reusable = 0;
      while (seen && reusable < names.length && seen.has(names[reusable]!)) reusable++;
      this.reusable += reusable * this.blockTokens;
      const promptTokens = Math.ceil(prompt.length / CHARS_PER_TOKEN);
      const cachedTokens = reused * this.blockTokens;
      this.queries += promptTokens;
      this.hits += cachedTokens;
      const ms = (promptTokens - cachedTokens) * this.options.prefillMsPerToken;
      if (ms > 0) await sleep(ms);
      this.keep(prompt);
      return { promptTokens, cachedTokens, waitedMs: started - queued, prefillMs: performance.now() - started };
    } finally {
      this.runningBlocks -= names.length;
      this.running--;
      this.queue.shift()?.();
    }
  }

  /** Keeps the blocks of `text` (a prompt, or a prompt and the answer generated after it, as engines
   * keep the KV of the tokens they decode), the least recently used going first past the capacity. */
  keep(text: string): void {
    for (const name of this.blockNames(text)) {
      this.blocks.delete(name);
      this.blocks.set(name, true);
      this.options.everSeen?.add(name);
    }
    for (const name of this.blocks.keys()) {
      if (this.blocks.size <= this.capacityBlocks) break;
      this.blocks.delete(name);
    }
  }

  metrics(model: string): string {
    const series = (name: string, type: string, value: number) =>
      `# TYPE ${name} ${type}\n${name}{model_name="${model}"} ${value}\n`;
    return (
      series("vllm:num_requests_running", "gauge", this.running) +
      series("vllm:num_requests_waiting", "gauge", this.waiting) +
      series("vllm:kv_cache_usage_perc", "gauge", this.usage) +
      series("vllm:prefix_cache_queries_total", "counter", this.queries) +
      series("vllm:prefix_cache_hits_total", "counter", this.hits)
    );
  }

  private blockNames(prompt: string): string[] {
    const chars = this.blockTokens * CHARS_PER_TOKEN;
    const names: string[] = [];
    let previous = "";
    for (let end = chars; end <= prompt.length; end += chars) {
      previous = createHash("sha1")
        .update(previous)
        .update(prompt.slice(end - chars, end))
        .digest("base64");
      names.push(previous);
    }
    return names;
  }
}

/** The text an answer adds after its prompt in the template (what the next turn sends back). */
export const answerTemplate = (text: string) => `<|assistant|>${text}`;

/** The text a chat template would make of a chat or Responses request (tools first, then the turns). */
export function templateOf(body: any): string {
  const parts: string[] = [];
  if (Array.isArray(body?.tools) && body.tools.length) parts.push(`<tools>${JSON.stringify(body.tools)}`);
  if (typeof body?.instructions === "string") parts.push(`<|system|>${body.instructions}`);
  const turns = Array.isArray(body?.messages)
    ? body.messages
    : typeof body?.input === "string"
      ? [{ role: "user", content: body.input }]
      : Array.isArray(body?.input)
        ? body.input
        : [];
  for (const turn of turns) {
    const content =
      typeof turn?.content === "string"
        ? turn.content
        : Array.isArray(turn?.content)
          ? turn.content.map((p: any) => p?.text ?? "").join("")
          : JSON.stringify(turn);
    parts.push(`<|${turn?.role ?? "item"}|>${content}`);
  }
  return parts.join("");
}
