// Limits when the store fails (issue 26): with Redis gone, a limited consumer's request is let through with a
// warning and gateway_limits_unenforced_total (fail_closed: false, the default), or refused with a 503 that
// never reaches the engine (fail_closed: true).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { startGateway } from "../helpers/gateway.ts";
import { redisAvailable, startRedis } from "../helpers/redis.ts";
import { EngineSim } from "../sim/engine.ts";

const KEY = "store-failure-key-0123456789";
/** A key of --api-key: the metrics are an operator's to read, never a consumer's. */
const OPERATOR_KEY = "store-failure-operator-0123456789";

function configFile(sim: EngineSim, failClosed: boolean): string {
  const file = join(mkdtempSync(join(tmpdir(), "aop-limits-failure-")), "gateway.yaml");
  writeFileSync(
    file,
    `fail_closed: ${failClosed}
deployments:
  - name: chat
    url: ${sim.url}
consumers:
  - name: team-a
    keys_env: [TEAM_A_KEY]
    limits: { requests_per_minute: 100, tokens_per_minute: 100000 }
`,
  );
  return file;
}

const chat = (url: string) =>
  fetch(`${url}/openai/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", "api-key": KEY },
    body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "hi" }], max_tokens: 4 }),
  });
const enginePosts = (sim: EngineSim) => sim.requests.filter((r) => r.method === "POST").length;

const test = suite<{ sim: EngineSim }>("limits-store-failure");
test.before(async (ctx) => {
  ctx.sim = await new EngineSim().start();
});
test.after(async (ctx) => {
  await ctx.sim.close();
});

if (redisAvailable()) {
  for (const failClosed of [false, true]) {
    test(`redis_gone_with_fail_closed_${failClosed}`, async ({ sim }) => {
      const redis = await startRedis();
      const logs: Array<Record<string, any>> = [];
      const gw = await startGateway(
        sim.url,
        ["--config", configFile(sim, failClosed), "--store", redis.url, "--api-key", OPERATOR_KEY],
        logs,
        {
          TEAM_A_KEY: KEY,
        },
      );
      try {
        const before = await chat(gw.url);
        assert.is(before.status, 200);
        assert.is(before.headers.get("x-ratelimit-limit-requests"), "100", "limited while the store is up");
        await redis.stop();
        const postsBefore = enginePosts(sim);
        const during = await chat(gw.url);
        const metrics = await (await fetch(`${gw.url}/metrics`, { headers: { "api-key": OPERATOR_KEY } })).text();
        if (failClosed) {
          assert.is(during.status, 503);
          const body = (await during.json()) as { error: { code: string } };
          assert.is(body.error.code, "ServiceUnavailable");
          assert.ok(during.headers.get("retry-after"), "a 503 says when to retry");
          assert.is(enginePosts(sim), postsBefore, "a refused request never reaches the engine");
          assert.match(metrics, /gateway_limits_unenforced_total 0/);
        } else {
          assert.is(during.status, 200);
          assert.is(during.headers.get("x-ratelimit-limit-requests"), null, "no counters to report");
          assert.is(enginePosts(sim), postsBefore + 1);
          assert.match(metrics, /gateway_limits_unenforced_total 1/);
          assert.ok(
            logs.some((l) => l.level === 40 && /limits not enforced/.test(l.msg)),
            "a warning names what happened",
          );
        }
      } finally {
        await gw.close();
        await redis.stop();
      }
    });
  }
}

test.run();
