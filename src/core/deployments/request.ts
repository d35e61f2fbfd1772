// A request's deployment and the model its engine is asked for: the routing rule (deployments.ts), the
// loading gate and the deployment's concurrency cap, for every dialect.
import type { Context } from "koa";
import type { GatewayDeps } from "../../deps.ts";
import type { ErrorCode } from "../errors.ts";
import { takeSlot } from "../http/concurrency.ts";
import { assertEngineStarted } from "../http/engine-gate.ts";
import { isTransportFailure } from "../upstream/failures.ts";
import type { Operation } from "./config-file.ts";
import type { Deployment, RequestNames } from "./deployments.ts";

/** The deployment a request is for. With a deployments file it is held while its engine loads and
 * counted against its `max_concurrent` until the response closes. */
export async function deploymentFor(
  ctx: Context,
  deps: GatewayDeps,
  names: RequestNames,
  operation: Operation | undefined,
  notFound?: Extract<ErrorCode, "ModelNotFound" | "DeploymentNotFound">,
): Promise<Deployment> {
  const { deployments } = deps;
  const d = deployments.pick(names, operation, notFound);
  if (!deployments.fromFile) return d; // the flags' engine: gated before routing (app.ts), capped by --max-concurrent
  ctx.state.deployment = d.name;
  if (!d.readiness.everReady) await assertEngineStarted(d.readiness, deps.startedAt);
  if (d.maxConcurrent !== undefined)
    takeSlot(
      d,
      d.maxConcurrent,
      ctx,
      () => `The deployment '${d.name}' has ${d.inFlight} requests in flight, its max_concurrent; retry shortly.`,
    );
  return d;
}

/** The engine model a file's deployment is asked for: the declared one, else the first its engine lists.
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
