// The README's run commands, as a newcomer types them: `npm run demo` + the streaming example, and
// `npm start -- …` (build, then the CLI) in front of an engine.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { promisify } from "node:util";
import { EngineSim } from "../sim/engine.ts";

const test = suite("readme-commands");
const run = promisify(execFile);

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** Everything a child has printed so far (collected from the first waitFor on). */
const outputs = new WeakMap<ChildProcess, { text: string }>();

async function waitFor(child: ChildProcess, text: RegExp, ms = 60_000): Promise<string> {
  let output = outputs.get(child);
  if (!output) {
    const collected = { text: "" };
    outputs.set(child, (output = collected));
    child.stdout!.on("data", (d) => (collected.text += d));
  }
  const seen = output;
  const deadline = Date.now() + ms;
  while (!text.test(seen.text)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${text}; output:\n${seen.text}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return seen.text;
}

test("npm_run_demo_then_the_streaming_example", async () => {
  const port = await freePort();
  const demo = spawn("npm", ["run", "-s", "demo", "--", "--port", String(port)], {
    stdio: ["ignore", "pipe", "inherit"],
    detached: true,
  });
  try {
    const banner = await waitFor(demo, /Ctrl-C stops both/);
    // The first address shown is the gateway's (the simulator's was, and was taken for the gateway).
    assert.is(/http:\/\/[\d.:]+/.exec(banner)?.[0], `http://127.0.0.1:${port}`);
    assert.match(banner, /SIMULATOR/);
    const { stdout } = await run(process.execPath, ["examples/javascript/streaming.mjs"], {
      env: { ...process.env, ENDPOINT: `http://127.0.0.1:${port}` },
    });
    assert.match(stdout, /^The quick brown fox/);
    // The demo shows each request as one readable line.
    const log = await waitFor(demo, /POST \/chat\/completions.*\n/);
    const lines = log
      .slice(banner.length)
      .split("\n")
      .filter((l) => l.includes("/chat/completions"));
    assert.is(lines.length, 1, log);
    assert.match(
      lines[0]!,
      /INFO.*POST \/chat\/completions {2}-> 200 {2}[\d.]+ ms {2}model=sim-org\/sim-model-1 {2}stream completed {2}tokens=\d+\+128/,
    );
  } finally {
    const exited = once(demo, "exit");
    process.kill(-demo.pid!, "SIGINT");
    const [code, signal] = await exited;
    assert.ok(code === 0 || signal === "SIGINT", `demo exit ${code} ${signal}`);
  }
});

test("npm_start_in_front_of_an_engine", async () => {
  const sim = await new EngineSim().start();
  const port = await freePort();
  const gateway = spawn(
    "npm",
    ["start", "--", "--port", String(port), "--upstream-host", "127.0.0.1", "--upstream-port", String(sim.port)],
    { stdio: ["ignore", "pipe", "inherit"], detached: true },
  );
  try {
    await waitFor(gateway, /listening on/, 120_000);
    const res = await fetch(`http://127.0.0.1:${port}/chat/completions?api-version=2025-05-01`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: "hi" }] }),
    });
    assert.is(res.status, 200);
  } finally {
    const exited = once(gateway, "exit");
    process.kill(-gateway.pid!, "SIGTERM");
    await exited;
    await sim.close();
  }
});

test.run();
