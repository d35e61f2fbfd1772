// The operations whose bodies are OpenAI's, shared by the engine's own /v1 routes and the two Azure
// OpenAI route families, as specs for the one handler (core/pipeline/operation.ts): the body checked
// against the OpenAI spec and the dialect's rules, the engine called on the same path, its answer
// passed on (normalised only where the API says so) or its stream re-framed. What differs between the
// dialects (api-version rule, Azure-only fields, where the model is named, error envelope, not-found
// code) comes in as OpenAIEdges.
import type { Readable } from "node:stream";
import type { Context } from "koa";
import type { GatewayDeps } from "../../deps.ts";
import type { Operation } from "../../core/deployments/config-file.ts";
import type { NotFoundCode } from "../../core/deployments/request.ts";
import { type ErrorBody, GatewayError } from "../../core/errors.ts";
import { fromBase64, toBase64 } from "../../core/embedding-encoding.ts";
import type { Usage } from "../../core/pipeline/exchange.ts";
import { usageOf } from "../../core/pipeline/usage.ts";
import {
  type Accepted,
  type CallInit,
  type Handler,
  operationHandler,
  type OperationSpec,
} from "../../core/pipeline/operation.ts";
import type { RoutingFacts } from "../../core/routing/prefix.ts";
import { chatFacts, completionFacts } from "../../core/routing/prompt.ts";
import type { StreamAdapter } from "../../core/stream/sse-writer.ts";
import type { FetchResult } from "../../core/upstream/call.ts";
import type { UpstreamClient } from "../../core/upstream/client.ts";
import { createChunkStreamAdapter } from "./streams.ts";
import type {
  OpenAIChatRequest,
  OpenAICompletionRequest,
  OpenAIEmbeddingsRequest,
  OpenAIEmbeddingsResponse,
  OpenAIInputTokensRequest,
} from "./types.ts";
import { checkOpenAIBody, type OpenAIBodySchema } from "./validate.ts";

export interface OpenAIEdges {
  /** Checks the request's api-version by the dialect's rule; returns it for logs and traces. */
  apiVersion(querystring: string): string | undefined;
  /** Dialect rules on a validated body (Azure-only fields); may change it. */
  prepare?(body: Record<string, unknown>): void;
  /** The code of a model (or deployment) name nothing served answers to. */
  notFound: NotFoundCode;
  errorBody: ErrorBody;
}

export type OpenAIBody = { model?: unknown; stream?: unknown } & Record<string, unknown>;
export interface AcceptedBody<B> extends Accepted {
  body: B & OpenAIBody;
}

/** Checks shared by every POST: api-version, the body against its schema (none: the engine's to check),
 * the dialect's rules; on a deployment route the path names the model (the body then needs none). */
export async function acceptBody<B>(
  ctx: Context,
  edges: OpenAIEdges,
  schema: OpenAIBodySchema | undefined,
): Promise<AcceptedBody<B>> {
  const apiVersion = edges.apiVersion(ctx.querystring);
  const raw = ctx.request.body as Record<string, unknown> | undefined;
  const path = (ctx.params as { deployment?: string } | undefined)?.deployment;
  const isObject = raw !== null && typeof raw === "object" && !Array.isArray(raw);
  if (path !== undefined && isObject) raw.model = path;
  // A body that names no model goes by the deployment rule (the file's default, or the one deployment that
  // serves the operation; else a 400 listing them), as in the Azure AI Inference dialect: the schema's
  // required `model` is checked with a stand-in, then left unnamed.
  const unnamed = isObject && schema !== undefined && (raw.model === undefined || raw.model === null);
  if (unnamed) raw.model = "";
  const body = await checkOpenAIBody<B & OpenAIBody>(raw, schema);
  if (unnamed) delete (body as { model?: unknown }).model;
  edges.prepare?.(body);
  const named = typeof body.model === "string" && body.model ? body.model : undefined;
  const names = { path, body: named, header: ctx.get("azureml-model-deployment") || undefined };
  return { apiVersion, names, stream: body.stream === true, body };
}

/** The engine's answer as the client's, with its usage; anything but a JSON object is the engine's fault. */
export function answerObject(data: unknown, what: string): { body: unknown; usage: Usage | undefined } {
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new GatewayError("UpstreamInvalidResponse", `The engine answered with a body that is not ${what}.`);
  }
  return { body: data, usage: usageOf((data as { usage?: unknown }).usage) };
}

type BodyInit<B> = CallInit & { body: B };

/** What tells the OpenAI operations apart; the engine calls stay typed by their own path, so
 * openapi-fetch checks each body against its operation. */
interface OpenAIOperation<B> {
  operation: Operation;
  /** Unset: the body is the engine's to check (it must be a JSON object). */
  schema?: OpenAIBodySchema;
  path: string;
  /** Not every engine serves it (Responses, legacy completions, counts). */
  optional: boolean;
  /** What the answer is, for the error when it is not. */
  what: string;
  json(client: UpstreamClient, init: BodyInit<B>): Promise<FetchResult<unknown>>;
  /** What its replica is chosen by (core/routing/prompt.ts); unset: the least loaded. */
  routing?(body: B): RoutingFacts;
  /** Unset: the operation answers JSON only. */
  stream?(client: UpstreamClient, init: BodyInit<B>): Promise<FetchResult<Readable>>;
  adapter?(edges: OpenAIEdges, body: B & OpenAIBody, hideUsage: boolean): StreamAdapter;
  /** The client's answer from the engine's (default: as it came). */
  answer?(data: unknown, body: B & OpenAIBody): unknown;
}

/** An OpenAI operation as a spec of the one handler, for one dialect. */
function openAIOperation<B>(op: OpenAIOperation<B>): (deps: GatewayDeps, edges: OpenAIEdges) => Handler {
  return (deps, edges) => {
    const spec: OperationSpec<AcceptedBody<B>> = {
      operation: op.operation,
      engine: { path: op.path, optional: op.optional },
      accept: (ctx) => acceptBody<B>(ctx, edges, op.schema),
      async answer(call, { body }, model) {
        if (model !== undefined) body.model = model;
        const data = await call(
          (client, init) => op.json(client, { ...init, body }),
          op.routing && (() => op.routing!(body)),
        );
        return answerObject(op.answer ? op.answer(data, body) : data, op.what);
      },
      ...(op.stream && op.adapter
        ? {
            async stream(call, { body }, model) {
              if (model !== undefined) body.model = model;
              // Every stream is metered by its usage (limits, gateway_tokens_total, the log line): asked of the
              // engine, kept from a client that did not ask.
              const options = (body as OpenAIBody).stream_options as { include_usage?: unknown } | null | undefined;
              const hideUsage = options?.include_usage !== true;
              if (hideUsage) (body as OpenAIBody).stream_options = { ...options, include_usage: true };
              const events = await call(
                (client, init) => op.stream!(client, { ...init, body }),
                op.routing && (() => op.routing!(body)),
              );
              return { events, adapter: op.adapter!(edges, body, hideUsage) };
            },
          }
        : {}),
    };
    return operationHandler(spec, deps, edges.notFound);
  };
}

export const chatCompletions = openAIOperation<OpenAIChatRequest>({
  operation: "chat",
  schema: "CreateChatCompletionRequest",
  path: "/chat/completions",
  optional: false,
  what: "a chat completion",
  json: (client, init) => client.postJson("/chat/completions", init),
  stream: (client, init) => client.postStream("/chat/completions", init),
  routing: (body) => chatFacts(body),
  adapter: (edges, _body, hideUsage) => createChunkStreamAdapter(edges.errorBody, hideUsage),
});

export const completions = openAIOperation<OpenAICompletionRequest>({
  operation: "completions",
  schema: "CreateCompletionRequest",
  path: "/completions",
  optional: true,
  what: "a completion",
  json: (client, init) => client.postJson("/completions", init),
  stream: (client, init) => client.postStream("/completions", init),
  routing: (body) => completionFacts(body),
  adapter: (edges, _body, hideUsage) => createChunkStreamAdapter(edges.errorBody, hideUsage),
});

/** Each vector in the encoding the client asked for (O#/components/schemas/CreateEmbeddingRequest:
 * `float` by default; the `openai` SDKs ask for `base64`, little-endian float32, and decode it), whatever
 * the engine returned: some engines ignore `encoding_format` and always send floats. */
export function toRequestedEncoding(
  response: OpenAIEmbeddingsResponse,
  format: OpenAIEmbeddingsRequest["encoding_format"],
): OpenAIEmbeddingsResponse {
  if (response === null || typeof response !== "object" || !Array.isArray(response.data)) {
    throw new GatewayError(
      "UpstreamInvalidResponse",
      "The engine answered with a body that is not an embeddings list.",
    );
  }
  const base64 = format === "base64";
  for (const item of response.data) {
    const embedding = item?.embedding as unknown;
    if (base64 && Array.isArray(embedding)) item.embedding = toBase64(embedding) as unknown as number[];
    else if (!base64 && typeof embedding === "string") item.embedding = fromBase64(embedding);
    else if (!Array.isArray(embedding) && typeof embedding !== "string")
      throw new GatewayError(
        "UpstreamInvalidResponse",
        "The engine answered with an embedding that is neither floats nor base64.",
      );
  }
  return response;
}

export const embeddings = openAIOperation<OpenAIEmbeddingsRequest>({
  operation: "embeddings",
  schema: "CreateEmbeddingRequest",
  path: "/embeddings",
  optional: false,
  what: "an embeddings list",
  json: (client, init) => client.postJson("/embeddings", init),
  answer: (data, body) => toRequestedEncoding(data as OpenAIEmbeddingsResponse, body.encoding_format),
});

/** POST /responses/input_tokens: the engine's count of a Responses request's input (forwarded as given). */
export const countInputTokens = openAIOperation<OpenAIInputTokensRequest>({
  operation: "responses",
  path: "/responses/input_tokens",
  optional: true,
  what: "an input token count",
  json: (client, init) => client.POST("/responses/input_tokens", init),
});
