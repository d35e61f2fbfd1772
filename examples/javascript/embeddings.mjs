// Embeddings, as floats and as int8 (quantised by the gateway).
// Run: ENDPOINT=http://127.0.0.1:8000 node examples/javascript/embeddings.mjs
import { isUnexpected } from "@azure-rest/ai-inference";
import { client } from "./client.mjs";

const input = ["first phrase", "second phrase"];
for (const encoding_format of ["float", "int8"]) {
  const response = await client.path("/embeddings").post({ body: { input, encoding_format } });
  if (isUnexpected(response)) throw new Error(response.body.error.message);
  for (const item of response.body.data) {
    console.log(
      `${encoding_format} #${item.index}: ${item.embedding.length} values, first ${item.embedding.slice(0, 3).join(", ")}`,
    );
  }
}
