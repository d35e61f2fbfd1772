// Whether the engine can take requests now: /ready's answer and the gate that holds requests back
// while the engine loads. It follows the engine within about a second in both directions, however
// often probes come: the engine is asked at most once per CHECK_INTERVAL_MS (coalesced), whatever
// --models-cache says, and a refused connection seen on any call turns it not-ready at once.
import { GatewayError } from "../errors.ts";
import { isTransportFailure } from "./failures.ts";
import type { ModelCatalog } from "./models.ts";

/** ready: it lists a model; loading: never ready since the gateway started, and it looks like an engine
 * that is starting (nothing listens yet, it answers 503, or it lists no model yet); unavailable: any
 * other failure (it was ready once, or it hangs, answers 401 or 404, is not an OpenAI engine). */
export type EngineState = "loading" | "ready" | "unavailable";

export interface EngineReport {
  state: EngineState;
  /** Served model ids (ready only). */
  models: string[];
  /** Why it is not ready, in the engine failure's own words. */
  reason?: string;
  /** The failure's detail for logs (a transport code and message), never sent. */
  detail?: string;
  /** The check's own failure, when the engine could not be asked (no HTTP answer). */
  transportFailure?: GatewayError;
  /** Since when the engine has been in this state (ms since the epoch). */
  since: number;
}

export interface EngineReadiness {
  /** The engine's state, asked again when the last answer is older than CHECK_INTERVAL_MS. */
  check(): Promise<EngineReport>;
  /** The last known state, without asking. */
  readonly last: EngineReport;
  /** Has the engine been ready at least once since the gateway started? */
  readonly everReady: boolean;
  /** When the engine last listed its models (ms since the epoch), for "last seen". */
  readonly seenAt: number | undefined;
  /** The engine refused a connection: not ready from now, until a check finds it back. */
  refused(): void;
  /** Called when the state changes (logs, metrics). */
  onChange?: (report: EngineReport, previous: EngineReport) => void;
}

export const CHECK_INTERVAL_MS = 1_000;

/** Nothing listens yet (or the connection dropped), or the engine says 503 (llama.cpp and TGI while loading). */
const looksStarting = (err: unknown) =>
  err instanceof GatewayError && (err.code === "UpstreamUnavailable" || err.status === 503);

export function createEngineReadiness(models: ModelCatalog, startedAt = Date.now()): EngineReadiness {
  let last: EngineReport = {
    state: "loading",
    models: [],
    reason: "The engine has not been asked yet.",
    since: startedAt,
  };
  let checkedAt = 0;
  let inflight: Promise<EngineReport> | undefined;
  let everReady = false;
  let seenAt: number | undefined;

  const notReadyState = (startingLike: boolean): EngineState =>
    !everReady && startingLike ? "loading" : "unavailable";
  const settle = (next: Omit<EngineReport, "since">): EngineReport => {
    const previous = last;
    last = { ...next, since: next.state === previous.state ? previous.since : Date.now() };
    if (next.state === "ready") everReady = true;
    if (next.state !== previous.state) readiness.onChange?.(last, previous);
    return last;
  };

  const ask = async (): Promise<EngineReport> => {
    try {
      const ids = (await models.refresh()).map((m) => m.id);
      if (ids.length === 0)
        return settle({ state: notReadyState(true), models: [], reason: "The engine serves no model yet." });
      seenAt = Date.now();
      return settle({ state: "ready", models: ids });
    } catch (err) {
      const detail = err instanceof GatewayError ? err.detail : undefined;
      return settle({
        state: notReadyState(looksStarting(err)),
        models: [],
        reason: err instanceof Error ? err.message : "unknown error",
        ...(detail ? { detail } : {}),
        ...(isTransportFailure(err) ? { transportFailure: err as GatewayError } : {}),
      });
    } finally {
      checkedAt = Date.now();
    }
  };

  const readiness: EngineReadiness = {
    check() {
      if (Date.now() - checkedAt < CHECK_INTERVAL_MS) return Promise.resolve(last);
      inflight ??= ask().finally(() => (inflight = undefined));
      return inflight;
    },
    get last() {
      return last;
    },
    get everReady() {
      return everReady;
    },
    get seenAt() {
      return seenAt;
    },
    refused() {
      if (last.state === "ready")
        settle({ state: "unavailable", models: [], reason: "The engine refused the connection (ECONNREFUSED)." });
    },
  };
  return readiness;
}

/** "12 s" since a time, for messages. */
export const secondsSince = (since: number): string => `${Math.max(0, Math.round((Date.now() - since) / 1000))} s`;
