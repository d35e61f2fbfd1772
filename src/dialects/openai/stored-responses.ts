// GET /responses/{id} (with `stream=true`: a background run's events replayed and followed), DELETE
// /responses/{id}, GET /responses/{id}/input_items, POST /responses/{id}/cancel: answered from the gateway's
// store, for the credential that made the response. No engine holds a response the gateway named.
import { Readable } from "node:stream";
import type { Context } from "koa";
import type { GatewayDeps } from "../../deps.ts";
import { GatewayError } from "../../core/errors.ts";
import { exchangeOf } from "../../core/pipeline/exchange.ts";
import type { Handler } from "../../core/pipeline/operation.ts";
import { type Item, pageOf, RUNNING } from "../../core/state/store.ts";
import { SSE_HEADERS } from "../../core/stream/sse-writer.ts";
import { cancelRun, followRun, readResponse } from "./background-runs.ts";
import type { OpenAIEdges } from "./operations.ts";
import { ownerOf, responseNotFound } from "./responses-state.ts";

const missing = (id: string) => responseNotFound(id, "response_id");

const queryString = (ctx: Context, name: string): string | undefined =>
  typeof ctx.query[name] === "string" ? (ctx.query[name] as string) : undefined;

export type StoredResponseOperation = "get" | "delete" | "input_items" | "cancel";

const notBackground = (what: string) =>
  new GatewayError("InvalidRequestBody", `Only responses created with background: true can be ${what}.`, {
    target: "response_id",
  });

export function responseById(deps: GatewayDeps, edges: OpenAIEdges, operation: StoredResponseOperation): Handler {
  const { store } = deps;
  return async (ctx) => {
    exchangeOf(ctx).apiVersion = edges.apiVersion(ctx.querystring);
    exchangeOf(ctx).operation = "responses";
    const id = (ctx.params as { id: string }).id;
    const owner = ownerOf(ctx);
    if (operation === "delete") {
      if (!(await store.deleteResponse(id, owner))) throw missing(id);
      ctx.body = { id, object: "response.deleted", deleted: true };
      return;
    }
    if (operation === "cancel") {
      const stored = await readResponse(store, id, owner);
      if (!stored) throw missing(id);
      if (stored.response.background !== true) throw notBackground("cancelled");
      const status = String(stored.response.status);
      if (!RUNNING.has(status) && status !== "cancelled")
        throw new GatewayError("InvalidRequestBody", `Cannot cancel a response whose status is '${status}'.`, {
          target: "response_id",
        });
      const response = await cancelRun(store, id, owner);
      if (!response) throw missing(id);
      ctx.body = response;
      return;
    }
    const stored = await readResponse(store, id, owner);
    if (!stored) throw missing(id);
    if (operation === "input_items") {
      // `order` asc by default here: the order the items were sent.
      const limit = Math.min(Math.max(Number(queryString(ctx, "limit") ?? 20) || 20, 1), 100);
      const order = queryString(ctx, "order") === "desc" ? ("desc" as const) : ("asc" as const);
      const page = pageOf(stored.input, { limit, order, after: queryString(ctx, "after") });
      ctx.body = listOf(page.data, page.hasMore);
      return;
    }
    if (queryString(ctx, "stream") === "true") {
      if (stored.response.background !== true) throw notBackground("streamed again");
      const after = startingAfter(ctx);
      exchangeOf(ctx).stream = true;
      ctx.set(SSE_HEADERS);
      ctx.body = Readable.from(followRun(store, id, owner, after));
      return;
    }
    ctx.body = stored.response;
  };
}

/** `starting_after`: the sequence number after which events are replayed (none: from the first). */
function startingAfter(ctx: Context): number {
  const given = queryString(ctx, "starting_after");
  if (given === undefined) return -1;
  const n = Number(given);
  if (!Number.isInteger(n) || n < -1)
    throw new GatewayError("InvalidRequestBody", "starting_after must be a sequence number (an integer, 0 or more).", {
      target: "starting_after",
    });
  return n;
}

export const listOf = (data: Item[], hasMore: boolean) => ({
  object: "list",
  data,
  first_id: data[0]?.id ?? null,
  last_id: data.at(-1)?.id ?? null,
  has_more: hasMore,
});
