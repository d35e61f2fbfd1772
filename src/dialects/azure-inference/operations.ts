// The Azure AI Model Inference operations as specs for the one handler (core/pipeline/operation.ts), over
// the hand-written mappers: the body checked in Azure's order (api-version, extra-parameters, the
// contract of that api-version), mapped to the engine's OpenAI body, and the engine's answer or stream
// mapped back to Azure's shapes.
import { chatFacts } from "../../core/routing/prompt.ts";
import { usageOf } from "../../core/pipeline/usage.ts";
import type Router from "@koa/router";
import type { Context } from "koa";
import type { GatewayDeps } from "../../deps.ts";
import { GatewayError } from "../../core/errors.ts";
import { apiVersionParam } from "../../core/http/query.ts";
import { type Accepted, operationHandler, type OperationSpec } from "../../core/pipeline/operation.ts";
import { createAzureChatStreamAdapter } from "./chat-stream.ts";
import { toOpenAIChatRequest } from "./mappers/chat-request.ts";
import { toAzureChatCompletions } from "./mappers/chat-response.ts";
import { createChatUpdateMapper } from "./mappers/chat-update.ts";
import {
  toAzureEmbeddingsResult,
  toOpenAIEmbeddingsRequest,
  toVllmImageEmbeddingsRequests,
} from "./mappers/embeddings.ts";
import type {
  AzureChatCompletionsOptions,
  AzureEmbeddingsOptions,
  AzureImageEmbeddingsOptions,
  OpenAIEmbeddingsRequest,
} from "./mappers/types.ts";
import { createOperationContracts, type OperationContracts } from "./validate/operations.ts";
import { checkAzureRequest } from "./validate/request.ts";

interface AzureAccepted<B> extends Accepted {
  body: B;
  extras: Record<string, unknown>;
}

/** Azure's checks, in Azure's order; the body's `model`, else `azureml-model-deployment`, names the model. */
function acceptAzure<B extends Record<string, unknown> & { model?: string; stream?: boolean | null }>(
  contracts: OperationContracts,
): (ctx: Context) => AzureAccepted<B> {
  return (ctx) => {
    const input = {
      apiVersion: apiVersionParam(ctx.querystring),
      extraParameters: ctx.headers["extra-parameters"],
      body: ctx.request.body,
    };
    const { apiVersion, body, extras } = checkAzureRequest<B>(input, contracts);
    const names = { body: body.model || undefined, header: ctx.get("azureml-model-deployment") || undefined };
    // The body's flag decides, not Accept (the JS client sends application/json).
    return { apiVersion, names, stream: body.stream === true, body, extras };
  };
}

/** The model a mapped body carries: the engine's, or a placeholder for an engine that lists none. */
const mappedModel = (model: string | undefined) => model ?? "default";

const chatCompletions = (): OperationSpec<AzureAccepted<AzureChatCompletionsOptions>> => ({
  operation: "chat",
  engine: { path: "/chat/completions", optional: false },
  accept: acceptAzure(createOperationContracts("ChatCompletionsOptions")),
  async answer(call, { body, extras }, model) {
    const request = toOpenAIChatRequest(body, { model: mappedModel(model), extras });
    const now = Math.floor(Date.now() / 1000);
    const data = await call(
      (client, init) => client.postJson("/chat/completions", { ...init, body: request }),
      () => chatFacts(request),
    );
    const result = toAzureChatCompletions(data, { model: mappedModel(model), now });
    return { body: result, usage: usageOf(result.usage) };
  },
  async stream(call, { body, extras }, model) {
    const request = toOpenAIChatRequest(body, { model: mappedModel(model), extras });
    const now = Math.floor(Date.now() / 1000);
    const events = await call(
      (client, init) => client.postStream("/chat/completions", { ...init, body: request }),
      () => chatFacts(request),
    );
    return {
      events,
      adapter: createAzureChatStreamAdapter(createChatUpdateMapper({ model: mappedModel(model), now })),
    };
  },
});

const embeddings = (): OperationSpec<AzureAccepted<AzureEmbeddingsOptions>> => ({
  operation: "embeddings",
  engine: { path: "/embeddings", optional: false },
  accept: acceptAzure(createOperationContracts("EmbeddingsOptions")),
  async answer(call, { body, extras }, model, exchange) {
    const request = toOpenAIEmbeddingsRequest(body, { model: mappedModel(model), extras });
    const data = await call((client, init) => client.postJson("/embeddings", { ...init, body: request }));
    const result = toAzureEmbeddingsResult([data], {
      model: mappedModel(model),
      encoding: body.encoding_format,
      requestId: exchange.requestId,
    });
    return { body: result, usage: usageOf(result.usage) };
  },
});

/** vLLM's multimodal embeddings (chat-style `messages` on /v1/embeddings), one engine call per image. OpenAI
 * has no image embeddings: an engine that rejects the form gets a clear Azure error naming the cause. */
const imageEmbeddings = (): OperationSpec<AzureAccepted<AzureImageEmbeddingsOptions>> => ({
  operation: "image-embeddings",
  engine: { path: "/embeddings", optional: false },
  accept: acceptAzure(createOperationContracts("ImageEmbeddingsOptions")),
  async answer(call, { body, extras }, model, exchange) {
    const requests = toVllmImageEmbeddingsRequests(body, { model: mappedModel(model), extras });
    const answers = await Promise.all(
      // The chat-style form is a vLLM extension the OpenAI schema does not declare.
      requests.map((request) =>
        call((client, init) =>
          client.postJson("/embeddings", { ...init, body: request as unknown as OpenAIEmbeddingsRequest }),
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
    const result = toAzureEmbeddingsResult(answers, {
      model: mappedModel(model),
      encoding: body.encoding_format,
      requestId: exchange.requestId,
    });
    return { body: result, usage: usageOf(result.usage) };
  },
});

export function registerAzureInferenceOperations(router: Router, deps: GatewayDeps): void {
  router.post(deps.paths("/chat/completions"), operationHandler(chatCompletions(), deps, "ModelNotFound"));
  router.post(deps.paths("/embeddings"), operationHandler(embeddings(), deps, "ModelNotFound"));
  router.post(deps.paths("/images/embeddings"), operationHandler(imageEmbeddings(), deps, "ModelNotFound"));
}
