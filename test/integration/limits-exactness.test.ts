// Limits are exact across processes (issue 26): a consumer allowed N requests a minute gets exactly N through,
// and the engine sees exactly N, when many more arrive at once spread over the workers of one gateway
// (--workers 2, sqlite) or over two gateway processes sharing one Redis.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Agent, request } from "undici";
import { type GatewayProcess, startGatewayProcess, startGatewayProcesses } from "../helpers/gateway-process.ts";
import { redisAvailable, startRedis, type RunningRedis } from "../helpers/redis.ts";
import { EngineSim } from "../sim/engine.ts";
import { freshMinute } from "../helpers/clock.ts";

const N = 20;
const SENT = 60;
const KEY = "exact-key-0123456789";

function configFile(sim: EngineSim): string {
  const file = join(mkdtempSync(join(tmpdir(), "aop-exact-")), "gateway.yaml");
  writeFileSync(
    file,
    `deployments:
  - name: chat
    url: ${sim.url}
consumers:
  - name: batch
    keys_env: [EXACT_KEY]
    limits: { requests_per_minute: ${N} }
`,
  );
  return file;
}

/** SENT requests at once, spread over `urls`, each on its own connection (so a cluster spreads them too). */
async function burst(urls: string[]): Promise<number[]> {
  const agents = Array.from({ length: SENT }, () => new Agent({ connections: 1 }));
  try {
    return await Promise.all(
      agents.map(async (dispatcher, i) => {
        const res = await request(`${urls[i % urls.length]}/openai/v1/chat/completions`, {
          method: "POST",
          dispatcher,
          headers: { "api-key": KEY, "content-type": "application/json" },
          body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "hi" }], max_tokens: 2 }),
        });
        await res.body.dump();
        return res.statusCode;
      }),
    );
  } finally {
    await Promise.all(agents.map((a) => a.close()));
  }
}

const count = (statuses: number[], status: number) => statuses.filter((s) => s === status).length;
const enginePosts = (sim: EngineSim) => sim.requests.filter((r) => r.method === "POST").length;

const test = suite<{ sim: EngineSim; gateways: GatewayProcess[]; redis?: RunningRedis }>("limits-exactness");
test.before(async (ctx) => {
  ctx.sim = await new EngineSim().start();
  ctx.gateways = [];
});
test.after.each(async (ctx) => {
  await Promise.all(ctx.gateways.map((g) => g.stop()));
  ctx.gateways = [];
  await ctx.redis?.stop();
  ctx.redis = undefined;
});
test.after(async (ctx) => {
  await ctx.sim.close();
});

test("workers_of_one_gateway_on_sqlite_admit_exactly_n", async (ctx) => {
  ctx.sim.reset();
  const store = `sqlite:${join(mkdtempSync(join(tmpdir(), "aop-exact-db-")), "state.db")}`;
  const gateway = await startGatewayProcess(
    ctx.sim.port,
    ["--config", configFile(ctx.sim), "--workers", "2", "--store", store],
    { EXACT_KEY: KEY },
  );
  ctx.gateways.push(gateway);
  await freshMinute(15_000);
  const statuses = await burst([gateway.url]);
  assert.is(count(statuses, 200), N, `200s: ${count(statuses, 200)}`);
  assert.is(count(statuses, 429), SENT - N);
  assert.is(enginePosts(ctx.sim), N, "the engine saw exactly N");
});

if (redisAvailable()) {
  test("two_gateways_on_one_redis_admit_exactly_n", async (ctx) => {
    ctx.sim.reset();
    ctx.redis = await startRedis();
    const args = ["--config", configFile(ctx.sim), "--store", ctx.redis.url];
    ctx.gateways.push(...(await startGatewayProcesses(2, ctx.sim.port, args, { EXACT_KEY: KEY })));
    await freshMinute(15_000);
    const statuses = await burst(ctx.gateways.map((g) => g.url));
    assert.is(count(statuses, 200), N, `200s: ${count(statuses, 200)}`);
    assert.is(count(statuses, 429), SENT - N);
    assert.is(enginePosts(ctx.sim), N, "the engine saw exactly N");
  });
}

test.run();
