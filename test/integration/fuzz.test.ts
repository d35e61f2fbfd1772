// Random and mutated requests at the running gateway, on every dialect's routes: every rejection is JSON
// in that dialect's own envelope, every answer a 200 or a 4xx (never a gateway 5xx: the engine
// simulator is healthy), and the process keeps answering.
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { gatewaySuite, type RunningGateway } from "../helpers/gateway.ts";

const test = gatewaySuite("fuzz", ["--body-limit", "256kb"]);

v8.setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
function retainedHeap(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
let heapBefore = 0;
test("warm_up", async ({ gw }) => {
  // One request of each kind first, so lazily built state is not counted as growth.
  await check(gw, "/chat/completions?api-version=2025-04-01", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(VALID),
  });
  // The OpenAI body validators load on first use.
  for (const [path, body] of Object.entries(OPENAI_VALID))
    await check(gw, path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  heapBefore = retainedHeap();
});

const VALID = {
  messages: [
    { role: "system", content: "s" },
    { role: "user", content: [{ type: "text", text: "t" }] },
  ],
  temperature: 0.5,
  max_tokens: 3,
  stop: ["x"],
  tools: [{ type: "function", function: { name: "f" } }],
  tool_choice: "auto",
  response_format: { type: "json_object" },
};

/** Replaces the value at a random path of `base` with `value`. */
function mutate(base: unknown, path: number[], value: unknown): unknown {
  if (path.length === 0 || base === null || typeof base !== "object") return value;
  const keys = Object.keys(base);
  if (keys.length === 0) return value;
  const key = keys[path[0]! % keys.length]!;
  const copy: any = Array.isArray(base) ? [...base] : { ...base };
  copy[key] = mutate((base as any)[key], path.slice(1), value);
  return copy;
}

let cases = 0;
async function check(gw: RunningGateway, path: string, init: RequestInit): Promise<void> {
  cases++;
  const res = await fetch(`${gw.url}${path}`, init);
  const text = await res.text();
  assert.ok(
    res.status === 200 || (res.status >= 400 && res.status < 500),
    `${res.status} for ${path} ${String(init.body).slice(0, 200)}: ${text.slice(0, 300)}`,
  );
  if (res.status !== 200) {
    const body = JSON.parse(text);
    assert.type(body.error.code, "string");
    assert.type(body.error.message, "string");
    const route = new URL(path, gw.url).pathname;
    if (route === "/openai" || route.startsWith("/openai/")) {
      assert.is(body.error.type, "error", `Azure OpenAI envelope for ${path}`); // azure-openai-surface.md §4.1
      assert.is(res.headers.get("x-ms-error-code"), body.error.code);
    } else if (route === "/v1" || route.startsWith("/v1/")) {
      assert.ok(
        typeof body.error.type === "string" && body.error.type !== "error" && "param" in body.error,
        `OpenAI envelope for ${path}: ${text}`,
      );
      assert.match(body.error.code, /^[a-z_]+$/);
    } else {
      assert.is(res.headers.get("x-ms-error-code"), body.error.code);
      assert.not.ok("type" in body.error, `Azure AI Inference envelope for ${path}`);
    }
    assert.not.match(text, /\bat \w+ \(|node_modules|\.ts:\d+/, "no stack traces");
  }
}

const PATHS = [
  "/chat/completions",
  "/embeddings",
  "/images/embeddings",
  "/info",
  "/models/chat/completions",
  "/api/models/embeddings",
  "/health",
  "/nope",
  "/chat/completions/",
  "/%E0%A4%A",
  "/openai/v1/chat/completions",
  "/openai/v1/completions",
  "/openai/v1/embeddings",
  "/openai/v1/responses",
  "/openai/v1/responses/resp_x",
  "/openai/v1/responses/resp_x/input_items",
  "/openai/v1/models",
  "/openai/v1/models/m%2Fx",
  "/openai/v1/nope",
  "/openai/deployments/d/chat/completions",
  "/openai/deployments/d/completions",
  "/openai/deployments/d/embeddings",
  "/openai/deployments/%E0%A4%A/embeddings",
  "/openai/models",
  "/openai/responses",
  "/openai/deployments/d/images/generations",
  "/v1/chat/completions",
  "/v1/completions",
  "/v1/embeddings",
  "/v1/responses",
  "/v1/responses/resp_x",
  "/v1/models",
  "/v1/models/x",
  "/v1/nope",
];
const QUERIES = [
  "",
  "?api-version=2025-04-01",
  "?api-version=2025-05-01&x=1",
  "?api-version=",
  "?api-version=2025-04-01&api-version=2025-05-01",
  "?api-version[]=x",
  "?api-version=v1",
  "?api-version=preview",
  "?api-version=2024-10-21",
  "?api-version=2024-13-99",
  "?include[]=x&limit=abc&order=up",
];

test("mutated_chat_bodies", async ({ gw }) => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.nat(20), { maxLength: 5 }),
      fc.jsonValue({ maxDepth: 3 }),
      fc.constantFrom("error", "drop", "pass-through", "bogus", undefined),
      async (path, value, extra) => {
        const headers: Record<string, string> = { "content-type": "application/json" };
        if (extra) headers["extra-parameters"] = extra;
        await check(gw, "/chat/completions?api-version=2025-04-01", {
          method: "POST",
          headers,
          body: JSON.stringify(mutate(VALID, path, value)),
        });
      },
    ),
    { numRuns: 400 },
  );
});

const OPENAI_VALID: Record<string, object> = {
  "/openai/v1/chat/completions": {
    model: "d",
    messages: [{ role: "user", content: [{ type: "text", text: "t" }] }],
    max_tokens: 3,
    tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }],
    stream_options: { include_usage: true },
  },
  "/openai/deployments/d/completions?api-version=2024-10-21": {
    model: "d",
    prompt: ["a", "b"],
    max_tokens: 2,
    stop: "x",
  },
  "/v1/embeddings": { model: "m", input: ["a"], encoding_format: "base64", dimensions: 4 },
  "/v1/responses": {
    model: "m",
    input: [{ role: "user", content: [{ type: "input_text", text: "t" }] }],
    max_output_tokens: 3,
    text: { format: { type: "text" } },
  },
};

test("mutated_openai_bodies", async ({ gw }) => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...Object.keys(OPENAI_VALID)),
      fc.array(fc.nat(20), { maxLength: 5 }),
      fc.jsonValue({ maxDepth: 3 }),
      async (path, at, value) => {
        await check(gw, path, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(mutate(OPENAI_VALID[path], at, value)),
        });
      },
    ),
    { numRuns: 400 },
  );
});

test("random_bodies_paths_methods_and_content_types", async ({ gw }) => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...PATHS),
      fc.constantFrom(...QUERIES),
      fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH"),
      fc.oneof(fc.string(), fc.json(), fc.constant("{"), fc.constant("")),
      fc.constantFrom("application/json", "text/plain", "application/json; charset=utf-16", "multipart/form-data", ""),
      async (path, query, method, body, type) => {
        const init: RequestInit = { method, headers: type ? { "content-type": type } : {} };
        if (method !== "GET") init.body = body;
        await check(gw, path + query, init);
      },
    ),
    { numRuns: 600 },
  );
});

test("random_embeddings_bodies", async ({ gw }) => {
  await fc.assert(
    fc.asyncProperty(
      fc.record(
        {
          input: fc.oneof(fc.array(fc.string(), { maxLength: 3 }), fc.jsonValue()),
          encoding_format: fc.oneof(
            fc.constantFrom("float", "base64", "int8", "uint8", "binary", "ubinary", "x"),
            fc.jsonValue(),
          ),
          dimensions: fc.oneof(fc.integer({ min: -5, max: 64 }), fc.jsonValue()),
        },
        { requiredKeys: [] },
      ),
      async (body) => {
        await check(gw, "/embeddings?api-version=2025-05-01", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
      },
    ),
    { numRuns: 300 },
  );
});

test("the_gateway_still_answers_and_memory_does_not_grow", async ({ gw }) => {
  const res = await fetch(`${gw.url}/health`);
  assert.is(res.status, 200);
  const growth = retainedHeap() - heapBefore;
  // Gateway, simulator and client share this heap; 1,000+ requests leaking even 8 KB each would show.
  assert.ok(growth < 8 * 1024 * 1024, `retained heap grew ${(growth / 1e6).toFixed(1)} MB over ${cases} requests`);
  console.log(`  fuzz: ${cases} requests, retained heap ${(growth / 1e6).toFixed(2)} MB`);
});

test.run();
