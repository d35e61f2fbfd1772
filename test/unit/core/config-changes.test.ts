// accessChanges: what a reload of the deployments file changed, by name (never a key).
import { suite } from "uvu";
import * as assert from "uvu/assert";
import type { DeploymentsFile } from "../../../src/core/deployments/config-file.ts";
import type { ConsumerSpec } from "../../../src/core/consumers/consumers-file.ts";
import { accessChanges } from "../../../src/config-reload.ts";

const test = suite("config-changes");
const consumer = (name: string, key: string, limits: ConsumerSpec["limits"] = {}): ConsumerSpec => ({
  name,
  keyDigests: [Buffer.from(key)],
  limits,
});
const file = (
  consumers: ConsumerSpec[],
  extra: Partial<DeploymentsFile> = {},
  failClosed = false,
): DeploymentsFile => ({
  deployments: [{ name: "chat", baseUrls: ["http://e:8000/v1"], timeouts: {} }],
  access: { consumers, failClosed },
  ...extra,
});

test("each_change_is_named_and_an_unchanged_file_names_none", () => {
  const before = file([consumer("a", "ka"), consumer("b", "kb", { requestsPerMinute: 5 } as never)]);
  assert.equal(accessChanges(before, before), {});
  const after = file(
    [consumer("b", "kb2", { requestsPerMinute: 9 } as never), consumer("c", "kc")],
    {
      deployments: [
        { name: "chat", baseUrls: ["http://e:8000/v1"], timeouts: {}, limits: { requestsPerMinute: 100 } as never },
      ],
    },
    true,
  );
  assert.equal(accessChanges(before, after), {
    consumersAdded: ["c"],
    consumersRemoved: ["a"],
    keysRotated: ["b"],
    limitsChanged: ["b"],
    deploymentLimitsChanged: ["chat"],
    failClosedChanged: true,
  });
  assert.not.match(JSON.stringify(accessChanges(before, after)), /kb2|ka|kc/, "names only, never keys");
});

test.run();
