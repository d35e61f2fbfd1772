// The three ways Azure users write the `openai` package today, as client factories the integration
// and end-to-end suites share: AzureOpenAI (deployment in the body, and in the constructor), OpenAI at
// <gw>/openai/v1 with a deployment name as model, and OpenAI at <gw>/v1 (the engine's own API).
import OpenAI, { AzureOpenAI } from "openai";

export interface ClientSetUp {
  name: string;
  client(url: string, key: string): OpenAI;
  /** The model the calls name: a deployment name for the Azure set-ups, the served id for /v1. */
  model(servedId: string): string;
  /** The gateway path each kind of call is expected on. */
  paths: { chat: string; completions: string; embeddings: string; responses: string; models: string };
}

const deploymentPaths = {
  chat: "/openai/deployments/my-deployment/chat/completions",
  completions: "/openai/deployments/my-deployment/completions",
  embeddings: "/openai/deployments/my-deployment/embeddings",
  responses: "/openai/responses",
  models: "/openai/models",
};
const under = (base: string) => ({
  chat: `${base}/chat/completions`,
  completions: `${base}/completions`,
  embeddings: `${base}/embeddings`,
  responses: `${base}/responses`,
  models: `${base}/models`,
});

export const CLIENT_SETUPS: ClientSetUp[] = [
  {
    name: "azure_openai_deployment_in_body",
    client: (url, key) => new AzureOpenAI({ endpoint: url, apiKey: key, apiVersion: "2024-10-21", maxRetries: 0 }),
    model: () => "my-deployment",
    paths: deploymentPaths,
  },
  {
    name: "azure_openai_deployment_in_constructor",
    client: (url, key) =>
      new AzureOpenAI({
        endpoint: url,
        apiKey: key,
        apiVersion: "2025-04-01-preview",
        deployment: "my-deployment",
        maxRetries: 0,
      }),
    model: () => "my-deployment",
    paths: deploymentPaths,
  },
  {
    name: "openai_v1_azure",
    client: (url, key) => new OpenAI({ baseURL: `${url}/openai/v1`, apiKey: key, maxRetries: 0 }),
    model: () => "my-deployment",
    paths: under("/openai/v1"),
  },
  {
    name: "openai_engine_v1",
    client: (url, key) => new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 }),
    model: (served) => served,
    paths: under("/v1"),
  },
];
