// GET /responses/{id}, DELETE /responses/{id}, GET /responses/{id}/input_items, POST /responses/{id}/cancel:
// stored responses, where the engine keeps them (vLLM with a store; llama.cpp keeps none and says so).
import type { Context } from "koa";
import type { GatewayDeps } from "../../deps.ts";
import { type Deployment, servesOperation } from "../../core/deployments/deployments.ts";
import { admit } from "../../core/deployments/request.ts";
import { GatewayError } from "../../core/errors.ts";
import { exchangeOf } from "../../core/pipeline/exchange.ts";
import { type Handler, withEngine } from "../../core/pipeline/operation.ts";
import type { OpenAIEdges } from "./operations.ts";

/** `include[]=a&include=b` (the SDKs send brackets) -> ["a", "b"]. */
function includeList(ctx: Context): string[] | undefined {
  const values = [ctx.query["include[]"], ctx.query.include]
    .flat()
    .filter((v): v is string => typeof v === "string" && v !== "");
  return values.length ? values : undefined;
}

const queryString = (ctx: Context, name: string): string | undefined =>
  typeof ctx.query[name] === "string" ? (ctx.query[name] as string) : undefined;

/** The engine's answer, which must be an object. */
function answered(ctx: Context, data: unknown, what: string): void {
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new GatewayError("UpstreamInvalidResponse", `The engine answered with a body that is not ${what}.`);
  }
  ctx.body = data;
}

export type StoredResponseOperation = "get" | "delete" | "input_items" | "cancel";

export function responseById(deps: GatewayDeps, edges: OpenAIEdges, operation: StoredResponseOperation): Handler {
  return async (ctx) => {
    exchangeOf(ctx).apiVersion = edges.apiVersion(ctx.querystring);
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

  async function fromDeployment(ctx: Context, d: Deployment): Promise<void> {
    const responseId = (ctx.params as { id: string }).id;
    const path = { response_id: responseId };
    const include = includeList(ctx) as never;
    const cancelRoute = operation === "cancel" ? d.route("POST", "/responses/{response_id}/cancel", true) : undefined;
    await withEngine(ctx, d, cancelRoute, async (call) => {
      if (operation === "get") {
        const obfuscation = queryString(ctx, "include_obfuscation");
        const query = {
          include,
          ...(obfuscation !== undefined ? { include_obfuscation: obfuscation === "true" } : {}),
        };
        const data = await call((client, init) =>
          client.GET("/responses/{response_id}", { ...init, params: { path, query } }),
        );
        return answered(ctx, data, "a response");
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
        const data = await call((client, init) =>
          client.GET("/responses/{response_id}/input_items", { ...init, params: { path, query } }),
        );
        return answered(ctx, data, "an input item list");
      }
      if (operation === "cancel") {
        const data = await call((client, init) =>
          client.POST("/responses/{response_id}/cancel", { ...init, params: { path } }),
        );
        return answered(ctx, data, "a response");
      }
      // The spec declares no body for the 200; engines send the deletion object, and it is what clients read.
      const data = await call<unknown>(async (client, init) => {
        const answer = await client.DELETE("/responses/{response_id}", { ...init, params: { path }, parseAs: "text" });
        const text = (answer as { data?: string }).data;
        const deleted = text ? JSON.parse(text) : { id: responseId, object: "response.deleted", deleted: true };
        return { ...answer, data: answer.response.ok ? deleted : undefined };
      });
      answered(ctx, data, "a deletion");
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
