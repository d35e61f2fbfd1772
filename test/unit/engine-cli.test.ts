// The engines' command lines recorded with their pins (entrypoints/engine-cli/) against what this
// repository passes them: the entrypoints, Azure ML files, the chart's values and the docs' commands.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import {
  ENGINES,
  TARGETS,
  engineOf,
  optionsInHelp,
  optionsPassed,
  readEngineCli,
  unknownOptions,
  type Engine,
  type EngineCli,
} from "../../scripts/engine-cli.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const test = suite("engine-cli");
const records = Object.fromEntries(ENGINES.map((e) => [e, readEngineCli(ROOT, e)])) as Record<Engine, EngineCli>;
const dockerfile = readFileSync(resolve(ROOT, "Dockerfile"), "utf8");
const buildArg = (name: string) => new RegExp(`^ARG ${name}=(\\S+)$`, "m").exec(dockerfile)?.[1];
const IMAGE_ARG: Record<(typeof TARGETS)[number], string> = {
  vllm: "VLLM_IMAGE",
  sglang: "SGLANG_IMAGE",
  tgi: "TGI_IMAGE",
  "tei-cpu": "TEI_CPU_IMAGE",
  "tei-gpu": "TEI_GPU_IMAGE",
};

test("each_target_is_built_on_an_image_whose_command_line_is_recorded", () => {
  for (const target of TARGETS) {
    const image = buildArg(IMAGE_ARG[target]);
    assert.ok(
      records[engineOf(target)].images.includes(image!),
      `${IMAGE_ARG[target]}=${image}: record it in entrypoints/engine-cli/${engineOf(target)}.yaml`,
    );
  }
});

test("each_entrypoint_runs_the_recorded_command", () => {
  for (const target of TARGETS) {
    const script = readFileSync(resolve(ROOT, "entrypoints", `${target}.sh`), "utf8");
    const run = /^run_engine (.*)$/m.exec(script)?.[1];
    assert.ok(run, `${target}.sh calls run_engine`);
    if (target === "tei-gpu") {
      const routers = [...script.matchAll(/router=(text-embeddings-router-\d+)/g)].map((m) => m[1]);
      assert.equal(routers, records.tei.gpu_commands, "tei-gpu.sh picks among the CUDA image's routers");
    } else {
      assert.ok(run.startsWith(`${records[engineOf(target)].command} `), `${target}.sh: ${run}`);
    }
  }
});

test("every_option_passed_to_an_engine_is_in_its_recorded_command_line", () => {
  const uses = optionsPassed(ROOT);
  const unknown = unknownOptions(uses, records).map((u) => `${u.where}: ${u.option} is not a ${u.engine} option`);
  assert.equal(unknown, [], unknown.join("\n"));
});

test("the_uses_are_found_where_they_are", () => {
  // Each kind of place the checker reads, by a use it must find there: it is not checking nothing.
  const uses = optionsPassed(ROOT).map((u) => `${u.engine} ${u.option} ${u.where.split(":")[0]}`);
  for (const expected of [
    "vllm --host entrypoints/vllm.sh",
    "tei --hostname entrypoints/tei-gpu.sh",
    "tgi --max-total-tokens deploy/azureml/deployment-tgi.yml",
    "vllm --served-model-name deploy/azureml/deployment-vllm-registered-model.yml",
    "vllm --model deploy/helm/azure-openai-proxy/values.yaml",
    "vllm --tool-call-parser docs/docker.md",
    "vllm --model docs/kubernetes.md",
    "tei --model-id examples/deployments/deployments.yaml",
  ])
    assert.ok(uses.includes(expected), `${expected} in:\n${uses.join("\n")}`);
  assert.not.ok(
    uses.some((u) => u.includes("--all-traffic")),
    "an az ml flag after --set image=… is not an engine's",
  );
});

test("an_option_the_engine_does_not_have_is_reported_with_where_it_is", () => {
  const unknown = unknownOptions(
    [
      { engine: "tgi", option: "--max-total-tokens", where: "a:1" },
      { engine: "tgi", option: "--max-model-len", where: "b:2" },
    ],
    records,
  );
  assert.equal(unknown, [{ engine: "tgi", option: "--max-model-len", where: "b:2" }]);
});

test("options_are_read_from_argparse_and_clap_help_texts", () => {
  const argparse = [
    "usage: api_server.py [-h] [--host HOST] [--port PORT]",
    "",
    "options:",
    "  -h, --help            show this help message and exit",
    "  --host HOST           Host name. --not-this one",
    "  --enable-log-requests, --no-enable-log-requests",
    "                        Enable logging requests.",
    "  --api-server-count API_SERVER_COUNT, -asc API_SERVER_COUNT",
  ].join("\n");
  assert.equal(optionsInHelp(argparse), [
    "-h",
    "--help",
    "--host",
    "--enable-log-requests",
    "--no-enable-log-requests",
    "--api-server-count",
    "-asc",
  ]);
  const clap = [
    "Usage: text-embeddings-router [OPTIONS] --model-id <MODEL_ID>",
    "Options:",
    "      --model-id <MODEL_ID>",
    "          The name of the model to load [env: MODEL_ID=]",
    "  -p, --port <PORT>",
    "          The port to listen on [env: PORT=] [default: 3000]",
  ].join("\n");
  assert.equal(optionsInHelp(clap), ["--model-id", "-p", "--port"]);
});

test("records_say_how_they_were_made_and_how_to_make_them_again", () => {
  for (const engine of ENGINES) {
    const { recorded, options } = records[engine];
    assert.ok(recorded.from.length > 20, `${engine}: where its options come from`);
    assert.match(recorded.again, new RegExp(`engine-cli -- record ${engine}\\b`));
    assert.ok(options.includes("--port") && options.includes("--help"), engine);
    // A complete record is a whole --help: far more than the handful this repository passes.
    if (recorded.complete) assert.ok(options.length > 20, `${engine}: ${options.length} options`);
  }
});

test.run();
