// Query parameters read straight from the query string.
import { unescape } from "node:querystring";

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
