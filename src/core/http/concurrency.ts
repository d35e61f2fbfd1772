// --max-concurrent: requests in flight past the cap get 429 with Retry-After at once instead of
// queueing behind a busy engine. A request counts until its response (stream included) is closed.
import type { Context, Next } from "koa";
import { GatewayError } from "../errors.ts";

/** Something with a count of requests in flight (the gateway, a deployment). */
export interface Slots {
  inFlight: number;
}

/** Counts the request against `slots` until its response closes, or throws 429 (with `full()` as its
 * message) when `max` are in flight already. */
export function takeSlot(slots: Slots, max: number, ctx: Context, full: () => string): void {
  if (slots.inFlight >= max) throw new GatewayError("TooManyRequests", full(), { headers: { "retry-after": "1" } });
  slots.inFlight++;
  ctx.res.once("close", () => slots.inFlight--); // `close` comes once per response
}

export function concurrencyCap(max: number, exempt: ReadonlySet<string>) {
  const gateway: Slots = { inFlight: 0 };
  return async function limitConcurrency(ctx: Context, next: Next): Promise<void> {
    if (max <= 0 || exempt.has(ctx.path)) return next();
    takeSlot(gateway, max, ctx, () => `The gateway is at its limit of ${max} concurrent requests; retry shortly.`);
    await next();
  };
}
