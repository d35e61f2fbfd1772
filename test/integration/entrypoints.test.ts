// entrypoints/<engine>.sh run for real, with fake engine executables on PATH (test/sim/fake-engine.sh
// starts the simulator on the port it is given) and the real gateway CLI. No Docker engine is needed.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { chmodSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { API, postJson } from "../helpers/gateway.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const test = suite("entrypoints");

/** A PATH directory with the fake engines and the gateway CLI. */
function fakeBin(): string {
  const dir = mkdtempSync(join(tmpdir(), "fake-bin-"));
  const fake = join(ROOT, "test/sim/fake-engine.sh");
  const routers = ["75", "80", "90", "100", "120"].map((cap) => `text-embeddings-router-${cap}`);
  for (const name of ["python3", "text-generation-launcher", "text-embeddings-router", ...routers])
    symlinkSync(fake, join(dir, name));
  // Answers the compute capability query, and otherwise prints the banner line that names the CUDA
  // version the driver supports.
  writeFileSync(
    join(dir, "nvidia-smi"),
    `#!/usr/bin/env bash
case "$*" in
  *compute_cap*) echo "\${FAKE_COMPUTE_CAP:-8.0}" ;;
  *) echo "| NVIDIA-SMI 575.51.03   Driver Version: 575.51.03   CUDA Version: \${FAKE_DRIVER_CUDA:-12.9}     |" ;;
esac
`,
  );
  writeFileSync(
    join(dir, "azure-openai-proxy"),
    `#!/usr/bin/env bash\nexec node --import "${ROOT}/node_modules/tsx/dist/esm/index.mjs" "${ROOT}/src/main.ts" --log-level warn "$@"\n`,
  );
  chmodSync(join(dir, "nvidia-smi"), 0o755);
  chmodSync(join(dir, "azure-openai-proxy"), 0o755);
  return dir;
}
const BIN = fakeBin();

const freePort = () =>
  new Promise<number>((res) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });

/** The process groups the tests started; each is killed after its test, passed or failed. */
const groups = new Set<number>();
test.after.each(() => {
  for (const pid of groups) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // the group has already ended
    }
  }
  groups.clear();
});

interface Started {
  child: ChildProcess;
  port: number;
  upstreamPort: number;
  argsFile: string;
  exit: Promise<[number | null, string | null]>;
  stderr: () => string;
}

async function startEntrypoint(
  engine: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<Started> {
  const [port, upstreamPort] = [await freePort(), await freePort()];
  const argsFile = join(mkdtempSync(join(tmpdir(), "fake-args-")), "args");
  writeFileSync(argsFile, "");
  const child = spawn("bash", [join(ROOT, "entrypoints", `${engine}.sh`), ...args], {
    // Its own process group: whatever a test's end leaves of it (the fake engine, the gateway) is killed whole.
    detached: true,
    env: {
      ...process.env,
      PATH: `${BIN}:${process.env.PATH}`,
      HOST: "127.0.0.1",
      PORT: String(port),
      UPSTREAM_PORT: String(upstreamPort),
      FAKE_ENGINE_ARGS_FILE: argsFile,
      STOP_TIMEOUT: "5",
      ...env,
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  groups.add(child.pid!);
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  // "close", not "exit": the child's stderr is read to its end before a test looks at it (on a loaded CPU
  // its last line could arrive after the exit event).
  const exit = once(child, "close") as Promise<[number | null, string | null]>;
  return { child, port, upstreamPort, argsFile, exit, stderr: () => stderr };
}

async function waitGateway(s: Started, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (
      await fetch(`http://127.0.0.1:${s.port}/ready`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    if (s.child.exitCode !== null) throw new Error(`entrypoint exited ${s.child.exitCode}: ${s.stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gateway not ready: ${s.stderr()}`);
}

const listening = (port: number) =>
  fetch(`http://127.0.0.1:${port}/health`).then(
    () => true,
    () => false,
  );

const ENGINES = [
  {
    engine: "vllm",
    args: ["--model", "Qwen/Qwen2.5-0.5B-Instruct"],
    called: "python3 -m vllm.entrypoints.openai.api_server --host 127.0.0.1 --port",
    route: "chat",
  },
  {
    engine: "sglang",
    args: ["--model-path", "Qwen/Qwen2.5-0.5B-Instruct"],
    called: "python3 -m sglang.launch_server --host 127.0.0.1 --port",
    route: "chat",
  },
  {
    engine: "tgi",
    args: ["--model-id", "Qwen/Qwen2.5-0.5B-Instruct"],
    called: "text-generation-launcher --hostname 127.0.0.1 --port",
    route: "chat",
  },
  {
    engine: "tei-cpu",
    args: ["--model-id", "BAAI/bge-small-en-v1.5"],
    called: "text-embeddings-router --hostname 127.0.0.1 --port",
    route: "embeddings",
  },
  {
    engine: "tei-gpu",
    args: ["--model-id", "BAAI/bge-small-en-v1.5"],
    called: "text-embeddings-router-80 --hostname 127.0.0.1 --port",
    route: "embeddings",
  },
] as const;

for (const { engine, args, called, route } of ENGINES) {
  test(`${engine}_serves_then_stops_cleanly_on_sigterm`, async () => {
    const s = await startEntrypoint(engine, args);
    try {
      await waitGateway(s);
      const res =
        route === "chat"
          ? await postJson(`http://127.0.0.1:${s.port}/chat/completions?${API}`, {
              messages: [{ role: "user", content: "hi" }],
            })
          : await postJson(`http://127.0.0.1:${s.port}/embeddings?${API}`, { input: ["hi"] });
      assert.is(res.status, 200, JSON.stringify(res.json));
      const info = (await fetch(`http://127.0.0.1:${s.port}/info?${API}`).then((r) => r.json())) as {
        model_type: string;
      };
      assert.is(info.model_type, route === "chat" ? "chat-completion" : "embeddings");
      const invocation = readFileSync(s.argsFile, "utf8").trim();
      assert.ok(invocation.startsWith(`${called} ${s.upstreamPort} `), invocation);
      assert.ok(invocation.endsWith(args.join(" ")), "the user's arguments reach the engine");
      const started = Date.now();
      s.child.kill("SIGTERM");
      const [code] = await s.exit;
      assert.is(code, 0, s.stderr());
      assert.ok(Date.now() - started < 5000, `stopped in ${Date.now() - started} ms`);
      assert.not.ok(await listening(s.port), "gateway gone");
      assert.not.ok(await listening(s.upstreamPort), "engine gone");
    } finally {
      s.child.kill("SIGKILL");
    }
  });
}

test("engine_crash_stops_the_gateway_and_exits_non_zero", async () => {
  const s = await startEntrypoint("vllm", ["--model", "m"], { FAKE_ENGINE_MODE: "crash", FAKE_CRASH_AFTER: "4" });
  await waitGateway(s);
  const [code] = await s.exit;
  assert.ok(code !== 0 && code !== null, `exit ${code}`);
  assert.match(s.stderr(), /engine \(pid \d+\) exited/);
  assert.not.ok(await listening(s.port), "gateway gone");
});

// vLLM opens its port only once the model is loaded; llama.cpp and TGI answer 503 meanwhile.
for (const { engine, args, mode } of [
  { engine: "vllm", args: ["--model", "m"], mode: "slow" },
  { engine: "tgi", args: ["--model-id", "m"], mode: "loading" },
]) {
  test(`the_gateway_listens_while_the_engine_loads_then_serves (${engine}, ${mode})`, async () => {
    const s = await startEntrypoint(engine, args, { FAKE_ENGINE_MODE: mode, FAKE_READY_AFTER: "5" });
    const gw = `http://127.0.0.1:${s.port}`;
    try {
      const started = Date.now();
      while (!(await listening(s.port))) {
        assert.ok(
          Date.now() - started < 4000,
          `the gateway was not listening ${Date.now() - started} ms after the start: ${s.stderr()}`,
        );
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.is((await fetch(`${gw}/health`)).status, 200, "liveness passes during the load");
      const ready = await fetch(`${gw}/ready`);
      assert.is(ready.status, 503);
      assert.match(
        ((await ready.json()) as any).error.message,
        /^The engine is loading \(not ready since the gateway started \d+ s ago\)/,
      );
      const early = await postJson(`${gw}/chat/completions?${API}`, { messages: [{ role: "user", content: "hi" }] });
      assert.is(early.status, 503);
      assert.is(early.json.error.code, "ServiceUnavailable");
      assert.is(early.headers.get("retry-after"), "5");
      await waitGateway(s);
      const readyAt = Date.now() - started;
      assert.ok(readyAt > 3000 && readyAt < 9000, `ready ${readyAt} ms after the start, the engine took 5 s`);
      assert.is(
        (await postJson(`${gw}/chat/completions?${API}`, { messages: [{ role: "user", content: "hi" }] })).status,
        200,
      );
      s.child.kill("SIGTERM");
      assert.is((await s.exit)[0], 0, s.stderr());
    } finally {
      s.child.kill("SIGKILL");
    }
  });
}

test("engine_never_ready_is_a_bounded_wait_and_non_zero_exit", async () => {
  const started = Date.now();
  const s = await startEntrypoint("tgi", ["--model-id", "m"], {
    FAKE_ENGINE_MODE: "never-ready",
    ENGINE_READY_TIMEOUT: "2",
  });
  const [code] = await s.exit;
  assert.is(code, 1);
  assert.ok(Date.now() - started < 8000);
  assert.match(s.stderr(), /not ready after 2s/);
  assert.not.ok(await listening(s.upstreamPort), "engine stopped");
  assert.not.ok(await listening(s.port), "gateway stopped");
});

test("a_gateway_that_cannot_start_stops_the_loading_engine", async () => {
  const taken = createServer().listen(0, "127.0.0.1");
  await once(taken, "listening");
  const port = (taken.address() as { port: number }).port;
  try {
    const s = await startEntrypoint("vllm", ["--model", "m"], { FAKE_ENGINE_MODE: "never-ready", PORT: String(port) });
    const [code] = await s.exit;
    assert.ok(code !== 0 && code !== null, `exit ${code}`);
    assert.match(s.stderr(), /gateway exited with code \d+ while the engine loaded; stopping the engine/);
    assert.match(s.stderr(), /already in use/);
    assert.not.ok(await listening(s.upstreamPort), "engine stopped");
  } finally {
    taken.close();
  }
});

test("sigterm_while_waiting_for_the_engine_exits_0", async () => {
  const s = await startEntrypoint("tei-cpu", ["--model-id", "m"], { FAKE_ENGINE_MODE: "never-ready" });
  await new Promise((r) => setTimeout(r, 1500));
  s.child.kill("SIGTERM");
  const [code] = await s.exit;
  assert.is(code, 0, s.stderr());
  assert.not.ok(await listening(s.upstreamPort));
});

test("engine_arguments_from_ENGINE_ARGS_when_the_container_gets_none", async () => {
  // Azure ML sets environment variables, not container arguments.
  const s = await startEntrypoint("vllm", [], {
    ENGINE_ARGS: "--model Qwen/Qwen2.5-0.5B-Instruct  --max-model-len 4096",
  });
  try {
    await waitGateway(s);
    const invocation = readFileSync(s.argsFile, "utf8").trim();
    assert.ok(
      invocation.endsWith(`--port ${s.upstreamPort} --model Qwen/Qwen2.5-0.5B-Instruct --max-model-len 4096`),
      invocation,
    );
    s.child.kill("SIGTERM");
    assert.is((await s.exit)[0], 0, s.stderr());
  } finally {
    s.child.kill("SIGKILL");
  }
});

test("ENGINE_ARGS_as_a_json_array_keeps_spaces_and_quotes_and_expands_variables", async () => {
  // Azure ML: a registered model is mounted at $AZUREML_MODEL_DIR; a chat template holds spaces and quotes.
  const argvFile = join(mkdtempSync(join(tmpdir(), "fake-argv-")), "argv");
  const template = `{% for m in messages %}{{ m['content'] }} "quoted" costs $$5{% endfor %}`;
  const s = await startEntrypoint("vllm", [], {
    AZUREML_MODEL_DIR: "/var/azureml-app/azureml-models/qwen/1",
    ENGINE_ARGS: JSON.stringify(["--model", "${AZUREML_MODEL_DIR}/Qwen2.5-0.5B-Instruct", "--chat-template", template]),
    FAKE_ENGINE_ARGV_FILE: argvFile,
  });
  try {
    await waitGateway(s);
    const argv = readFileSync(argvFile, "utf8").split("\0").slice(0, -1);
    assert.equal(argv.slice(-4), [
      "--model",
      "/var/azureml-app/azureml-models/qwen/1/Qwen2.5-0.5B-Instruct",
      "--chat-template",
      `{% for m in messages %}{{ m['content'] }} "quoted" costs $5{% endfor %}`,
    ]);
    s.child.kill("SIGTERM");
    assert.is((await s.exit)[0], 0, s.stderr());
  } finally {
    s.child.kill("SIGKILL");
  }
});

test("ENGINE_ARGS_naming_an_unset_variable_stops_the_start_naming_it", async () => {
  const s = await startEntrypoint("vllm", [], { ENGINE_ARGS: '["--model", "${AZUREML_MODEL_DIR}/m"]' });
  const [code] = await s.exit;
  assert.is(code, 2);
  assert.match(s.stderr(), /ENGINE_ARGS: names \$AZUREML_MODEL_DIR, which is not set/);
});

/** tei-gpu started on a fake GPU until it serves; what the router was called as and its environment. */
async function teiGpuOn(env: Record<string, string>): Promise<{ invocation: string; env: string }> {
  const envFile = join(mkdtempSync(join(tmpdir(), "fake-env-")), "env");
  const s = await startEntrypoint("tei-gpu", ["--model-id", "m"], { FAKE_ENGINE_ENV_FILE: envFile, ...env });
  try {
    await waitGateway(s);
    return { invocation: readFileSync(s.argsFile, "utf8").trim(), env: readFileSync(envFile, "utf8") };
  } finally {
    s.child.kill("SIGKILL");
  }
}

test("tei_gpu_picks_the_router_built_for_the_gpu_as_TEI_1_9_does", async () => {
  for (const [cap, router] of [
    ["7.5", "75"],
    ["8.9", "80"],
    ["9.0", "90"],
    ["10.0", "100"],
    ["12.0", "120"],
  ] as const) {
    const { invocation } = await teiGpuOn({ FAKE_COMPUTE_CAP: cap });
    assert.ok(invocation.startsWith(`text-embeddings-router-${router} `), `${cap}: ${invocation}`);
  }
});

test("tei_gpu_refuses_a_gpu_it_has_no_build_for", async () => {
  const s = await startEntrypoint("tei-gpu", ["--model-id", "m"], { FAKE_COMPUTE_CAP: "6.1" });
  const [code] = await s.exit;
  assert.is(code, 1);
  assert.match(s.stderr(), /no TEI build for compute capability '61'/);
});

test("tei_gpu_uses_the_cuda_compat_libraries_only_with_an_older_driver", async () => {
  const compat = mkdtempSync(join(tmpdir(), "cuda-compat-"));
  const older = await teiGpuOn({ CUDA_COMPAT_DIR: compat, FAKE_DRIVER_CUDA: "12.4", LD_LIBRARY_PATH: "/opt/lib" });
  assert.match(older.env, new RegExp(`^LD_LIBRARY_PATH=${compat}:/opt/lib$`, "m"));
  const newer = await teiGpuOn({ CUDA_COMPAT_DIR: compat, FAKE_DRIVER_CUDA: "13.0", LD_LIBRARY_PATH: "/opt/lib" });
  assert.match(newer.env, /^LD_LIBRARY_PATH=\/opt\/lib$/m);
});

test("engine_port_flag_is_refused", async () => {
  const s = await startEntrypoint("vllm", ["--model", "m", "--port", "9999"]);
  const [code] = await s.exit;
  assert.is(code, 2);
  assert.match(s.stderr(), /set UPSTREAM_PORT instead/);
});

test.run();
