// The plain `openai` client against the engine's own OpenAI API, through the gateway (/v1): what code
// written for vLLM or llama.cpp calls, now with the gateway's keys, limits, logs and metrics.
// Run: ENDPOINT=http://127.0.0.1:8000 node examples/javascript/openai-engine.mjs
import OpenAI from "openai";

const endpoint = process.env.ENDPOINT ?? "http://127.0.0.1:8000";
const client = new OpenAI({ baseURL: `${endpoint}/v1`, apiKey: process.env.API_KEY ?? "none" });

const [model] = (await client.models.list()).data;
console.log(`model: ${model.id}`);

// Parameters the OpenAI spec does not declare (vLLM's top_k, min_p, …) go to the engine as they are.
const chat = await client.chat.completions.create({
  model: model.id,
  messages: [{ role: "user", content: "Hello!" }],
  max_tokens: 32,
  top_k: 20,
});
console.log(`chat: ${chat.choices[0].message.content}`);

const completion = await client.completions.create({ model: model.id, prompt: "Once upon a time", max_tokens: 8 });
console.log(`completion: ${completion.choices[0].text}`);

try {
  await client.chat.completions.create({ model: model.id, messages: [] });
} catch (err) {
  console.log(`error: ${err.constructor.name} ${err.status} ${err.code}: ${err.message}`);
}
