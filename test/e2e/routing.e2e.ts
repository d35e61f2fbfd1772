// Replica routing against two real llama-server replicas of one model (E2E_REPLICA_URLS, started by
// scripts/e2e.ts with two slots each and no RAM prompt cache): the same shared-prefix requests through a
// `least-loaded` and a `prefix` deployment over the same replicas, judged by the prompt tokens the engines
// say they evaluated (llamacpp:prompt_tokens_total) and took from their cache.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { parseEngineLoad } from "../../src/core/routing/engine-load.ts";
import { anchorOf, hashString, prefixBlocks } from "../../src/core/routing/prefix.ts";
import { chatFacts } from "../../src/core/routing/prompt.ts";
import { rendezvous } from "../../src/core/routing/router.ts";
import { postJson, startGateway, type RunningGateway } from "../helpers/gateway.ts";

const REPLICAS = (process.env.E2E_REPLICA_URLS ?? "").split(",").filter(Boolean);
const test = suite<{ gw: RunningGateway }>("e2e-routing");

/** What each replica has evaluated and reused so far. */
async function promptCounters(): Promise<Array<{ evaluated: number; cached: number }>> {
  return Promise.all(
    REPLICAS.map(async (url) => {
      const load = parseEngineLoad(await (await fetch(`${url}/metrics`)).text());
      assert.ok(load?.engine === "llamacpp", `${url} serves llama.cpp's metrics`);
      return { evaluated: load.promptTokens! - load.cachedPromptTokens!, cached: load.cachedPromptTokens! };
    }),
  );
}

const request = (model: string, system: string, i: number) => ({
  model,
  messages: [
    { role: "system" as const, content: system },
    { role: "user" as const, content: `Question ${i}: what comes next?` },
  ],
  max_tokens: 4,
});

/** Four system prompts of ~500 tokens whose placement splits them two and two over the replicas (the
 * rendezvous split of a few prefixes is even only on average; two slots per replica hold two). */
function balancedPrompts(tag: string): string[] {
  const labels = REPLICAS.map((u) => new URL(u).host);
  const candidates = labels.map((label) => ({
    label,
    labelHash: hashString(label),
    inFlight: 0,
    engineLoad: undefined,
    isIn: true,
  }));
  const byReplica = new Map<string, string[]>(labels.map((l) => [l, []]));
  for (let n = 0; [...byReplica.values()].some((list) => list.length < 2); n++) {
    const system = `${tag} policy ${n}. ${"Answer in one short sentence, cite nothing, stay polite. ".repeat(40)}`;
    const anchor = anchorOf(prefixBlocks(chatFacts(request("x", system, 0)).prompt!), undefined)!;
    const home = rendezvous(candidates, anchor)[0]!.label;
    const list = byReplica.get(home)!;
    if (list.length < 2) list.push(system);
  }
  return [...byReplica.values()].flat();
}
test.before(async (ctx) => {
  if (REPLICAS.length !== 2) return;
  const file = join(mkdtempSync(join(tmpdir(), "e2e-routing-")), "deployments.yaml");
  const urls = `[${REPLICAS.join(", ")}]`;
  writeFileSync(
    file,
    `deployments:\n  - { name: least, urls: ${urls}, routing: least-loaded }\n  - { name: prefix, urls: ${urls}, routing: prefix }\n`,
  );
  ctx.gw = await startGateway("http://127.0.0.1:9", ["--config", file, "--idle-timeout", "60s"]);
});
test.after(async (ctx) => ctx.gw?.close());

/** Twenty requests over four prompts in a fixed shuffled order, one at a time; the tokens evaluated. */
async function replay(
  gw: RunningGateway,
  model: string,
  prompts: string[],
): Promise<{ evaluated: number; cached: number }> {
  const order = [0, 1, 2, 3, 2, 0, 3, 1, 1, 3, 0, 2, 3, 2, 1, 0, 0, 2, 1, 3];
  const before = await promptCounters();
  for (const [i, p] of order.entries()) {
    const res = await postJson(`${gw.url}/v1/chat/completions`, request(model, prompts[p]!, i));
    assert.is(res.status, 200, JSON.stringify(res.json));
  }
  const after = await promptCounters();
  return after.reduce(
    (sum, a, i) => ({
      evaluated: sum.evaluated + a.evaluated - before[i]!.evaluated,
      cached: sum.cached + a.cached - before[i]!.cached,
    }),
    { evaluated: 0, cached: 0 },
  );
}

(REPLICAS.length === 2 ? test : test.skip)(
  "prefix_routing_makes_the_engines_evaluate_far_fewer_prompt_tokens",
  async ({ gw }) => {
    const least = await replay(gw, "least", balancedPrompts("first"));
    const prefix = await replay(gw, "prefix", balancedPrompts("second"));
    console.log(
      `  prompt tokens evaluated by the engines: least-loaded ${least.evaluated} (reused ${least.cached}), prefix ${prefix.evaluated} (reused ${prefix.cached})`,
    );
    // Prefix: each prompt evaluated once, then only its question. Least-loaded: each replica meets all four
    // prompts in its two slots, so most of them are evaluated again.
    assert.ok(prefix.evaluated * 2 < least.evaluated, `prefix ${prefix.evaluated}, least-loaded ${least.evaluated}`);
    assert.ok(prefix.cached > least.cached);
  },
);
if (REPLICAS.length !== 2)
  console.log(
    "e2e-routing: skipped: E2E_REPLICA_URLS does not name two replicas (scripts/e2e.ts starts them with llama-server)",
  );

test.run();
