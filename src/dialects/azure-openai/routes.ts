// The Azure OpenAI routes (azure-openai-surface.md §2, §7, §9): what `OpenAI({ baseURL: <gw>/openai/v1 })`
// and `AzureOpenAI({ endpoint, apiVersion, deployment })` call. Bodies are OpenAI's, served by the
// shared operations; the edges are Azure's: api-version rules, Azure-only fields, deployments, and
// the Azure OpenAI error envelope.
import type Router from "@koa/router";
import type { GatewayDeps } from "../../deps.ts";
import { chatCompletions, completions, embeddings, type OpenAIEdges } from "../openai/operations.ts";
import { listModels, retrieveModel } from "../openai/models.ts";
import { passToEngine } from "../openai/engine-routes.ts";
import { registerFiles, registerOpenAIOperations, registerResponses } from "../openai/routes.ts";
import { checkDatedApiVersion, checkV1ApiVersion } from "./api-version.ts";
import { applyAzureBodyRules } from "./body-rules.ts";
import { toAzureOpenAIErrorBody } from "./error-body.ts";

export const AZURE_OPENAI_BASE = "/openai";
export const AZURE_OPENAI_V1_BASE = "/openai/v1";

const V1_EDGES: OpenAIEdges = {
  apiVersion: checkV1ApiVersion,
  prepare: applyAzureBodyRules,
  notFound: "DeploymentNotFound",
  errorBody: toAzureOpenAIErrorBody,
};
const DATED_EDGES: OpenAIEdges = {
  apiVersion: checkDatedApiVersion,
  prepare: applyAzureBodyRules,
  notFound: "DeploymentNotFound",
  errorBody: toAzureOpenAIErrorBody,
};

export function registerAzureOpenAIRoutes(router: Router, deps: GatewayDeps): void {
  registerOpenAIOperations(router, deps, AZURE_OPENAI_V1_BASE, V1_EDGES);
  // The deployment in the path names the model (AzureOpenAI moves `model` there for these three).
  const deployment = `${AZURE_OPENAI_BASE}/deployments/:deployment`;
  router.post(`${deployment}/chat/completions`, chatCompletions(deps, DATED_EDGES));
  router.post(`${deployment}/completions`, completions(deps, DATED_EDGES));
  router.post(`${deployment}/embeddings`, embeddings(deps, DATED_EDGES));
  registerResponses(router, deps, deployment, DATED_EDGES);
  // Audio, as AzureOpenAI and OpenAI at /openai/v1 send it (multipart; the form's model names the deployment).
  for (const operation of ["transcriptions", "translations"]) {
    router.post(`${deployment}/audio/${operation}`, passToEngine(deps, DATED_EDGES, `/v1/audio/${operation}`, true));
    router.post(
      `${AZURE_OPENAI_V1_BASE}/audio/${operation}`,
      passToEngine(deps, V1_EDGES, `/v1/audio/${operation}`, true),
    );
  }
  // What AzureOpenAI calls outside the deployment-scoped paths.
  router.get(`${AZURE_OPENAI_BASE}/models`, listModels(deps, DATED_EDGES));
  router.get(`${AZURE_OPENAI_BASE}/models/:model`, retrieveModel(deps, DATED_EDGES));
  registerResponses(router, deps, AZURE_OPENAI_BASE, DATED_EDGES);
  registerFiles(router, deps, AZURE_OPENAI_BASE, DATED_EDGES);
}
