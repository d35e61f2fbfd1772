// deploy/azureml: one deployment per Dockerfile engine target, each checked against what Azure ML and
// the image need (no workspace here: see docs/azure-ml.md): routes and port the entrypoint serves, probes
// that outlast the model load, request settings for an LLM, environment variables the image reads.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Ajv } from "ajv";
import { DockerfileParser } from "dockerfile-ast";
import { parse } from "yaml";
import { OPTIONS } from "../../src/config.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const DIR = join(ROOT, "deploy/azureml");
const test = suite("azureml");
const read = (file: string) => parse(readFileSync(join(DIR, file), "utf8"));

const ENGINE_TARGETS = DockerfileParser.parse(readFileSync(join(ROOT, "Dockerfile"), "utf8"))
  .getFROMs()
  .map((f) => f.getBuildStage())
  .filter((stage): stage is string => !!stage && /^(vllm|sglang|tgi|tei-(cpu|gpu))$/.test(stage));
/** The flag each engine names its model with. */
const MODEL_FLAG: Record<string, string> = {
  vllm: "--model",
  sglang: "--model-path",
  tgi: "--model-id",
  "tei-cpu": "--model-id",
  "tei-gpu": "--model-id",
};
/** Variables the entrypoints (or the engines) read besides the gateway's flags. */
const ENTRYPOINT_VARIABLES = new Set([
  "HF_HUB_OFFLINE",
  "ENGINE_ARGS",
  "ENGINE_READY_TIMEOUT",
  "STOP_TIMEOUT",
  "UPSTREAM_PORT",
  "HF_TOKEN",
  "TEI_ROUTER",
]);
const FLAG_VARIABLES = new Set(Object.values(OPTIONS).map((o) => o.env));
const seconds = (duration: string) => Number(/^(\d+)s$/.exec(duration)?.[1] ?? NaN);

const endpoint = read("endpoint.yml");

test("the_endpoint_uses_key_auth", () => {
  assert.is(endpoint.$schema, "https://azuremlschemas.azureedge.net/latest/managedOnlineEndpoint.schema.json");
  assert.is(endpoint.auth_mode, "key");
  assert.match(endpoint.name, /^[a-zA-Z][a-zA-Z0-9-]{2,31}$/, "Azure ML endpoint names: 3-32 letters, digits, hyphens");
});

/** deployment-<target>.yml, and variants deployment-<target>-<variant>.yml. */
const DEPLOYMENTS = readdirSync(DIR)
  .filter((f) => f.startsWith("deployment-"))
  .sort()
  .map((file) => ({
    file,
    target: ENGINE_TARGETS.find((t) => new RegExp(`^deployment-${t}(-[a-z-]+)?\\.yml$`).test(file)),
  }));

/** ENGINE_ARGS as the entrypoint reads it (entrypoints/engine-args.mjs), with Azure ML's model directory. */
function engineArgv(value: string): string[] {
  const out = spawnSync(process.execPath, [join(ROOT, "entrypoints/engine-args.mjs")], {
    env: { ENGINE_ARGS: value, AZUREML_MODEL_DIR: "/var/azureml-app/azureml-models/m/1" },
    encoding: "utf8",
  });
  assert.is(out.status, 0, out.stderr);
  return out.stdout.split("\0").slice(0, -1);
}

/** Azure ML's YAML schemas as the az ml CLI loads files with them (azureml-schemas/README.md says whence). */
const ajv = new Ajv({ allErrors: true, strict: false });
const schema = (name: string) =>
  ajv.compile(JSON.parse(readFileSync(join(import.meta.dirname, "azureml-schemas", `${name}.schema.json`), "utf8")));
const deploymentSchema = schema("managed-online-deployment");
const endpointSchema = schema("managed-online-endpoint");
const schemaErrors = (validate: ReturnType<typeof schema>, doc: unknown) =>
  validate(doc) ? [] : validate.errors!.map((e) => `${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`);

test("every_file_is_valid_for_azure_mls_schema", () => {
  assert.equal(schemaErrors(endpointSchema, endpoint), [], "endpoint.yml");
  for (const { file } of DEPLOYMENTS) assert.equal(schemaErrors(deploymentSchema, read(file)), [], file);
});

test("the_schema_refuses_what_the_cli_refuses", () => {
  // It can fail: a misspelt key, a probe field that does not exist, a route without its port, a number
  // where Azure ML takes a string.
  const good = read("deployment-vllm.yml");
  const bad = [
    { ...good, request_setting: good.request_settings },
    { ...good, liveness_probe: { ...good.liveness_probe, initial_delay_seconds: 10 } },
    {
      ...good,
      environment: {
        ...good.environment,
        inference_config: { ...good.environment.inference_config, scoring_route: { path: "/" } },
      },
    },
    { ...good, environment_variables: { ...good.environment_variables, MAX_CONCURRENT: 64 } },
    { ...good, instance_type: undefined },
  ].map((doc) => JSON.parse(JSON.stringify(doc)));
  for (const doc of bad) assert.ok(schemaErrors(deploymentSchema, doc).length > 0, JSON.stringify(doc).slice(0, 200));
  assert.ok(schemaErrors(endpointSchema, { ...endpoint, auth: "key" }).length > 0);
});

test("one_deployment_per_engine_target_and_its_variants", () => {
  assert.equal(ENGINE_TARGETS.sort(), ["sglang", "tei-cpu", "tei-gpu", "tgi", "vllm"]);
  for (const target of ENGINE_TARGETS)
    assert.ok(
      DEPLOYMENTS.some((d) => d.file === `deployment-${target}.yml`),
      `deployment-${target}.yml`,
    );
  for (const d of DEPLOYMENTS) assert.ok(d.target, `${d.file} names no engine target`);
});

test("a_registered_model_is_mounted_not_downloaded", () => {
  const d = read("deployment-vllm-registered-model.yml");
  assert.match(d.model, /^azureml:[a-z0-9_.-]+:\d+$/, "a registered model asset");
  const env = d.environment_variables as Record<string, string>;
  const argv = engineArgv(env.ENGINE_ARGS!);
  assert.is(argv[0], "--model");
  assert.match(argv[1]!, /^\/var\/azureml-app\/azureml-models\/m\/1\//, "the model from $AZUREML_MODEL_DIR");
  assert.is(argv[argv.indexOf("--served-model-name") + 1], "Qwen/Qwen2.5-7B-Instruct", "clients keep the name");
  assert.is(env.HF_HUB_OFFLINE, "1", "never a download at start");
});

test("no_secret_in_a_deployment_file", () => {
  for (const { file } of DEPLOYMENTS) {
    const env = read(file).environment_variables as Record<string, string>;
    for (const name of ["HF_TOKEN", "UPSTREAM_API_KEY", "API_KEY"])
      if (name in env)
        assert.match(
          env[name]!,
          /^\$\{\{(azureml:\/\/connections\/|keyvault:)/,
          `${file}: ${name} from a secret store`,
        );
  }
});

for (const { file, target } of DEPLOYMENTS) {
  test(`${file}_routes_probes_settings_and_variables`, () => {
    const d = read(file);
    assert.is(d.$schema, "https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json");
    assert.is(d.endpoint_name, endpoint.name);
    assert.match(d.name, /^[a-z][a-z0-9-]{2,31}$/);
    assert.match(d.environment.image, new RegExp(`:${target}$`), "the image of this target");

    const routes = d.environment.inference_config;
    const env = d.environment_variables as Record<string, unknown>;
    const port = Number(env.PORT ?? OPTIONS.port.default);
    assert.equal(routes.liveness_route, { port, path: "/health" });
    assert.equal(routes.readiness_route, { port, path: "/ready" });
    assert.equal(routes.scoring_route, { port, path: "/" });
    assert.is(port, 80, "the engine images' entrypoints listen on 80");

    const { request_timeout_ms: timeout, max_concurrent_requests_per_instance: concurrent } = d.request_settings;
    assert.ok(
      timeout >= 60_000 && timeout <= 180_000,
      `request_timeout_ms ${timeout}: above Azure's 5 s default, within its 180 s maximum`,
    );
    assert.ok(concurrent > 1, "more than one request per instance: the engine batches");
    assert.is(Number(env.MAX_CONCURRENT), concurrent, "the gateway's cap is Azure's");
    // Azure admits up to twice its cap and turns a 429 into a 424 that clients do not retry: the surplus waits.
    const queued = seconds(env.QUEUE_TIMEOUT as string);
    assert.ok(
      queued > 0 && queued * 1000 <= timeout / 4,
      `QUEUE_TIMEOUT ${env.QUEUE_TIMEOUT}: a wait that leaves time to answer`,
    );
    assert.ok(seconds(env.TOTAL_TIMEOUT as string) * 1000 < timeout, "the gateway ends a request before Azure cuts it");
    assert.ok(seconds(env.FIRST_BYTE_TIMEOUT as string) <= seconds(env.TOTAL_TIMEOUT as string));

    const window = (p: { initial_delay: number; period: number; failure_threshold: number }) =>
      p.initial_delay + p.period * p.failure_threshold;
    assert.ok(
      window(d.readiness_probe) >= Number(env.ENGINE_READY_TIMEOUT),
      `readiness allows ${window(d.readiness_probe)} s, the load may take ENGINE_READY_TIMEOUT ${env.ENGINE_READY_TIMEOUT} s`,
    );
    assert.ok(d.readiness_probe.timeout >= 5, "a /ready answer may take an engine round trip");
    assert.ok(d.liveness_probe.period * d.liveness_probe.failure_threshold >= 60, "liveness tolerates a busy minute");

    const argv = engineArgv(String(env.ENGINE_ARGS));
    assert.is(argv[0], MODEL_FLAG[target!], "the engine is told its model");
    assert.ok(argv[1], "the model's name or path");
    for (const [name, value] of Object.entries(env)) {
      assert.type(value, "string", `${name}: Azure ML variables are strings`);
      assert.ok(
        FLAG_VARIABLES.has(name) || ENTRYPOINT_VARIABLES.has(name),
        `${name} is read by the gateway or the entrypoint`,
      );
    }
    assert.not.ok(
      "API_KEY" in env,
      "the endpoint authenticates; a gateway key would need a second credential per client",
    );
  });
}

test.run();
