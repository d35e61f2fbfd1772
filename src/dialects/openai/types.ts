// The generated OpenAI types the OpenAI-bodied dialects (/v1, /openai/v1, /openai/deployments) name.
import type { components } from "../../../generated/openai/schema.d.ts";

type Schemas = components["schemas"];

export type OpenAIChatRequest = Schemas["CreateChatCompletionRequest"];
export type OpenAIChatResponse = Schemas["CreateChatCompletionResponse"];
export type OpenAIChatChunk = Schemas["CreateChatCompletionStreamResponse"];
export type OpenAICompletionRequest = Schemas["CreateCompletionRequest"];
export type OpenAIEmbeddingsRequest = Schemas["CreateEmbeddingRequest"];
export type OpenAIEmbeddingsResponse = Schemas["CreateEmbeddingResponse"];
export type OpenAIResponsesRequest = Schemas["CreateResponse"];
export type OpenAIInputTokensRequest = Schemas["TokenCountsBody"];
export type OpenAICompactRequest = Schemas["CompactResponseMethodPublicBody"];
export type OpenAIModelList = Schemas["ListModelsResponse"];
