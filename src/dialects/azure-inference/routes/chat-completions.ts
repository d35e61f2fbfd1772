// POST /chat/completions -> POST /v1/chat/completions: validate -> map -> upstream -> map or stream.
import type Router from "@koa/router";
import type { GatewayDeps } from "../../../deps.ts";
import { azureInput, azureTarget } from "../input.ts";
import { upstreamHeaders } from "../../../core/http/headers.ts";
import { toOpenAIChatRequest } from "../mappers/chat-request.ts";
import { toAzureChatCompletions } from "../mappers/chat-response.ts";
import { createChatUpdateMapper } from "../mappers/chat-update.ts";
import type { AzureChatCompletionsOptions } from "../mappers/types.ts";
import { createAzureChatStreamAdapter } from "../chat-stream.ts";
import { createStreamOutcome, writeSseStream } from "../../../core/stream/sse-writer.ts";
import { callUpstream } from "../../../core/upstream/call.ts";
import { createRequestSignal } from "../../../core/upstream/request-signal.ts";
import { asFetchSignal } from "../../../core/upstream/transport.ts";
import { createOperationContracts } from "../validate/operations.ts";
import { checkAzureRequest } from "../validate/request.ts";

export function registerChatCompletions(router: Router, deps: GatewayDeps): void {
  const { paths, log, metrics } = deps;
  const contracts = createOperationContracts("ChatCompletionsOptions");
  router.post(paths("/chat/completions"), async (ctx) => {
    const { apiVersion, body, extras } = checkAzureRequest<AzureChatCompletionsOptions>(azureInput(ctx), contracts);
    const { deployment, model } = await azureTarget(ctx, deps, body, "chat");
    const { upstream, config } = deployment;
    const route = deployment.route("POST", "/chat/completions");
    const request = toOpenAIChatRequest(body, { model, extras });
    const stream = body.stream === true; // the body flag decides, not Accept (the JS client sends application/json)
    ctx.state.model = model;
    ctx.state.apiVersion = apiVersion;
    ctx.state.stream = stream;

    const { signal, dispose } = createRequestSignal(ctx.res, config.totalTimeoutMs);

    ctx.state.upstreamSignal = signal; // the log line reads which replica it reached
    const init = { body: request, headers: upstreamHeaders(ctx, upstream.baseHeaders), signal: asFetchSignal(signal) };
    const started = performance.now();
    const now = Math.floor(Date.now() / 1000);
    try {
      if (!stream) {
        const { data } = await callUpstream(signal, () => upstream.client.POST("/chat/completions", init), route);
        ctx.state.upstreamMs = performance.now() - started;
        const result = toAzureChatCompletions(data, { model, now });
        ctx.state.usage = result.usage;
        ctx.body = result;
        return;
      }
      const { data } = await callUpstream(
        signal,
        () => upstream.client.POST("/chat/completions", { ...init, parseAs: "stream" }),
        route,
      );
      ctx.state.upstreamMs = performance.now() - started;
      ctx.status = 200;
      ctx.respond = false; // the stream writes to the socket itself, event by event
      metrics.streamsInFlight.inc();
      const outcome = createStreamOutcome();
      ctx.state.streamOutcome = outcome; // read by the log/metrics/trace hooks when the response closes
      await writeSseStream(
        data,
        ctx.res,
        createAzureChatStreamAdapter(createChatUpdateMapper({ model, now })),
        signal,
        outcome,
      ).finally(() => metrics.streamsInFlight.dec());
      if (outcome.error) {
        log.warn(
          {
            requestId: ctx.state.requestId,
            code: outcome.error.code,
            err: outcome.error.cause ?? outcome.error.message,
            updates: outcome.updates,
          },
          "stream ended by an upstream failure",
        );
      } else if (outcome.clientAborted) {
        log.info(
          { requestId: ctx.state.requestId, updates: outcome.updates },
          "client closed the stream; upstream aborted",
        );
      }
    } finally {
      dispose();
    }
  });
}
