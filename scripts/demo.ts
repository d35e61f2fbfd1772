// `npm run demo`: the gateway in front of the bundled engine SIMULATOR (not a model: it answers with
// canned text), so the Azure API can be tried on a laptop with no GPU. Ctrl-C stops both.
//   npm run demo [-- --port 8000]
import { parseArgs } from "node:util";
import { pino } from "pino";
import pretty from "pino-pretty";
import { loadConfig } from "../src/config.ts";
import { createGatewayServer } from "../src/server.ts";
import { EngineSim } from "../test/sim/engine.ts";

const { values } = parseArgs({ options: { port: { type: "string", default: process.env.PORT ?? "8000" } } });
const sim = await new EngineSim().start();
const config = loadConfig(
  ["--host", "127.0.0.1", "--port", values.port!, "--upstream-host", sim.url, "--log-level", "info"],
  {},
);
/** One readable line per request (the JSON line has every field; this is for watching the demo). */
export function demoLine(log: Record<string, unknown>): string {
  if (log.msg !== "request") return String(log.msg);
  const parts = [`${log.method} ${log.path}`, `-> ${log.status}`, `${log.durationMs} ms`];
  if (log.model) parts.push(`model=${log.model}`);
  if (log.stream) parts.push(log.streamCompleted ? "stream completed" : "stream cut");
  if (log.completionTokens !== undefined) parts.push(`tokens=${log.promptTokens}+${log.completionTokens}`);
  if (log.errorCode) parts.push(`error=${log.errorCode}`);
  return parts.join("  ");
}
const gateway = createGatewayServer(
  config,
  pino(
    { level: "info" },
    pretty({
      hideObject: true,
      ignore: "pid,hostname",
      translateTime: "HH:MM:ss",
      messageFormat: (log) => demoLine(log),
    }),
  ),
);
const url = await gateway.listen();

console.log(`
  azure-openai-proxy demo
  gateway:   ${url}
  (its upstream is the engine SIMULATOR at ${sim.url.replace(/^http:\/\//, "")}: canned answers, not a model)

  Base URLs, one per dialect:
    Azure AI Model Inference   ${url}   (also ${url}/models)   Azure AI Inference SDKs
    Azure OpenAI v1            ${url}/openai/v1                 OpenAI({ baseURL }), model = any deployment name
    Azure OpenAI deployments   ${url}                           AzureOpenAI({ endpoint, apiVersion })
    the engine's OpenAI API    ${url}/v1                        OpenAI({ baseURL })

  curl:
    curl -N '${url}/chat/completions?api-version=2025-05-01' -H 'content-type: application/json' \\
      -d '{"messages":[{"role":"user","content":"Hello!"}],"stream":true}'
    curl '${url}/openai/v1/responses' -H 'content-type: application/json' -d '{"model":"my-deployment","input":"Hello!"}'

  Examples (another terminal):
    ENDPOINT=${url} node examples/javascript/streaming.mjs                  # Azure AI Inference SDK
    ENDPOINT=${url} node examples/javascript/azure-openai-v1.mjs            # openai, /openai/v1
    ENDPOINT=${url} node examples/javascript/azure-openai-deployments.mjs   # AzureOpenAI
    ENDPOINT=${url} node examples/javascript/openai-engine.mjs              # openai, /v1

  Ctrl-C stops both.
`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    void gateway
      .drain()
      .then(() => sim.close())
      .then(() => process.exit(0));
  });
}
