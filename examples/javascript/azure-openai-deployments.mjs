// The `openai` package's AzureOpenAI client, as code written for Azure OpenAI deployments uses it:
// /openai/deployments/{deployment}/…?api-version=…. With one model behind the gateway, any deployment
// name stands for it. Run: ENDPOINT=http://127.0.0.1:8000 node examples/javascript/azure-openai-deployments.mjs
import { AzureOpenAI } from "openai";

const endpoint = process.env.ENDPOINT ?? "http://127.0.0.1:8000";
const client = new AzureOpenAI({
  endpoint,
  apiKey: process.env.API_KEY ?? "none",
  apiVersion: "2024-10-21",
  deployment: "my-deployment",
});

const chat = await client.chat.completions.create({
  model: "my-deployment",
  messages: [{ role: "user", content: "What is the capital of France?" }],
  max_tokens: 64,
});
console.log(`chat: ${chat.choices[0].message.content}`);

process.stdout.write("stream: ");
const stream = await client.chat.completions.create({
  model: "my-deployment",
  messages: [{ role: "user", content: "Tell me a story." }],
  max_tokens: 16,
  stream: true,
  stream_options: { include_usage: true },
});
for await (const chunk of stream) {
  process.stdout.write(chunk.choices[0]?.delta.content ?? "");
  if (chunk.usage) process.stdout.write(`\n[usage: ${chunk.usage.completion_tokens} completion tokens]\n`);
}

// The SDK asks for base64 by default and decodes it to floats.
const embeddings = await client.embeddings.create({ model: "my-deployment", input: ["first phrase", "second phrase"] });
console.log(`embeddings: ${embeddings.data.length} vectors of ${embeddings.data[0].embedding.length} values`);
