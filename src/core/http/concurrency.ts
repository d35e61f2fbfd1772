// --max-concurrent: requests in flight past the cap get 429 with Retry-After at once instead of
// queueing behind a busy engine. A request counts until its response (stream included) is closed.
import type { Context, Next } from "koa";
import { GatewayError } from "../errors.ts";

export function concurrencyCap(max: number, exempt: ReadonlySet<string>) {
  let inFlight = 0;
  return async function limitConcurrency(ctx: Context, next: Next): Promise<void> {
    if (max <= 0 || exempt.has(ctx.path)) return next();
    if (inFlight >= max) {
      throw new GatewayError("TooManyRequests", `The gateway is at its limit of ${max} concurrent requests; retry shortly.`, { headers: { "retry-after": "1" } });
    }
    inFlight++;
    let released = false;
    const release = () => {
      if (!released) (released = true), inFlight--;
    };
    ctx.res.once("close", release);
    await next();
  };
}
