// POST /images/embeddings -> vLLM's multimodal embeddings (chat-style `messages` on /v1/embeddings),
// one upstream call per image. OpenAI has no image embeddings: an engine that rejects the form gets a
// clear Azure error naming the cause, never a 500.
import type Router from "@koa/router";
import type { GatewayDeps } from "../../../deps.ts";
import { GatewayError } from "../../../core/errors.ts";
import { azureInput, azureTarget } from "../input.ts";
import { upstreamHeaders } from "../../../core/http/headers.ts";
import { toAzureEmbeddingsResult, toVllmImageEmbeddingsRequests } from "../mappers/embeddings.ts";
import type { AzureImageEmbeddingsOptions, OpenAIEmbeddingsRequest } from "../mappers/types.ts";
import { callUpstream } from "../../../core/upstream/call.ts";
import { createRequestSignal } from "../../../core/upstream/request-signal.ts";
import { asFetchSignal } from "../../../core/upstream/transport.ts";
import { createOperationContracts } from "../validate/operations.ts";
import { checkAzureRequest } from "../validate/request.ts";

export function registerImageEmbeddings(router: Router, deps: GatewayDeps): void {
  const contracts = createOperationContracts("ImageEmbeddingsOptions");
  router.post(deps.paths("/images/embeddings"), async (ctx) => {
    const { apiVersion, body, extras } = checkAzureRequest<AzureImageEmbeddingsOptions>(azureInput(ctx), contracts);
    const { deployment, model } = await azureTarget(ctx, deps, body, "image-embeddings");
    const { upstream, config } = deployment;
    const requests = toVllmImageEmbeddingsRequests(body, { model, extras });
    ctx.state.model = model;
    ctx.state.apiVersion = apiVersion;
    const { signal, dispose } = createRequestSignal(ctx.res, config.totalTimeoutMs);
    ctx.state.upstreamSignal = signal; // the log line reads which replica it reached
    try {
      const headers = upstreamHeaders(ctx, upstream.baseHeaders);
      const started = performance.now();
      const answers = await Promise.all(
        requests.map((request) =>
          callUpstream(signal, () =>
            // The chat-style form is a vLLM extension the OpenAI schema does not declare.
            upstream.client.POST("/embeddings", {
              body: request as unknown as OpenAIEmbeddingsRequest,
              headers,
              signal: asFetchSignal(signal),
            }),
          ),
        ),
      ).catch((err: unknown) => {
        if (err instanceof GatewayError && err.status >= 400 && err.status < 500 && err.status !== 429) {
          throw new GatewayError(
            err.code,
            `The engine did not accept image embeddings (it may not serve a multimodal embedding model): ${err.message}`,
            { status: err.status === 404 ? 404 : 422 },
          );
        }
        throw err;
      });
      ctx.state.upstreamMs = performance.now() - started;
      const result = toAzureEmbeddingsResult(
        answers.map((a) => a.data),
        { model, encoding: body.encoding_format, requestId: ctx.state.requestId as string },
      );
      ctx.state.usage = result.usage;
      ctx.body = result;
    } finally {
      dispose();
    }
  });
}
