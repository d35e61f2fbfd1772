// The dialects as data: which paths each owns, its error envelope, its provider name in traces, what the
// 404 lists, and how its routes are registered. app.ts, the error writer and the trace read this table;
// adding a dialect is one entry.
import type Router from "@koa/router";
import type { ErrorBody } from "../core/errors.ts";
import type { GatewayDeps } from "../deps.ts";
import { toAzureInferenceErrorBody } from "./azure-inference/error-body.ts";
import { registerAzureInferenceOperations } from "./azure-inference/operations.ts";
import { registerInfo } from "./azure-inference/routes/info.ts";
import { toAzureOpenAIErrorBody } from "./azure-openai/error-body.ts";
import { registerAzureOpenAIRoutes } from "./azure-openai/routes.ts";
import { ENGINE_ROUTES } from "./openai/engine-routes.ts";
import { toOpenAIErrorBody } from "./openai/error-body.ts";
import { registerOpenAIRoutes } from "./openai/routes.ts";

export type DialectName = "azure-inference" | "azure-openai" | "openai";

export interface Dialect {
  name: DialectName;
  /** Whether a path is this dialect's (routed or not: a 404 is written in its envelope too). */
  owns(path: string): boolean;
  errorBody: ErrorBody;
  /** gen_ai.provider.name: the API the client spoke. */
  provider: string;
  /** Its routes, for the 404 that lists what exists. */
  routes: string;
  register(router: Router, deps: GatewayDeps): void;
}

const under = (path: string, base: string) => path === base || path.startsWith(`${base}/`);
const ENGINE_PATHS = new Set(ENGINE_ROUTES);

/** In matching order: the first that owns a path is its dialect. */
export const DIALECTS: readonly Dialect[] = [
  {
    name: "azure-openai",
    owns: (path) => under(path, "/openai"),
    errorBody: toAzureOpenAIErrorBody,
    provider: "azure.ai.openai",
    routes:
      "Azure OpenAI /openai/v1/{chat/completions,completions,embeddings,responses,models,audio/transcriptions} and " +
      "/openai/deployments/{deployment}/{chat/completions,completions,embeddings,responses,audio/transcriptions}",
    register: registerAzureOpenAIRoutes,
  },
  {
    name: "openai",
    owns: (path) => under(path, "/v1") || ENGINE_PATHS.has(path), // the engine's own routes too
    errorBody: toOpenAIErrorBody,
    provider: "openai",
    routes: `the engine's OpenAI API /v1/{chat/completions,completions,embeddings,responses,models} and its own routes ${ENGINE_ROUTES.join(", ")}`,
    register: registerOpenAIRoutes,
  },
  {
    name: "azure-inference",
    owns: () => true,
    errorBody: toAzureInferenceErrorBody,
    provider: "azure.ai.inference",
    routes:
      "Azure AI Inference /chat/completions, /embeddings, /images/embeddings, /info (also under /models and /api/models)",
    register: (router, deps) => {
      registerInfo(router, deps);
      registerAzureInferenceOperations(router, deps);
    },
  },
];

export const dialectOf = (path: string): Dialect => DIALECTS.find((d) => d.owns(path))!;

/** What the 404 of an unknown route lists. */
export const ROUTES_HINT = `Routes: ${DIALECTS.map((d) => d.routes).join("; ")}.`;
