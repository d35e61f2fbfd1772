// Reads each replica's /metrics on an interval, never on a request's path, and keeps what it says of the
// engine's load on the replica for the router. A read that fails, times out or is no known engine's leaves
// the load unknown (the router then goes by what the gateway counts itself) and is tried again less often.
import type { Replica } from "../deployments/replicas.ts";
import { type EngineLoad, parseEngineLoad } from "./engine-load.ts";

/** Reads of an engine without (known) metrics are this many intervals apart. */
const UNKNOWN_BACKOFF = 30;

export interface EngineLoadReader {
  /** Reads every replica once now (tests; the interval does the same). */
  readNow(): Promise<void>;
  stop(): void;
}

export function readEngineLoads(
  replicas: readonly Replica[],
  intervalMs: number,
  onRead: (replica: Replica, load: EngineLoad | undefined) => void,
): EngineLoadReader {
  const skip = new Map<Replica, number>();
  const timeoutMs = Math.min(intervalMs, 1000);
  const readOne = async (replica: Replica) => {
    const left = skip.get(replica) ?? 0;
    if (left > 0) return void skip.set(replica, left - 1);
    let load: EngineLoad | undefined;
    try {
      const { status, body } = await replica.upstream.getRootJson("/metrics", AbortSignal.timeout(timeoutMs));
      if (status === 200 && typeof body === "string") load = parseEngineLoad(body);
    } catch {
      // down, slow or refusing: unknown, as below
    }
    if (load === undefined) skip.set(replica, UNKNOWN_BACKOFF);
    replica.engineLoad = load;
    replica.engineLoadAt = Date.now();
    onRead(replica, load);
  };
  const readNow = async () => void (await Promise.all(replicas.map(readOne)));
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => void readNow().finally(schedule), intervalMs);
    timer.unref();
  };
  schedule();
  return {
    readNow,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
