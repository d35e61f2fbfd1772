// `npm run demo`: the gateway in front of the bundled engine SIMULATOR (not a model: it answers with
// canned text), so the Azure API can be tried on a laptop with no GPU. Ctrl-C stops both.
//   npm run demo [-- --port 8000]
import { parseArgs } from "node:util";
import { pino } from "pino";
import { loadConfig } from "../src/config.ts";
import { createGatewayServer } from "../src/server.ts";
import { EngineSim } from "../test/sim/engine.ts";

const { values } = parseArgs({ options: { port: { type: "string", default: process.env.PORT ?? "8000" } } });
const sim = await new EngineSim().start();
const config = loadConfig(["--host", "127.0.0.1", "--port", values.port!, "--upstream-host", sim.url, "--log-level", "warn"], {});
const gateway = createGatewayServer(config, pino({ level: "warn" }));
const url = await gateway.listen();

console.log(`
  azure-openai-proxy demo
  upstream:  ${sim.url}   (engine SIMULATOR: canned answers, not a model)

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
    void gateway.drain().then(() => sim.close()).then(() => process.exit(0));
  });
}
