// The one file that names generated types. Azure types come from the newest generated api-version
// (2025-05-01 is a superset of 2025-04-01); validation per api-version lives in validate/.
import type * as Azure from "../../../../generated/azure/2025-05-01/index.ts";
import type { components } from "../../../../generated/openai/schema.d.ts";

type OpenAISchemas = components["schemas"];

export type AzureChatCompletionsOptions = Azure.ChatCompletionsOptions;
export type AzureChatRequestMessage = Azure.ChatRequestMessage;
export type AzureChatMessageContentItem = Azure.ChatMessageContentItem;
export type AzureChatCompletions = Azure.ChatCompletions;
export type AzureCompletionsUsage = Azure.CompletionsUsage;
export type AzureCompletionsFinishReason = Azure.CompletionsFinishReason;
export type AzureChatCompletionsToolCall = Azure.ChatCompletionsToolCall;
export type AzureStreamingUpdate = Azure.StreamingChatCompletionsUpdate;
export type AzureStreamingDelta = Azure.StreamingChatResponseMessageUpdate;
export type AzureStreamingToolCallUpdate = Azure.StreamingChatResponseToolCallUpdate;
export type AzureEmbeddingsOptions = Azure.EmbeddingsOptions;
export type AzureImageEmbeddingsOptions = Azure.ImageEmbeddingsOptions;
export type AzureEmbeddingsResult = Azure.EmbeddingsResult;
export type AzureEmbeddingItem = Azure.EmbeddingItem;
export type AzureEmbeddingEncodingFormat = Azure.EmbeddingEncodingFormat;
export type AzureModelInfo = Azure.ModelInfo;
export type AzureModelType = Azure.ModelType;
export type AzureErrorResponse = Azure.AzureCoreFoundationsErrorResponse;

export type OpenAIChatRequest = OpenAISchemas["CreateChatCompletionRequest"];
export type OpenAIChatRequestMessage = OpenAISchemas["ChatCompletionRequestMessage"];
export type OpenAIUserContentPart = OpenAISchemas["ChatCompletionRequestUserMessageContentPart"];
export type OpenAIChatResponse = OpenAISchemas["CreateChatCompletionResponse"];
export type OpenAIChatResponseMessage = OpenAISchemas["ChatCompletionResponseMessage"];
export type OpenAIChatChunk = OpenAISchemas["CreateChatCompletionStreamResponse"];
export type OpenAIToolCallChunk = OpenAISchemas["ChatCompletionMessageToolCallChunk"];
export type OpenAICompletionUsage = OpenAISchemas["CompletionUsage"];
export type OpenAIEmbeddingsRequest = OpenAISchemas["CreateEmbeddingRequest"];
export type OpenAIEmbeddingsResponse = OpenAISchemas["CreateEmbeddingResponse"];
export type OpenAIModelList = OpenAISchemas["ListModelsResponse"];

/** vLLM's chat-style multimodal embeddings request (`messages` instead of `input` on /v1/embeddings);
 * not in the OpenAI spec, so it is declared here from the OpenAI message type. */
export type VllmChatEmbeddingsRequest = Omit<OpenAIEmbeddingsRequest, "input"> & {
  messages: OpenAIChatRequestMessage[];
};

/** Engines add reasoning to the OpenAI message and delta (vLLM/SGLang: `reasoning_content`, newer vLLM: `reasoning`). */
export interface EngineReasoning {
  reasoning_content?: string | null;
  reasoning?: string | null;
}
