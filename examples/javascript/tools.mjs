// Tool calling: the model asks for a function, we run it and send the result back.
// Run: ENDPOINT=http://127.0.0.1:8000 node examples/javascript/tools.mjs
import { isUnexpected } from "@azure-rest/ai-inference";
import { client } from "./client.mjs";

const tools = [{
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather of a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
}];
const messages = [{ role: "user", content: "What is the weather in Paris?" }];

const first = await client.path("/chat/completions").post({ body: { messages, tools, tool_choice: "required" } });
if (isUnexpected(first)) throw new Error(first.body.error.message);
const call = first.body.choices[0].message.tool_calls?.[0];
if (!call) throw new Error("the model called no tool");
console.log(`model called ${call.function.name}(${call.function.arguments})`);

const weather = { city: JSON.parse(call.function.arguments).city, forecast: "sunny", celsius: 21 };
messages.push({ role: "assistant", content: null, tool_calls: [call] });
messages.push({ role: "tool", tool_call_id: call.id, content: JSON.stringify(weather) });

const second = await client.path("/chat/completions").post({ body: { messages, tools } });
if (isUnexpected(second)) throw new Error(second.body.error.message);
console.log(second.body.choices[0].message.content);
