// The bench's upstream: an OpenAI-compatible stub that answers at once (JSON), or streams N SSE chunks
// a fixed gap apart. Its own process, so it does not share an event loop with what is measured.
//   tsx scripts/bench/stub.ts <port> [chunks=20] [gapMs=0]
import { createServer } from "node:http";

const [port = "0", chunks = "20", gap = "0"] = process.argv.slice(2);
const CHUNKS = Number(chunks);
const GAP = Number(gap);

const created = 1700000000;
const CHAT = JSON.stringify({
  id: "chatcmpl-bench",
  object: "chat.completion",
  created,
  model: "bench-model",
  choices: [
    {
      index: 0,
      message: { role: "assistant", content: "The quick brown fox jumps over the lazy dog.", refusal: null },
      finish_reason: "stop",
      logprobs: null,
    },
  ],
  usage: { prompt_tokens: 12, completion_tokens: 10, total_tokens: 22 },
});
const chunk = (delta: object, finish: string | null) =>
  `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created, model: "bench-model", choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] })}\n\n`;
const TOKEN = chunk({ content: " word" }, null);
const FIRST = chunk({ role: "assistant", content: "" }, null);
const LAST =
  chunk({}, "stop") +
  `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created, model: "bench-model", choices: [], usage: { prompt_tokens: 12, completion_tokens: CHUNKS, total_tokens: 12 + CHUNKS } })}\n\ndata: [DONE]\n\n`;
const RESPONSE = JSON.stringify({
  id: "resp_bench",
  object: "response",
  created_at: created,
  status: "completed",
  model: "bench-model",
  output: [
    {
      type: "message",
      id: "msg_bench",
      status: "completed",
      role: "assistant",
      content: [{ type: "output_text", text: "The quick brown fox jumps over the lazy dog.", annotations: [] }],
    },
  ],
  usage: { input_tokens: 12, output_tokens: 10, total_tokens: 22 },
});
const vector = Array.from({ length: 384 }, (_, i) => Math.sin(i) / 14);
const EMBED = JSON.stringify({
  object: "list",
  model: "bench-embed",
  data: [{ object: "embedding", index: 0, embedding: vector }],
  usage: { prompt_tokens: 4, total_tokens: 4 },
});
const MODELS = JSON.stringify({
  object: "list",
  data: [{ id: "bench-model", object: "model", created, owned_by: "bench" }],
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const server = createServer((req, res) => {
  let body = "";
  req.on("data", (d) => (body += d));
  req.on("end", async () => {
    if (req.url === "/v1/models") return void res.writeHead(200, { "content-type": "application/json" }).end(MODELS);
    if (req.url === "/v1/embeddings") return void res.writeHead(200, { "content-type": "application/json" }).end(EMBED);
    if (req.url === "/v1/responses")
      return void res.writeHead(200, { "content-type": "application/json" }).end(RESPONSE);
    if (req.url !== "/v1/chat/completions") return void res.writeHead(404).end();
    if (!body.includes('"stream":true'))
      return void res.writeHead(200, { "content-type": "application/json" }).end(CHAT);
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    res.write(FIRST);
    for (let i = 0; i < CHUNKS && !res.destroyed; i++) {
      if (GAP) await sleep(GAP);
      res.write(TOKEN);
    }
    res.end(LAST);
  });
});
server.keepAliveTimeout = 120_000;
server.listen(Number(port), "127.0.0.1", () =>
  console.log(JSON.stringify({ port: (server.address() as { port: number }).port })),
);
