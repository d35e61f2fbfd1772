// The status page in a real browser (headless Chromium): it draws GET /status under its own
// Content-Security-Policy (a blocked script would leave it empty), shows each deployment, replica, consumer
// and error, and on the API port of a guarded gateway asks for an operator key instead. A screenshot is kept
// in test-results/ (UPDATE_DOCS_IMAGES=1 also writes docs/images/status-page.png).
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { copyFileSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findChromium, headless } from "../helpers/chromium.ts";
import { freePort, logged, startGateway, type RunningGateway } from "../helpers/gateway.ts";
import { TestClock } from "../helpers/clock.ts";
import { EngineSim } from "../sim/engine.ts";

interface Ctx {
  sims: EngineSim[];
  gw: RunningGateway;
  logs: Array<Record<string, any>>;
  metricsPort: number;
}
const test = suite<Ctx>("status-page");
const chromium = findChromium();
const ROOT = join(import.meta.dirname, "../..");
const KEYS = { TEAM_A_KEY: "team-a-key-0123456789", TEAM_B_KEY: "team-b-key-0123456789" };

test.before(async (ctx) => {
  if (!chromium) return;
  ctx.sims = await Promise.all([0, 1, 2].map(() => new EngineSim().start()));
  const [a, b, embed] = ctx.sims as [EngineSim, EngineSim, EngineSim];
  const file = join(mkdtempSync(join(tmpdir(), "status-page-")), "deployments.yaml");
  writeFileSync(
    file,
    `deployments:
  - name: chat
    urls: [${a.url}, ${b.url}]
    max_concurrent: 32
  - name: embed
    url: ${embed.url}
    operations: [embeddings]
consumers:
  - name: team-a
    keys_env: [TEAM_A_KEY]
    limits: { requests_per_minute: 10, tokens_per_day: 2000 }
  - name: team-b
    keys_env: [TEAM_B_KEY]
    deployments: [embed]
`,
  );
  ctx.logs = [];
  ctx.metricsPort = await freePort();
  ctx.gw = await startGateway(
    "http://127.0.0.1:9",
    ["--config", file, "--api-key", "operator-key-0123456789", "--metrics-port", String(ctx.metricsPort)],
    ctx.logs,
    KEYS,
    // The limits' windows on a test clock: a minute's counter is read in the minute it was charged.
    new TestClock().now,
  );
  await logged(ctx.logs, (l) => l.msg === "replica in", 2);
  const call = (key: string, path: string, body: object) =>
    fetch(`${ctx.gw.url}/openai/v1/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", "api-key": key },
      body: JSON.stringify(body),
    }).then((r) => r.status);
  const hi = { messages: [{ role: "user", content: "hi" }] };
  for (let i = 0; i < 4; i++) assert.is(await call(KEYS.TEAM_A_KEY, "chat/completions", { model: "chat", ...hi }), 200);
  assert.is(await call(KEYS.TEAM_B_KEY, "embeddings", { model: "embed", input: "x" }), 200);
  assert.is(await call(KEYS.TEAM_B_KEY, "chat/completions", { model: "chat", ...hi }), 404);
  await b.close(); // one replica away
  await logged(ctx.logs, (l) => l.msg === "replica out");
  await Promise.all(ctx.gw.gateway.deps.deployments.all.map((d) => d.engineLoads?.readNow()));
});
test.after(async (ctx) => {
  if (!chromium) return;
  await ctx.gw.close();
  await Promise.all(ctx.sims.map((s) => s.close()));
});

const cell = (dom: string, attr: string) => new RegExp(`<tr[^>]*${attr}[^>]*>(.*?)</tr>`).exec(dom)?.[1] ?? "";
const text = (html: string) =>
  html
    .replace(/<[^>]+>/g, " ")
    .replace(/\s+/g, " ")
    .trim();

test("the_page_draws_the_fleet_from_the_private_port", async ({ metricsPort, sims }) => {
  if (!chromium) return;
  const dom = await headless(chromium, `http://127.0.0.1:${metricsPort}/status/page`);
  assert.match(dom, /<body data-loaded="true">/, "the page's script ran under its policy and drew /status");
  assert.match(text(cell(dom, 'data-deployment="chat"')), /^chat ready chat, .* 0 \/ 32 prefix/);
  const [a, b] = sims as [EngineSim, EngineSim];
  assert.match(text(cell(dom, `data-replica="127.0.0.1:${a.port}"`)), /ready seen \d+ s ago 0 vllm: 2 waiting/);
  assert.match(text(cell(dom, `data-replica="127.0.0.1:${b.port}"`)), /unavailable seen \d+ s ago .*refused/i);
  assert.match(
    text(cell(dom, 'data-consumer="team-a"')),
    /requests per minute: 4 \/ 10 tokens per day: \d+ \/ 2000 all/,
  );
  assert.match(text(cell(dom, 'data-consumer="team-b"')), /no limits embed$/);
  assert.match(text(cell(dom, 'data-code="DeploymentNotFound"')), /^DeploymentNotFound 404 1 /);

  const dir = join(ROOT, "test-results");
  mkdirSync(dir, { recursive: true });
  const shot = join(dir, "status-page.png");
  await headless(chromium, `http://127.0.0.1:${metricsPort}/status/page`, { screenshot: shot });
  assert.ok(statSync(shot).size > 10_000, "a screenshot with something in it");
  if (process.env.UPDATE_DOCS_IMAGES) copyFileSync(shot, join(ROOT, "docs/images/status-page.png"));
});

test("on_the_api_port_the_page_asks_an_operator_for_a_key", async ({ gw }) => {
  if (!chromium) return;
  const dom = await headless(chromium, `${gw.url}/status/page`);
  assert.match(dom, /<form id="key-form" class="shown">/);
  assert.match(text(/<div id="banner"[^>]*>(.*?)<\/div>/.exec(dom)?.[1] ?? ""), /key/i);
  assert.not.match(dom, /data-deployment=/, "nothing is drawn without the key");
});

test.run();
