// Two deployments behind one gateway (examples/deployments/deployments.yaml): the `openai` client names
// each by `model`, and the Azure AI Inference client by `model` or the azureml-model-deployment header.
// Run: ENDPOINT=http://127.0.0.1:8001 node examples/javascript/deployments.mjs
import ModelClient, { isUnexpected } from "@azure-rest/ai-inference";
import { AzureKeyCredential } from "@azure/core-auth";
import OpenAI from "openai";

const endpoint = process.env.ENDPOINT ?? "http://127.0.0.1:8001";
const key = process.env.API_KEY ?? "none";

const openai = new OpenAI({ baseURL: `${endpoint}/openai/v1`, apiKey: key });
for await (const deployment of openai.models.list())
  console.log(`deployment: ${deployment.id} (${deployment.operations?.join(", ")})`);
const chat = await openai.chat.completions.create({
  model: "chat",
  messages: [{ role: "user", content: "Say hello." }],
  max_tokens: 16,
});
console.log(`chat: ${chat.choices[0].message.content}`);
const vectors = await openai.embeddings.create({ model: "embed", input: ["first text", "second text"] });
console.log(`embed: ${vectors.data.length} vectors of ${vectors.data[0].embedding.length} dimensions`);

const azure = ModelClient(endpoint, new AzureKeyCredential(key), {
  allowInsecureConnection: endpoint.startsWith("http:"),
});
const embeddings = await azure
  .path("/embeddings")
  .post({ body: { input: ["third text"] }, headers: { "azureml-model-deployment": "embed" } });
if (isUnexpected(embeddings)) throw new Error(`${embeddings.status}: ${embeddings.body.error.message}`);
console.log(`azure embed: ${embeddings.body.data.length} vector, ${embeddings.body.usage.prompt_tokens} tokens`);
