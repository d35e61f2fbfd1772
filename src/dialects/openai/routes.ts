// The engine's own OpenAI API under /v1, so that putting the gateway on the container's port loses
// nothing the engine offered; and the shared table of OpenAI operations under a base path, which the
// Azure OpenAI v1 routes mount too.
import type Router from "@koa/router";
import type { GatewayDeps } from "../../deps.ts";
import { COHERE_RERANK_ROUTES, cohereRerank, ENGINE_ROUTES, passToEngine } from "./engine-routes.ts";
import { toOpenAIErrorBody } from "./error-body.ts";
import { chatCompletions, completions, countInputTokens, embeddings, type OpenAIEdges } from "./operations.ts";
import { conversations } from "./conversations.ts";
import { compactResponse } from "./compaction.ts";
import { createResponse } from "./create-response.ts";
import { files, multipartUpload } from "./files.ts";
import { listModels, retrieveModel } from "./models.ts";
import { responseById } from "./stored-responses.ts";

export const OPENAI_BASE = "/v1";

/** Every OpenAI operation the gateway serves, under `base`. */
export function registerOpenAIOperations(router: Router, deps: GatewayDeps, base: string, edges: OpenAIEdges): void {
  router.post(`${base}/chat/completions`, chatCompletions(deps, edges));
  router.post(`${base}/completions`, completions(deps, edges));
  router.post(`${base}/embeddings`, embeddings(deps, edges));
  router.get(`${base}/models`, listModels(deps, edges));
  router.get(`${base}/models/:model`, retrieveModel(deps, edges));
  registerResponses(router, deps, base, edges);
  registerConversations(router, deps, base, edges);
  registerFiles(router, deps, base, edges);
}

/** The Files API, kept by the gateway (files.ts). */
export function registerFiles(router: Router, deps: GatewayDeps, base: string, edges: OpenAIEdges): void {
  router.post(`${base}/files`, multipartUpload(deps), files(deps, edges, "upload"));
  router.get(`${base}/files`, files(deps, edges, "list"));
  router.get(`${base}/files/:id`, files(deps, edges, "get"));
  router.delete(`${base}/files/:id`, files(deps, edges, "delete"));
  router.get(`${base}/files/:id/content`, files(deps, edges, "content"));
}

/** The Conversations API, kept by the gateway (conversations.ts). */
function registerConversations(router: Router, deps: GatewayDeps, base: string, edges: OpenAIEdges): void {
  const one = `${base}/conversations/:id`;
  router.post(`${base}/conversations`, conversations(deps, edges, "create"));
  router.get(one, conversations(deps, edges, "get"));
  router.post(one, conversations(deps, edges, "update"));
  router.delete(one, conversations(deps, edges, "delete"));
  router.get(`${one}/items`, conversations(deps, edges, "list_items"));
  router.post(`${one}/items`, conversations(deps, edges, "add_items"));
  router.get(`${one}/items/:itemId`, conversations(deps, edges, "get_item"));
  router.delete(`${one}/items/:itemId`, conversations(deps, edges, "delete_item"));
}

/** The Responses API: create, count, compact, and the stored-response operations. Under
 * /openai/deployments/{deployment} the path names the deployment (LangChain's AzureChatOpenAI and the AI
 * SDK's deployment-based URLs call it there). */
export function registerResponses(router: Router, deps: GatewayDeps, base: string, edges: OpenAIEdges): void {
  router.post(`${base}/responses`, createResponse(deps, edges));
  router.post(`${base}/responses/input_tokens`, countInputTokens(deps, edges));
  router.post(`${base}/responses/compact`, compactResponse(deps, edges));
  router.get(`${base}/responses/:id`, responseById(deps, edges, "get"));
  router.delete(`${base}/responses/:id`, responseById(deps, edges, "delete"));
  router.get(`${base}/responses/:id/input_items`, responseById(deps, edges, "input_items"));
  router.post(`${base}/responses/:id/cancel`, responseById(deps, edges, "cancel"));
}

/** No api-version (the engine's API has none; a given one is ignored), OpenAI's error envelope. */
const OPENAI_EDGES: OpenAIEdges = {
  apiVersion: () => undefined,
  notFound: "ModelNotFound",
  errorBody: toOpenAIErrorBody,
};

export function registerOpenAIRoutes(router: Router, deps: GatewayDeps): void {
  registerOpenAIOperations(router, deps, OPENAI_BASE, OPENAI_EDGES);
  for (const path of ENGINE_ROUTES)
    router.post(
      path,
      COHERE_RERANK_ROUTES.has(path) ? cohereRerank(deps, OPENAI_EDGES, path) : passToEngine(deps, OPENAI_EDGES, path),
    );
}
