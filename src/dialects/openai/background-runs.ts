// Background runs (`background: true`, issue 24): the gateway answers at once with the queued response and
// runs the engine call to its end apart from the client, recording every event (numbered from 0) and the
// response as it stands in the store. Any process that shares the store can answer a status, replay the
// events from a sequence number and follow the live ones (this process is woken at once, others poll), and
// cancel: the runner sees the cancel on its next write and aborts the engine request.
import { EventEmitter } from "node:events";
import type { GatewayDeps } from "../../deps.ts";
import { GatewayError } from "../../core/errors.ts";
import type { DetachedCall } from "../../core/pipeline/operation.ts";
import { type Item, type RunEvent, RUNNING, type StateStore } from "../../core/state/store.ts";
import { createStreamOutcome, type StreamSink } from "../../core/stream/sse-writer.ts";
import { SseParser } from "../../core/stream/sse.ts";
import { classifyUpstreamFailure } from "../../core/upstream/failures.ts";
import { engineResponseEvents } from "./responses-bridge.ts";
import { addToConversation, asClientResponse, type Continued, echoedSettings } from "./responses-state.ts";
import { createResponsesStreamAdapter, TERMINAL_EVENTS } from "./streams.ts";

/** How often a follower looks at the store for a run another process runs. */
const POLL_MS = 250;

/** Runs of this process, by response id: a cancel here aborts the engine request at once. */
const RUNS = new Map<string, () => void>();
/** Wakes this process's followers of a run when its runner wrote. */
const WRITTEN = new EventEmitter().setMaxListeners(0);

class RunCancelled extends Error {
  override name = "RunCancelled";
}

export interface Run {
  id: string;
  owner: string;
  /** The body for the engine (stateless: the whole conversation as input). */
  body: Record<string, unknown>;
  continued: Continued;
  /** The stored input items. */
  input: Item[];
  createdAt: number;
  /** The response as it was answered (queued). */
  queued: Item;
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
  const cancel = () => {
    cancelled = true;
    detached.signal.abort(new RunCancelled("the run was cancelled"));
  };
  RUNS.set(id, cancel);

  let seq = 0;
  let pending: RunEvent[] = [];
  let latest = run.queued;
  let progressed = false;
  let final: Item | undefined;
  let ended = false;
  const sink: StreamSink = {
    outcome: createStreamOutcome(),
    send: (frame) => void pending.push({ seq: seq++, frame }),
    firstToken() {},
    end: () => void (ended = true),
  };
  const adapter = createResponsesStreamAdapter(typeof run.body.model === "string" ? run.body.model : undefined, {
    own(response) {
      asClientResponse(response, id, continued);
      response.background = true;
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
    try {
      const events = await engineResponseEvents(detached.call, run.body);
      const parser = new SseParser();
      let finished = false;
      /** The end: the last events, then the final response (followers end on either). */
      const finish = async () => {
        finished = true;
        adapter.finish(sink, ended);
        if (!(await flush()) || !final) return;
        await addToConversation(store, owner, continued, final, ttl);
        await store.updateRun(entry(final), ttl);
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
      if (cancelled) return;
      const error = err instanceof GatewayError ? err : classifyUpstreamFailure(err, detached.signal);
      const failed = { ...latest, status: "failed", error: { code: error.code, message: error.message } };
      const event = { type: "response.failed", sequence_number: seq, response: failed };
      sink.send(`event: response.failed\ndata: ${JSON.stringify(event)}\n\n`);
      await flush();
      await store.updateRun(entry(failed), ttl);
      deps.log.warn({ responseId: id, code: error.code, err: error.cause ?? error.message }, "background run failed");
    }
  };
  void execute()
    .catch((err: unknown) => deps.log.error({ err, responseId: id }, "background run could not record its end"))
    .finally(() => {
      RUNS.delete(id);
      detached.dispose();
      WRITTEN.emit(id);
    });
}

/** Cancels a queued or running run wherever it runs; answers the response as it then stands. */
export async function cancelRun(store: StateStore, id: string, owner: string): Promise<Item | undefined> {
  const entry = await store.cancelRun(id, owner, { status: "cancelled" });
  if (entry?.response.status === "cancelled") {
    RUNS.get(id)?.();
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
    const entry = await store.getResponse(id, owner);
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
