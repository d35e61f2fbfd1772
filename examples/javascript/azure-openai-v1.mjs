// The plain `openai` client against the Azure OpenAI v1 routes, as Microsoft now recommends:
// baseURL <endpoint>/openai/v1, `model` = deployment name, the Responses API.
// Run: ENDPOINT=http://127.0.0.1:8000 node examples/javascript/azure-openai-v1.mjs
import OpenAI from "openai";

const endpoint = process.env.ENDPOINT ?? "http://127.0.0.1:8000";
const client = new OpenAI({ baseURL: `${endpoint}/openai/v1`, apiKey: process.env.API_KEY ?? "none" });

const response = await client.responses.create({
  model: "my-deployment",
  input: "What is the capital of France?",
  max_output_tokens: 64,
});
console.log(`responses: ${response.output_text}`);

process.stdout.write("responses stream: ");
const stream = await client.responses.create({
  model: "my-deployment",
  input: "Tell me a story.",
  max_output_tokens: 16,
  stream: true,
});
for await (const event of stream) {
  if (event.type === "response.output_text.delta") process.stdout.write(event.delta);
  if (event.type === "response.completed")
    process.stdout.write(`\n[${event.response.status}: ${event.response.usage?.output_tokens} output tokens]\n`);
}

for await (const model of client.models.list()) console.log(`model: ${model.id}`);
