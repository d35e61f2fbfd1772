// The engine's surface beyond the operations the gateway models, so that putting the gateway on the
// engine's port loses nothing: reranking, scoring, tokenizing, Anthropic's Messages API, audio, pooling.
// Each is passed to the deployment's engine under the path the engines serve it at, with the gateway's
// auth, ids, limits, cancellation, logs and metrics; JSON bodies are parsed (their `model` picks the
// deployment), other bodies (audio's multipart) are streamed, and so are answers (an SSE stream too).
import type { Readable } from "node:stream";
import { Transform } from "node:stream";
import type { Context } from "koa";
import type { GatewayDeps } from "../../deps.ts";
import { deploymentFor, engineModelOf } from "../../core/deployments/request.ts";
import type { Deployment } from "../../core/deployments/deployments.ts";
import { fromHttpError, GatewayError } from "../../core/errors.ts";
import { upstreamHeaders } from "../../core/http/headers.ts";
import { isMissingRoute, parseErrorBody, toGatewayError } from "../../core/upstream/engine-error.ts";
import { classifyUpstreamFailure } from "../../core/upstream/failures.ts";
import { createRequestSignal } from "../../core/upstream/request-signal.ts";
import { type UpstreamBody, UpstreamRequest, type UpstreamResponse } from "../../core/upstream/transport.ts";
import { exchangeOf } from "../../core/pipeline/exchange.ts";
import { meteredAnswer } from "./engine-usage.ts";
import type { OpenAIEdges } from "./operations.ts";
import { checkOpenAIBody } from "./validate.ts";

/** Engine routes passed through as they are: the gateway's path is the engine's. Who serves what: vLLM
 * (score, rerank, tokenize, pooling, classify, audio, messages), SGLang (rerank, messages, tokenize),
 * llama.cpp (rerank, tokenize, messages), TEI rerankers (/rerank, /tokenize), Hugging Face's ASR images
 * (audio). A route its engine lacks is a 404 OperationNotSupported naming it. */
export const ENGINE_ROUTES: ReadonlyArray<string> = [
  "/v1/rerank",
  "/rerank",
  "/v2/rerank",
  "/v1/score",
  "/score",
  "/tokenize",
  "/detokenize",
  "/v1/messages",
  "/v1/messages/count_tokens",
  "/v1/audio/transcriptions",
  "/v1/audio/translations",
  "/pooling",
  "/classify",
];

/** Where Cohere-shaped rerank is served (translated for a TEI engine; /rerank is TEI's and vLLM's own). */
export const COHERE_RERANK_ROUTES: ReadonlySet<string> = new Set(["/v1/rerank", "/v2/rerank"]);

type Handler = (ctx: Context) => Promise<void>;

/** The query the engine gets: the client's, without the gateway's `api-version`. */
function engineQuery(querystring: string): string {
  if (!querystring.includes("api-version")) return querystring;
  const params = new URLSearchParams(querystring);
  params.delete("api-version");
  return params.toString();
}

/** Counts a streamed body and fails it past the gateway's limit (a parsed body is limited by koa-body). */
function limited(body: Readable, limitBytes: number, onExceeded: () => void): Readable {
  let seen = 0;
  return body.pipe(
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        seen += chunk.length;
        if (seen > limitBytes) {
          onExceeded();
          return done(new Error("request body over the limit"));
        }
        done(null, chunk);
      },
    }),
  );
}

/** The body to send: the parsed JSON (with the deployment's engine model), or the client's bytes as they come;
 * a form whose `model` names a deployment (Azure's audio routes) is read whole and sent with the engine's. */
async function bodyFor(
  ctx: Context,
  deps: GatewayDeps,
  d: Deployment,
  json: Record<string, unknown> | undefined,
  formModel: boolean,
  onExceeded: () => void,
): Promise<{ body: UpstreamBody | undefined; contentType?: string }> {
  if (json !== undefined) {
    // With a deployments file the body names a deployment; its engine is asked for its own model.
    if (d.name !== undefined && json.model === d.name) json.model = (await engineModelOf(d)) ?? json.model;
    return { body: JSON.stringify(json), contentType: "application/json" };
  }
  const length = Number(ctx.get("content-length") || Number.NaN);
  if (length > deps.config.bodyLimitBytes) throw tooLarge(deps);
  const contentType = ctx.get("content-type");
  if (!contentType) return { body: undefined }; // a bodiless POST
  const streamed = limited(ctx.req, deps.config.bodyLimitBytes, onExceeded);
  if (!formModel || !ctx.is("multipart/form-data")) return { body: streamed, contentType };
  const form = await new Response(streamed as unknown as ReadableStream, { headers: { "content-type": contentType } })
    .formData()
    .catch(() => {
      throw new GatewayError("InvalidRequestBody", "The request body is not a valid multipart/form-data body.");
    });
  const model = await engineModelOf(d);
  if (model) form.set("model", model);
  const encoded = new Response(form);
  return { body: new Uint8Array(await encoded.arrayBuffer()), contentType: encoded.headers.get("content-type")! };
}

const tooLarge = (deps: GatewayDeps) => fromHttpError(413, "", deps.config.bodyLimitBytes);

interface Accepted {
  d: Deployment;
  json: Record<string, unknown> | undefined;
}

/** The JSON body if there is one (its `model` picks the deployment), and the deployment. */
async function accept(ctx: Context, deps: GatewayDeps, edges: OpenAIEdges): Promise<Accepted> {
  const exchange = exchangeOf(ctx);
  exchange.apiVersion = edges.apiVersion(ctx.querystring);
  // A JSON body must be an object (its `model` names the deployment); any other body goes as it is.
  const json = ctx.is("application/json") ? await checkOpenAIBody(ctx.request.body, undefined) : undefined;
  const named = typeof json?.model === "string" && json.model ? json.model : undefined;
  const names = {
    path: (ctx.params as { deployment?: string }).deployment,
    body: named,
    header: ctx.get("azureml-model-deployment") || undefined,
  };
  const d = await deploymentFor(ctx, deps, names, undefined, edges.notFound, json);
  exchange.model = named;
  return { d, json };
}

/** One engine call at `enginePath`; an error answer becomes the gateway's error, a missing route
 * OperationNotSupported (or undefined with `missingIsUndefined`, for a caller with another route to try). */
async function callEngine(
  ctx: Context,
  deps: GatewayDeps,
  d: Deployment,
  enginePath: string,
  sent: { body: UpstreamBody | undefined; contentType?: string },
  exceeded: () => boolean,
  missingIsUndefined = false,
): Promise<UpstreamResponse | undefined> {
  const headers = upstreamHeaders(ctx, d.upstream.engineHeaders());
  if (sent.contentType) headers["content-type"] = sent.contentType;
  const accepts = ctx.get("accept");
  if (accepts) headers.accept = accepts;
  // The signal lives as long as the answer does (the body is piped after the handler returns): it ends
  // with the response.
  const { signal } = createRequestSignal(ctx.res, d.totalTimeoutMs);
  const query = engineQuery(ctx.querystring);
  const url = `${d.upstream.rootUrl}${enginePath}${query ? `?${query}` : ""}`;
  const started = performance.now();
  exchangeOf(ctx).engineAsked = true;
  let res: UpstreamResponse;
  try {
    res = await d.upstream.transport(
      new UpstreamRequest(url, {
        method: ctx.method,
        headers: new Headers(headers),
        body: sent.body,
        signal,
        exchange: exchangeOf(ctx),
      }),
    );
  } catch (err) {
    if (exceeded()) throw tooLarge(deps);
    throw classifyUpstreamFailure(err, signal);
  }
  exchangeOf(ctx).upstreamMs = performance.now() - started;
  if (res.ok) return res;
  const error = parseErrorBody(await res.text());
  if (isMissingRoute(res.status, error)) {
    if (missingIsUndefined) return undefined;
    throw new GatewayError(
      "OperationNotSupported",
      `This deployment does not support the operation: the engine does not serve ${ctx.method} ${d.upstream.rootUrl}${enginePath} (it answered HTTP ${res.status}).`,
    );
  }
  throw toGatewayError(res.status, error, res.headers.get("retry-after"));
}

/** The engine's answer, streamed to the client as it comes. */
function answerWith(ctx: Context, res: UpstreamResponse): void {
  ctx.status = res.status;
  const type = res.headers.get("content-type");
  if (type) ctx.type = type;
  const length = res.headers.get("content-length");
  if (length) ctx.length = Number(length);
  // Koa pipes it; a client that leaves aborts the engine call through the signal.
  ctx.body = meteredAnswer(res.body, type, exchangeOf(ctx));
}

/** Passes one request to `enginePath` on its deployment's engine and its answer back, streamed.
 * `formModel`: a multipart body's `model` is the client's name for the deployment (Azure's routes), replaced by the engine's. */
export function passToEngine(deps: GatewayDeps, edges: OpenAIEdges, enginePath: string, formModel = false): Handler {
  return async (ctx) => {
    const { d, json } = await accept(ctx, deps, edges);
    let exceeded = false;
    const sent = await bodyFor(ctx, deps, d, json, formModel, () => (exceeded = true)).catch((err: unknown) => {
      throw exceeded ? tooLarge(deps) : err;
    });
    answerWith(ctx, (await callEngine(ctx, deps, d, enginePath, sent, () => exceeded))!);
  };
}

interface CohereRerank {
  query?: unknown;
  documents?: unknown;
  top_n?: unknown;
  return_documents?: unknown;
}
interface TeiRank {
  index: number;
  score: number;
  text?: string;
}

/** Cohere-shaped rerank (`{model, query, documents, top_n}` -> `{results: [{index, relevance_score}]}`: what
 * Azure's Cohere deployments, vLLM, SGLang and llama.cpp speak, at /v1/rerank and /v2/rerank). An engine
 * that lacks the route and is a TEI reranker is asked its own way (`/rerank` with `texts`) and answered
 * in Cohere's shape; the deployment's kind is remembered after the first call. */
const teiRerankers = new WeakSet<Deployment>();
export function cohereRerank(deps: GatewayDeps, edges: OpenAIEdges, enginePath: string): Handler {
  return async (ctx) => {
    const { d, json } = await accept(ctx, deps, edges);
    if (json === undefined)
      throw new GatewayError("UnsupportedMediaType", "The request body must be sent as 'application/json'.");
    const sent = await bodyFor(ctx, deps, d, json, false, () => false);
    if (!teiRerankers.has(d)) {
      const res = await callEngine(ctx, deps, d, enginePath, sent, () => false, true);
      if (res) return answerWith(ctx, res);
    }
    const request = json as CohereRerank;
    const documents = Array.isArray(request.documents) ? request.documents : [];
    const texts = documents.map((doc) =>
      typeof doc === "string"
        ? doc
        : typeof (doc as { text?: unknown })?.text === "string"
          ? (doc as { text: string }).text
          : JSON.stringify(doc),
    );
    const tei = { query: request.query, texts, return_text: request.return_documents === true, truncate: true };
    const res = await callEngine(
      ctx,
      deps,
      d,
      "/rerank",
      { body: JSON.stringify(tei), contentType: "application/json" },
      () => false,
      true,
    );
    if (!res) {
      teiRerankers.delete(d); // the engine was replaced: ask the Cohere route again next time
      throw new GatewayError(
        "OperationNotSupported",
        `This deployment does not support the operation: the engine serves neither ${d.upstream.rootUrl}${enginePath} nor TEI's ${d.upstream.rootUrl}/rerank.`,
      );
    }
    const ranks = (await res.json()) as TeiRank[];
    if (!Array.isArray(ranks))
      throw new GatewayError(
        "UpstreamInvalidResponse",
        "The engine answered /rerank with a body that is not a list of ranks.",
      );
    teiRerankers.add(d);
    const topN = typeof request.top_n === "number" && request.top_n > 0 ? request.top_n : ranks.length;
    const results = [...ranks]
      .sort((a, b) => b.score - a.score)
      .slice(0, topN)
      .map((rank) => ({
        index: rank.index,
        relevance_score: rank.score,
        ...(request.return_documents === true ? { document: { text: rank.text ?? texts[rank.index] } } : {}),
      }));
    ctx.body = {
      id: `rerank-${exchangeOf(ctx).requestId}`,
      results,
      meta: { api_version: { version: enginePath === "/v2/rerank" ? "2" : "1" } },
    };
  };
}
