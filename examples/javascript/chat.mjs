// A chat completion. Run: ENDPOINT=http://127.0.0.1:8000 node examples/javascript/chat.mjs
import { isUnexpected } from "@azure-rest/ai-inference";
import { client } from "./client.mjs";

const response = await client.path("/chat/completions").post({
  body: {
    messages: [
      { role: "system", content: "You are a helpful assistant." },
      { role: "user", content: "What is the capital of France?" },
    ],
    max_tokens: 64,
    temperature: 0.2,
  },
});
if (isUnexpected(response)) throw new Error(`${response.status}: ${response.body.error.message}`);
console.log(response.body.choices[0].message.content);
console.log("usage:", response.body.usage);
