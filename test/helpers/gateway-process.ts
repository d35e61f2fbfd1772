// The real CLI in a child process (src/main.ts under tsx), started on a free loopback port; killed with the
// test process, so a failing test leaves none behind.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";

export interface GatewayProcess {
  child: ChildProcess;
  url: string;
  exit: Promise<number | null>;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export async function startGatewayProcess(
  upstreamPort: number,
  extra: string[] = [],
  env: Record<string, string> = {},
): Promise<GatewayProcess> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "src/main.ts",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--upstream-port",
      String(upstreamPort),
      "--log-level",
      "info",
      ...extra,
    ],
    { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ...env } },
  );
  running.add(child);
  const exit = once(child, "exit").then(([code]) => {
    running.delete(child);
    return code as number | null;
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exit;
  };
  const lines = createInterface({ input: child.stdout! });
  // A gateway that never says where it listens fails the test instead of hanging it.
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  for await (const line of lines) {
    const entry = JSON.parse(line);
    if (entry.url) {
      clearTimeout(timer);
      child.stdout!.resume(); // the rest of the log is not read
      lines.close();
      return { child, url: entry.url, exit, stop };
    }
  }
  clearTimeout(timer);
  await stop();
  throw new Error("the gateway did not print its URL within 30 s (is --log-level below info?)");
}
