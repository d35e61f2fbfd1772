// Limits and quotas per consumer and per deployment (issue 26), exact across workers and gateway replicas:
// every counter lives in the store (--store: sqlite for the workers of a host, Redis for every pod) and a
// request is admitted by one atomic `take` of all its counters (one round trip), or by none: a refused
// request never reaches the engine. Admission reserves the likely cost (the prompt's estimate plus its
// max tokens, else DEFAULT_OUTPUT_ESTIMATE) and a `max_parallel` slot; settlement charges what was spent
// (tokensSpent) and frees the slot, in one more round trip: when the response closes, or, for a
// background run, when the run ends. Windows are fixed: the minute, the UTC day, the UTC month.
import type { Context } from "koa";
import type { GatewayDeps } from "../../deps.ts";
import type { Deployment } from "../deployments/deployments.ts";
import { GatewayError } from "../errors.ts";
import { type Exchange, exchangeOf, type Usage } from "../pipeline/exchange.ts";
import { streamedTokens } from "../stream/sse-writer.ts";
import type { Charge, StateStore } from "../state/store.ts";
import type { ConsumerSpec, Limits } from "./consumers-file.ts";

/** The output a request without max_tokens is assumed to use until its usage says otherwise. */
export const DEFAULT_OUTPUT_ESTIMATE = 1024;
const MINUTE = 60_000;
/** A parallel slot outlives a crashed process by at most this. */
const PARALLEL_TTL_MS = 15 * MINUTE;

/** What a body will likely cost: its text at ~4 characters a token, and the output it allows. */
export function estimateTokens(body: unknown, operation: string | undefined): { prompt: number; output: number } {
  const b = (body ?? {}) as Record<string, unknown>;
  const text = b.messages ?? b.input ?? b.prompt ?? b.query ?? "";
  const prompt = Math.ceil((typeof text === "string" ? text.length : JSON.stringify(text).length) / 4);
  if (operation === "embeddings" || operation === "image-embeddings") return { prompt, output: 0 };
  const max = b.max_tokens ?? b.max_completion_tokens ?? b.max_output_tokens;
  return { prompt, output: typeof max === "number" && max >= 0 ? max : DEFAULT_OUTPUT_ESTIMATE };
}

type Span = "minute" | "day" | "month" | "parallel";
interface Counted extends Charge {
  what: "requests" | "tokens" | "parallel";
  span: Span;
  owner: "consumer" | "deployment";
  resetsAt: number;
}

/** When a window that holds `now` ends. */
function windowOf(span: Span, now: number): { id: string; resetsAt: number } {
  const d = new Date(now);
  if (span === "minute")
    return { id: `m${Math.floor(now / MINUTE)}`, resetsAt: (Math.floor(now / MINUTE) + 1) * MINUTE };
  if (span === "day")
    return {
      id: `d${d.toISOString().slice(0, 10)}`,
      resetsAt: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1),
    };
  if (span === "month")
    return { id: `mo${d.toISOString().slice(0, 7)}`, resetsAt: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) };
  return { id: "p", resetsAt: now + 1000 };
}

function chargesOf(prefix: string, owner: Counted["owner"], limits: Limits, tokens: number, now: number): Counted[] {
  const rows: Array<[number | undefined, Counted["what"], Span, number]> = [
    [limits.requestsPerMinute, "requests", "minute", 1],
    [limits.tokensPerMinute, "tokens", "minute", tokens],
    [limits.tokensPerDay, "tokens", "day", tokens],
    [limits.tokensPerMonth, "tokens", "month", tokens],
    [limits.maxParallel, "parallel", "parallel", 1],
  ];
  return rows.flatMap(([limit, what, span, amount]) => {
    if (limit === undefined) return [];
    const { id, resetsAt } = windowOf(span, now);
    const ttlMs = span === "parallel" ? PARALLEL_TTL_MS : resetsAt - now + MINUTE;
    return [{ key: `${prefix}:${what}:${id}`, amount, limit, ttlMs, what, span, owner, resetsAt }];
  });
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

function refusal(c: Counted, name: string, now: number): GatewayError {
  const per = c.span === "minute" ? "per minute" : c.span === "day" ? "per day" : "per month";
  const who = c.owner === "consumer" ? `consumer '${name}'` : `deployment '${name}'`;
  if (c.span === "day" || c.span === "month")
    return new GatewayError(
      "QuotaExceeded",
      `The ${who} has used its quota of ${c.limit} tokens ${per}; it resets at ${new Date(c.resetsAt).toISOString()}.`,
    );
  const wait = c.span === "parallel" ? 1 : Math.min(60, seconds(c.resetsAt - now));
  const message =
    c.what === "parallel"
      ? `The ${who} has ${c.limit} requests in flight, its limit; retry after 1 second.`
      : c.amount > c.limit
        ? `This request's ${c.amount} likely tokens (its prompt and max tokens) exceed the ${who}'s limit of ${c.limit} tokens ${per}: lower max_tokens.`
        : `Requests of the ${who} have exceeded its limit of ${c.limit} ${c.what} ${per}. Please retry after ${wait} seconds.`;
  return new GatewayError("TooManyRequests", message, {
    headers: { "retry-after": String(wait), "retry-after-ms": String(wait * 1000) },
  });
}

/** Azure's x-ratelimit-* headers of a limited consumer, from its minute counters: after the charge, or as
 * they stood when a charge was refused (a 429 carries them too). */
function rateLimitHeaders(charges: Counted[], values: number[], now: number): Record<string, string> {
  const headers: Record<string, string> = {};
  charges.forEach((c, i) => {
    if (c.owner !== "consumer" || c.span !== "minute") return;
    const kind = c.what === "requests" ? "requests" : "tokens";
    headers[`x-ratelimit-limit-${kind}`] = String(c.limit);
    headers[`x-ratelimit-remaining-${kind}`] = String(Math.max(0, c.limit - values[i]!));
    headers[`x-ratelimit-reset-${kind}`] = `${seconds(c.resetsAt - now)}s`;
  });
  return headers;
}

/** Where one of a consumer's (or a deployment's) counters stands, for operators (/status). */
export interface LimitUsage {
  what: "requests" | "tokens" | "parallel";
  /** The window; undefined for requests in flight. */
  per: "minute" | "day" | "month" | undefined;
  limit: number;
  used: number;
  /** When the window ends (ms since the epoch); undefined for requests in flight. */
  resetsAt: number | undefined;
}

/** Reads a consumer's or a deployment's counters without charging them (a take of nothing). */
export async function limitUsage(
  store: StateStore,
  owner: { consumer: string } | { deployment: string },
  limits: Limits | undefined,
  now: number,
): Promise<LimitUsage[]> {
  if (!hasLimits(limits)) return [];
  const counted =
    "consumer" in owner
      ? chargesOf(`c:${owner.consumer}`, "consumer", limits!, 0, now)
      : chargesOf(`d:${owner.deployment}`, "deployment", limits!, 0, now);
  // Nothing charged, no limit to pass: every counter's value comes back (a refusal would stop at the first).
  const { values } = await store.take(counted.map((c) => ({ ...c, amount: 0, limit: Number.MAX_SAFE_INTEGER })));
  return counted.map((c, i) => ({
    what: c.what,
    per: c.span === "parallel" ? undefined : c.span,
    limit: c.limit,
    used: Math.max(0, values[i] ?? 0),
    resetsAt: c.span === "parallel" ? undefined : c.resetsAt,
  }));
}

/** What a request spent, as far as the gateway saw it. */
export interface Spent {
  /** What the engine reported. */
  usage: Usage | undefined;
  /** When it streamed: the output tokens it delivered (estimated from its content events), and whether it
   * ended as its API ends a stream (else the client or the engine cut it, and its usage may be partial). */
  stream: { tokens: number; complete: boolean } | undefined;
  /** The engine answered (its headers, for a stream). */
  answered: boolean;
  /** The engine was asked and the request ended unanswered while it may have been working: the client
   * left, or a timeout ended the wait. */
  abandoned: boolean;
}

/** The tokens a request is charged when it settles:
 * - a stream: its reported prompt (else the estimate) and its reported output, or what it streamed when the
 *   engine reported none, or the larger of the two when it was cut (a cut stream's usage is partial);
 * - an answer with usage: that usage; without: its prompt's estimate;
 * - no answer, abandoned while the engine worked: its whole reservation;
 * - never reached the engine, or refused by it: nothing. */
export function tokensSpent(estimate: { prompt: number; output: number }, spent: Spent): number {
  const { usage, stream } = spent;
  const prompt = usage?.prompt_tokens;
  const output = usage?.completion_tokens;
  if (stream !== undefined)
    return (
      (prompt ?? estimate.prompt) +
      (output === undefined ? stream.tokens : stream.complete ? output : Math.max(output, stream.tokens))
    );
  if (prompt !== undefined || output !== undefined) return (prompt ?? estimate.prompt) + (output ?? 0);
  if (spent.answered) return estimate.prompt;
  if (spent.abandoned) return estimate.prompt + estimate.output;
  return 0;
}

/** What a request's exchange says it spent when its response closes (`clientLeft`: before it was written;
 * the handler may not have heard of it yet). */
export function spentOf(exchange: Exchange, clientLeft: boolean): Spent {
  const outcome = exchange.streamOutcome;
  const answered = exchange.upstreamMs !== undefined;
  return {
    usage: outcome?.usage ?? exchange.usage,
    stream: outcome ? { tokens: streamedTokens(outcome), complete: outcome.completed } : undefined,
    answered,
    abandoned: exchange.engineAsked && !answered && (clientLeft || exchange.error?.code === "UpstreamTimeout"),
  };
}

/** A request's admitted charges, settled once. */
export interface Settlement {
  settle(spent: Spent): void;
}

/** Takes the settlement of a request from its response's close: the caller settles it (a background run,
 * when it ends). Undefined: nothing to settle. */
export function detachSettlement(exchange: Exchange): Settlement | undefined {
  const settlement = exchange.settlement;
  exchange.settlement = undefined;
  return settlement;
}

const hasLimits = (limits: Limits | undefined) => limits !== undefined && Object.keys(limits).length > 0;

/** The consumer's allow-list: a deployment it may not use does not exist for it. */
export function allowed(consumer: ConsumerSpec | undefined, d: Deployment): boolean {
  return !consumer?.deployments || d.name === undefined || consumer.deployments.includes(d.name);
}

/** The consumer a request authenticated as (undefined: anonymous). */
export function consumerOf(ctx: Context, deps: GatewayDeps): ConsumerSpec | undefined {
  const name = exchangeOf(ctx).consumer;
  return name === undefined ? undefined : deps.access.consumers.get(name);
}

/** The deployments a request's caller may use, for Deployments.pick; undefined: all. */
export function visibleTo(ctx: Context, deps: GatewayDeps): ((d: Deployment) => boolean) | undefined {
  const consumer = consumerOf(ctx, deps);
  return consumer?.deployments ? (d) => allowed(consumer, d) : undefined;
}

/** Admits the request against its consumer's and its deployment's limits, or throws the 429/403; settles
 * by the answer's usage when the response closes. */
export async function admitWithinLimits(
  ctx: Context,
  deps: GatewayDeps,
  d: Deployment,
  body: unknown,
  operation: string | undefined,
): Promise<void> {
  const exchange = exchangeOf(ctx);
  const consumer = consumerOf(ctx, deps);
  if (!allowed(consumer, d))
    throw new GatewayError("DeploymentNotFound", `The deployment '${d.name}' does not exist here.`);
  if (!hasLimits(consumer?.limits) && !hasLimits(d.limits)) return;
  const now = deps.clock();
  const estimate = estimateTokens(body, operation);
  const tokens = estimate.prompt + estimate.output;
  const charges = [
    ...(consumer && hasLimits(consumer.limits)
      ? chargesOf(`c:${consumer.name}`, "consumer", consumer.limits, tokens, now)
      : []),
    ...(hasLimits(d.limits) ? chargesOf(`d:${d.name ?? ""}`, "deployment", d.limits!, tokens, now) : []),
  ];
  let taken;
  try {
    taken = await deps.store.take(charges);
  } catch (err) {
    if (deps.access.failClosed) throw err;
    deps.metrics.limitsUnenforced.inc();
    deps.log.warn({ requestId: exchange.requestId, err }, "limits not enforced: the store failed (fail_closed: false)");
    return;
  }
  if (taken.refused !== undefined) {
    const c = charges[taken.refused]!;
    const refused = refusal(c, c.owner === "consumer" ? consumer!.name : (d.name ?? "default"), now);
    Object.assign(refused.headers, rateLimitHeaders(charges, taken.values, now));
    throw refused;
  }
  ctx.set(rateLimitHeaders(charges, taken.values, now));
  exchange.metered = charges.some((c) => c.what === "tokens");

  let settled = false;
  const settlement: Settlement = {
    settle(spent) {
      if (settled) return;
      settled = true;
      const used = tokensSpent(estimate, spent);
      const changes = charges.flatMap((c) =>
        c.what === "tokens" && used !== c.amount
          ? [{ key: c.key, amount: used - c.amount }]
          : c.what === "parallel"
            ? [{ key: c.key, amount: -1 }]
            : [],
      );
      if (changes.length === 0) return;
      void Promise.resolve()
        .then(() => deps.store.adjust(changes))
        .catch((err: unknown) =>
          deps.log.warn({ requestId: exchange.requestId, err }, "limits: settling a request's usage failed"),
        );
    },
  };
  exchange.settlement = settlement;
  ctx.res.once("close", () => {
    if (exchange.settlement === settlement) settlement.settle(spentOf(exchange, !ctx.res.writableFinished));
  });
}
