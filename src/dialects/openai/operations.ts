// The operations whose bodies are OpenAI's, shared by the engine's own /v1 routes and the two Azure
// OpenAI route families: validate against the OpenAI spec -> resolve the model -> call the engine ->
// answer its body (normalised only where the API says so) or re-frame its stream. What differs
// between those dialects (api-version rule, Azure-only fields, where the model is named, error
// envelope, not-found code) comes in as OpenAIEdges.
import type { Context } from "koa";
import type { GatewayDeps } from "../../deps.ts";
import type { Operation } from "../../core/deployments/config-file.ts";
import { type Deployment, operationsOf, servesOperation } from "../../core/deployments/deployments.ts";
import { deploymentFor, engineModelOf } from "../../core/deployments/request.ts";
import type { Upstream } from "../../core/upstream/client.ts";
import { type ErrorBody, type ErrorCode, GatewayError } from "../../core/errors.ts";
import { fromBase64, toBase64 } from "../../core/embedding-encoding.ts";
import { upstreamHeaders } from "../../core/http/headers.ts";
import { createStreamOutcome, type StreamAdapter, writeSseStream } from "../../core/stream/sse-writer.ts";
import { callUpstream, type FetchResult } from "../../core/upstream/call.ts";
import { matchServed, type ModelCatalog, type OpenAIModel } from "../../core/upstream/models.ts";
import { isTransportFailure } from "../../core/upstream/failures.ts";
import { createRequestSignal, type RequestSignal } from "../../core/upstream/request-signal.ts";
import { asFetchSignal } from "../../core/upstream/transport.ts";
import { createChunkStreamAdapter, createResponsesStreamAdapter } from "./streams.ts";
import type {
  OpenAIChatRequest,
  OpenAICompactRequest,
  OpenAICompletionRequest,
  OpenAIEmbeddingsRequest,
  OpenAIEmbeddingsResponse,
  OpenAIInputTokensRequest,
  OpenAIModelList,
  OpenAIResponsesRequest,
} from "./types.ts";
import { checkOpenAIBody, type OpenAIBodySchema } from "./validate.ts";

export interface OpenAIEdges {
  /** Checks the request's api-version by the dialect's rule; returns it for logs and traces. */
  apiVersion(querystring: string): string | undefined;
  /** Dialect rules on a validated body (Azure-only fields); may change it. */
  prepare?(body: Record<string, unknown>): void;
  /** The code of a model (or deployment) name nothing served answers to. */
  notFound: Extract<ErrorCode, "ModelNotFound" | "DeploymentNotFound">;
  errorBody: ErrorBody;
}

type Handler = (ctx: Context) => Promise<void>;

/** The model (or deployment) a request names (on a deployment route, the path's, set by acceptBody). */
const requestedName = (body: { model?: unknown }): string | undefined =>
  typeof body.model === "string" && body.model ? body.model : undefined;

/** The same resolution rule as everywhere (upstream/models.ts matchServed), strictly: a name nothing
 * served answers to is a 404 here, not a guess. When the engine answers without a model list, the name
 * goes as it is and the call reports the engine's state; when it does not answer at all, that is the
 * request's answer. */
async function resolveModel(
  models: ModelCatalog,
  requested: string | undefined,
  notFound: OpenAIEdges["notFound"],
): Promise<string | undefined> {
  let served: string[];
  try {
    served = await models.ids();
  } catch (err) {
    if (isTransportFailure(err)) throw err; // the call would wait for the same engine again
    return requested;
  }
  if (served.length === 0) return requested;
  const id = matchServed(served, requested);
  if (id !== undefined) return id;
  const what = notFound === "DeploymentNotFound" ? "deployment" : "model";
  throw new GatewayError(
    notFound,
    `The ${what} '${requested!.slice(0, 200)}' does not exist here. Served: ${served.join(", ")}.`,
    { target: "model" },
  );
}

/** Runs one upstream exchange with the request's abort signal (client gone, total timeout). */
async function withSignal(
  ctx: Context,
  totalTimeoutMs: number,
  run: (signal: RequestSignal) => Promise<void>,
): Promise<void> {
  const { signal, dispose } = createRequestSignal(ctx.res, totalTimeoutMs);
  ctx.state.upstreamSignal = signal; // the log line reads which replica it reached
  try {
    await run(signal);
  } finally {
    dispose();
  }
}

async function stream(
  ctx: Context,
  deps: GatewayDeps,
  body: AsyncIterable<Uint8Array>,
  adapter: StreamAdapter,
  signal: RequestSignal,
): Promise<void> {
  ctx.status = 200;
  ctx.respond = false; // the stream writes to the socket itself, event by event
  deps.metrics.streamsInFlight.inc();
  const outcome = createStreamOutcome();
  ctx.state.streamOutcome = outcome; // read by the log/metrics/trace hooks when the response closes
  await writeSseStream(body, ctx.res, adapter, signal, outcome).finally(() => deps.metrics.streamsInFlight.dec());
  if (outcome.error) {
    deps.log.warn(
      {
        requestId: ctx.state.requestId,
        code: outcome.error.code,
        err: outcome.error.cause ?? outcome.error.message,
        updates: outcome.updates,
      },
      "stream ended by an upstream failure",
    );
  } else if (outcome.clientAborted) {
    deps.log.info(
      { requestId: ctx.state.requestId, updates: outcome.updates },
      "client closed the stream; upstream aborted",
    );
  }
}

function answerObject(ctx: Context, data: unknown, what: string): void {
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new GatewayError("UpstreamInvalidResponse", `The engine answered with a body that is not ${what}.`);
  }
  const usage = (
    data as {
      usage?: {
        prompt_tokens?: number;
        completion_tokens?: number;
        input_tokens?: number;
        output_tokens?: number;
      } | null;
    }
  ).usage;
  if (usage)
    ctx.state.usage = {
      prompt_tokens: usage.prompt_tokens ?? usage.input_tokens,
      completion_tokens: usage.completion_tokens ?? usage.output_tokens,
    };
  ctx.body = data;
}

/** Checks shared by every POST: api-version, the body against its schema, the dialect's rules, then
 * the deployment (core/deployments' rule) and the model its engine is asked for. */
async function acceptBody<T extends { model?: unknown; stream?: unknown }>(
  ctx: Context,
  deps: GatewayDeps,
  edges: OpenAIEdges,
  schema: OpenAIBodySchema | undefined,
  operation: Operation,
): Promise<{ body: T & Record<string, unknown>; deployment: Deployment }> {
  const apiVersion = edges.apiVersion(ctx.querystring);
  const raw = ctx.request.body as Record<string, unknown> | undefined;
  // On a deployment route the path names the model; the body's `model` is optional there (B's schema has none).
  const pathName = (ctx.params as { deployment?: string } | undefined)?.deployment;
  if (pathName !== undefined && raw !== null && typeof raw === "object" && !Array.isArray(raw)) raw.model = pathName;
  const body = await checkOpenAIBody<T>(raw, schema);
  edges.prepare?.(body);
  const requested = requestedName(body);
  const names = { path: pathName, body: requested, header: ctx.get("azureml-model-deployment") || undefined };
  const deployment = await deploymentFor(ctx, deps, names, operation, edges.notFound);
  const model = deps.deployments.fromFile
    ? ((await engineModelOf(deployment)) ?? requested)
    : await resolveModel(deployment.models, requested, edges.notFound);
  if (model !== undefined) body.model = model;
  ctx.state.model = model;
  ctx.state.apiVersion = apiVersion;
  ctx.state.stream = body.stream === true;
  return { body, deployment };
}

type UpstreamClient = Upstream["client"];
// A type alias, not an interface: openapi-fetch's init parameter wants an index signature.
type UpstreamInit<B> = {
  body: B;
  headers: Record<string, string>;
  signal: AbortSignal;
};

/** What tells the generating operations (chat, legacy completions, responses) apart; the engine calls
 * stay typed by their own path, so openapi-fetch checks each body against its operation. */
interface Generation<B> {
  operation: Operation;
  /** Unset: the body is the engine's to check (it must be a JSON object). */
  schema?: OpenAIBodySchema;
  path: string;
  /** Not every engine serves it (see EngineRoute). */
  optional: boolean;
  /** What the answer is, for the error when it is not. */
  what: string;
  json(client: UpstreamClient, init: UpstreamInit<B>): Promise<FetchResult<unknown>>;
  /** Unset: the operation answers JSON only. */
  stream?(client: UpstreamClient, init: UpstreamInit<B>): Promise<FetchResult<ReadableStream | null>>;
  adapter?(edges: OpenAIEdges, body: B): StreamAdapter;
}

/** A generating operation: validate and resolve, then the engine's JSON answer or its re-framed stream. */
function generation<B extends { model?: unknown; stream?: unknown }>(
  op: Generation<B>,
): (deps: GatewayDeps, edges: OpenAIEdges) => Handler {
  return (deps, edges) => {
    return async (ctx) => {
      const { body, deployment } = await acceptBody<B>(ctx, deps, edges, op.schema, op.operation);
      const { upstream, config } = deployment;
      const route = deployment.route("POST", op.path, op.optional);
      await withSignal(ctx, config.totalTimeoutMs, async (signal) => {
        const init = { body, headers: upstreamHeaders(ctx, upstream.baseHeaders), signal: asFetchSignal(signal) };
        const started = performance.now();
        if (body.stream !== true || !op.stream || !op.adapter) {
          const { data } = await callUpstream(signal, () => op.json(upstream.client, init), route);
          ctx.state.upstreamMs = performance.now() - started;
          return answerObject(ctx, data, op.what);
        }
        const openStream = op.stream;
        const { data } = await callUpstream(signal, () => openStream(upstream.client, init), route);
        ctx.state.upstreamMs = performance.now() - started;
        await stream(ctx, deps, data, op.adapter(edges, body), signal);
      });
    };
  };
}

export const chatCompletions = generation<OpenAIChatRequest>({
  operation: "chat",
  schema: "CreateChatCompletionRequest",
  path: "/chat/completions",
  optional: false,
  what: "a chat completion",
  json: (client, init) => client.POST("/chat/completions", init),
  stream: (client, init) => client.POST("/chat/completions", { ...init, parseAs: "stream" }),
  adapter: (edges) => createChunkStreamAdapter(edges.errorBody),
});

export const completions = generation<OpenAICompletionRequest>({
  operation: "completions",
  schema: "CreateCompletionRequest",
  path: "/completions",
  optional: true,
  what: "a completion",
  json: (client, init) => client.POST("/completions", init),
  stream: (client, init) => client.POST("/completions", { ...init, parseAs: "stream" }),
  adapter: (edges) => createChunkStreamAdapter(edges.errorBody),
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

export function embeddings(deps: GatewayDeps, edges: OpenAIEdges): Handler {
  return async (ctx) => {
    const { body, deployment } = await acceptBody<OpenAIEmbeddingsRequest>(
      ctx,
      deps,
      edges,
      "CreateEmbeddingRequest",
      "embeddings",
    );
    const { upstream, config } = deployment;
    const route = deployment.route("POST", "/embeddings");
    await withSignal(ctx, config.totalTimeoutMs, async (signal) => {
      const started = performance.now();
      const { data } = await callUpstream(
        signal,
        () =>
          upstream.client.POST("/embeddings", {
            body,
            headers: upstreamHeaders(ctx, upstream.baseHeaders),
            signal: asFetchSignal(signal),
          }),
        route,
      );
      ctx.state.upstreamMs = performance.now() - started;
      answerObject(ctx, toRequestedEncoding(data, body.encoding_format), "an embeddings list");
    });
  };
}

export const createResponse = generation<OpenAIResponsesRequest>({
  operation: "responses",
  schema: "CreateResponse",
  path: "/responses",
  optional: true,
  what: "a response",
  json: (client, init) => client.POST("/responses", init),
  stream: (client, init) => client.POST("/responses", { ...init, parseAs: "stream" }),
  adapter: (_edges, body) => createResponsesStreamAdapter(typeof body.model === "string" ? body.model : undefined),
});

/** POST /responses/input_tokens: the engine's count of a Responses request's input (forwarded as given). */
export const countInputTokens = generation<OpenAIInputTokensRequest>({
  operation: "responses",
  path: "/responses/input_tokens",
  optional: true,
  what: "an input token count",
  json: (client, init) => client.POST("/responses/input_tokens", init),
});

/** POST /responses/compact: the engine's compaction of a conversation (forwarded as given). */
export const compactResponse = generation<OpenAICompactRequest>({
  operation: "responses",
  path: "/responses/compact",
  optional: true,
  what: "a compacted response",
  json: (client, init) => client.POST("/responses/compact", init),
});

/** `include[]=a&include=b` (the SDKs send brackets) -> ["a", "b"]. */
function includeList(ctx: Context): string[] | undefined {
  const values = [ctx.query["include[]"], ctx.query.include]
    .flat()
    .filter((v): v is string => typeof v === "string" && v !== "");
  return values.length ? values : undefined;
}

const queryString = (ctx: Context, name: string): string | undefined =>
  typeof ctx.query[name] === "string" ? (ctx.query[name] as string) : undefined;

/** GET /responses/{id}, DELETE /responses/{id}, GET /responses/{id}/input_items, POST
 * /responses/{id}/cancel: stored responses, where the engine keeps them (vLLM with a store; llama.cpp
 * keeps none and says so). */
export function responseById(
  deps: GatewayDeps,
  edges: OpenAIEdges,
  operation: "get" | "delete" | "input_items" | "cancel",
): Handler {
  return async (ctx) => {
    ctx.state.apiVersion = edges.apiVersion(ctx.querystring);
    // A stored response lives on one engine and its id names none: the deployment the request names
    // (header, default, the only one serving responses), else each that serves responses in turn.
    const holders = responseHolders(ctx, deps);
    if (holders.length === 0) throw new GatewayError("OperationNotSupported", "No deployment here serves responses.");
    for (const [i, deployment] of holders.entries()) {
      try {
        return await fromDeployment(ctx, deployment);
      } catch (err) {
        if (i === holders.length - 1 || !(err instanceof GatewayError && err.status === 404)) throw err;
      }
    }
  };

  async function fromDeployment(ctx: Context, d: Deployment): Promise<void> {
    const { upstream, config } = d;
    ctx.state.deployment = d.name;
    const responseId = (ctx.params as { id: string }).id;
    const headers = upstreamHeaders(ctx, upstream.baseHeaders);
    await withSignal(ctx, config.totalTimeoutMs, async (signal) => {
      const started = performance.now();
      const path = { response_id: responseId };
      const include = includeList(ctx) as never;
      if (operation === "get") {
        const obfuscation = queryString(ctx, "include_obfuscation");
        const query = {
          include,
          ...(obfuscation !== undefined ? { include_obfuscation: obfuscation === "true" } : {}),
        };
        const { data } = await callUpstream(signal, () =>
          upstream.client.GET("/responses/{response_id}", {
            params: { path, query },
            headers,
            signal: asFetchSignal(signal),
          }),
        );
        ctx.state.upstreamMs = performance.now() - started;
        return answerObject(ctx, data, "a response");
      }
      if (operation === "input_items") {
        const limit = queryString(ctx, "limit");
        const order = queryString(ctx, "order") as "asc" | "desc" | undefined;
        const after = queryString(ctx, "after");
        const query = {
          include,
          ...(limit !== undefined ? { limit: Number(limit) } : {}),
          ...(order === "asc" || order === "desc" ? { order } : {}),
          ...(after !== undefined ? { after } : {}),
        };
        const { data } = await callUpstream(signal, () =>
          upstream.client.GET("/responses/{response_id}/input_items", {
            params: { path, query },
            headers,
            signal: asFetchSignal(signal),
          }),
        );
        ctx.state.upstreamMs = performance.now() - started;
        return answerObject(ctx, data, "an input item list");
      }
      if (operation === "cancel") {
        const { data } = await callUpstream(
          signal,
          () =>
            upstream.client.POST("/responses/{response_id}/cancel", {
              params: { path },
              headers,
              signal: asFetchSignal(signal),
            }),
          d.route("POST", "/responses/{response_id}/cancel", true),
        );
        ctx.state.upstreamMs = performance.now() - started;
        return answerObject(ctx, data, "a response");
      }
      // The spec declares no body for the 200; engines send the deletion object, and it is what clients read.
      const result = await callUpstream<unknown>(signal, async () => {
        const answer = await upstream.client.DELETE("/responses/{response_id}", {
          params: { path },
          headers,
          signal: asFetchSignal(signal),
          parseAs: "text",
        });
        const text = (answer as { data?: string }).data;
        return {
          ...answer,
          data: answer.response.ok
            ? text
              ? JSON.parse(text)
              : { id: responseId, object: "response.deleted", deleted: true }
            : undefined,
        };
      });
      ctx.state.upstreamMs = performance.now() - started;
      answerObject(ctx, result.data, "a deletion");
    });
  }
}

function responseHolders(ctx: Context, deps: GatewayDeps): readonly Deployment[] {
  const { deployments } = deps;
  const path = (ctx.params as { deployment?: string } | undefined)?.deployment;
  try {
    return [deployments.pick({ path, header: ctx.get("azureml-model-deployment") || undefined }, "responses")];
  } catch (err) {
    if (!(err instanceof GatewayError && err.code === "InvalidRequestBody")) throw err;
    return deployments.all.filter((d) => servesOperation(d, "responses"));
  }
}

/** A file's deployment as a model entry: its name is what clients send as `model`. */
const deploymentModel = (d: Deployment): OpenAIModel & { operations: readonly string[] } => ({
  id: d.name!,
  object: "model",
  created: 0,
  owned_by: "azure-openai-proxy",
  operations: operationsOf(d),
});

/** GET /models: what the engine serves (or, with a deployments file, the deployments), in OpenAI's list shape. */
export function listModels(deps: GatewayDeps, edges: OpenAIEdges): Handler {
  return async (ctx) => {
    ctx.state.apiVersion = edges.apiVersion(ctx.querystring);
    const { deployments } = deps;
    const data = deployments.fromFile
      ? deployments.all.map(deploymentModel)
      : await deployments.all[0]!.models.models();
    const list: OpenAIModelList = { object: "list", data };
    ctx.body = list;
  };
}

/** GET /models/{model}: one served model, by the same resolution rule as requests (a deployment
 * name of a single-model engine is that model). */
export function retrieveModel(deps: GatewayDeps, edges: OpenAIEdges): Handler {
  return async (ctx) => {
    ctx.state.apiVersion = edges.apiVersion(ctx.querystring);
    const requested = (ctx.params as { model: string }).model;
    if (deps.deployments.fromFile) {
      const d = deps.deployments.find(requested);
      if (!d)
        throw new GatewayError(
          edges.notFound,
          `The deployment '${requested.slice(0, 200)}' does not exist here. Deployments: ${deps.deployments.all.map((x) => x.name).join(", ")}.`,
          { target: "model" },
        );
      ctx.body = deploymentModel(d);
      return;
    }
    const served: OpenAIModel[] = await deps.deployments.all[0]!.models.models();
    const id = matchServed(
      served.map((m) => m.id),
      requested,
    );
    const model = served.find((m) => m.id === id);
    if (!model) {
      const what = edges.notFound === "DeploymentNotFound" ? "deployment" : "model";
      throw new GatewayError(
        edges.notFound,
        `The ${what} '${requested.slice(0, 200)}' does not exist here. Served: ${served.map((m) => m.id).join(", ") || "none"}.`,
        { target: "model" },
      );
    }
    ctx.body = model;
  };
}
