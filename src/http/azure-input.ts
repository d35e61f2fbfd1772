// The parts of an inbound Azure request the shared checks read, taken from Koa's context in one place.
import { unescape } from "node:querystring";
import type { Context } from "koa";
import type { AzureRequestInput } from "../validate/request.ts";

/** Form-decoding as URLSearchParams does it (`+` is a space, bad escapes are kept), only when needed. */
const decode = (text: string): string => (text.includes("%") || text.includes("+") ? unescape(text.replace(/\+/g, " ")) : text);

/** The first value of a query parameter, read straight from the query string: ctx.query builds an
 * object of every key, and URLSearchParams a list of every pair, to answer the same question. */
export function queryParam(query: string, name: string): string | undefined {
  let start = 0;
  while (start < query.length) {
    const amp = query.indexOf("&", start);
    const end = amp === -1 ? query.length : amp;
    const eq = query.indexOf("=", start);
    const keyEnd = eq === -1 || eq > end ? end : eq;
    if (decode(query.slice(start, keyEnd)) === name) return keyEnd === end ? "" : decode(query.slice(keyEnd + 1, end));
    start = end + 1;
  }
  return undefined;
}

export function azureInput(ctx: Context): AzureRequestInput {
  return { apiVersion: queryParam(ctx.querystring, "api-version"), extraParameters: ctx.headers["extra-parameters"], body: ctx.request.body };
}

/** The model a request names: the body's `model`, else the `azureml-model-deployment` header. */
export function requestedModel(ctx: Context, body: { model?: string }): string | undefined {
  return body.model ?? (ctx.get("azureml-model-deployment") || undefined);
}
