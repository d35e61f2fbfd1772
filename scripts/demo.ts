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
  gateway:   ${url}   (Azure AI Model Inference API)
  upstream:  ${sim.url}   (engine SIMULATOR: canned answers, not a model)

  curl:
    curl -N '${url}/chat/completions?api-version=2025-05-01' -H 'content-type: application/json' \\
      -d '{"messages":[{"role":"user","content":"Hello!"}],"stream":true}'

  Azure JS SDK (@azure-rest/ai-inference):
    ENDPOINT=${url} node examples/javascript/streaming.mjs

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
