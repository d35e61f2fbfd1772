// GET /models and GET /models/{model} (OpenAI's list shape): a deployment named in a file is listed as
// itself (its name is what clients send as `model`); the flags' engine by the models it serves.
import type { GatewayDeps } from "../../deps.ts";
import { type Deployment, operationsOf } from "../../core/deployments/deployments.ts";
import { admit, unknownName } from "../../core/deployments/request.ts";
import { allowed, consumerOf } from "../../core/consumers/limits.ts";
import { exchangeOf } from "../../core/pipeline/exchange.ts";
import type { Handler } from "../../core/pipeline/operation.ts";
import { matchServed, type OpenAIModel } from "../../core/upstream/models.ts";
import type { OpenAIEdges } from "./operations.ts";
import type { OpenAIModelList } from "./types.ts";

/** A named deployment as a model entry. */
const deploymentModel = (d: Deployment & { name: string }): OpenAIModel & { operations: readonly string[] } => ({
  id: d.name,
  object: "model",
  created: 0,
  owned_by: "azure-openai-proxy",
  operations: operationsOf(d),
});

const isNamed = (d: Deployment): d is Deployment & { name: string } => d.name !== undefined;

export function listModels(deps: GatewayDeps, edges: OpenAIEdges): Handler {
  return async (ctx) => {
    exchangeOf(ctx).apiVersion = edges.apiVersion(ctx.querystring);
    const data: OpenAIModel[] = [];
    const consumer = consumerOf(ctx, deps);
    for (const d of deps.deployments.all) {
      if (!allowed(consumer, d)) continue; // a consumer's allow-list: the others do not exist for it
      if (isNamed(d)) data.push(deploymentModel(d));
      else {
        await admit(ctx, deps, d);
        data.push(...(await d.models.models()));
      }
    }
    const list: OpenAIModelList = { object: "list", data };
    ctx.body = list;
  };
}

/** One model, by the same resolution rule as requests (a deployment name of a single-model engine is that model). */
export function retrieveModel(deps: GatewayDeps, edges: OpenAIEdges): Handler {
  return async (ctx) => {
    exchangeOf(ctx).apiVersion = edges.apiVersion(ctx.querystring);
    const requested = (ctx.params as { model: string }).model;
    const found = deps.deployments.find(requested);
    const d = found && allowed(consumerOf(ctx, deps), found) ? found : undefined;
    if (d && isNamed(d)) {
      ctx.body = deploymentModel(d);
      return;
    }
    if (!d)
      throw unknownName(
        edges.notFound,
        requested,
        `Deployments: ${deps.deployments.all
          .filter((x) => allowed(consumerOf(ctx, deps), x))
          .map((x) => x.name)
          .join(", ")}`,
      );
    await admit(ctx, deps, d);
    const served = await d.models.models();
    const id = matchServed(
      served.map((m) => m.id),
      requested,
    );
    const model = served.find((m) => m.id === id);
    if (!model) throw unknownName(edges.notFound, requested, `Served: ${served.map((m) => m.id).join(", ") || "none"}`);
    ctx.body = model;
  };
}
