// A request's deployment and the model its engine is asked for, for every dialect: the routing rule
// (deployments.ts), then admission (the loading gate and the deployment's concurrency cap), then one
// rule for the model.
import type { Context } from "koa";
import type { GatewayDeps } from "../../deps.ts";
import { type ErrorCode, GatewayError } from "../errors.ts";
import { admitWithinLimits, visibleTo } from "../consumers/limits.ts";
import { takeSlot } from "../http/concurrency.ts";
import { assertEngineStarted } from "../http/engine-gate.ts";
import { exchangeOf } from "../pipeline/exchange.ts";
import { isTransportFailure } from "../upstream/failures.ts";
import { matchServed } from "../upstream/models.ts";
import type { Operation } from "./config-file.ts";
import type { Deployment, RequestNames } from "./deployments.ts";

export type NotFoundCode = Extract<ErrorCode, "ModelNotFound" | "DeploymentNotFound">;

/** The deployment a request for its engine is for, admitted (see admit) and within its consumer's and its
 * own limits (`body` is what they estimate the cost from). */
export async function deploymentFor(
  ctx: Context,
  deps: GatewayDeps,
  names: RequestNames,
  operation: Operation | undefined,
  notFound?: NotFoundCode,
  body?: unknown,
): Promise<Deployment> {
  const d = deps.deployments.pick(names, operation, notFound, visibleTo(ctx, deps));
  await admit(ctx, deps, d);
  await admitWithinLimits(ctx, deps, d, body, operation);
  return d;
}

/** The point where a request is let through to a deployment's engine, or not: held with a 503 while the
 * engine loads, and counted against the deployment's `max_concurrent` until the response closes. */
export async function admit(ctx: Context, deps: GatewayDeps, d: Deployment): Promise<void> {
  exchangeOf(ctx).deployment = d.name;
  if (!d.readiness.everReady) await assertEngineStarted(d.readiness, deps.startedAt);
  if (d.maxConcurrent === undefined) {
    // Counted for operators (/status) even without a cap; observe.ts gives it back (once: one count a request).
    const exchange = exchangeOf(ctx);
    if (exchange.heldCount === undefined) {
      d.inFlight++;
      exchange.heldCount = d;
    }
  } else
    await takeSlot(
      d,
      d.maxConcurrent,
      ctx,
      () => `The deployment '${d.name}' has ${d.inFlight} requests in flight, its max_concurrent; retry shortly.`,
      deps.config.queueTimeoutMs,
      (ms) => deps.metrics.queueWaited(d.name ?? "default", ms),
    );
}

/** The engine model a named deployment is asked for: the declared one, else the first its engine lists.
 * Undefined when the engine answered without a model list (it reports its own state on the call). */
export async function engineModelOf(d: Deployment): Promise<string | undefined> {
  if (d.engineModel) return d.engineModel;
  try {
    return (await d.models.ids())[0];
  } catch (err) {
    if (isTransportFailure(err)) throw err;
    return undefined;
  }
}

/** The one rule for the model an engine is asked for, in every dialect:
 * - a deployment named in a file is asked for its engine's model (engineModelOf);
 * - the flags' engine goes by the names it serves: a served name is itself, any name stands for a
 *   single served model, no name is the first served; a name in the path or body that matches nothing
 *   is a 404 listing what is served; a header name that matches nothing is ignored (Azure ML sets it for
 *   its own routing). An engine that answers without a model list gets the name as it is.
 * Synchronous while the model list is cached (nearly every request): no promise per request. */
export function engineModelFor(
  d: Deployment,
  names: RequestNames,
  notFound: NotFoundCode,
): string | undefined | Promise<string | undefined> {
  const named = names.path ?? names.body;
  if (d.name !== undefined) return d.engineModel ?? engineModelOf(d).then((model) => model ?? named);
  const served = d.models.cachedIds();
  if (served) return pickServed(served, named, names.header, notFound);
  return d.models.ids().then(
    (ids) => pickServed(ids, named, names.header, notFound),
    (err: unknown) => {
      if (isTransportFailure(err)) throw err; // the call would wait for the same engine again
      return named ?? names.header;
    },
  );
}

/** The flags' engine's rule over its served list (see engineModelFor). */
export function pickServed(
  served: readonly string[],
  named: string | undefined,
  header: string | undefined,
  notFound: NotFoundCode,
): string | undefined {
  if (served.length === 0) return named ?? header;
  if (named === undefined) return matchServed(served, header) ?? served[0];
  const id = matchServed(served, named);
  if (id !== undefined) return id;
  throw unknownName(notFound, named, `Served: ${served.join(", ")}`);
}

/** A model or deployment name nothing here answers to, with what does (`listing`), as the 404 says it. */
export function unknownName(code: NotFoundCode, name: string, listing: string): GatewayError {
  const what = code === "DeploymentNotFound" ? "deployment" : "model";
  return new GatewayError(code, `The ${what} '${name.slice(0, 200)}' does not exist here. ${listing}.`, {
    target: "model",
  });
}
