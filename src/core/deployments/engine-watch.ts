// Every engine of every deployment — single-URL ones and each replica — is asked whether it serves on one
// interval (--engine-checks), so a state change is seen and logged (one line, by the readiness' onChange)
// without waiting for a probe or a failed request, and a replica taken out is probed back in without traffic.
import type { EngineReadiness } from "../upstream/readiness.ts";

/** Starts the rounds; returns what stops them. Each round starts `everyMs` (plus a margin) after the last
 * ended: a plain interval of the readiness' own once-a-second limit (counted from the end of its last
 * check) would meet that limit and skip every other round. */
export function watchEngines(engines: readonly EngineReadiness[], everyMs: number): () => void {
  if (everyMs <= 0 || engines.length === 0) return () => {};
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => void Promise.all(engines.map((e) => e.check())).finally(schedule), everyMs + 10);
    timer.unref();
  };
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
