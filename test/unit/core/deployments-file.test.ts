// The deployments file's checks: every mistake is refused at start-up with the file, line and key.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { ConfigError } from "../../../src/config-values.ts";
import { parseDeploymentsFile } from "../../../src/core/deployments/config-file.ts";

const test = suite("deployments-file");
const parse = (text: string, env: Record<string, string> = {}) => parseDeploymentsFile(text, "d.yaml", env);
const refused = (text: string, message: RegExp, env: Record<string, string> = {}) => {
  try {
    parse(text, env);
  } catch (err) {
    assert.instance(err, ConfigError);
    assert.match((err as Error).message, message);
    return;
  }
  assert.unreachable(`accepted: ${text}`);
};

test("a_complete_file_parses", () => {
  const file = parse(
    `default: chat
deployments:
  - name: chat
    url: http://127.0.0.1:8000
    model: Qwen/Qwen2.5-7B-Instruct
    api_key_env: CHAT_KEY
    operations: [chat, responses]
    timeouts: { first_byte: 600s, total: 30m }
    max_concurrent: 64
    responses_api: chat
  - name: embed
    url: https://tei.internal/v1
`,
    { CHAT_KEY: "secret" },
  );
  assert.equal(file, {
    defaultName: "chat",
    deployments: [
      {
        name: "chat",
        baseUrls: ["http://127.0.0.1:8000/v1"],
        model: "Qwen/Qwen2.5-7B-Instruct",
        apiKey: "secret",
        operations: ["chat", "responses"],
        timeouts: { firstByteMs: 600_000, totalMs: 1_800_000 },
        maxConcurrent: 64,
        responsesApi: "chat",
      },
      { name: "embed", baseUrls: ["https://tei.internal/v1"], timeouts: {} },
    ],
  });
});

test("an_entra_value_listed_by_two_consumers_is_refused", () => {
  const file = (a: string, b: string) =>
    `deployments:\n  - name: a\n    url: http://h:1\nentra:\n  tenant_id: "00000000-0000-0000-0000-000000000000"\n  audiences: ["api://x"]\nconsumers:\n  - name: one\n    entra: { ${a} }\n  - name: two\n    entra: { ${b} }\n`;
  for (const rule of ["app_ids", "roles", "object_ids"])
    refused(
      file(`${rule}: [x, shared]`, `${rule}: [shared]`),
      new RegExp(`entra\\.${rule} 'shared' is listed by 'one' and 'two': a token with it would map to either`),
    );
  // The same value under different rules is no ambiguity: the rules are tried in order.
  parse(file("app_ids: [shared]", "roles: [shared]"));
});

test("json_is_accepted_too", () => {
  assert.equal(
    parse(`{"deployments": [{"name": "a", "urls": ["http://h:1", "http://h:2/v1"]}]}`).deployments[0]!.baseUrls,
    ["http://h:1/v1", "http://h:2/v1"],
  );
});

test("mistakes_name_the_line_and_the_key", () => {
  refused(
    "deployments:\n  - name: a\n    url: http://h:1\n    replicas: [x]\n",
    /^--config: d\.yaml:4: unknown key 'replicas' \(expected name, url, urls,/,
  );
  refused(
    "deployments:\n  - name: a\n    url: http://h:1\n    urls: [http://h:2]\n",
    /d\.yaml:4: deployment 'a': `url` or `urls`, not both/,
  );
  refused(
    "deployments:\n  - name: a\n    urls: [http://h:1, http://h:1/v1]\n",
    /d\.yaml:3: urls: http:\/\/h:1\/v1 is listed twice/,
  );
  refused(
    "deployments:\n  - name: a\n    urls:\n      - http://h:1\n      - h:2\n",
    /d\.yaml:5: url 'h:2' must start with http/,
  );
  refused(
    "deployments:\n  - name: a\n    url: http://h:1\n  - name: a\n    url: http://h:2\n",
    /^--config: d\.yaml:4: the name 'a' is used twice \(also at line 2\)/,
  );
  refused(
    "deployments:\n  - name: a\n    url: ftp://h\n",
    /d\.yaml:3: url 'ftp:\/\/h' must start with http:\/\/ or https:\/\//,
  );
  refused("deployments:\n  - name: a\n    url: http://h:99999\n", /d\.yaml:3: url 'http:\/\/h:99999':/);
  refused(
    "deployments:\n  - name: a\n    url: http://h:1\n    api_key_env: NOPE\n",
    /d\.yaml:4: api_key_env names NOPE, which is not set/,
  );
  refused(
    "deployments:\n  - name: a\n    url: http://h:1\n    operations: [chat, speech]\n",
    /d\.yaml:4: operation 'speech' is none of chat, completions, embeddings, image-embeddings, responses/,
  );
  refused(
    "deployments:\n  - name: a\n    url: http://h:1\n    timeouts:\n      total: soon\n",
    /d\.yaml:5: timeouts\.total: 'soon' is not a duration/,
  );
  refused(
    "deployments:\n  - name: a\n    url: http://h:1\n    max_concurrent: 0\n",
    /d\.yaml:4: max_concurrent: a whole number/,
  );
  refused(
    "deployments:\n  - name: a\n    url: http://h:1\n    responses_api: bridge\n",
    /d\.yaml:4: responses_api: native or chat/,
  );
  refused(
    "default: b\ndeployments:\n  - name: a\n    url: http://h:1\n",
    /d\.yaml:1: default 'b' names no deployment \(a\)/,
  );
  refused("deployments:\n  - url: http://h:1\n", /d\.yaml:2: a deployment needs a `name`/);
  refused("deployments:\n  - name: a\n", /d\.yaml:2: deployment 'a' needs a `url`/);
  refused("deployments: []\n", /`deployments` must be a non-empty list/);
  refused("engines: []\n", /d\.yaml:1: unknown key 'engines'/);
  refused("deployments:\n  - name: a\n    url: [http://h\n", /^--config: d\.yaml:\d+: /);
  refused("deployments:\n  - name: a\n    name: b\n    url: http://h:1\n", /d\.yaml:3: .*(unique|duplicate)/i);
});

test.run();
