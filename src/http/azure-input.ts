// The parts of an inbound Azure request the shared checks read, taken from Koa's context in one place.
import type { Context } from "koa";
import type { AzureRequestInput } from "../validate/request.ts";

export function azureInput(ctx: Context): AzureRequestInput {
  // One lookup, not ctx.query: Koa builds an object of every key with getAll() to answer that.
  const apiVersion = ctx.querystring ? new URLSearchParams(ctx.querystring).get("api-version") ?? undefined : undefined;
  return { apiVersion, extraParameters: ctx.headers["extra-parameters"], body: ctx.request.body };
}

/** The model a request names: the body's `model`, else the `azureml-model-deployment` header. */
export function requestedModel(ctx: Context, body: { model?: string }): string | undefined {
  return body.model ?? (ctx.get("azureml-model-deployment") || undefined);
}
