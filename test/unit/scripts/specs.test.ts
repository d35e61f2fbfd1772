import { suite } from "uvu";
import * as assert from "uvu/assert";
import { rmSync } from "node:fs";
import { cacheDir, ensureSpecs, readManifest } from "../../../scripts/specs.ts";

const test = suite("specs");

test("a_wrong_sha256_fails_naming_the_file", async () => {
  const specs = readManifest().map((s) => (s.name === "azure-2025-04-01" ? { ...s, sha256: "0".repeat(64) } : s));
  try {
    await ensureSpecs(specs);
    assert.unreachable("a wrong hash must fail");
  } catch (err) {
    assert.match((err as Error).message, /sha256 mismatch for azure-model-inference\/2025-04-01\/openapi\.json/);
    assert.match((err as Error).message, /manifest: 0{64}/);
  }
});

test("the_pinned_hashes_verify", async () => {
  rmSync(cacheDir, { recursive: true, force: true });
  const paths = await ensureSpecs();
  assert.equal(Object.keys(paths).sort(), ["azure-2025-04-01", "azure-2025-05-01", "openai"]);
});

test.run();
