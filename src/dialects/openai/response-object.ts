// A Response object as clients and validators hold the API to it, whatever the engine sent: every field
// the Open Responses specification requires (ResponseResource), the engine's value where it gave one, else
// the request's setting, else the API's default. One function for every path a Response leaves by: the
// native answer and its stream events, the chat bridge's, a stored one, a background run's snapshots.
import type { components } from "../../../generated/openai/schema.d.ts";

type Item = Record<string, unknown>;
type ResponsesRequest = components["schemas"]["CreateResponse"];

/** The request settings a Response repeats, each with the value the API reports when the request gave none. */
const SETTINGS = {
  instructions: null,
  tool_choice: "auto",
  truncation: "disabled",
  parallel_tool_calls: true,
  text: { format: { type: "text" } },
  top_p: 1,
  temperature: 1,
  presence_penalty: 0,
  frequency_penalty: 0,
  top_logprobs: 0,
  reasoning: { effort: null, summary: null },
  user: null,
  max_output_tokens: null,
  max_tool_calls: null,
  service_tier: "default",
  metadata: {},
  safety_identifier: null,
  prompt_cache_key: null,
} as const satisfies Partial<Record<keyof ResponsesRequest | "presence_penalty" | "frequency_penalty", unknown>>;

/** Every request field a Response repeats: the settings above, the model, the tools, the cache retention. */
export const ECHOED_FIELDS: readonly string[] = ["model", "tools", "prompt_cache_retention", ...Object.keys(SETTINGS)];

const given = (value: unknown) => value !== undefined && value !== null;

/** Settings the gateway keeps for the client rather than the engine (an engine echoes them empty, or not at
 * all): the request's value wins over the engine's. */
const CLIENTS = ["metadata", "prompt_cache_key", "safety_identifier", "user"] as const;

/** A tool as a Response lists it: a function tool says whether it is strict (null: the request did not say). */
function listedTool(tool: unknown): unknown {
  if (tool === null || typeof tool !== "object") return tool;
  const t = tool as Item;
  return t.type === "function" && !("strict" in t) ? { ...t, strict: null } : t;
}

/** Usage with its details (cached, cache-written and reasoning tokens: 0 when the engine did not count them). */
function completeUsage(usage: unknown): unknown {
  if (usage === null || typeof usage !== "object") return null;
  const u = usage as Item;
  return {
    ...u,
    input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0, ...(u.input_tokens_details as Item | undefined) },
    output_tokens_details: { reasoning_tokens: 0, ...(u.output_tokens_details as Item | undefined) },
  };
}

/** An engine's model name that is a file (llama.cpp names its model by its GGUF path unless given an
 * alias): a Response shows the name the client asked for instead. */
export const looksLikeAPath = (name: unknown): boolean =>
  typeof name === "string" &&
  (/^(?:\/|\.{1,2}\/|[A-Za-z]:\\)/.test(name) || /\.(?:gguf|ggml|bin|safetensors)$/i.test(name));

/** Completes `response` in place from `request` (the client's body); `now` in ms stamps `completed_at` on a
 * completed response that has none. */
export function completeResponse(response: Item, request: Item, now = Date.now()): Item {
  response.object = "response";
  if (!given(response.created_at)) response.created_at = Math.floor(now / 1000);
  if (!given(response.status)) response.status = "completed";
  if (!given(response.completed_at))
    response.completed_at = response.status === "completed" ? Math.floor(now / 1000) : null;
  if (typeof request.model === "string" && (!given(response.model) || looksLikeAPath(response.model)))
    response.model = request.model;
  response.incomplete_details ??= null;
  response.error ??= null;
  if (!Array.isArray(response.output)) response.output = [];
  for (const field of CLIENTS) if (given(request[field])) response[field] = request[field];
  for (const [field, fallback] of Object.entries(SETTINGS))
    if (!given(response[field])) response[field] = given(request[field]) ? request[field] : fallback;
  const tools = Array.isArray(response.tools) ? response.tools : Array.isArray(request.tools) ? request.tools : [];
  response.tools = tools.map(listedTool);
  if (given(request.prompt_cache_retention) && !given(response.prompt_cache_retention))
    response.prompt_cache_retention = request.prompt_cache_retention;
  response.background = response.background === true || request.background === true;
  response.usage = completeUsage(response.usage);
  return response;
}

/** The fields the Open Responses specification requires of a Response (ResponseResource.required). */
export const REQUIRED_RESPONSE_FIELDS = [
  "id",
  "object",
  "created_at",
  "completed_at",
  "status",
  "incomplete_details",
  "model",
  "previous_response_id",
  "instructions",
  "output",
  "error",
  "tools",
  "tool_choice",
  "truncation",
  "parallel_tool_calls",
  "text",
  "top_p",
  "presence_penalty",
  "frequency_penalty",
  "top_logprobs",
  "temperature",
  "reasoning",
  "user",
  "usage",
  "max_output_tokens",
  "max_tool_calls",
  "store",
  "background",
  "service_tier",
  "metadata",
  "safety_identifier",
  "prompt_cache_key",
] as const;
