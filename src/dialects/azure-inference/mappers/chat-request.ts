// A#/definitions/ChatCompletionsOptions -> O#/components/schemas/CreateChatCompletionRequest.
// Divergences follow ../shared/docs/azure-surface.md §13.1-13.2; each is commented where it is handled.
import { GatewayError } from "../../../core/errors.ts";
import type {
  AzureChatCompletionsOptions,
  AzureChatMessageContentItem,
  AzureChatRequestMessage,
  OpenAIChatRequest,
  OpenAIChatRequestMessage,
  OpenAIUserContentPart,
} from "./types.ts";

export interface ChatRequestOptions {
  /** The upstream model name, already resolved from `model`, `azureml-model-deployment` or the engine. */
  model: string;
  /** Extra top-level keys to forward (`extra-parameters: pass-through`); empty otherwise. */
  extras: Record<string, unknown>;
}

const AUDIO_DATA_URL = /^data:audio\/(wav|x-wav|wave|mp3|mpeg);base64,(.*)$/s;

function toOpenAIUserPart(item: AzureChatMessageContentItem, path: string): OpenAIUserContentPart {
  switch (item.type) {
    case "text":
      return { type: "text", text: item.text };
    case "image_url":
      return {
        type: "image_url",
        image_url: { url: item.image_url.url, ...(item.image_url.detail ? { detail: item.image_url.detail } : {}) },
      };
    case "input_audio":
      return { type: "input_audio", input_audio: { data: item.input_audio.data, format: item.input_audio.format } };
    case "audio_url": {
      // Azure-only part; OpenAI has no equivalent. A data URL carries the audio itself, so it becomes input_audio.
      const match = AUDIO_DATA_URL.exec(item.audio_url.url);
      if (!match) {
        throw new GatewayError(
          "UnsupportedParameterValue",
          "Only data URLs (data:audio/wav;base64,… or data:audio/mp3;base64,…) are supported in 'audio_url'; send the audio as 'input_audio'.",
          { target: `${path}.audio_url.url` },
        );
      }
      return {
        type: "input_audio",
        input_audio: { data: match[2]!, format: match[1]!.includes("mp") ? "mp3" : "wav" },
      };
    }
  }
}

function toOpenAIMessage(message: AzureChatRequestMessage, index: number): OpenAIChatRequestMessage {
  switch (message.role) {
    case "system":
      return { role: "system", content: message.content };
    case "developer":
      // Engines' chat templates rarely know `developer`; for them it is the system prompt.
      return { role: "system", content: message.content };
    case "user":
      return {
        role: "user",
        content:
          typeof message.content === "string"
            ? message.content
            : message.content.map((item, i) => toOpenAIUserPart(item, `messages[${index}].content[${i}]`)),
      };
    case "assistant": {
      const toolCalls = message.tool_calls?.map((call) => ({
        id: call.id,
        type: "function" as const,
        function: { name: call.function.name, arguments: call.function.arguments },
      }));
      return {
        role: "assistant",
        // OpenAI wants content null (not absent) beside tool_calls; templates want a string otherwise.
        content: message.content ?? (toolCalls?.length ? null : ""),
        ...(toolCalls?.length ? { tool_calls: toolCalls } : {}),
        ...(message.audio ? { audio: { id: message.audio.id } } : {}),
      };
    }
    case "tool":
      // Azure makes tool content optional; OpenAI requires it.
      return { role: "tool", content: message.content ?? "", tool_call_id: message.tool_call_id };
  }
}

function toOpenAIResponseFormat(
  format: NonNullable<AzureChatCompletionsOptions["response_format"]>,
): OpenAIChatRequest["response_format"] {
  switch (format.type) {
    case "text":
      return { type: "text" };
    case "json_object":
      return { type: "json_object" };
    case "json_schema": {
      const { name, schema, description, strict } = format.json_schema;
      return {
        type: "json_schema",
        json_schema: {
          name,
          schema,
          ...(description !== undefined ? { description } : {}),
          ...(strict !== undefined ? { strict } : {}),
        },
      };
    }
  }
}

function toOpenAIToolChoice(
  choice: NonNullable<AzureChatCompletionsOptions["tool_choice"]>,
): OpenAIChatRequest["tool_choice"] {
  return typeof choice === "string" ? choice : { type: "function", function: { name: choice.function.name } };
}

/** Maps a validated Azure chat request to the OpenAI request sent upstream. */
export function toOpenAIChatRequest(azure: AzureChatCompletionsOptions, opts: ChatRequestOptions): OpenAIChatRequest {
  if (azure.modalities?.includes("audio")) {
    // Azure cannot state the audio output format and voice OpenAI needs, and open engines output text only.
    throw new GatewayError(
      "UnsupportedParameterValue",
      "The model does not support the 'audio' output modality; use ['text'].",
      { target: "modalities" },
    );
  }
  // Typed as the OpenAI request alone, so every field set below is checked against the spec; the
  // pass-through extras are merged in at the end, untyped by nature.
  const request: OpenAIChatRequest = { model: opts.model, messages: azure.messages.map(toOpenAIMessage) };
  if (azure.temperature !== undefined) request.temperature = azure.temperature;
  if (azure.top_p !== undefined) request.top_p = azure.top_p;
  if (azure.frequency_penalty !== undefined) request.frequency_penalty = azure.frequency_penalty;
  if (azure.presence_penalty !== undefined) request.presence_penalty = azure.presence_penalty;
  // max_tokens is deprecated in OpenAI but it is what vLLM, TGI, SGLang and llama.cpp read.
  if (azure.max_tokens !== undefined) request.max_tokens = azure.max_tokens;
  if (azure.seed !== undefined) request.seed = azure.seed;
  if (azure.stop !== undefined) request.stop = azure.stop;
  if (azure.response_format !== undefined) request.response_format = toOpenAIResponseFormat(azure.response_format);
  if (azure.tools !== undefined) {
    request.tools = azure.tools.map((tool) => ({
      type: "function",
      function: {
        name: tool.function.name,
        ...(tool.function.description !== undefined ? { description: tool.function.description } : {}),
        ...(tool.function.parameters !== undefined ? { parameters: tool.function.parameters } : {}),
      },
    }));
  }
  if (azure.tool_choice !== undefined) request.tool_choice = toOpenAIToolChoice(azure.tool_choice);
  if (azure.stream) {
    request.stream = true;
    // Azure has no stream_options; usage in streams needs it upstream. A pass-through value is kept.
    const passed = opts.extras.stream_options;
    request.stream_options = { include_usage: true, ...(passed !== null && typeof passed === "object" ? passed : {}) };
  }
  // `modalities: ["text"]` is the default and is not forwarded; `user_security_context` is Azure-only.
  return { ...opts.extras, ...request };
}
