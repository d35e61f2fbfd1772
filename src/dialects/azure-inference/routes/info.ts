// GET /info (A#/paths/~1info/get): the model a deployment's engine serves, as Azure describes it.
import type Router from "@koa/router";
import type { GatewayDeps } from "../../../deps.ts";
import { apiVersionParam } from "../../../core/http/query.ts";
import { GatewayError } from "../../../core/errors.ts";
import { operationsOf, type Deployment } from "../../../core/deployments/deployments.ts";
import { admit, engineModelOf } from "../../../core/deployments/request.ts";
import { visibleTo } from "../../../core/consumers/limits.ts";
import { exchangeOf } from "../../../core/pipeline/exchange.ts";
import { toAzureModelInfo } from "../mappers/model-info.ts";
import { matchServed } from "../../../core/upstream/models.ts";
import { checkApiVersion } from "../validate/api-version.ts";

const EMBEDDING_OPERATIONS = new Set(["embeddings", "image-embeddings"]);

/** What /info reports as model_type: embeddings for an embeddings-only deployment or a TEI engine. */
async function modelType(d: Deployment, flagsType: string): Promise<"embeddings" | "chat-completion"> {
  if (d.name === undefined) return flagsType === "embeddings" ? "embeddings" : "chat-completion";
  if (operationsOf(d).every((op) => EMBEDDING_OPERATIONS.has(op))) return "embeddings";
  const served = await d.models.models().catch(() => []);
  return served[0]?.owned_by === "text-embeddings-inference" ? "embeddings" : "chat-completion";
}

export function registerInfo(router: Router, deps: GatewayDeps): void {
  const { config, deployments, paths } = deps;
  router.get(paths("/info"), async (ctx) => {
    exchangeOf(ctx).apiVersion = checkApiVersion(apiVersionParam(ctx.querystring)).apiVersion;
    const query = typeof ctx.query.model === "string" && ctx.query.model ? ctx.query.model : undefined;
    const names = { body: query, header: ctx.get("azureml-model-deployment") || undefined };
    const d = deployments.pick(names, undefined, "ModelNotFound", visibleTo(ctx, deps));
    await admit(ctx, deps, d);
    const id = await servedModelOf(d, query ?? names.header);
    ctx.body = toAzureModelInfo(id, await modelType(d, config.upstreamType));
  });
}

/** The model /info describes: a named deployment's engine model; for the flags' engine, the served model
 * the name stands for (a 404 when it stands for none). */
async function servedModelOf(d: Deployment, requested: string | undefined): Promise<string> {
  const served =
    d.name !== undefined ? [await engineModelOf(d)].filter((id) => id !== undefined) : await d.models.ids();
  if (served.length === 0)
    throw new GatewayError("ServiceUnavailable", `The engine${d.name ? ` of '${d.name}'` : ""} serves no model yet.`, {
      headers: { "retry-after": "5" },
    });
  if (d.name !== undefined) return served[0]!;
  const id = matchServed(served, requested);
  if (id === undefined)
    throw new GatewayError(
      "ModelNotFound",
      `The model '${requested!.slice(0, 200)}' is not served here. Served: ${served.join(", ")}.`,
      { target: "model" },
    );
  return id;
}
