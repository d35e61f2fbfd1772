// Random and mutated requests at the running gateway: every answer is Azure-shaped JSON, a 200 or a 4xx
// (never a gateway 5xx: the engine simulator is healthy), and the process keeps answering.
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
  await check(gw, "/chat/completions?api-version=2025-04-01", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(VALID) });
  heapBefore = retainedHeap();
});

const VALID = {
  messages: [{ role: "system", content: "s" }, { role: "user", content: [{ type: "text", text: "t" }] }],
  temperature: 0.5, max_tokens: 3, stop: ["x"], tools: [{ type: "function", function: { name: "f" } }], tool_choice: "auto",
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
  assert.ok(res.status === 200 || (res.status >= 400 && res.status < 500), `${res.status} for ${path} ${String(init.body).slice(0, 200)}: ${text.slice(0, 300)}`);
  if (res.status !== 200) {
    const body = JSON.parse(text);
    assert.type(body.error.code, "string");
    assert.type(body.error.message, "string");
    assert.is(res.headers.get("x-ms-error-code"), body.error.code);
    assert.not.match(text, /\bat \w+ \(|node_modules|\.ts:\d+/, "no stack traces");
  }
}

const PATHS = ["/chat/completions", "/embeddings", "/images/embeddings", "/info", "/models/chat/completions", "/api/models/embeddings", "/health", "/nope", "/chat/completions/", "/%E0%A4%A"];
const QUERIES = ["", "?api-version=2025-04-01", "?api-version=2025-05-01&x=1", "?api-version=", "?api-version=2025-04-01&api-version=2025-05-01", "?api-version[]=x"];

test("mutated_chat_bodies", async ({ gw }) => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.nat(20), { maxLength: 5 }), fc.jsonValue({ maxDepth: 3 }), fc.constantFrom("error", "drop", "pass-through", "bogus", undefined), async (path, value, extra) => {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (extra) headers["extra-parameters"] = extra;
      await check(gw, "/chat/completions?api-version=2025-04-01", { method: "POST", headers, body: JSON.stringify(mutate(VALID, path, value)) });
    }),
    { numRuns: 400 },
  );
});

test("random_bodies_paths_methods_and_content_types", async ({ gw }) => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...PATHS), fc.constantFrom(...QUERIES), fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH"),
      fc.oneof(fc.string(), fc.json(), fc.constant("{"), fc.constant("")), fc.constantFrom("application/json", "text/plain", "application/json; charset=utf-16", "multipart/form-data", ""),
      async (path, query, method, body, type) => {
        const init: RequestInit = { method, headers: type ? { "content-type": type } : {} };
        if (method !== "GET") init.body = body;
        await check(gw, path + query, init);
      },
    ),
    { numRuns: 400 },
  );
});

test("random_embeddings_bodies", async ({ gw }) => {
  await fc.assert(
    fc.asyncProperty(fc.record({ input: fc.oneof(fc.array(fc.string(), { maxLength: 3 }), fc.jsonValue()), encoding_format: fc.oneof(fc.constantFrom("float", "base64", "int8", "uint8", "binary", "ubinary", "x"), fc.jsonValue()), dimensions: fc.oneof(fc.integer({ min: -5, max: 64 }), fc.jsonValue()) }, { requiredKeys: [] }), async (body) => {
      await check(gw, "/embeddings?api-version=2025-05-01", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    }),
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
