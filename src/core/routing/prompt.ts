// The prompt of a request in the order an engine's chat template reads it: tools (templates put them in
// the system turn), instructions, then each message or input item. Only the order and the text matter:
// two requests route together as far as these parts agree.
import type { components } from "../../../generated/openai/schema.d.ts";
import type { RoutingFacts } from "./prefix.ts";

type Schemas = components["schemas"];
type ChatRequest = Schemas["CreateChatCompletionRequest"];
type CompletionRequest = Schemas["CreateCompletionRequest"];
type ResponsesRequest = Schemas["CreateResponse"];

/** A content value's text: a string, or the text (else the JSON) of each part. */
function pushContent(parts: string[], content: unknown): void {
  if (typeof content === "string") parts.push(content);
  else if (Array.isArray(content))
    for (const part of content as Array<{ text?: unknown }>)
      parts.push(typeof part?.text === "string" ? part.text : JSON.stringify(part));
  else if (content !== undefined && content !== null) parts.push(JSON.stringify(content));
}

const keyOf = (key: string | null | undefined) => (typeof key === "string" && key !== "" ? key : undefined);

export function chatFacts(body: ChatRequest, previousReplica?: string): RoutingFacts {
  const parts: string[] = [];
  if (body.tools?.length) parts.push(JSON.stringify(body.tools));
  for (const message of body.messages ?? []) {
    parts.push(message.role);
    pushContent(parts, message.content);
    if ("tool_calls" in message && message.tool_calls) parts.push(JSON.stringify(message.tool_calls));
  }
  return { prompt: parts, cacheKey: keyOf(body.prompt_cache_key), previousReplica };
}

export function completionFacts(body: CompletionRequest): RoutingFacts {
  const parts: string[] = [];
  pushContent(parts, body.prompt);
  return { prompt: parts };
}

/** `previousReplica`: the replica that served the response this one continues. */
export function responsesFacts(body: ResponsesRequest, previousReplica?: string): RoutingFacts {
  const parts: string[] = [];
  if (body.tools?.length) parts.push(JSON.stringify(body.tools));
  if (typeof body.instructions === "string") parts.push(body.instructions);
  if (typeof body.input === "string") parts.push(body.input);
  else
    for (const item of body.input ?? []) {
      const { role, content } = item as { role?: unknown; content?: unknown };
      if (typeof role === "string") parts.push(role);
      if (content !== undefined) pushContent(parts, content);
      else parts.push(JSON.stringify(item)); // function calls and their outputs
    }
  return { prompt: parts, cacheKey: keyOf(body.prompt_cache_key), previousReplica };
}
