// Tool calling: the model asks for a function, we run it and send the result back.
// Run: ENDPOINT=http://127.0.0.1:8000 node examples/javascript/tools.mjs
// A real model does not always call the tool it was asked to, and a small one may stop mid-arguments:
// check finish_reason and parse the arguments defensively before running anything.
import { isUnexpected } from "@azure-rest/ai-inference";
import { client } from "./client.mjs";

const tools = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "Current weather of a city",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    },
  },
];
const messages = [{ role: "user", content: "What is the weather in Paris?" }];

/** The tool's arguments, or why they cannot be used. */
function readArguments(call) {
  try {
    const args = JSON.parse(call.function.arguments);
    if (typeof args?.city !== "string")
      return { error: `arguments without a 'city' string: ${call.function.arguments}` };
    return { args };
  } catch {
    return { error: `arguments that are not JSON (truncated?): ${call.function.arguments}` };
  }
}

const first = await client
  .path("/chat/completions")
  .post({ body: { messages, tools, tool_choice: "required", max_tokens: 256 } });
if (isUnexpected(first)) throw new Error(first.body.error.message);
const choice = first.body.choices[0];
const call = choice.message.tool_calls?.find((c) => c.function.name === "get_weather");
if (choice.finish_reason === "length") {
  console.log("the model ran out of tokens before it finished the call; raise max_tokens");
  process.exit(1);
}
if (!call) {
  console.log(`the model answered without calling get_weather: ${choice.message.content ?? "(no text)"}`);
  process.exit(0);
}
console.log(`model called ${call.function.name}(${call.function.arguments})`);
const { args, error } = readArguments(call);
if (error) {
  console.log(`not running the tool: ${error}`);
  process.exit(1);
}

const weather = { city: args.city, forecast: "sunny", celsius: 21 };
messages.push({ role: "assistant", content: null, tool_calls: [call] });
messages.push({ role: "tool", tool_call_id: call.id, content: JSON.stringify(weather) });

const second = await client.path("/chat/completions").post({ body: { messages, tools } });
if (isUnexpected(second)) throw new Error(second.body.error.message);
console.log(second.body.choices[0].message.content);
