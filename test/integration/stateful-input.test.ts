// What the stateful routes store and read is checked as the API defines it (issue 32), with the same answers
// on every --store: `starting_after` a sequence number, `limit` 1-100, `order` asc or desc, `after` an item
// of the list, metadata within 16 pairs of 64-character keys and 512-character values, item ids unique in a
// conversation; and paging by `after` always ends.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { startGateway, type RunningGateway } from "../helpers/gateway.ts";
import { storesUnderTest } from "../helpers/redis.ts";
import { EngineSim } from "../sim/engine.ts";

const { stores, stopSuite } = storesUnderTest(["memory", "sqlite", "redis"]);

const V1 = "/openai/v1";
type Answer = { status: number; body: any };
async function call(gw: RunningGateway, method: string, path: string, body?: unknown): Promise<Answer> {
  const res = await fetch(`${gw.url}${V1}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text.startsWith("{") ? JSON.parse(text) : text };
}
const refused = (answer: Answer, param: string) => {
  assert.is(answer.status, 400, JSON.stringify(answer.body));
  const named = String(answer.body.error.param);
  assert.ok(named === param || named.startsWith(`${param}.`), `the 400 names ${param}: ${named}`);
};
const metadata = (pairs: number, keyLength = 8, valueLength = 8) =>
  Object.fromEntries(
    Array.from({ length: pairs }, (_, i) => [`${i}`.padStart(keyLength, "k"), "v".repeat(valueLength)]),
  );

for (const [name, storeOf] of stores) {
  const test = suite<{ sim: EngineSim; gw: RunningGateway }>(`stateful-input:${name}`);
  test.before(async (ctx) => {
    ctx.sim = await new EngineSim().start();
    ctx.gw = await startGateway(ctx.sim.url, ["--store", await storeOf()]);
  });
  test.after(async ({ gw, sim }) => {
    await gw.close();
    await sim.close();
  });

  test("starting_after_is_a_sequence_number", async ({ gw }) => {
    const created = await call(gw, "POST", "/responses", { model: "m", input: "hi", background: true });
    assert.is(created.status, 200);
    for (const given of ["1e308", "-5", "1.5", "x", "9".repeat(40)])
      refused(
        await call(gw, "GET", `/responses/${created.body.id}?stream=true&starting_after=${given}`),
        "starting_after",
      );
    const replay = await fetch(`${gw.url}${V1}/responses/${created.body.id}?stream=true&starting_after=0`);
    assert.is(replay.status, 200);
    assert.match(await replay.text(), /response\.completed/);
  });

  test("metadata_within_the_apis_bounds", async ({ gw }) => {
    const fits = await call(gw, "POST", "/conversations", { metadata: metadata(16, 64, 512) });
    assert.is(fits.status, 200);
    refused(await call(gw, "POST", "/conversations", { metadata: metadata(17) }), "metadata");
    refused(await call(gw, "POST", "/conversations", { metadata: metadata(1, 65) }), "metadata");
    refused(await call(gw, "POST", "/conversations", { metadata: metadata(1, 8, 513) }), "metadata");
    refused(await call(gw, "POST", `/conversations/${fits.body.id}`, { metadata: metadata(10_000) }), "metadata");
    refused(await call(gw, "POST", "/responses", { model: "m", input: "hi", metadata: metadata(17) }), "metadata");
    const kept = await call(gw, "GET", `/conversations/${fits.body.id}`);
    assert.equal(kept.body.metadata, metadata(16, 64, 512), "a refused update changed nothing");
  });

  test("list_queries_as_the_api_defines_them", async ({ gw }) => {
    const conversation = await call(gw, "POST", "/conversations", { items: [{ role: "user", content: "a" }] });
    const response = await call(gw, "POST", "/responses", { model: "m", input: "hi" });
    for (const list of [`/conversations/${conversation.body.id}/items`, `/responses/${response.body.id}/input_items`]) {
      for (const limit of ["0", "-100", "101", "abc", "1.5"])
        refused(await call(gw, "GET", `${list}?limit=${limit}`), "limit");
      refused(await call(gw, "GET", `${list}?order=sideways`), "order");
      refused(await call(gw, "GET", `${list}?after=msg_unknown`), "after");
      assert.is((await call(gw, "GET", `${list}?limit=100&order=asc`)).status, 200);
    }
  });

  test("item_ids_are_unique_in_a_conversation_and_paging_ends", async ({ gw }) => {
    const item = (id: string) => ({ type: "message", id, role: "user", content: id });
    refused(await call(gw, "POST", "/conversations", { items: [item("msg_a"), item("msg_a")] }), "items");
    const conversation = await call(gw, "POST", "/conversations", { items: [item("msg_a"), item("msg_b")] });
    assert.is(conversation.status, 200);
    const id = conversation.body.id;
    refused(await call(gw, "POST", `/conversations/${id}/items`, { items: [item("msg_b")] }), "items");
    refused(await call(gw, "POST", "/responses", { model: "m", conversation: id, input: [item("msg_a")] }), "input");
    assert.is((await call(gw, "POST", `/conversations/${id}/items`, { items: [item("msg_c")] })).status, 200);
    // The earlier item is as it was (never overwritten), and paging one by one walks each item once.
    assert.is((await call(gw, "GET", `/conversations/${id}/items/msg_b`)).body.content[0].text, "msg_b");
    const seen: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < 10; page++) {
      const listed = await call(
        gw,
        "GET",
        `/conversations/${id}/items?limit=1&order=asc${after ? `&after=${after}` : ""}`,
      );
      seen.push(...listed.body.data.map((i: { id: string }) => i.id));
      if (!listed.body.has_more) break;
      after = listed.body.last_id;
    }
    assert.equal(seen, ["msg_a", "msg_b", "msg_c"]);
  });

  test.run();
}

stopSuite();
