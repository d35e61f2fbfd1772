// An OpenAI-compatible engine simulator on loopback: real HTTP, real SSE. Without a script it answers
// like a small engine (deterministic text, usage, tool calls, embeddings); `next()` scripts the next
// answer (status, JSON, raw SSE events with gaps, a cut connection, a stall). Every request is
// recorded, with whether its client went away before the answer ended. Also runs standalone:
//   tsx test/sim/engine.ts [--port 8080] [--model NAME] [--tei] [--loading-for SECONDS]
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { answerTemplate, KvCache, type KvCacheOptions, templateOf } from "./kv-cache.ts";

export interface Script {
  status?: number;
  headers?: Record<string, string>;
  /** A JSON body. */
  json?: unknown;
  /** A raw body, sent as is. */
  text?: string;
  /** Raw SSE pieces, written one by one `gapMs` apart (include the `data: ` and blank lines yourself). */
  sse?: string[];
  gapMs?: number;
  /** Wait this long before the status line. */
  delayMs?: number;
  /** After the SSE pieces, destroy the socket instead of ending the body. */
  cut?: boolean;
  /** After the SSE pieces, neither end nor close: a stalled engine. */
  stall?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: any;
  /** The client closed before the answer was complete. */
  aborted: boolean;
}

const WORDS = "The quick brown fox jumps over the lazy dog and keeps on running".split(" ");

export class EngineSim {
  readonly requests: RecordedRequest[] = [];
  models = ["sim-org/sim-model-1"];
  /** Behave like TEI: no /v1/models, the model named by GET /info. */
  tei = false;
  /** Serve no /v1/responses or /v1/completions (TGI, TEI): 404 as FastAPI-style engines answer. */
  noResponses = false;
  /** Ignore `encoding_format` and always answer floats (as some engines do). */
  floatsOnly = false;
  /** Answer every request 503 as llama.cpp does while its model loads. */
  loading = false;
  /** Wait this long before answering any POST (a slow replica). */
  slowMs = 0;
  /** POSTs being answered now, and the most at once since the last reset: what a balancer sent it. */
  inFlight = 0;
  peakInFlight = 0;
  /** Responses events as llama.cpp sends them: no sequence_number, output_index, content_index or item_id,
   * no created_at or model on the response objects, no annotations or logprobs on a content part. */
  sparseEvents = false;
  /** A prefix KV cache and prefill queue (kv-cache.ts): chat and Responses answers wait for it, report
   * `cached_tokens`, and /metrics serves its state as vLLM does. Off unless set. */
  kv: KvCache | undefined;
  /** Responses created with `store` (the default), for GET/DELETE /v1/responses/{id}. */
  readonly stored = new Map<string, { response: any; input: any[] }>();
  private readonly scripts: Script[] = [];
  private readonly server: Server;
  private abortWaiters: Array<() => void> = [];
  private requestWaiters: Array<(request: RecordedRequest) => void> = [];
  url = "";
  port = 0;

  constructor() {
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  async start(port = 0): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(port, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
    this.url = `http://127.0.0.1:${this.port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Scripts the next answer to a POST (GET /v1/models keeps answering the model list). */
  next(script: Script): this {
    this.scripts.push(script);
    return this;
  }

  reset(): void {
    this.requests.length = 0;
    this.scripts.length = 0;
    this.models = ["sim-org/sim-model-1"];
    this.tei = false;
    this.noResponses = false;
    this.floatsOnly = false;
    this.loading = false;
    this.slowMs = 0;
    this.peakInFlight = this.inFlight;
    this.sparseEvents = false;
    this.stored.clear();
    this.kv?.clear();
  }

  /** Models a prefix KV cache from now on (see kv-cache.ts). */
  withKvCache(options: KvCacheOptions): this {
    this.kv = new KvCache(options);
    return this;
  }

  /** The gateway's own polls (its engine checks and load reads), which it makes on an interval. */
  static isPoll(r: RecordedRequest): boolean {
    return r.method === "GET" && (r.path === "/v1/models" || r.path === "/metrics");
  }

  /** Requests other than the gateway's polls: what its clients' calls sent. */
  get calls(): RecordedRequest[] {
    return this.requests.filter((r) => !EngineSim.isPoll(r));
  }

  /** The last request to `path`, or without one the last that was not a poll. */
  last(path?: string): RecordedRequest {
    const found = [...this.requests].reverse().find((r) => (path ? r.path === path : !EngineSim.isPoll(r)));
    if (!found) throw new Error(`no request${path ? ` to ${path}` : ""} recorded`);
    return found;
  }

  /** Resolves with the next request the simulator receives other than a poll (its body read, before it is
   * answered). */
  nextRequest(): Promise<RecordedRequest> {
    return new Promise((resolve) => this.requestWaiters.push(resolve));
  }

  /** Resolves when a recorded request is seen aborted by its client (or after `ms`). */
  waitForAbort(ms = 2000): Promise<boolean> {
    if (this.requests.some((r) => r.aborted)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.abortWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    const raw = bytes.toString("utf8");
    let body: any;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = raw;
    }
    const form = /^multipart\/form-data/.test(req.headers["content-type"] ?? "")
      ? await new Response(bytes, { headers: { "content-type": req.headers["content-type"]! } })
          .formData()
          .catch(() => undefined)
      : undefined;
    const record: RecordedRequest = {
      method: req.method ?? "",
      path: req.url ?? "",
      headers: req.headers,
      body,
      aborted: false,
    };
    this.requests.push(record);
    if (!EngineSim.isPoll(record)) this.requestWaiters.splice(0).forEach((w) => w(record));
    if (record.method === "POST") {
      this.peakInFlight = Math.max(this.peakInFlight, ++this.inFlight);
      res.once("close", () => void this.inFlight--);
    }
    res.on("close", () => {
      if (!res.writableFinished) {
        record.aborted = true;
        this.abortWaiters.splice(0).forEach((w) => w());
      }
    });
    if (this.loading)
      return this.send(res, {
        status: 503,
        json: { error: { code: 503, message: "Loading model", type: "unavailable_error" } },
      });
    if (req.method === "GET" && req.url === "/health") return this.send(res, { json: {} });
    if (this.tei && req.method === "GET" && req.url === "/info")
      return this.send(res, { json: { model_id: this.models[0], model_dtype: "float32", max_input_length: 512 } });
    if (req.method === "GET" && req.url === "/v1/models" && !this.tei) {
      return this.send(res, {
        json: {
          object: "list",
          data: this.models.map((id) => ({ id, object: "model", created: 1700000000, owned_by: "sim" })),
        },
      });
    }
    if (this.slowMs && req.method === "POST") await sleep(this.slowMs);
    const script = req.method === "POST" ? this.scripts.shift() : undefined;
    if (script) return this.send(res, script);
    if (this.kv && req.method === "GET" && req.url === "/metrics")
      return this.send(res, { text: this.kv.metrics(this.models[0]!) });
    const prefill =
      this.kv && req.method === "POST" && /^\/v1\/(chat\/completions|responses)$/.test(req.url ?? "")
        ? await this.kv.prefill(templateOf(body), sleep)
        : undefined;
    if (prefill && req.url === "/v1/chat/completions")
      this.kv!.keep(templateOf(body) + answerTemplate(replyWords(body).join("")));
    if (req.method === "POST" && req.url === "/v1/chat/completions")
      return this.send(res, chatAnswer(body, prefill?.cachedTokens));
    if (req.method === "POST" && req.url === "/v1/embeddings")
      return this.send(res, embeddingsAnswer(this.floatsOnly ? { ...body, encoding_format: "float" } : body));
    if (this.noResponses && /^\/v1\/(responses|completions)/.test(req.url ?? ""))
      return this.send(res, { status: 404, json: { detail: "Not Found" } });
    if (req.method === "POST" && req.url === "/v1/completions") return this.send(res, completionAnswer(body));
    if (req.method === "POST" && req.url === "/v1/responses") return this.send(res, this.responsesAnswer(body));
    const own = this.engineRoute(req.method ?? "", req.url ?? "", body, form);
    if (own) return this.send(res, own);
    if (req.method === "POST" && req.url === "/v1/responses/input_tokens")
      return this.send(res, {
        json: { object: "response.input_tokens", input_tokens: JSON.stringify(body?.input ?? "").length >> 2 },
      });
    const stored = /^\/v1\/responses\/([^/?]+)(\/input_items|\/cancel)?(\?.*)?$/.exec(req.url ?? "");
    if (stored) {
      const entry = this.stored.get(decodeURIComponent(stored[1]!));
      if (!entry)
        return this.send(res, {
          status: 404,
          json: {
            error: {
              message: `Response with id '${stored[1]}' not found.`,
              type: "invalid_request_error",
              param: null,
              code: null,
            },
          },
        });
      if (req.method === "DELETE" && !stored[2]) {
        this.stored.delete(entry.response.id);
        return this.send(res, { json: { id: entry.response.id, object: "response.deleted", deleted: true } });
      }
      if (req.method === "POST" && stored[2] === "/cancel") {
        entry.response = { ...entry.response, status: "cancelled" };
        return this.send(res, { json: entry.response });
      }
      if (req.method === "GET" && stored[2]) {
        const data = entry.input.map((item, i) => ({
          id: `msg_in_${i}`,
          type: "message",
          role: item.role ?? "user",
          status: "completed",
          content: typeof item.content === "string" ? [{ type: "input_text", text: item.content }] : item.content,
        }));
        return this.send(res, {
          json: { object: "list", data, has_more: false, first_id: data[0]?.id ?? "", last_id: data.at(-1)?.id ?? "" },
        });
      }
      if (req.method === "GET") return this.send(res, { json: entry.response });
    }
    return this.send(res, {
      status: 404,
      json: {
        error: { message: `no route ${req.method} ${req.url}`, type: "not_found_error", param: null, code: null },
      },
    });
  }

  /** The engine's routes beyond the OpenAI operations, as vLLM, llama.cpp and TEI answer them. */
  private engineRoute(method: string, url: string, body: any, form: FormData | undefined): Script | undefined {
    const path = url.split("?")[0];
    if (method === "GET" && path === "/metrics") {
      return {
        text: `# HELP vllm:num_requests_waiting Number of requests waiting.\n# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{model_name="${this.models[0]}"} 2\n# HELP vllm:gpu_cache_usage_perc KV-cache usage.\n# TYPE vllm:gpu_cache_usage_perc gauge\nvllm:gpu_cache_usage_perc{model_name="${this.models[0]}"} 0.25\n`,
        headers: { "content-type": "text/plain; version=0.0.4" },
      };
    }
    if (method !== "POST") return undefined;
    if (this.tei && path === "/rerank") {
      const texts: string[] = body?.texts ?? [];
      return {
        json: texts
          .map((text, index) => ({ index, score: 1 / (1 + index), ...(body?.return_text ? { text } : {}) }))
          .sort((a, b) => b.score - a.score),
      };
    }
    if (this.noResponses) return undefined;
    if (path === "/v1/rerank" || path === "/rerank" || path === "/v2/rerank") {
      const documents: unknown[] = body?.documents ?? [];
      const results = documents.map((document, index) => ({
        index,
        relevance_score: 1 / (1 + index),
        document: { text: typeof document === "string" ? document : (document as { text?: string })?.text },
      }));
      return {
        json: {
          id: "rerank-sim",
          model: body?.model,
          results: results.slice(0, body?.top_n ?? results.length),
          usage: { total_tokens: documents.length * 4 },
        },
      };
    }
    if (path === "/tokenize")
      return {
        json: {
          tokens: String(body?.prompt ?? body?.content ?? "")
            .split(/\s+/)
            .filter(Boolean)
            .map((_, i) => 100 + i),
          count: String(body?.prompt ?? body?.content ?? "")
            .split(/\s+/)
            .filter(Boolean).length,
          max_model_len: 4096,
        },
      };
    if (path === "/v1/messages" && !body?.stream) {
      return {
        json: {
          id: "msg_sim",
          type: "message",
          role: "assistant",
          model: body?.model,
          content: [{ type: "text", text: replyWords(body).join("") }],
          stop_reason: "end_turn",
          stop_sequence: null,
          usage: { input_tokens: 5, output_tokens: replyWords(body).length },
        },
      };
    }
    if (path === "/v1/messages") {
      const sse = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
      return {
        sse: [
          sse("message_start", {
            message: {
              id: "msg_sim",
              type: "message",
              role: "assistant",
              content: [],
              model: body.model,
              usage: { input_tokens: 5, output_tokens: 0 },
            },
          }),
          sse("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
          ...replyWords(body).map((text) =>
            sse("content_block_delta", { index: 0, delta: { type: "text_delta", text } }),
          ),
          sse("content_block_stop", { index: 0 }),
          // As Anthropic's API ends a message: the output's usage, then the stop.
          sse("message_delta", {
            delta: { stop_reason: "end_turn", stop_sequence: null },
            usage: { output_tokens: replyWords(body).length },
          }),
          sse("message_stop", {}),
        ],
        gapMs: typeof body?.sim_gap_ms === "number" ? body.sim_gap_ms : 0,
      };
    }
    if (path === "/v1/audio/transcriptions" && form) {
      const file = form.get("file") as File | null;
      return { json: { text: `heard ${file?.size ?? 0} bytes of ${file?.name ?? "nothing"} as ${form.get("model")}` } };
    }
    return undefined;
  }

  private responsesAnswer(body: any): Script {
    const id = `resp_sim_${this.stored.size + 1}_${Date.now()}`;
    const answer = responsesAnswer(body, id, this.sparseEvents);
    if (body?.store !== false) {
      const input =
        typeof body?.input === "string"
          ? [{ role: "user", content: body.input }]
          : Array.isArray(body?.input)
            ? body.input
            : [];
      this.stored.set(id, { response: responseObject(body, id), input });
    }
    return answer;
  }

  private async send(res: ServerResponse, s: Script): Promise<void> {
    if (s.delayMs) await sleep(s.delayMs);
    if (res.destroyed) return;
    if (s.sse) {
      res.writeHead(s.status ?? 200, { "content-type": "text/event-stream", ...s.headers });
      res.flushHeaders();
      for (const piece of s.sse) {
        if (res.destroyed) return;
        res.write(piece);
        if (s.gapMs) await sleep(s.gapMs);
      }
      if (s.cut) return void res.socket?.destroy();
      if (s.stall) return;
      return void res.end();
    }
    const payload = s.json !== undefined ? JSON.stringify(s.json) : (s.text ?? "");
    res.writeHead(s.status ?? 200, {
      "content-type": s.json !== undefined ? "application/json" : "text/plain",
      ...s.headers,
    });
    if (s.stall) return void res.write(payload.slice(0, Math.floor(payload.length / 2)));
    res.end(payload);
  }
}

// Unref'd: an answer scripted to wait past a test (an engine still working when its client left) never
// holds the test process open; the server keeps it alive while it listens.
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

/** Tokens of the deterministic reply: `max_tokens` words (default 6) of WORDS. */
function replyWords(body: any): string[] {
  const n = Math.max(1, Math.min(typeof body?.max_tokens === "number" ? body.max_tokens : 6, 50_000));
  return Array.from({ length: n }, (_, i) => (i === 0 ? "" : " ") + WORDS[i % WORDS.length]);
}

const promptTokens = (body: any) => JSON.stringify(body?.messages ?? []).length >> 2;

/** A value that fits a JSON schema, as a model asked for structured output or tool arguments gives one.
 * An object schema without properties gets `{city: "Paris"}` (the weather tool of the examples). */
export function sampleOf(schema: any, name = ""): unknown {
  if (!schema || typeof schema !== "object") return name === "city" ? "Paris" : "sim";
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if (schema.const !== undefined) return schema.const;
  const types = [schema.type].flat();
  if (schema.anyOf ?? schema.oneOf) return sampleOf((schema.anyOf ?? schema.oneOf)[0], name);
  if (types.includes("object") || schema.properties) {
    const properties = Object.entries(schema.properties ?? {});
    if (properties.length === 0) return { city: "Paris" };
    return Object.fromEntries(properties.map(([key, value]) => [key, sampleOf(value, key)]));
  }
  if (types.includes("array")) return [sampleOf(schema.items, name)];
  if (types.includes("integer") || types.includes("number")) return 21;
  if (types.includes("boolean")) return true;
  return name === "city" ? "Paris" : "sim";
}

/** The call a model makes: when a tool is required or named, or when tools are offered (not "none") and
 * the conversation does not end with a tool's result. */
function toolCall(body: any): { name: string; arguments: string } | undefined {
  const tool = body?.tools?.find((t: any) => t?.type === "function")?.function;
  if (!tool || body?.tool_choice === "none") return undefined;
  const named = typeof body.tool_choice === "object" && body.tool_choice ? body.tool_choice.function?.name : undefined;
  const answered = body?.messages?.at(-1)?.role === "tool";
  if (!named && body?.tool_choice !== "required" && answered) return undefined;
  const chosen = named ? (body.tools.find((t: any) => t.function?.name === named)?.function ?? tool) : tool;
  return { name: chosen.name, arguments: JSON.stringify(sampleOf(chosen.parameters)) };
}

/** Structured output: the text of a value that fits the requested schema (chat's response_format,
 * Responses' text.format), or undefined for plain text. */
function structuredText(format: any): string | undefined {
  if (format?.type === "json_schema") return JSON.stringify(sampleOf(format.json_schema?.schema ?? format.schema));
  if (format?.type === "json_object") return JSON.stringify({ answer: "sim" });
  return undefined;
}

/** `cachedTokens`: prompt tokens the KV cache held (kv-cache.ts), reported as engines do. */
export function chatAnswer(body: any, cachedTokens?: number): Script {
  const structured = structuredText(body?.response_format);
  const words = structured !== undefined ? [structured] : replyWords(body);
  const call = toolCall(body);
  const usage = {
    prompt_tokens: promptTokens(body),
    completion_tokens: call ? 8 : words.length,
    total_tokens: promptTokens(body) + (call ? 8 : words.length),
    ...(cachedTokens !== undefined ? { prompt_tokens_details: { cached_tokens: cachedTokens } } : {}),
  };
  const base = { id: "chatcmpl-sim", created: 1700000000, model: body?.model ?? "sim-model" };
  const finish = call ? "tool_calls" : body?.max_tokens !== undefined ? "length" : "stop";
  if (!body?.stream) {
    const message = call
      ? {
          role: "assistant",
          content: null,
          refusal: null,
          tool_calls: [{ id: "call_sim_1", type: "function", function: call }],
        }
      : { role: "assistant", content: words.join(""), refusal: null };
    return {
      json: {
        ...base,
        object: "chat.completion",
        choices: [{ index: 0, message, finish_reason: finish, logprobs: null }],
        usage,
      },
    };
  }
  const chunk = (delta: object, finish_reason: string | null = null) =>
    `data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason, logprobs: null }] })}\n\n`;
  const events = [chunk({ role: "assistant", content: "" })];
  if (call) {
    events.push(
      chunk({
        tool_calls: [{ index: 0, id: "call_sim_1", type: "function", function: { name: call.name, arguments: "" } }],
      }),
    );
    const half = Math.ceil(call.arguments.length / 2);
    events.push(chunk({ tool_calls: [{ index: 0, function: { arguments: call.arguments.slice(0, half) } }] }));
    events.push(chunk({ tool_calls: [{ index: 0, function: { arguments: call.arguments.slice(half) } }] }));
  } else {
    for (const w of words) events.push(chunk({ content: w }));
  }
  events.push(chunk({}, finish));
  if (body?.stream_options?.include_usage) {
    events.push(`data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", choices: [], usage })}\n\n`);
  }
  events.push("data: [DONE]\n\n");
  return { sse: events, gapMs: typeof body?.sim_gap_ms === "number" ? body.sim_gap_ms : 0 };
}

/** A legacy completion (O#/components/schemas/CreateCompletionResponse), or its stream. */
export function completionAnswer(body: any): Script {
  const words = replyWords(body);
  const prompt = JSON.stringify(body?.prompt ?? "").length >> 2;
  const usage = { prompt_tokens: prompt, completion_tokens: words.length, total_tokens: prompt + words.length };
  const base = { id: "cmpl-sim", object: "text_completion", created: 1700000000, model: body?.model ?? "sim-model" };
  const finish = body?.max_tokens !== undefined ? "length" : "stop";
  if (!body?.stream)
    return {
      json: { ...base, choices: [{ index: 0, text: words.join(""), finish_reason: finish, logprobs: null }], usage },
    };
  const chunk = (text: string, finish_reason: string | null) =>
    `data: ${JSON.stringify({ ...base, choices: [{ index: 0, text, finish_reason, logprobs: null }] })}\n\n`;
  const events = words.map((w) => chunk(w, null));
  events.push(chunk("", finish));
  if (body?.stream_options?.include_usage) events.push(`data: ${JSON.stringify({ ...base, choices: [], usage })}\n\n`);
  events.push("data: [DONE]\n\n");
  return { sse: events };
}

/** The function call a Responses request gets: as toolCall, over Responses' flat tools and input items. */
function responsesToolCall(body: any): any | undefined {
  const tools = (body?.tools ?? []).filter((t: any) => t?.type === "function");
  if (tools.length === 0 || body?.tool_choice === "none") return undefined;
  const named =
    typeof body.tool_choice === "object" && body.tool_choice?.type === "function" ? body.tool_choice.name : undefined;
  const answered = Array.isArray(body.input) && body.input.at(-1)?.type === "function_call_output";
  if (!named && body.tool_choice !== "required" && answered) return undefined;
  const tool = tools.find((t: any) => t.name === named) ?? tools[0];
  return {
    type: "function_call",
    id: "fc_sim_1",
    call_id: "call_sim_1",
    name: tool.name,
    arguments: JSON.stringify(sampleOf(tool.parameters)),
    status: "completed",
  };
}

/** Responses' output text: the words, or a value that fits `text.format`. */
const responsesWords = (body: any): string[] => {
  const structured = structuredText(body?.text?.format);
  return structured !== undefined ? [structured] : replyWords({ max_tokens: body?.max_output_tokens });
};

/** A Responses API object (O#/components/schemas/Response) with one output item: a message, or a function call. */
export function responseObject(body: any, id: string, status = "completed"): any {
  const words = responsesWords(body);
  const call = responsesToolCall(body);
  const input = JSON.stringify(body?.input ?? "").length >> 2;
  const done = status === "completed";
  const message = {
    type: "message",
    id: "msg_sim",
    status: "completed",
    role: "assistant",
    content: [{ type: "output_text", text: words.join(""), annotations: [], logprobs: [] }],
  };
  return {
    id,
    object: "response",
    created_at: 1700000000,
    status,
    error: null,
    incomplete_details: null,
    instructions: body?.instructions ?? null,
    model: body?.model ?? "sim-model",
    tools: body?.tools ?? [],
    tool_choice: body?.tool_choice ?? "auto",
    output: done ? [call ?? message] : [],
    parallel_tool_calls: true,
    metadata: {},
    temperature: 1,
    top_p: 1,
    ...(done
      ? {
          usage: {
            input_tokens: input,
            input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
            output_tokens: words.length,
            output_tokens_details: { reasoning_tokens: 0 },
            total_tokens: input + words.length,
          },
        }
      : {}),
  };
}

/** POST /v1/responses: the object, or its typed event stream (`event:` + `data:`, sequence numbers). */
export function responsesAnswer(body: any, id: string, sparse = false): Script {
  const final = responseObject(body, id);
  if (!body?.stream) return { json: final };
  let sequence = 0;
  const event = (type: string, fields: object) =>
    `event: ${type}\ndata: ${JSON.stringify(sparse ? sparseEvent({ type, ...fields }) : { type, ...fields, sequence_number: sequence++ })}\n\n`;
  const gapMs = typeof body?.sim_gap_ms === "number" ? body.sim_gap_ms : 0;
  if (final.output[0].type === "function_call") {
    const call = final.output[0];
    const half = Math.ceil(call.arguments.length / 2);
    const at = { item_id: call.id, output_index: 0 };
    return {
      gapMs,
      sse: [
        event("response.created", { response: responseObject(body, id, "in_progress") }),
        event("response.in_progress", { response: responseObject(body, id, "in_progress") }),
        event("response.output_item.added", {
          output_index: 0,
          item: { ...call, arguments: "", status: "in_progress" },
        }),
        event("response.function_call_arguments.delta", { ...at, delta: call.arguments.slice(0, half) }),
        event("response.function_call_arguments.delta", { ...at, delta: call.arguments.slice(half) }),
        event("response.function_call_arguments.done", { ...at, name: call.name, arguments: call.arguments }),
        event("response.output_item.done", { output_index: 0, item: call }),
        event("response.completed", { response: final }),
      ],
    };
  }
  const text = final.output[0].content[0].text as string;
  const item = { type: "message", id: "msg_sim", status: "in_progress", role: "assistant", content: [] };
  const part = { type: "output_text", text: "", annotations: [], logprobs: [] };
  const where = { item_id: "msg_sim", output_index: 0, content_index: 0 };
  const events = [
    event("response.created", { response: responseObject(body, id, "in_progress") }),
    event("response.in_progress", { response: responseObject(body, id, "in_progress") }),
    event("response.output_item.added", { output_index: 0, item }),
    event("response.content_part.added", { ...where, part }),
    ...responsesWords(body).map((delta) => event("response.output_text.delta", { ...where, delta, logprobs: [] })),
    event("response.output_text.done", { ...where, text, logprobs: [] }),
    event("response.content_part.done", { ...where, part: { ...part, text } }),
    event("response.output_item.done", { output_index: 0, item: final.output[0] }),
    event("response.completed", { response: final }),
  ];
  return { sse: events, gapMs };
}

/** An event without what llama.cpp leaves out (a copy: the response objects are shared). */
function sparseEvent(event: any): any {
  const { sequence_number: _s, output_index: _o, content_index: _c, item_id: _i, ...rest } = event;
  if (rest.response) {
    const { created_at: _t, model: _m, ...response } = rest.response;
    rest.response = response;
  }
  if (rest.part?.type === "output_text") {
    const { annotations: _a, logprobs: _l, ...part } = rest.part; // llama.cpp's content_part events carry neither
    rest.part = part;
  }
  return rest;
}

/** A deterministic unit vector per input text. */
export function simVector(text: string, dims: number): number[] {
  let seed = 0;
  for (const ch of text) seed = (seed * 31 + ch.codePointAt(0)!) >>> 0;
  const v = Array.from({ length: dims }, (_, i) => Math.sin(seed + i * 1.7));
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
}

export function embeddingsAnswer(body: any): Script {
  const dims = typeof body?.dimensions === "number" ? Math.max(1, Math.min(Math.floor(body.dimensions), 4096)) : 8;
  const inputs: string[] = body?.messages
    ? [JSON.stringify(body.messages)]
    : Array.isArray(body?.input)
      ? body.input.map(String)
      : [String(body?.input ?? "")];
  const data = inputs.map((text, index) => {
    const vector = simVector(text, dims);
    const embedding =
      body?.encoding_format === "base64" ? Buffer.from(new Float32Array(vector).buffer).toString("base64") : vector;
    return { object: "embedding", index, embedding };
  });
  const tokens = inputs.reduce((n, t) => n + Math.max(1, t.length >> 2), 0);
  return {
    json: {
      object: "list",
      model: body?.model ?? "sim-embed",
      data,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "8080" },
      model: { type: "string" },
      tei: { type: "boolean", default: false },
      "loading-for": { type: "string" },
    },
  });
  const sim = new EngineSim();
  if (values.model) sim.models = [values.model];
  sim.tei = values.tei!;
  if (values["loading-for"]) {
    sim.loading = true;
    setTimeout(() => (sim.loading = false), Number(values["loading-for"]) * 1000);
  }
  void sim.start(Number(values.port)).then(() => console.log(`engine simulator (not a real model) on ${sim.url}`));
}
