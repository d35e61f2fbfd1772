// A streamed chat completion, printed as it arrives.
// Run: ENDPOINT=http://127.0.0.1:8000 node examples/javascript/streaming.mjs
import { createSseStream } from "@azure/core-sse";
import { client } from "./client.mjs";

const response = await client
  .path("/chat/completions")
  .post({ body: { messages: [{ role: "user", content: "Tell me a short story." }], max_tokens: 128, stream: true } })
  .asNodeStream();
if (response.status !== "200") throw new Error(`HTTP ${response.status}`);

for await (const event of createSseStream(response.body)) {
  if (event.data === "[DONE]") break;
  const update = JSON.parse(event.data);
  process.stdout.write(update.choices[0]?.delta?.content ?? "");
  if (update.usage) process.stdout.write(`\n[usage: ${JSON.stringify(update.usage)}]`);
}
process.stdout.write("\n");
