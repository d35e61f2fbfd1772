// POST /responses with the state the gateway keeps (responses-state.ts): the conversation rebuilt for a
// stateless engine, the answer under the gateway's id, kept unless `store` is false, added to its
// conversation; `background: true` answered at once and run apart from the client (background-runs.ts).
import { exchangeOf, type Usage } from "../../core/pipeline/exchange.ts";
import { Readable } from "node:stream";
import type { GatewayDeps } from "../../deps.ts";
import { detachSettlement } from "../../core/consumers/limits.ts";
import { GatewayError } from "../../core/errors.ts";
import { type Handler, operationHandler, type OperationSpec } from "../../core/pipeline/operation.ts";
import type { Item } from "../../core/state/store.ts";
import { SSE_HEADERS } from "../../core/stream/sse-writer.ts";
import { followRun, queuedResponse, startRun } from "./background-runs.ts";
import { engineResponse, engineResponseEvents } from "./responses-bridge.ts";
import { acceptBody, type AcceptedBody, answerObject, type OpenAIEdges } from "./operations.ts";
import {
  addToConversation,
  asClientResponse,
  type Continued,
  continueConversation,
  newResponseId,
  ownerOf,
  withItemIds,
} from "./responses-state.ts";
import { createResponsesStreamAdapter } from "./streams.ts";
import { looksLikeAPath } from "./response-object.ts";
import { addUsage, compactIfPastThreshold, expandCompactions } from "./compaction.ts";
import type { OpenAIResponsesRequest } from "./types.ts";
import { responsesFacts } from "../../core/routing/prompt.ts";

type Accepted = AcceptedBody<OpenAIResponsesRequest> & {
  owner: string;
  /** `background: true`: answered at once (followed live when `stream` is true too). */
  background: boolean;
};

/** A response whose conversation was compacted first: the sealed item leads its output, and its usage
 * counts the compaction pass too. */
function withCompaction(response: Item, compacted: { item: Item; usage: Item | undefined }): void {
  const output = Array.isArray(response.output) ? (response.output as Item[]) : [];
  if (output[0] !== compacted.item) response.output = [compacted.item, ...output];
  if (response.usage !== null && typeof response.usage === "object")
    response.usage = addUsage(compacted.usage, response.usage);
}

/** The tokens of two calls, as the limits settle them. */
function addCounted(a: Usage | undefined, b: Usage | undefined): Usage | undefined {
  if (!a || !b) return a ?? b;
  const n = (x: number | undefined) => x ?? 0;
  return {
    prompt_tokens: n(a.prompt_tokens) + n(b.prompt_tokens),
    completion_tokens: n(a.completion_tokens) + n(b.completion_tokens),
    cached_tokens: n(a.cached_tokens) + n(b.cached_tokens),
    reasoning_tokens: n(a.reasoning_tokens) + n(b.reasoning_tokens),
  };
}

/** What a Response repeats of its request: the client's settings, and as its model the engine's model
 * name, or the name the client asked for when the engine names its model by a file (llama-server without
 * --alias). */
function shownRequest(body: Record<string, unknown>, engineModel: string | undefined): Record<string, unknown> {
  return { ...body, model: engineModel !== undefined && !looksLikeAPath(engineModel) ? engineModel : body.model };
}

export function createResponse(deps: GatewayDeps, edges: OpenAIEdges): Handler {
  const { store } = deps;
  const ttl = deps.config.storeTtlMs;
  /** The finished response kept (unless store: false) and added to its conversation. */
  const keep = async (
    owner: string,
    id: string,
    body: Item,
    response: Item,
    continued: Continued,
    replica: string | undefined,
  ) => {
    if (continued.store)
      await store.putResponse(
        { id, owner, response, input: withItemIds(body.input, id), createdAt: Date.now(), replica },
        ttl,
      );
    await addToConversation(store, owner, continued, response, ttl);
  };

  const spec: OperationSpec<Accepted> = {
    operation: "responses",
    engine: { path: "/responses", optional: true },
    async accept(ctx) {
      const accepted = await acceptBody<OpenAIResponsesRequest>(ctx, edges, "CreateResponse");
      const background = accepted.body.background === true;
      if (background && accepted.body.store === false)
        throw new GatewayError(
          "InvalidRequestBody",
          "background: true needs store: true (the default): a background response is read back from the store.",
          { target: "store" },
        );
      const safety = accepted.body.safety_identifier;
      if (typeof safety === "string") exchangeOf(ctx).safetyIdentifier = safety.slice(0, 64);
      // A background request is answered by the gateway (JSON, or its run followed): never the engine's stream.
      return { ...accepted, owner: ownerOf(ctx), background, stream: accepted.stream && !background };
    },
    async answer(call, { body, owner, background }, model, exchange) {
      const shown = shownRequest(body, model);
      if (model !== undefined) body.model = model;
      const continued = await continueConversation(body, store, owner);
      if (background) {
        const createdAt = Date.now();
        const id = newResponseId();
        const queued = asClientResponse(queuedResponse(shown, createdAt), id, continued, shown);
        const input = withItemIds(body.input, id);
        const leaseUntil = createdAt + deps.config.runLeaseMs;
        await store.putResponse({ id, owner, response: queued, input, createdAt, leaseUntil }, ttl);
        const wantsStream = body.stream === true;
        delete body.background; // the engine runs it in the foreground of the gateway's run
        // The run holds the request's reservation and parallel slot until it ends, and settles them then.
        const settlement = detachSettlement(exchange);
        const engineBody = expandCompactions(body, deps.compaction, owner);
        startRun(deps, call.detach(), {
          id,
          owner,
          body: engineBody,
          shown,
          continued,
          input,
          createdAt,
          queued,
          settlement,
        });
        if (wantsStream) return { body: Readable.from(followRun(store, id, owner, -1)), headers: SSE_HEADERS };
        return { body: queued };
      }
      // The engine is given each compaction item's summary; what is stored keeps the sealed item.
      let engineBody = expandCompactions(body, deps.compaction, owner);
      const compacted = await compactIfPastThreshold(deps, call, owner, body, engineBody, continued.turn);
      if (compacted) engineBody = compacted.engineBody;
      const routing = () => responsesFacts(engineBody as OpenAIResponsesRequest, continued.replica);
      const answer = answerObject(await engineResponse(call, engineBody, routing), "a response");
      const id = newResponseId();
      const response = asClientResponse(answer.body as Item, id, continued, shown);
      if (compacted) withCompaction(response, compacted);
      await keep(owner, id, body, response, continued, exchange.replica);
      return { body: response, usage: compacted ? addCounted(compacted.counted, answer.usage) : answer.usage };
    },
    async stream(call, { body, owner }, model, exchange) {
      const shown = shownRequest(body, model);
      if (model !== undefined) body.model = model;
      const continued = await continueConversation(body, store, owner);
      let engineBody = expandCompactions(body, deps.compaction, owner);
      const compacted = await compactIfPastThreshold(deps, call, owner, body, engineBody, continued.turn);
      if (compacted) engineBody = compacted.engineBody;
      const routing = () => responsesFacts(engineBody as OpenAIResponsesRequest, continued.replica);
      const events = await engineResponseEvents(call, engineBody, routing);
      const id = newResponseId();
      const state = {
        own(response: Item) {
          asClientResponse(response, id, continued, shown);
          if (compacted) withCompaction(response, compacted);
        },
        keep: (response: Item) => keep(owner, id, body, response, continued, exchange.replica),
        ...(compacted ? { leading: compacted.item, renumber: true } : {}),
      };
      return {
        events,
        adapter: createResponsesStreamAdapter(typeof shown.model === "string" ? shown.model : undefined, state),
      };
    },
  };
  return operationHandler(spec, deps, edges.notFound);
}
