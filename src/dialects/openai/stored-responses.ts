// GET /responses/{id}, DELETE /responses/{id}, GET /responses/{id}/input_items: answered from the gateway's
// store (responses-state.ts), for the credential that made the response. POST /responses/{id}/cancel goes to
// the engine that holds the run.
import type { Context } from "koa";
import type { GatewayDeps } from "../../deps.ts";
import { type Deployment, servesOperation } from "../../core/deployments/deployments.ts";
import { admit } from "../../core/deployments/request.ts";
import { GatewayError } from "../../core/errors.ts";
import { exchangeOf } from "../../core/pipeline/exchange.ts";
import { type Handler, withEngine } from "../../core/pipeline/operation.ts";
import { answerObject, type OpenAIEdges } from "./operations.ts";
import { ownerOf, responseNotFound } from "./responses-state.ts";

const missing = (id: string) => responseNotFound(id, "response_id");

const queryString = (ctx: Context, name: string): string | undefined =>
  typeof ctx.query[name] === "string" ? (ctx.query[name] as string) : undefined;

export type StoredResponseOperation = "get" | "delete" | "input_items" | "cancel";

/** input_items' page: `limit` (1-100, default 20), `order` (asc by default here: the order they were sent),
 * `after` an item id. */
function page(ctx: Context, items: Array<Record<string, unknown>>): Record<string, unknown> {
  const limit = Math.min(Math.max(Number(queryString(ctx, "limit") ?? 20) || 20, 1), 100);
  const ordered = queryString(ctx, "order") === "desc" ? [...items].reverse() : items;
  const after = queryString(ctx, "after");
  const start = after === undefined ? 0 : ordered.findIndex((item) => item.id === after) + 1;
  const data = ordered.slice(start, start + limit);
  return {
    object: "list",
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: start + limit < ordered.length,
  };
}

export function responseById(deps: GatewayDeps, edges: OpenAIEdges, operation: StoredResponseOperation): Handler {
  return async (ctx) => {
    exchangeOf(ctx).apiVersion = edges.apiVersion(ctx.querystring);
    if (operation !== "cancel") return fromStore(ctx);
    // A stored response lives on one engine and its id names none: the deployment the request names
    // (path, header, default, the only one serving responses), else each that serves responses in turn.
    const holders = responseHolders(ctx, deps);
    if (holders.length === 0) throw new GatewayError("OperationNotSupported", "No deployment here serves responses.");
    for (const [i, deployment] of holders.entries()) {
      try {
        await admit(ctx, deps, deployment);
        return await fromDeployment(ctx, deployment);
      } catch (err) {
        if (i === holders.length - 1 || !(err instanceof GatewayError && err.status === 404)) throw err;
      }
    }
  };

  async function fromStore(ctx: Context): Promise<void> {
    const id = (ctx.params as { id: string }).id;
    const owner = ownerOf(ctx);
    if (operation === "delete") {
      if (!(await deps.store.delete(id, owner))) throw missing(id);
      ctx.body = { id, object: "response.deleted", deleted: true };
      return;
    }
    const stored = await deps.store.get(id, owner);
    if (!stored) throw missing(id);
    ctx.body = operation === "get" ? stored.response : page(ctx, stored.input as Array<Record<string, unknown>>);
  }

  /** Cancel: the run is the engine's (background runs kept by the gateway are the next step). */
  async function fromDeployment(ctx: Context, d: Deployment): Promise<void> {
    const path = { response_id: (ctx.params as { id: string }).id };
    await withEngine(ctx, d, d.route("POST", "/responses/{response_id}/cancel", true), async (call) => {
      const data = await call((client, init) =>
        client.POST("/responses/{response_id}/cancel", { ...init, params: { path } }),
      );
      ctx.body = answerObject(data, "a response").body;
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
