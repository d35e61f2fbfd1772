// Until an engine has been ready once (a model can take many minutes to download and load), requests
// for an engine that looks like it is starting get a 503 ServiceUnavailable with Retry-After in their
// dialect's envelope, instead of a refused connection or whatever a half-started engine says. Once it
// has been ready, the gate is a single property read: later outages are the upstream core's to name.
import { GatewayError } from "../errors.ts";
import { type EngineReadiness, secondsSince } from "../upstream/readiness.ts";

export const LOADING_RETRY_AFTER_S = "5";

/** Resolves when the engine can be called; throws 503 while it loads. */
export async function assertEngineStarted(readiness: EngineReadiness, startedAt: number): Promise<void> {
  const report = await readiness.check();
  if (report.state === "ready") return;
  // Not starting but broken: an engine that hangs or is not HTTP fails the request as the check did,
  // without a second wait; one that answers (401, 404) gets the request and its answer is relayed.
  if (report.state === "unavailable") {
    if (report.transportFailure) throw report.transportFailure;
    return;
  }
  throw new GatewayError(
    "ServiceUnavailable",
    `The engine is loading (${secondsSince(startedAt)} since the gateway started): ${report.reason ?? "not ready yet"} Retry later.`,
    {
      headers: { "retry-after": LOADING_RETRY_AFTER_S },
      ...(report.detail ? { detail: report.detail } : {}),
    },
  );
}
