// Responses over WebSocket and compaction against llama-server (issue 38), both ways the gateway serves the
// API (the engine's /v1/responses and the bridge over its chat completions): the `openai` SDK's ResponsesWS
// runs a multi-turn session with store: false; responses.compact summarises a conversation with the real
// model and the sealed item continues it. The figures (turn latency, compaction's added time) are printed.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { ResponsesWS } from "openai/resources/responses/ws";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { startGateway, type RunningGateway } from "../helpers/gateway.ts";

const CHAT_URL = process.env.E2E_CHAT_URL!;

for (const way of ["native", "chat"] as const) {
  const test = suite<{ gw: RunningGateway }>(`e2e-responses-websocket:${way}`);
  test.before(async (ctx) => {
    const file = join(mkdtempSync(join(tmpdir(), "aop-e2e-")), "deployments.yaml");
    writeFileSync(file, `deployments:\n  - name: chat\n    url: ${CHAT_URL}\n    responses_api: ${way}\n`);
    ctx.gw = await startGateway(CHAT_URL, ["--config", file, "--idle-timeout", "60s"]);
  });
  test.after(async (ctx) => ctx.gw.close());

  test("a_store_false_session_over_the_sdks_websocket_client", async ({ gw }) => {
    const client = new OpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey: "unused", maxRetries: 0 });
    const rws = new ResponsesWS(client);
    const completed: any[] = [];
    const errors: unknown[] = [];
    // A 16-token budget ends most answers `incomplete` on the bridge (finish_reason: length): a turn either way.
    rws.on("response.completed", (event: any) => completed.push(event.response));
    rws.on("response.incomplete", (event: any) => completed.push(event.response));
    rws.on("error", (err: unknown) => errors.push(err));
    const turn = async (input: string, previous?: string) => {
      const before = completed.length;
      const started = performance.now();
      rws.send({
        type: "response.create",
        model: "chat",
        input,
        store: false,
        max_output_tokens: 16,
        temperature: 0,
        ...(previous ? { previous_response_id: previous } : {}),
      } as never);
      const deadline = Date.now() + 60_000;
      while (completed.length === before && errors.length === 0 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 5));
      assert.equal(errors, []);
      return { response: completed.at(-1), ms: performance.now() - started };
    };
    try {
      const times: number[] = [];
      let previous: string | undefined;
      for (const input of ["Hello.", "Tell me more.", "And then?"]) {
        const { response, ms } = await turn(input, previous);
        assert.ok(["completed", "incomplete"].includes(response.status), response.status);
        assert.is(response.store, false);
        previous = response.id;
        times.push(ms);
      }
      console.log(
        `  ${way}: three store: false turns over one socket, ${times.map((t) => `${t.toFixed(0)} ms`).join(", ")}`,
      );
    } finally {
      rws.close();
    }
  });

  test("compaction_with_the_real_model_and_a_turn_after_it", async ({ gw }) => {
    const client = new OpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey: "unused", maxRetries: 0 });
    const conversation = [
      { role: "user", content: "My name is Ada and I like tea." },
      { role: "assistant", content: "Nice to meet you, Ada." },
      { role: "user", content: "What do I like?" },
      { role: "assistant", content: "You like tea." },
    ];
    const started = performance.now();
    const compacted = await client.responses.compact({ model: "chat", input: conversation as never });
    const compactMs = performance.now() - started;
    assert.equal(
      compacted.output.map((item: any) => item.type),
      ["message", "message", "compaction"],
    );
    assert.ok(compacted.usage.input_tokens > 0, "the engine's own usage");
    const next = await client.responses.create({
      model: "chat",
      input: [...compacted.output, { role: "user", content: "Say my name." }] as never,
      max_output_tokens: 16,
      temperature: 0,
    });
    assert.ok(["completed", "incomplete"].includes(String(next.status)), next.status);
    console.log(
      `  ${way}: compaction pass ${compactMs.toFixed(0)} ms, ${compacted.usage.input_tokens} tokens in, ${compacted.usage.output_tokens} out`,
    );
  });

  test.run();
}
