// The Open Responses compliance suite's six scenarios (test/helpers/open-responses.ts) against llama-server,
// both ways the gateway serves the API: the engine's own /v1/responses and the bridge over its chat
// completions. Where llama.cpp itself cannot do what a scenario asks, the test says so and checks that the
// gateway passes the engine's own words on, never that the gateway's output is at fault:
// - image input: the e2e model has no multimodal projector (llama.cpp answers "image input is not supported");
// - tool calling: the random-weight model decides whether it calls the tool; the Response is complete either way.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { startGateway, type RunningGateway } from "../helpers/gateway.ts";
import { runScenario, SCENARIOS } from "../helpers/open-responses.ts";

const CHAT_URL = process.env.E2E_CHAT_URL!;

for (const way of ["native", "chat"] as const) {
  const test = suite<{ gw: RunningGateway }>(`e2e-responses-compliance:${way}`);
  test.before(async (ctx) => {
    const file = join(mkdtempSync(join(tmpdir(), "aop-e2e-")), "deployments.yaml");
    writeFileSync(file, `deployments:\n  - name: chat\n    url: ${CHAT_URL}\n    responses_api: ${way}\n`);
    ctx.gw = await startGateway(CHAT_URL, ["--config", file, "--idle-timeout", "30s"]);
  });
  test.after(async (ctx) => ctx.gw.close());

  for (const scenario of SCENARIOS)
    test(scenario.name, async ({ gw }) => {
      const outcome = await runScenario(
        `${gw.url}/openai/v1/responses`,
        { model: "chat", max_output_tokens: 16, temperature: 0 },
        scenario,
      );
      if (scenario.name === "image-input" && outcome.status !== 200) {
        console.log(`  ${way} image-input: llama.cpp without a projector: ${outcome.error?.error?.message}`);
        assert.match(outcome.error.error.message, /image input is not supported/, "the engine's own words");
        return;
      }
      assert.is(outcome.status, 200, JSON.stringify(outcome.error));
      if (scenario.name === "tool-calling") {
        const called = outcome.response.output.some((item: { type: string }) => item.type === "function_call");
        console.log(`  ${way} tool-calling: the model ${called ? "called the tool" : "answered in text"}`);
        assert.is(outcome.response.tools[0].name, "get_weather");
        if (called) scenario.expect!(outcome.response);
        return;
      }
      scenario.expect?.(outcome.response);
    });

  test.run();
}
