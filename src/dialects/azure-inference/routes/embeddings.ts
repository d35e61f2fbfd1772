// POST /embeddings -> POST /v1/embeddings: validate -> map -> upstream -> encode and map back.
import type Router from "@koa/router";
import type { GatewayDeps } from "../../../deps.ts";
import { azureInput, azureTarget } from "../input.ts";
import { upstreamHeaders } from "../../../core/http/headers.ts";
import { toAzureEmbeddingsResult, toOpenAIEmbeddingsRequest } from "../mappers/embeddings.ts";
import type { AzureEmbeddingsOptions } from "../mappers/types.ts";
import { callUpstream } from "../../../core/upstream/call.ts";
import { createRequestSignal } from "../../../core/upstream/request-signal.ts";
import { asFetchSignal } from "../../../core/upstream/transport.ts";
import { createOperationContracts } from "../validate/operations.ts";
import { checkAzureRequest } from "../validate/request.ts";

export function registerEmbeddings(router: Router, deps: GatewayDeps): void {
  const contracts = createOperationContracts("EmbeddingsOptions");
  router.post(deps.paths("/embeddings"), async (ctx) => {
    const { apiVersion, body, extras } = checkAzureRequest<AzureEmbeddingsOptions>(azureInput(ctx), contracts);
    const { deployment, model } = await azureTarget(ctx, deps, body, "embeddings");
    const { upstream, config } = deployment;
    const route = deployment.route("POST", "/embeddings");
    const request = toOpenAIEmbeddingsRequest(body, { model, extras });
    ctx.state.model = model;
    ctx.state.apiVersion = apiVersion;
    const { signal, dispose } = createRequestSignal(ctx.res, config.totalTimeoutMs);
    ctx.state.upstreamSignal = signal; // the log line reads which replica it reached
    try {
      const started = performance.now();
      const { data } = await callUpstream(
        signal,
        () =>
          upstream.client.POST("/embeddings", {
            body: request,
            headers: upstreamHeaders(ctx, upstream.baseHeaders),
            signal: asFetchSignal(signal),
          }),
        route,
      );
      ctx.state.upstreamMs = performance.now() - started;
      const result = toAzureEmbeddingsResult([data], {
        model,
        encoding: body.encoding_format,
        requestId: ctx.state.requestId as string,
      });
      ctx.state.usage = result.usage;
      ctx.body = result;
    } finally {
      dispose();
    }
  });
}
