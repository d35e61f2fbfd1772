// O#/components/schemas/CreateChatCompletionResponse -> A#/definitions/ChatCompletions (§13.3).
import { GatewayError } from "../../../core/errors.ts";
import type {
  AzureChatCompletions,
  AzureChatCompletionsToolCall,
  AzureCompletionsFinishReason,
  AzureCompletionsUsage,
  EngineReasoning,
  OpenAIChatChunk,
  OpenAIChatResponse,
  OpenAIChatResponseMessage,
  OpenAICompletionUsage,
} from "./types.ts";

export interface ChatResponseOptions {
  /** The model name to report when the engine gives none. */
  model: string;
  /** Unix seconds, for `created` when the engine gives none. */
  now: number;
}

/** OpenAI and engine finish reasons -> the Azure enum. `function_call` is the legacy name of
 * `tool_calls`; TGI's `eos_token`/`stop_sequence` and vLLM's `abort` are ends of generation. */
export function toAzureFinishReason(reason: string | null | undefined): AzureCompletionsFinishReason | null {
  switch (reason) {
    case null:
    case undefined:
      return null;
    case "stop":
    case "length":
    case "content_filter":
    case "tool_calls":
      return reason;
    case "function_call":
      return "tool_calls";
    default:
      return "stop";
  }
}

/** Usage is optional upstream and required in Azure; details are only emitted when the engine gives them. */
export function toAzureUsage(usage: OpenAICompletionUsage | null | undefined): AzureCompletionsUsage {
  if (!usage) return { completion_tokens: 0, prompt_tokens: 0, total_tokens: 0 };
  const completion = usage.completion_tokens ?? 0;
  const prompt = usage.prompt_tokens ?? 0;
  const out: AzureCompletionsUsage = {
    completion_tokens: completion,
    prompt_tokens: prompt,
    total_tokens: usage.total_tokens ?? completion + prompt,
  };
  const c = usage.completion_tokens_details;
  if (c)
    out.completion_tokens_details = {
      audio_tokens: c.audio_tokens ?? 0,
      reasoning_tokens: c.reasoning_tokens ?? 0,
      total_tokens: completion,
    };
  const p = usage.prompt_tokens_details;
  if (p) out.prompt_tokens_details = { audio_tokens: p.audio_tokens ?? 0, cached_tokens: p.cached_tokens ?? 0 };
  return out;
}

/** TGI sends tool arguments as a JSON object; Azure and OpenAI carry them as a string. */
export function argumentsText(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value ?? {});
}

function toAzureToolCalls(message: OpenAIChatResponseMessage): AzureChatCompletionsToolCall[] | undefined {
  const calls = message.tool_calls?.flatMap(
    (call) =>
      call.type === "function"
        ? [
            {
              id: call.id,
              type: "function" as const,
              function: { name: call.function.name, arguments: argumentsText(call.function.arguments) },
            },
          ]
        : [], // custom tools cannot be requested through Azure
  );
  return calls?.length ? calls : undefined;
}

/** The JSON form of the 200 answer (the spec's other 200 form is a stream chunk). */
function isChatCompletion(body: OpenAIChatResponse | OpenAIChatChunk | null | undefined): body is OpenAIChatResponse {
  return (
    body !== null &&
    typeof body === "object" &&
    Array.isArray(body.choices) &&
    body.choices.length > 0 &&
    body.choices.every((c) => c !== null && typeof c === "object" && "message" in c)
  );
}

/** Maps an upstream chat completion to the Azure response. Throws UpstreamInvalidResponse on a body
 * that is not a chat completion, so a broken engine is a 502, never a crash. */
export function toAzureChatCompletions(
  openai: OpenAIChatResponse | OpenAIChatChunk | null | undefined,
  opts: ChatResponseOptions,
): AzureChatCompletions {
  if (!isChatCompletion(openai)) {
    throw new GatewayError("UpstreamInvalidResponse", "The engine answered with a body that is not a chat completion.");
  }
  return {
    id: typeof openai.id === "string" && openai.id ? openai.id : `chatcmpl-${opts.now}`,
    object: "chat.completion",
    created: typeof openai.created === "number" ? openai.created : opts.now,
    model: openai.model || opts.model,
    choices: openai.choices.map((choice, i) => {
      const message = (choice.message ?? {
        role: "assistant",
        content: null,
        refusal: null,
      }) as OpenAIChatResponseMessage & EngineReasoning;
      const reasoning = message.reasoning_content ?? message.reasoning;
      const toolCalls = toAzureToolCalls(message);
      return {
        index: typeof choice.index === "number" ? choice.index : i,
        finish_reason: toAzureFinishReason(choice.finish_reason),
        message: {
          role: "assistant",
          content: message.content ?? null,
          ...(reasoning ? { reasoning_content: reasoning } : {}),
          ...(toolCalls ? { tool_calls: toolCalls } : {}),
          ...(message.audio ? { audio: message.audio } : {}),
        },
      };
    }),
    usage: toAzureUsage(openai.usage),
  };
}
