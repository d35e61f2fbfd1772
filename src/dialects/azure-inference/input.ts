// The parts of an inbound Azure request the shared checks read, taken from Koa's context in one place.
import type { Context } from "koa";
import { apiVersionParam } from "../../core/http/query.ts";
import type { AzureRequestInput } from "./validate/request.ts";

export function azureInput(ctx: Context): AzureRequestInput {
  return { apiVersion: apiVersionParam(ctx.querystring), extraParameters: ctx.headers["extra-parameters"], body: ctx.request.body };
}

/** The model a request names: the body's `model`, else the `azureml-model-deployment` header. */
export function requestedModel(ctx: Context, body: { model?: string }): string | undefined {
  return body.model ?? (ctx.get("azureml-model-deployment") || undefined);
}


