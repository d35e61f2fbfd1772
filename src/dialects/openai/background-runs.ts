// Background runs (`background: true`, issue 24): the gateway answers at once with the queued response and
// runs the engine call to its end apart from the client, recording every event (numbered from 0) and the
// response as it stands in the store. Any process that shares the store can answer a status, replay the
// events from a sequence number and follow the live ones (this process is woken at once, others poll), and
// cancel: the runner sees the cancel on its next write and aborts the engine request. A runner holds a
// lease on its run (--run-lease) and renews it while it runs; when the process stops, its runs are ended as
// failed, and when it dies, the first reader past the lease ends them so: a run never stays in progress for
// good.
import { EventEmitter } from "node:events";
import type { GatewayDeps } from "../../deps.ts";
import type { Settlement } from "../../core/consumers/limits.ts";
import { GatewayError } from "../../core/errors.ts";
import type { DetachedCall } from "../../core/pipeline/operation.ts";
import { type Item, type RunEvent, RUNNING, type StateStore, type StoredResponse } from "../../core/state/store.ts";
import { createStreamOutcome, noteContent, type StreamSink, streamedTokens } from "../../core/stream/sse-writer.ts";
import { SseParser } from "../../core/stream/sse.ts";
import { classifyUpstreamFailure } from "../../core/upstream/failures.ts";
import { engineResponseEvents } from "./responses-bridge.ts";
import { responsesFacts } from "../../core/routing/prompt.ts";
import type { OpenAIResponsesRequest } from "./types.ts";
import { addToConversation, asClientResponse, type Continued, echoedSettings } from "./responses-state.ts";
import { createResponsesStreamAdapter, TERMINAL_EVENTS } from "./streams.ts";

/** How often a follower looks at the store for a run another process runs. */
const POLL_MS = 250;

interface LocalRun {
  /** Aborts the engine request: the run was cancelled (the store says so already). */
  cancel(): void;
  /** Aborts the engine request: the gateway is stopping, and the run ends failed. */
  stop(): void;
  store: StateStore;
  leaseMs: number;
  /** Settles when the run has written its end. */
  ended: Promise<void>;
  /** When it last wrote events or its end (ms since the epoch): a run that stops writing is stalled. */
  progressAt: number;
}
/** Runs of this process, by response id. */
const RUNS = new Map<string, LocalRun>();

/** This process's runs, for the metrics: how many, and the longest any has gone without writing. */
export function runsNow(now = Date.now()): { running: number; idleMs: number } {
  let idleMs = 0;
  for (const run of RUNS.values()) idleMs = Math.max(idleMs, now - run.progressAt);
  return { running: RUNS.size, idleMs };
}

let renewal: NodeJS.Timeout | undefined;
/** Wakes this process's followers of a run when its runner wrote. */
const WRITTEN = new EventEmitter().setMaxListeners(0);

class RunCancelled extends Error {
  override name = "RunCancelled";
}
class GatewayStopping extends Error {
  override name = "GatewayStopping";
}

/** What a run whose gateway process stopped (or died) before its end is answered with. */
const stopped = () =>
  new GatewayError(
    "ServiceUnavailable",
    "The gateway process running this response stopped before it finished; create the response again.",
  );

/** A failed run's response and its terminal event. */
function failedRun(latest: Item, error: GatewayError, seq: number): { response: Item; frame: string } {
  const response = { ...latest, status: "failed", error: { code: error.code, message: error.message } };
  const event = { type: "response.failed", sequence_number: seq, response };
  return { response, frame: `event: response.failed\ndata: ${JSON.stringify(event)}\n\n` };
}

/** Renews the leases of this process's runs every third of a lease, while there are any. */
function renewLeases(log: GatewayDeps["log"]): void {
  if (renewal) return;
  const every = Math.min(...[...RUNS.values()].map((r) => r.leaseMs)) / 3;
  renewal = setInterval(() => {
    if (RUNS.size === 0) {
      clearInterval(renewal);
      renewal = undefined;
      return;
    }
    const byStore = new Map<StateStore, { ids: string[]; leaseMs: number }>();
    for (const [id, run] of RUNS) {
      const group = byStore.get(run.store) ?? { ids: [], leaseMs: run.leaseMs };
      group.ids.push(id);
      byStore.set(run.store, group);
    }
    for (const [store, { ids, leaseMs }] of byStore)
      void Promise.resolve(store.renewRuns(ids, Date.now() + leaseMs)).catch((err: unknown) =>
        log.warn({ err, runs: ids.length }, "background runs: the store refused their leases' renewal"),
      );
  }, every);
  renewal.unref();
}

/** The stored response; a run whose runner is gone (its lease passed) is ended as failed first. */
export async function readResponse(store: StateStore, id: string, owner: string): Promise<StoredResponse | undefined> {
  const entry = await store.getResponse(id, owner);
  const now = Date.now();
  if (!entry || RUNS.has(id) || !RUNNING.has(String(entry.response.status)) || !((entry.leaseUntil ?? now) < now))
    return entry;
  return store.endAbandonedRun(id, owner, now, (found, seq) => failedRun(found.response, stopped(), seq));
}

/** Ends this process's runs of `store` as failed (the gateway is stopping), and waits until they wrote it. */
export async function stopRuns(store: StateStore): Promise<void> {
  const ending = [...RUNS.values()].filter((run) => run.store === store);
  for (const run of ending) run.stop();
  await Promise.all(ending.map((run) => run.ended));
}

export interface Run {
  id: string;
  owner: string;
  /** The body for the engine (stateless: the whole conversation as input). */
  body: Record<string, unknown>;
  /** The client's body, which the Response repeats (its settings, the model name it asked for). */
  shown: Record<string, unknown>;
  continued: Continued;
  /** The stored input items. */
  input: Item[];
  createdAt: number;
  /** The response as it was answered (queued). */
  queued: Item;
  /** The request's admitted charges (limits), settled when the run ends. */
  settlement: Settlement | undefined;
}

/** The response a background request answers at once: the request's settings, nothing generated yet. */
export function queuedResponse(body: Record<string, unknown>, createdAt: number): Item {
  return {
    object: "response",
    created_at: Math.floor(createdAt / 1000),
    status: "queued",
    background: true,
    error: null,
    incomplete_details: null,
    output: [],
    usage: null,
    ...echoedSettings(body),
  };
}

/** Starts the run; it ends by itself (completed, failed, cancelled, or the deployment's total timeout). */
export function startRun(deps: GatewayDeps, detached: DetachedCall, run: Run): void {
  const { store } = deps;
  const ttl = deps.config.storeTtlMs;
  const { id, owner, continued } = run;
  const entry = (response: Item) => ({ id, owner, response, input: run.input, createdAt: run.createdAt });
  let cancelled = false;
  let stopping = false;
  const cancel = () => {
    cancelled = true;
    detached.signal.abort(new RunCancelled("the run was cancelled"));
  };
  let endedRun!: () => void;
  const local: LocalRun = {
    cancel,
    stop() {
      stopping = true;
      detached.signal.abort(new GatewayStopping("the gateway is stopping"));
    },
    store,
    leaseMs: deps.config.runLeaseMs,
    ended: new Promise<void>((resolve) => (endedRun = resolve)),
    progressAt: Date.now(),
  };
  RUNS.set(id, local);
  renewLeases(deps.log);

  let seq = 0;
  let pending: RunEvent[] = [];
  let latest = run.queued;
  let progressed = false;
  let final: Item | undefined;
  let ended = false;
  /** The engine answered (its stream began): what the run spent is settled from it. */
  let answered = false;
  const sink: StreamSink = {
    outcome: createStreamOutcome(),
    send: (frame) => void pending.push({ seq: seq++, frame }),
    content: (chars) => noteContent(sink.outcome, chars),
    end: () => void (ended = true),
  };
  const adapter = createResponsesStreamAdapter(typeof run.shown.model === "string" ? run.shown.model : undefined, {
    own(response) {
      asClientResponse(response, id, continued, { ...run.shown, background: true });
      latest = response;
    },
    keep: (response) => void (final = response), // written after its events (followers end on either)
    renumber: true,
  });

  /** Writes the pending events; false once the run is cancelled (here or in another process). */
  const flush = async (): Promise<boolean> => {
    if (pending.length > 0) {
      const events = pending;
      pending = [];
      const open = await store.appendEvents(id, events, ttl);
      local.progressAt = Date.now();
      WRITTEN.emit(id);
      if (!open) cancel();
    }
    if (!cancelled && !progressed && latest.status === "in_progress") {
      progressed = true;
      if (!(await store.updateRun(entry(latest), ttl))) cancel();
    }
    return !cancelled;
  };

  const execute = async (): Promise<void> => {
    /** The end is written: an abort while the rest of the engine's answer is read changes nothing. */
    let recorded = false;
    try {
      const routing = () => responsesFacts(run.body as OpenAIResponsesRequest, run.continued.replica);
      const events = await engineResponseEvents(detached.call, run.body, routing);
      answered = true;
      const parser = new SseParser();
      let finished = false;
      /** The end: the last events, then the final response (followers end on either). */
      const finish = async () => {
        finished = true;
        adapter.finish(sink, ended);
        if ((await flush()) && final) {
          await addToConversation(store, owner, continued, final, ttl);
          await store.updateRun(entry(final), ttl);
        }
        recorded = true;
      };
      for await (const bytes of events) {
        if (finished) continue; // read to its end, so the engine sees its request complete
        for (const event of parser.push(bytes)) {
          await adapter.event(event, sink);
          if (ended) break;
        }
        if (!(await flush())) break;
        if (ended) await finish();
      }
      if (cancelled || finished) return;
      for (const event of parser.end()) if (!ended) await adapter.event(event, sink);
      await finish();
    } catch (err) {
      if (cancelled || recorded) return;
      const error = stopping
        ? stopped()
        : err instanceof GatewayError
          ? err
          : classifyUpstreamFailure(err, detached.signal);
      const failed = failedRun(latest, error, seq);
      sink.send(failed.frame);
      await flush();
      await store.updateRun(entry(failed.response), ttl);
      deps.log.warn({ responseId: id, code: error.code, err: error.cause ?? error.message }, "background run failed");
    }
  };
  let failed = false;
  void execute()
    .catch((err: unknown) => {
      failed = true;
      deps.log.error({ err, responseId: id }, "background run could not record its end");
    })
    .finally(() => {
      const status = String((final ?? latest).status);
      deps.metrics.backgroundRunEnded(
        cancelled
          ? "cancelled"
          : stopping
            ? "stopped"
            : failed || status === "failed" || !final
              ? "failed"
              : status === "incomplete"
                ? "incomplete"
                : "completed",
      );
      const { outcome } = sink;
      run.settlement?.settle({
        usage: outcome.usage,
        stream: answered ? { tokens: streamedTokens(outcome), complete: ended } : undefined,
        answered,
        abandoned: false,
      });
      RUNS.delete(id);
      detached.dispose();
      WRITTEN.emit(id);
      endedRun();
    });
}

/** Cancels a queued or running run wherever it runs; answers the response as it then stands. */
export async function cancelRun(store: StateStore, id: string, owner: string): Promise<Item | undefined> {
  const entry = await store.cancelRun(id, owner, { status: "cancelled" });
  if (entry?.response.status === "cancelled") {
    RUNS.get(id)?.cancel();
    WRITTEN.emit(id);
  }
  return entry?.response;
}

/** Resolves when this process's runner writes, or after POLL_MS (a runner in another process). */
const written = (id: string) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      WRITTEN.off(id, done);
      resolve();
    };
    const timer = setTimeout(done, POLL_MS);
    WRITTEN.once(id, done);
  });

const isTerminal = (frame: string) => TERMINAL_EVENTS.has(frame.slice(7, frame.indexOf("\n")));

/** A run's events after sequence number `after` as SSE frames: the stored ones, then the live ones, until
 * its terminal event or until it stops running (cancelled, deleted). */
export async function* followRun(store: StateStore, id: string, owner: string, after: number): AsyncGenerator<string> {
  for (;;) {
    // The status is read before the events: a run that has stopped wrote its last events before its status.
    const entry = await readResponse(store, id, owner);
    if (!entry) return;
    const running = RUNNING.has(String(entry.response.status));
    const events = await store.events(id, after);
    for (const event of events) {
      yield event.frame;
      after = event.seq;
      if (isTerminal(event.frame)) return;
    }
    if (!running) return;
    if (events.length === 0) await written(id);
  }
}
