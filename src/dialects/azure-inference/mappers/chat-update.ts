// O#/components/schemas/CreateChatCompletionStreamResponse -> A#/definitions/StreamingChatCompletionsUpdate (§13.4).
// Per-stream state: tool-call ids and names arrive only on a call's first fragment, and Azure wants
// `id` and `function` on every fragment, so they are remembered by (choice, tool index).
import { argumentsText, toAzureFinishReason, toAzureUsage } from "./chat-response.ts";
import type {
  AzureStreamingDelta,
  AzureStreamingToolCallUpdate,
  AzureStreamingUpdate,
  EngineReasoning,
  OpenAIChatChunk,
  OpenAIToolCallChunk,
} from "./types.ts";

/** Azure's tool-call update with the OpenAI `index` kept: clients that assemble parallel calls need it. */
export type AzureToolCallUpdateWithIndex = AzureStreamingToolCallUpdate & { index: number };

export interface ChatUpdateOptions {
  model: string;
  now: number;
}

export interface ChatUpdateMapper {
  /** One upstream chunk -> one Azure update (choices may be empty for a usage-only chunk). */
  map(chunk: OpenAIChatChunk): AzureStreamingUpdate;
}

export function createChatUpdateMapper(opts: ChatUpdateOptions): ChatUpdateMapper {
  const calls = new Map<string, { id: string; name: string }>();

  const toolCall = (choice: number, fragment: OpenAIToolCallChunk, position: number): AzureToolCallUpdateWithIndex => {
    const index = typeof fragment.index === "number" ? fragment.index : position;
    const key = `${choice}:${index}`;
    const known = calls.get(key);
    const id = fragment.id || known?.id || `call_${choice}_${index}`;
    const name = fragment.function?.name || known?.name || "";
    calls.set(key, { id, name });
    return { index, id, function: { name, arguments: argumentsText(fragment.function?.arguments ?? "") } };
  };

  return {
    map(chunk) {
      const choices = Array.isArray(chunk.choices) ? chunk.choices : [];
      const update: AzureStreamingUpdate = {
        id: chunk.id ?? "",
        // The spec's enum for updates is `chat.completion`, not OpenAI's `chat.completion.chunk`.
        object: "chat.completion",
        created: typeof chunk.created === "number" ? chunk.created : opts.now,
        model: chunk.model || opts.model,
        choices: choices.map((choice, i) => {
          const index = typeof choice.index === "number" ? choice.index : i;
          const delta = (choice.delta ?? {}) as OpenAIChatChunk["choices"][number]["delta"] & EngineReasoning;
          const reasoning = delta.reasoning_content ?? delta.reasoning;
          // TGI streams tool_calls as one object, not an array.
          const fragments: OpenAIToolCallChunk[] | undefined = Array.isArray(delta.tool_calls)
            ? delta.tool_calls
            : delta.tool_calls
              ? [delta.tool_calls as OpenAIToolCallChunk]
              : undefined;
          // Fields assigned one by one, not spread from temporaries: this runs for every streamed token.
          const azureDelta: AzureStreamingDelta = {};
          if (delta.role) azureDelta.role = delta.role;
          if (typeof delta.content === "string") azureDelta.content = delta.content;
          if (reasoning) azureDelta.reasoning_content = reasoning;
          if (fragments?.length) azureDelta.tool_calls = fragments.map((f, pos) => toolCall(index, f, pos));
          return { index, finish_reason: toAzureFinishReason(choice.finish_reason), delta: azureDelta };
        }),
      };
      if (chunk.usage) update.usage = toAzureUsage(chunk.usage);
      return update;
    },
  };
}
