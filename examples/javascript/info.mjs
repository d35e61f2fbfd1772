// What model the endpoint serves. Run: ENDPOINT=http://127.0.0.1:8000 node examples/javascript/info.mjs
import { isUnexpected } from "@azure-rest/ai-inference";
import { client } from "./client.mjs";

const response = await client.path("/info").get();
if (isUnexpected(response)) throw new Error(response.body.error.message);
console.log(JSON.stringify(response.body, null, 2));
