// `npm run test:e2e`: the gateway in front of real engines, driven by the official Azure client.
// Engines: E2E_CHAT_UPSTREAM / E2E_EMBED_UPSTREAM (any running OpenAI-compatible engine, e.g. vLLM on a
// GPU), or else llama.cpp's llama-server started here from LLAMA_SERVER, CHAT_MODEL, EMBED_MODEL
// (and TOOLS_TEMPLATE for tool calls), as ../shared/engine/setup.sh prints them.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { join } from "node:path";
import { projectRoot } from "./specs.ts";

const env = process.env;
const READY_TIMEOUT_MS = 120_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

async function waitReady(url: string, engine: ChildProcess, name: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (engine.exitCode !== null) throw new Error(`${name} exited with code ${engine.exitCode} before it was ready`);
    const ok = await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    ); // 503 while loading
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${name} was not ready at ${url}/health within ${READY_TIMEOUT_MS / 1000} s`);
}

async function startLlama(
  name: string,
  model: string,
  extra: string[],
  threads = 2,
): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const args = ["-m", model, "--host", "127.0.0.1", "--port", String(port), "-t", String(threads), ...extra];
  const child = spawn(env.LLAMA_SERVER!, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr = (stderr + d).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(url, child, name);
  } catch (err) {
    child.kill("SIGKILL");
    throw new Error(`${(err as Error).message}\n--- ${name} stderr (tail) ---\n${stderr}`);
  }
  console.log(`e2e: ${name} ready at ${url} (pid ${child.pid})`);
  return { url, child };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
  await exited;
  clearTimeout(timer);
}

const engines: ChildProcess[] = [];
// Ctrl-C or a CI cancel still stops the engines this script started.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void Promise.all(engines.map(stop)).finally(() => process.exit(130)));
}

async function main(): Promise<number> {
  try {
    let chat = env.E2E_CHAT_UPSTREAM;
    let embed = env.E2E_EMBED_UPSTREAM;
    let tools = env.E2E_TOOLS ?? (chat ? "0" : "1");
    // Two replicas of the chat model for routing.e2e.ts (started here only): one thread each (two servers
    // on two cores fight otherwise), two slots each, no RAM prompt cache (it would hide what routing does:
    // a replica then holds only its slots' KV, as a GPU holds what fits), metrics on.
    let replicas = env.E2E_REPLICA_URLS;
    // A chat engine started here serves its metrics (--metrics); one given from outside may not.
    const metrics = env.E2E_ENGINE_METRICS ?? (chat ? "0" : "1");
    if (!chat || !embed) {
      if (!env.LLAMA_SERVER || !env.CHAT_MODEL || !env.EMBED_MODEL) {
        console.log(
          "e2e: no engine. Set E2E_CHAT_UPSTREAM and E2E_EMBED_UPSTREAM to running engines, or LLAMA_SERVER, CHAT_MODEL and EMBED_MODEL (what ../shared/engine/setup.sh prints, where that script exists).",
        );
        // The last line says what happened, so a skipped tier is never read as a pass.
        if (env.CI) {
          console.log("e2e: FAILED: no engine to test against (CI is set, so a missing engine is an error).");
          return 1;
        }
        console.log("e2e: SKIPPED: nothing was tested (no engine). Exit code 0 because CI is not set.");
        return 0;
      }
      const template = env.TOOLS_TEMPLATE ? ["--jinja", "--chat-template-file", env.TOOLS_TEMPLATE] : [];
      tools = env.TOOLS_TEMPLATE ? tools : "0";
      const started = await Promise.all([
        chat
          ? undefined
          : startLlama("chat engine", env.CHAT_MODEL, [
              "-a",
              "tiny-qwen2",
              "-c",
              "4096",
              "-np",
              "4",
              "--metrics",
              ...template,
            ]),
        embed
          ? undefined
          : startLlama("embeddings engine", env.EMBED_MODEL, [
              "-a",
              "tiny-bert",
              "--embeddings",
              "-c",
              "2048",
              "-b",
              "2048",
              "-ub",
              "2048",
              "-np",
              "4",
            ]),
      ]);
      for (const s of started) if (s) engines.push(s.child);
      chat ??= started[0]!.url;
      embed ??= started[1]!.url;
      if (!replicas) {
        const replicaArgs = ["-a", "tiny-qwen2", "-c", "4096", "-np", "2", "--cache-ram", "0", "--metrics"];
        const pair = await Promise.all(
          ["chat replica 1", "chat replica 2"].map((name) => startLlama(name, env.CHAT_MODEL!, replicaArgs, 1)),
        );
        for (const r of pair) engines.push(r.child);
        replicas = pair.map((r) => r.url).join(",");
      }
    }
    const runner = spawn(
      process.execPath,
      ["--import", "tsx", join(projectRoot, "node_modules/uvu/bin.js"), "test/e2e", "\\.e2e\\.ts$"],
      {
        cwd: projectRoot,
        stdio: "inherit",
        env: {
          ...env,
          E2E_CHAT_URL: chat,
          E2E_EMBED_URL: embed,
          E2E_TOOLS: tools,
          E2E_ENGINE_METRICS: metrics,
          ...(replicas ? { E2E_REPLICA_URLS: replicas } : {}),
        },
      },
    );
    const [code] = await once(runner, "exit");
    return code ?? 1;
  } finally {
    await Promise.all(engines.map(stop));
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`e2e: ${err.message}`);
    process.exit(1);
  },
);
