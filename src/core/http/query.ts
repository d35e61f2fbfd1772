// Query parameters read straight from the query string.
import { unescape } from "node:querystring";
import { GatewayError } from "../errors.ts";

/** Form-decoding as URLSearchParams does it (`+` is a space, bad escapes are kept), only when needed. */
const decode = (text: string): string =>
  text.includes("%") || text.includes("+") ? unescape(text.replace(/\+/g, " ")) : text;

/** The first value of a query parameter, read straight from the query string: ctx.query builds an
 * object of every key, and URLSearchParams a list of every pair, to answer the same question. */
export function queryParam(query: string, name: string): string | undefined {
  return queryValues(query, name, 1)[0];
}

/** The first `limit` values of a query parameter, in order. */
export function queryValues(query: string, name: string, limit: number): string[] {
  const values: string[] = [];
  let start = 0;
  while (start < query.length && values.length < limit) {
    const amp = query.indexOf("&", start);
    const end = amp === -1 ? query.length : amp;
    const eq = query.indexOf("=", start);
    const keyEnd = eq === -1 || eq > end ? end : eq;
    if (decode(query.slice(start, keyEnd)) === name)
      values.push(keyEnd === end ? "" : decode(query.slice(keyEnd + 1, end)));
    start = end + 1;
  }
  return values;
}

/** `api-version`, given at most once in every dialect: two values would leave the contract in doubt
 * (Node, Koa and proxies disagree on which one wins), so a repeat is refused rather than guessed. */
export function apiVersionParam(query: string): string | undefined {
  const values = queryValues(query, "api-version", 2);
  if (values.length > 1) {
    throw new GatewayError(
      "UnsupportedApiVersionValue",
      `The api-version query parameter is given more than once ('${values[0]!.slice(0, 32)}', '${values[1]!.slice(0, 32)}', …); give it once.`,
      { target: "api-version" },
    );
  }
  return values[0];
}
