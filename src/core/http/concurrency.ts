// --max-concurrent (and a deployment's max_concurrent): a request past the cap waits for a slot, first come
// first served, for at most --queue-timeout, then gets 429 with Retry-After; with no queue timeout it is
// refused at once. A request counts until its response (stream included) is closed; a client that leaves
// while it waits gives up its place.
import type { Context, Next } from "koa";
import { GatewayError } from "../errors.ts";

/** Something with a count of requests in flight (the gateway, a deployment) and its queue. */
export interface Slots {
  inFlight: number;
  /** Requests waiting for a slot, oldest first. */
  waiting?: Array<() => void>;
}

/** Told how long each request that had to wait did (granted a slot, refused at the queue timeout, or left). */
export type QueueWaited = (waitedMs: number) => void;

/** Counts the request against `slots` until its response closes; when `max` are in flight already it waits
 * up to `queueMs` for one to close, else throws 429 (with `full()` as its message). Synchronous when a slot
 * is free (nearly every request). */
export function takeSlot(
  slots: Slots,
  max: number,
  ctx: Context,
  full: () => string,
  queueMs = 0,
  waited?: QueueWaited,
): void | Promise<void> {
  const hold = () => {
    ctx.res.once("close", () => {
      // `close` comes once per response: the slot goes to the oldest waiter, or back to the pool.
      const next = slots.waiting?.shift();
      if (next) next();
      else slots.inFlight--;
    });
  };
  if (slots.inFlight < max) {
    slots.inFlight++;
    return hold();
  }
  const refused = () => new GatewayError("TooManyRequests", full(), { headers: { "retry-after": "1" } });
  if (queueMs <= 0) throw refused();
  const waiting = (slots.waiting ??= []);
  const queuedAt = performance.now();
  return new Promise<void>((resolve, reject) => {
    const leave = () => {
      waited?.(performance.now() - queuedAt);
      clearTimeout(timer);
      ctx.res.off("close", left);
      const at = waiting.indexOf(granted);
      if (at >= 0) waiting.splice(at, 1);
    };
    // Settles the request's promise too, so nothing waits on a response that is gone.
    const left = () => {
      leave();
      reject(new GatewayError("ClientClosedRequest", "The client closed the connection while waiting for a slot."));
    };
    const granted = () => {
      leave();
      if (ctx.res.destroyed) {
        // The client left as the slot came: pass it on.
        const next = waiting.shift();
        if (next) next();
        else slots.inFlight--;
        return reject(refused());
      }
      hold();
      resolve();
    };
    const timer = setTimeout(() => {
      leave();
      reject(refused());
    }, queueMs);
    ctx.res.once("close", left);
    waiting.push(granted);
  });
}

export function concurrencyCap(
  max: number,
  queueMs: number,
  exempt: ReadonlySet<string>,
  gateway: Slots,
  waited?: QueueWaited,
) {
  return async function limitConcurrency(ctx: Context, next: Next): Promise<void> {
    if (max <= 0 || exempt.has(ctx.path)) return next();
    await takeSlot(
      gateway,
      max,
      ctx,
      () => `The gateway is at its limit of ${max} concurrent requests; retry shortly.`,
      queueMs,
      waited,
    );
    await next();
  };
}
