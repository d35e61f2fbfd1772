// The parts of an inbound Azure request the shared checks read, taken from Koa's context in one place.
import type { Context } from "koa";
import type { GatewayDeps } from "../../deps.ts";
import type { Operation } from "../../core/deployments/config-file.ts";
import type { Deployment } from "../../core/deployments/deployments.ts";
import { deploymentFor, engineModelOf } from "../../core/deployments/request.ts";
import { apiVersionParam } from "../../core/http/query.ts";
import type { AzureRequestInput } from "./validate/request.ts";

export function azureInput(ctx: Context): AzureRequestInput {
  return {
    apiVersion: apiVersionParam(ctx.querystring),
    extraParameters: ctx.headers["extra-parameters"],
    body: ctx.request.body,
  };
}

/** The deployment of a request (the body's `model`, else `azureml-model-deployment`: the rule of
 * core/deployments) and the model its engine is asked for: the one engine's model that name stands
 * for, or a file deployment's engine model. */
export async function azureTarget(
  ctx: Context,
  deps: GatewayDeps,
  body: { model?: string },
  operation: Operation,
): Promise<{ deployment: Deployment; model: string }> {
  const header = ctx.get("azureml-model-deployment") || undefined;
  const deployment = await deploymentFor(ctx, deps, { body: body.model, header }, operation, "ModelNotFound");
  const model = deps.deployments.fromFile
    ? ((await engineModelOf(deployment)) ?? body.model ?? "default")
    : await deployment.models.resolve(body.model ?? header);
  return { deployment, model };
}
