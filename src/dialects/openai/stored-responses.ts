// GET /responses/{id} (with `stream=true`: a background run's events replayed and followed), DELETE
// /responses/{id}, GET /responses/{id}/input_items, POST /responses/{id}/cancel: answered from the gateway's
// store, for the credential that made the response. No engine holds a response the gateway named.
import { Readable } from "node:stream";
import type { Context } from "koa";
import type { GatewayDeps } from "../../deps.ts";
import { GatewayError } from "../../core/errors.ts";
import { exchangeOf } from "../../core/pipeline/exchange.ts";
import type { Handler } from "../../core/pipeline/operation.ts";
import { type ItemPage, type ItemPageQuery, pageOf, RUNNING } from "../../core/state/store.ts";
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
      ctx.body = listOf(pageOrRefusal(pageOf(stored.input, pageQuery(ctx, "asc"))));
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

const badQuery = (target: string, message: string) => new GatewayError("InvalidRequestBody", message, { target });

/** `starting_after`: the sequence number after which events are replayed (none: from the first). */
function startingAfter(ctx: Context): number {
  const given = queryString(ctx, "starting_after");
  if (given === undefined) return -1;
  if (!/^\d{1,15}$/.test(given))
    throw badQuery("starting_after", "starting_after must be a sequence number (an integer, 0 or more).");
  return Number(given);
}

/** A list's query as the API defines it: `limit` an integer from 1 to 100 (default 20), `order` asc or desc,
 * `after` an item id of the list; anything else is a 400 naming the parameter. */
export function pageQuery(ctx: Context, defaultOrder: "asc" | "desc"): ItemPageQuery {
  const limit = queryString(ctx, "limit");
  if (limit !== undefined && !(/^\d{1,3}$/.test(limit) && Number(limit) >= 1 && Number(limit) <= 100))
    throw badQuery("limit", "limit must be an integer from 1 to 100.");
  const order = queryString(ctx, "order") ?? defaultOrder;
  if (order !== "asc" && order !== "desc") throw badQuery("order", "order must be 'asc' or 'desc'.");
  const after = queryString(ctx, "after");
  if (after === "") throw badQuery("after", "after must be the id of an item of the list.");
  return { limit: limit === undefined ? 20 : Number(limit), order, after };
}

/** The page, or the 400 for an `after` that names no item of the list. */
export function pageOrRefusal<P extends ItemPage | undefined>(page: P): P {
  if (page?.afterNotFound)
    throw badQuery("after", "after names no item of this list: give the id of an item a page listed.");
  return page;
}

export const listOf = ({ data, hasMore }: ItemPage) => ({
  object: "list",
  data,
  first_id: data[0]?.id ?? null,
  last_id: data.at(-1)?.id ?? null,
  has_more: hasMore,
});
