// The engines' /metrics, read for their load: each engine's saved exposition (test/fixtures/engine-metrics:
// llama.cpp's captured from the e2e tier's llama-server; vLLM's, SGLang's and TGI's written from the
// metric definitions of the pinned releases) and the names recorded in entrypoints/engine-metrics.yaml.
import { readFileSync } from "node:fs";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { parse } from "yaml";
import { ENGINE_METRICS, parseEngineLoad, sampleSums } from "../../../../src/core/routing/engine-load.ts";

const test = suite("engine-load");
const sample = (name: string) =>
  readFileSync(new URL(`../../../fixtures/engine-metrics/${name}.txt`, import.meta.url), "utf8");

const cases = [
  [
    "vllm",
    { engine: "vllm", waiting: 3, running: 12, kvUsage: 0.4375, cachedPromptTokens: 90000, promptTokens: 120000 },
  ],
  [
    "vllm-older",
    { engine: "vllm", waiting: 1, running: 2, kvUsage: 0.9, cachedPromptTokens: undefined, promptTokens: undefined },
  ],
  [
    "sglang",
    { engine: "sglang", waiting: 4, running: 16, kvUsage: 0.62, cachedPromptTokens: 35000, promptTokens: 50000 },
  ],
  [
    "tgi",
    {
      engine: "tgi",
      waiting: 6,
      running: 32,
      kvUsage: undefined,
      cachedPromptTokens: undefined,
      promptTokens: undefined,
    },
  ],
  [
    "llamacpp",
    { engine: "llamacpp", waiting: 0, running: 0, kvUsage: undefined, cachedPromptTokens: 22, promptTokens: 46 },
  ],
] as const;

for (const [file, expected] of cases)
  test(`reads_${file.replace("-", "_")}`, () => assert.equal(parseEngineLoad(sample(file)), expected));

test("what_is_no_engines_is_unknown_and_bad_lines_are_skipped", () => {
  assert.is(parseEngineLoad("# HELP process_cpu_seconds_total CPU\nprocess_cpu_seconds_total 3\n"), undefined);
  assert.is(parseEngineLoad(""), undefined);
  assert.is(parseEngineLoad("<html>not metrics</html>"), undefined);
  const sums = sampleSums('a{x="1"} 2\na{x="2"} 3\nb NaN\nc{broken 4\nd 1e3 1700000000\n');
  assert.equal(
    [...sums],
    [
      ["a", 5],
      ["d", 1000],
    ],
  );
});

test("the_names_read_are_the_recorded_names_and_each_is_in_its_engines_sample", () => {
  const record = parse(
    readFileSync(new URL("../../../../entrypoints/engine-metrics.yaml", import.meta.url), "utf8"),
  ) as Record<string, { release: string; names: Record<string, string[]> }>;
  assert.equal(Object.keys(record).sort(), Object.keys(ENGINE_METRICS).sort());
  for (const [engine, names] of Object.entries(ENGINE_METRICS)) {
    assert.equal(record[engine]!.names, names, `${engine}: entrypoints/engine-metrics.yaml`);
    const sums = sampleSums(sample(engine));
    for (const list of Object.values(names))
      if (list.length > 0) assert.ok(sums.has(list[0]!), `${engine}: ${list[0]} in its sample`);
  }
});

test.run();
