// Engine text on its way to a client or a log line: every credential out, the rest of the words kept.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { redactSecrets, registerSecret } from "../../../src/core/secrets.ts";

const test = suite("secrets");
registerSecret("short-engine-key");

const CASES: Array<[string, string, string]> = [
  [
    "bearer_header_echoed",
    "Invalid header Authorization: Bearer upstream-secret-123",
    "Invalid header Authorization: [redacted]",
  ],
  ["bearer_alone", "token rejected: Bearer abc.def.ghi", "token rejected: Bearer [redacted]"],
  [
    "json_echo_of_headers",
    '{"headers":{"api-key":"k-42","authorization":"Basic dXNlcjpwYXNz"}}',
    '{"headers":{"api-key":"[redacted]","authorization":"[redacted]"}}',
  ],
  ["known_key_anywhere", "the key short-engine-key is not valid", "the key [redacted] is not valid"],
  [
    "openai_style_key",
    "Incorrect API key provided: sk-proj-abcdefghijklmnop1234",
    "Incorrect API key provided: [redacted]",
  ],
  ["hugging_face_token", "401 for hf_abcdefghijklmnopqrstuvwx", "401 for [redacted]"],
  ["jwt", "expired eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTYifQ.c2lnbmF0dXJl", "expired [redacted]"],
  ["azure_key_shape", "key 0123456789abcdef0123456789abcdef refused", "key [redacted] refused"],
  ["query_string_key", "GET /v1/models?api_key=abc123&x=1 failed", "GET /v1/models?api_key=[redacted]&x=1 failed"],
  [
    "plain_words_kept",
    "The model `Qwen/Qwen2.5-0.5B-Instruct` does not exist.",
    "The model `Qwen/Qwen2.5-0.5B-Instruct` does not exist.",
  ],
  [
    "numbers_kept",
    "This model's maximum context length is 4096 tokens; you asked for 8192.",
    "This model's maximum context length is 4096 tokens; you asked for 8192.",
  ],
];

for (const [name, input, expected] of CASES) {
  test(name, () => assert.is(redactSecrets(input), expected));
}

test.run();
