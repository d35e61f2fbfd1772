// A#/definitions/EmbeddingsOptions and ImageEmbeddingsOptions -> O#/components/schemas/CreateEmbeddingRequest
// (or vLLM's chat-style multimodal form), and O#/components/schemas/CreateEmbeddingResponse ->
// A#/definitions/EmbeddingsResult (§13.5).
import { GatewayError } from "../../../core/errors.ts";
import { fromBase64, toBase64, toBinary, toInt8, toUbinary, toUint8 } from "../../../core/embedding-encoding.ts";
import type {
  AzureEmbeddingEncodingFormat,
  AzureEmbeddingItem,
  AzureEmbeddingsOptions,
  AzureEmbeddingsResult,
  AzureImageEmbeddingsOptions,
  OpenAIEmbeddingsRequest,
  OpenAIEmbeddingsResponse,
  VllmChatEmbeddingsRequest,
} from "./types.ts";

export interface EmbeddingsRequestOptions {
  model: string;
  extras: Record<string, unknown>;
}

/** What the engine is asked for: floats, unless the client wants base64 (which engines produce). */
const upstreamEncoding = (format: AzureEmbeddingEncodingFormat | undefined): "float" | "base64" =>
  format === "base64" ? "base64" : "float";

function checkCommon(azure: Pick<AzureEmbeddingsOptions, "dimensions" | "input_type">): void {
  // Azure promises 422 for values the model cannot honour.
  if (azure.dimensions !== undefined && azure.dimensions < 1) {
    throw new GatewayError("UnsupportedParameterValue", "'dimensions' must be at least 1.", { target: "dimensions" });
  }
  if (azure.input_type !== undefined && azure.input_type !== "text") {
    throw new GatewayError(
      "UnsupportedParameterValue",
      `The model does not support input_type '${azure.input_type}'; use 'text' or omit it.`,
      { target: "input_type" },
    );
  }
}

export function toOpenAIEmbeddingsRequest(
  azure: AzureEmbeddingsOptions,
  opts: EmbeddingsRequestOptions,
): OpenAIEmbeddingsRequest {
  checkCommon(azure);
  const request: OpenAIEmbeddingsRequest = {
    model: opts.model,
    input: azure.input,
    encoding_format: upstreamEncoding(azure.encoding_format),
    ...(azure.dimensions !== undefined ? { dimensions: azure.dimensions } : {}),
  };
  return { ...opts.extras, ...request };
}

/** One upstream request per image: vLLM embeds one chat-style conversation per call. */
export function toVllmImageEmbeddingsRequests(
  azure: AzureImageEmbeddingsOptions,
  opts: EmbeddingsRequestOptions,
): VllmChatEmbeddingsRequest[] {
  checkCommon(azure);
  return azure.input.map((item) => ({
    ...opts.extras,
    model: opts.model,
    encoding_format: upstreamEncoding(azure.encoding_format),
    ...(azure.dimensions !== undefined ? { dimensions: azure.dimensions } : {}),
    messages: [
      {
        role: "user",
        content: [
          { type: "image_url", image_url: { url: item.image } },
          ...(item.text !== undefined ? [{ type: "text" as const, text: item.text }] : []),
        ],
      },
    ],
  }));
}

function encode(
  embedding: number[] | string,
  format: AzureEmbeddingEncodingFormat | undefined,
): AzureEmbeddingItem["embedding"] {
  const floats = typeof embedding === "string" ? fromBase64(embedding) : embedding;
  switch (format) {
    case undefined:
    case "float":
      return floats;
    case "base64":
      return typeof embedding === "string" ? embedding : toBase64(embedding);
    case "int8":
      return toInt8(floats);
    case "uint8":
      return toUint8(floats);
    case "binary":
      return toBinary(floats);
    case "ubinary":
      return toUbinary(floats);
  }
}

export interface EmbeddingsResultOptions {
  model: string;
  encoding: AzureEmbeddingEncodingFormat | undefined;
  /** Used for `id` when the engine gives none (OpenAI's response has no id; Azure requires one). */
  requestId: string;
}

/** Maps one or more upstream answers (one per image for image embeddings) to one Azure result. */
export function toAzureEmbeddingsResult(
  responses: OpenAIEmbeddingsResponse[],
  opts: EmbeddingsResultOptions,
): AzureEmbeddingsResult {
  const data: AzureEmbeddingItem[] = [];
  let promptTokens = 0;
  let totalTokens = 0;
  for (const response of responses) {
    if (response === null || typeof response !== "object" || !Array.isArray(response.data)) {
      throw new GatewayError(
        "UpstreamInvalidResponse",
        "The engine answered with a body that is not an embeddings list.",
      );
    }
    for (const item of [...response.data].sort((a, b) => a.index - b.index)) {
      data.push({ embedding: encode(item.embedding, opts.encoding), index: data.length, object: "embedding" });
    }
    promptTokens += response.usage?.prompt_tokens ?? 0;
    totalTokens += response.usage?.total_tokens ?? response.usage?.prompt_tokens ?? 0;
  }
  const first = responses[0] as (OpenAIEmbeddingsResponse & { id?: unknown }) | undefined;
  return {
    id: typeof first?.id === "string" && first.id ? first.id : opts.requestId,
    data,
    usage: { prompt_tokens: promptTokens, total_tokens: totalTokens },
    object: "list",
    model: first?.model || opts.model,
  };
}
