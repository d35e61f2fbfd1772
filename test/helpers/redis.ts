// A real Redis for the tests that share state across gateways: Debian's redis-server on a free loopback
// port, nothing written to disk, stopped by the test (and killed with the test process). Where redis-server
// is not installed the Redis tests are skipped locally; CI (.ci/run installs it) requires them.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";

export interface RunningRedis {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export function redisAvailable(): boolean {
  const found = spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;
  if (!found && (process.env.CI || process.env.REQUIRE_REDIS))
    throw new Error("redis-server is not installed: CI installs it (apt-get install redis-server)");
  if (!found) console.log("  (redis-server unavailable here: the Redis tests are skipped locally, CI requires them)");
  return found;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startRedis(): Promise<RunningRedis> {
  const port = await freePort();
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "notice"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  running.add(child);
  child.once("exit", () => running.delete(child));
  const url = `redis://127.0.0.1:${port}`;
  await new Promise<void>((resolve, reject) => {
    let out = "";
    const onData = (data: Buffer) => {
      out += data.toString();
      if (/Ready to accept connections/.test(out)) resolve();
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`redis-server exited (${code}) before it was ready: ${out}`)));
  });
  child.stdout!.resume();
  child.stderr!.resume();
  return {
    url,
    process: child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    },
  };
}

/** The `--store` values a test file runs its suites on: each kind asked for, Redis only where redis-server is
 * installed (one server for the whole file, started on first use). `stopSuite()` registers the file's last
 * suite, which stops that server. */
export function storesUnderTest(kinds: ReadonlyArray<"memory" | "sqlite" | "redis">): {
  stores: Array<[string, () => Promise<string>]>;
  stopSuite(): void;
} {
  let redis: RunningRedis | undefined;
  const withRedis = kinds.includes("redis") && redisAvailable();
  const stores: Array<[string, () => Promise<string>]> = [];
  for (const kind of kinds) {
    if (kind === "memory") stores.push(["memory", async () => "memory:"]);
    if (kind === "sqlite")
      stores.push(["sqlite", async () => `sqlite:${join(mkdtempSync(join(tmpdir(), "aop-store-")), "state.db")}`]);
    if (kind === "redis" && withRedis) stores.push(["redis", async () => (redis ??= await startRedis()).url]);
  }
  return {
    stores,
    stopSuite() {
      if (!withRedis) return;
      const cleanup = suite("redis:stop");
      cleanup("redis_stops", async () => {
        await redis?.stop();
      });
      cleanup.run();
    },
  };
}
