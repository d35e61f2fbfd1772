// The Responses API over /v1/chat/completions, for engines that have no /v1/responses (TGI; any engine that
// answers it 404): input items and instructions become messages, function tools chat tools, function_call /
// function_call_output round trips assistant tool_calls and tool messages, text.format response_format; the
// answer becomes a Response, the stream typed Responses events (then completed, numbered and owned by the
// same adapter as a native stream). What chat cannot carry (hosted tools, include values, truncation, prompt
// templates) is a 400 naming it, never a silent drop. An engine is asked for /v1/responses once: after a 404
// its deployment is served by the bridge for the life of the process.
import { randomBytes } from "node:crypto";
import type { Deployment } from "../../core/deployments/deployments.ts";
import { GatewayError } from "../../core/errors.ts";
import type { EngineCall } from "../../core/pipeline/operation.ts";
import type { RoutingFacts } from "../../core/routing/prefix.ts";
import { parseEventJson, engineStreamError } from "../../core/stream/sse-writer.ts";
import { SseParser } from "../../core/stream/sse.ts";
import { answerObject } from "./operations.ts";
import { echoedSettings } from "./responses-state.ts";

type Item = Record<string, unknown>;

/** How long a deployment whose engine answered /v1/responses with a 404 is served over chat before its engine
 * is asked again (an engine upgraded behind the same URL). */
const REMEMBER_MS = 10 * 60_000;
const chatOnly = (d: Deployment) => d.responsesApi === "chat" || d.lacksResponsesApiUntil > Date.now();
/** Whether a 404 from /v1/responses sends this deployment over chat (not when it declares native). */
const remember = (d: Deployment): boolean => {
  if (d.responsesApi === "native") return false;
  d.lacksResponsesApiUntil = Date.now() + REMEMBER_MS;
  return true;
};

const cannotCarry = (what: string, field: string) =>
  new GatewayError(
    "InvalidRequestBody",
    `This deployment's engine has no Responses API; the gateway serves it over chat completions, which cannot carry ${what}.`,
    { target: field },
  );

const isMissingResponsesApi = (err: unknown) => err instanceof GatewayError && err.code === "OperationNotSupported";

/** The engine's Response for `body`: its own Responses API, else the bridge. `routing`: what its replica
 * is chosen by (the same prompt either way). */
export async function engineResponse(call: EngineCall, body: Item, routing?: () => RoutingFacts): Promise<Item> {
  if (!chatOnly(call.deployment)) {
    try {
      const data = await call(
        (client, init) => client.postJson("/responses", { ...init, body: body as never }),
        routing,
      );
      return answerObject(data, "a response").body as Item;
    } catch (err) {
      if (!isMissingResponsesApi(err) || !remember(call.deployment)) throw err;
    }
  }
  const chat = toChatRequest(body);
  const data = await call(
    (client, init) => client.postJson("/chat/completions", { ...init, body: chat as never }),
    routing,
  );
  return fromChatCompletion(answerObject(data, "a chat completion").body as Item, body);
}

/** The engine's Responses event stream for `body` (SSE bytes): its own, else the bridge's. */
export async function engineResponseEvents(
  call: EngineCall,
  body: Item,
  routing?: () => RoutingFacts,
): Promise<AsyncIterable<Uint8Array>> {
  if (!chatOnly(call.deployment)) {
    const streamed = { ...body, stream: true };
    try {
      return await call(
        (client, init) => client.postStream("/responses", { ...init, body: streamed as never }),
        routing,
      );
    } catch (err) {
      if (!isMissingResponsesApi(err) || !remember(call.deployment)) throw err;
    }
  }
  const chat = { ...toChatRequest(body), stream: true, stream_options: { include_usage: true } };
  const chunks = await call(
    (client, init) => client.postStream("/chat/completions", { ...init, body: chat as never }),
    routing,
  );
  return responsesEventsFromChat(chunks, body);
}

const newId = (prefix: string) => `${prefix}_${randomBytes(16).toString("hex")}`;

// ---- request: Responses -> chat ----------------------------------------------------------------------

/** Fields that change nothing an engine generates (hints, and what the gateway itself handled). */
const IGNORED = new Set([
  "model",
  "input",
  "instructions",
  "stream",
  "store",
  "metadata",
  "background",
  "previous_response_id",
  "conversation",
  "prompt_cache_key",
  "prompt_cache_retention",
  "safety_identifier",
  // Azure's end-user context for Defender (the gateway logs the safety identifier, the engine needs neither).
  "user_security_context",
  // Automatic compaction's settings: accepted (the gateway compacts on POST /responses/compact).
  "context_management",
  "service_tier",
  "stream_options",
  "include",
  "tools",
  "tool_choice",
  "text",
  "reasoning",
  "truncation",
  "max_output_tokens",
  "top_logprobs",
]);
/** Fields chat completions takes as they are. */
const SAME = new Set(["temperature", "top_p", "parallel_tool_calls", "user", "seed", "stop", "frequency_penalty"]);

export function toChatRequest(body: Item): Item {
  const chat: Item = { model: body.model, messages: toMessages(body) };
  for (const [field, value] of Object.entries(body)) {
    if (value === undefined || value === null || IGNORED.has(field)) continue;
    if (SAME.has(field) || !RESPONSES_ONLY.has(field))
      chat[field] = value; // engine extras pass (top_k, …)
    else throw cannotCarry(`'${field}'`, field);
  }
  if (typeof body.max_output_tokens === "number") chat.max_tokens = body.max_output_tokens;
  if (body.truncation !== undefined && body.truncation !== "disabled")
    throw cannotCarry(`truncation '${String(body.truncation)}'`, "truncation");
  for (const value of (body.include as unknown[] | undefined) ?? []) {
    if (value === "message.output_text.logprobs") chat.logprobs = true;
    else throw cannotCarry(`include '${String(value)}'`, "include");
  }
  if (typeof body.top_logprobs === "number") Object.assign(chat, { logprobs: true, top_logprobs: body.top_logprobs });
  const effort = (body.reasoning as { effort?: unknown } | undefined)?.effort;
  if (typeof effort === "string") chat.reasoning_effort = effort;
  if (Array.isArray(body.tools) && body.tools.length > 0) chat.tools = body.tools.map(toChatTool);
  if (body.tool_choice !== undefined) chat.tool_choice = toChatToolChoice(body.tool_choice);
  const format = (body.text as { format?: Item } | undefined)?.format;
  if (format?.type === "json_schema") {
    const { type: _type, ...schema } = format;
    chat.response_format = { type: "json_schema", json_schema: schema };
  } else if (format?.type === "json_object") chat.response_format = { type: "json_object" };
  return chat;
}

/** Responses fields with no chat counterpart. */
const RESPONSES_ONLY = new Set(["prompt", "max_tool_calls", "context_management", "conversation"]);

function toChatTool(tool: unknown, i: number): Item {
  const t = tool as Item;
  if (t?.type !== "function") throw cannotCarry(`the tool '${String(t?.type)}'`, `tools[${i}]`);
  const fn: Item = { name: t.name };
  for (const field of ["description", "parameters", "strict"]) if (t[field] !== undefined) fn[field] = t[field];
  return { type: "function", function: fn };
}

function toChatToolChoice(choice: unknown): unknown {
  if (typeof choice === "string") return choice;
  const c = choice as Item;
  if (c?.type === "function" && typeof c.name === "string") return { type: "function", function: { name: c.name } };
  throw cannotCarry(`the tool_choice '${String(c?.type)}'`, "tool_choice");
}

const textOf = (output: unknown): string =>
  typeof output === "string"
    ? output
    : Array.isArray(output)
      ? output.map((part) => (typeof part?.text === "string" ? part.text : "")).join("")
      : JSON.stringify(output ?? "");

/** Content as chat takes it: text alone as a string (what every chat template reads), else parts. */
function toContent(content: unknown, at: string): unknown {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  const parts = content.map((part: Item, j): Item => {
    switch (part?.type) {
      case "input_text":
      case "output_text":
      case "text":
        return { type: "text", text: part.text };
      case "refusal":
        return { type: "text", text: part.refusal };
      case "input_image":
        if (typeof part.image_url !== "string") throw cannotCarry("an image by file_id", `${at}.content[${j}]`);
        return {
          type: "image_url",
          image_url: { url: part.image_url, ...(part.detail ? { detail: part.detail } : {}) },
        };
      default:
        throw cannotCarry(`the content part '${String(part?.type)}'`, `${at}.content[${j}]`);
    }
  });
  return parts.every((part) => part.type === "text") ? parts.map((part) => part.text).join("") : parts;
}

function toMessages(body: Item): Item[] {
  const messages: Item[] = [];
  if (typeof body.instructions === "string" && body.instructions) {
    messages.push({ role: "system", content: body.instructions });
  }
  const input = typeof body.input === "string" ? [{ role: "user", content: body.input }] : (body.input as Item[]);
  for (const [i, item] of (input ?? []).entries()) {
    const at = `input[${i}]`;
    const type = item.type ?? "message";
    if (type === "message") {
      const role = item.role === "developer" ? "system" : item.role;
      messages.push({ role, content: toContent(item.content, at) });
    } else if (type === "function_call") {
      const call = { id: item.call_id, type: "function", function: { name: item.name, arguments: item.arguments } };
      const last = messages.at(-1);
      // Parallel calls are one assistant message; text the model wrote before them is the same turn.
      if (last?.role === "assistant") last.tool_calls = [...((last.tool_calls as Item[] | undefined) ?? []), call];
      else messages.push({ role: "assistant", content: null, tool_calls: [call] });
    } else if (type === "function_call_output") {
      messages.push({ role: "tool", tool_call_id: item.call_id, content: textOf(item.output) });
    } else if (type === "reasoning") {
      continue; // the model's own reasoning: chat templates take none back
    } else throw cannotCarry(`the input item '${String(type)}'`, at);
  }
  return messages;
}

// ---- answer: chat -> Response ------------------------------------------------------------------------

interface ChatUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
  completion_tokens_details?: { reasoning_tokens?: number } | null;
}

function toUsage(usage: ChatUsage | null | undefined): Item | null {
  if (!usage) return null;
  const input = usage.prompt_tokens ?? 0;
  const output = usage.completion_tokens ?? 0;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: usage.prompt_tokens_details?.cached_tokens ?? 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: usage.completion_tokens_details?.reasoning_tokens ?? 0 },
    total_tokens: usage.total_tokens ?? input + output,
  };
}

/** status and incomplete_details from a chat finish_reason. */
function ending(finishReason: unknown): Item {
  if (finishReason === "length") return { status: "incomplete", incomplete_details: { reason: "max_output_tokens" } };
  if (finishReason === "content_filter")
    return { status: "incomplete", incomplete_details: { reason: "content_filter" } };
  return { status: "completed", incomplete_details: null };
}

const reasoningItem = (text: string): Item => ({
  type: "reasoning",
  id: newId("rs"),
  summary: [],
  content: [{ type: "reasoning_text", text }],
});
const messageItem = (text: string, status = "completed"): Item => ({
  type: "message",
  id: newId("msg"),
  status,
  role: "assistant",
  content: [{ type: "output_text", text, annotations: [], logprobs: [] }],
});
const functionCallItem = (call: { id?: string; function?: { name?: string; arguments?: string } }): Item => ({
  type: "function_call",
  id: newId("fc"),
  call_id: call.id || newId("call"),
  name: call.function?.name ?? "",
  arguments: call.function?.arguments ?? "",
  status: "completed",
});

function responseShell(body: Item, createdAt: number, model: unknown): Item {
  return {
    id: newId("resp"),
    object: "response",
    created_at: createdAt,
    error: null,
    ...echoedSettings(body),
    model: typeof model === "string" ? model : body.model,
  };
}

export function fromChatCompletion(completion: Item, body: Item): Item {
  const choice = ((completion.choices as Item[] | undefined) ?? [])[0] ?? {};
  const message = (choice.message ?? {}) as {
    content?: string | null;
    reasoning_content?: string | null;
    reasoning?: string | null;
    tool_calls?: Array<{ id?: string; function?: { name?: string; arguments?: string } }> | null;
  };
  const output: Item[] = [];
  const reasoning = message.reasoning_content ?? message.reasoning;
  if (reasoning) output.push(reasoningItem(reasoning));
  if (message.content) output.push(messageItem(message.content));
  for (const call of message.tool_calls ?? []) output.push(functionCallItem(call));
  return {
    ...responseShell(body, Number(completion.created) || Math.floor(Date.now() / 1000), completion.model),
    ...ending(choice.finish_reason),
    output,
    usage: toUsage(completion.usage as ChatUsage | undefined),
  };
}

// ---- stream: chat chunks -> Responses events -------------------------------------------------------------

interface OpenItem {
  index: number;
  item: Item;
  text: string;
}

/** Chat completion chunks (SSE bytes) as Responses API events (SSE bytes); numbered later by the adapter. */
export async function* responsesEventsFromChat(
  chunks: AsyncIterable<Uint8Array>,
  body: Item,
): AsyncGenerator<Uint8Array> {
  const encoder = new TextEncoder();
  const parser = new SseParser();
  const frame = (type: string, fields: Item) => `event: ${type}\ndata: ${JSON.stringify({ type, ...fields })}\n\n`;
  let response: Item | undefined;
  const items: OpenItem[] = [];
  let reasoning: OpenItem | undefined;
  let message: OpenItem | undefined;
  const calls = new Map<number, OpenItem>();
  let finishReason: unknown;
  let usage: ChatUsage | undefined;
  let done = false;

  const open = (item: Item): { opened: OpenItem; text: string } => {
    const opened = { index: items.length, item, text: "" };
    items.push(opened);
    return { opened, text: frame("response.output_item.added", { output_index: opened.index, item }) };
  };
  const onChunk = (chunk: Item): string => {
    let out = "";
    if (!response) {
      response = {
        ...responseShell(body, Number(chunk.created) || Math.floor(Date.now() / 1000), chunk.model),
        status: "in_progress",
        output: [],
        usage: null,
      };
      out += frame("response.created", { response }) + frame("response.in_progress", { response });
    }
    if (chunk.usage) usage = chunk.usage as ChatUsage;
    for (const choice of (chunk.choices as Item[] | undefined) ?? []) {
      if ((choice.index ?? 0) !== 0) continue;
      const delta = (choice.delta ?? {}) as {
        content?: string | null;
        reasoning_content?: string | null;
        reasoning?: string | null;
        tool_calls?: Array<{ index?: number; id?: string; function?: { name?: string; arguments?: string } }>;
      };
      const thought = delta.reasoning_content ?? delta.reasoning;
      if (thought) {
        if (!reasoning) {
          const { opened, text } = open({ type: "reasoning", id: newId("rs"), summary: [], content: [] });
          reasoning = opened;
          out += text;
        }
        reasoning.text += thought;
        out += frame("response.reasoning_text.delta", {
          item_id: reasoning.item.id,
          output_index: reasoning.index,
          content_index: 0,
          delta: thought,
        });
      }
      if (delta.content) {
        if (!message) {
          const { opened, text } = open({
            type: "message",
            id: newId("msg"),
            status: "in_progress",
            role: "assistant",
            content: [],
          });
          message = opened;
          out +=
            text +
            frame("response.content_part.added", {
              item_id: message.item.id,
              output_index: message.index,
              content_index: 0,
              part: { type: "output_text", text: "", annotations: [], logprobs: [] },
            });
        }
        message.text += delta.content;
        out += frame("response.output_text.delta", {
          item_id: message.item.id,
          output_index: message.index,
          content_index: 0,
          delta: delta.content,
          logprobs: [],
        });
      }
      for (const call of delta.tool_calls ?? []) {
        const index = call.index ?? 0;
        let opened = calls.get(index);
        if (!opened) {
          const item = { ...functionCallItem(call), arguments: "", status: "in_progress" };
          const added = open(item);
          opened = added.opened;
          calls.set(index, opened);
          out += added.text;
        }
        if (call.function?.name && !opened.item.name) opened.item.name = call.function.name;
        const args = call.function?.arguments;
        if (args) {
          opened.text += args;
          out += frame("response.function_call_arguments.delta", {
            item_id: opened.item.id,
            output_index: opened.index,
            delta: args,
          });
        }
      }
      if (choice.finish_reason) finishReason = choice.finish_reason;
    }
    return out;
  };
  const close = (): string => {
    let out = "";
    const output: Item[] = [];
    for (const { index, item, text } of items) {
      let done: Item;
      if (item.type === "reasoning") {
        out += frame("response.reasoning_text.done", { item_id: item.id, output_index: index, content_index: 0, text });
        done = { ...item, content: [{ type: "reasoning_text", text }] };
      } else if (item.type === "message") {
        const part = { type: "output_text", text, annotations: [], logprobs: [] };
        out +=
          frame("response.output_text.done", {
            item_id: item.id,
            output_index: index,
            content_index: 0,
            text,
            logprobs: [],
          }) + frame("response.content_part.done", { item_id: item.id, output_index: index, content_index: 0, part });
        done = { ...item, status: "completed", content: [part] };
      } else {
        out += frame("response.function_call_arguments.done", {
          item_id: item.id,
          output_index: index,
          name: item.name,
          arguments: text,
        });
        done = { ...item, arguments: text, status: "completed" };
      }
      out += frame("response.output_item.done", { output_index: index, item: done });
      output.push(done);
    }
    const end = ending(finishReason);
    const final = { ...response, ...end, output, usage: toUsage(usage) };
    const type = end.status === "incomplete" ? "response.incomplete" : "response.completed";
    return out + frame(type, { response: final });
  };

  for await (const bytes of chunks) {
    if (done) continue; // read to the end: the engine sees its request complete
    let out = "";
    for (const event of parser.push(bytes)) {
      if (event.data === "[DONE]") {
        done = true;
        break;
      }
      const chunk = parseEventJson(event.data);
      const engineError = engineStreamError(chunk);
      if (engineError) throw engineError;
      if (chunk === null || typeof chunk !== "object" || Array.isArray(chunk))
        throw new GatewayError(
          "UpstreamInvalidResponse",
          "The engine sent a stream event that is not a completion chunk.",
          {
            status: 502,
          },
        );
      out += onChunk(chunk as Item);
    }
    if (done) out += close();
    if (out) yield encoder.encode(out);
  }
  if (!done && finishReason !== undefined && response) yield encoder.encode(close()); // ended without [DONE]
}
