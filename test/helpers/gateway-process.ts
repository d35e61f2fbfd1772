// The real CLI in a child process (src/main.ts under tsx), started on a free loopback port; killed with the
// test process, so a failing test leaves none behind.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";

export interface GatewayProcess {
  child: ChildProcess;
  url: string;
  exit: Promise<number | null>;
  /** Every log line so far (parsed JSON). */
  logs: Array<Record<string, any>>;
  /** Resolves with the first log line (past or future) that `match` accepts; rejects after 30 s. */
  logLine(match: (line: Record<string, any>) => boolean): Promise<Record<string, any>>;
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
  const logs: Array<Record<string, any>> = [];
  const waiters = new Set<(line: Record<string, any>) => void>();
  const url = await new Promise<string | undefined>((resolve) => {
    // A gateway that never says where it listens fails the test instead of hanging it.
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    lines.on("line", (text) => {
      let entry: Record<string, any>;
      try {
        entry = JSON.parse(text);
      } catch {
        return;
      }
      logs.push(entry);
      for (const waiter of waiters) waiter(entry);
      if (entry.url) {
        clearTimeout(timer);
        resolve(entry.url);
      }
    });
    lines.on("close", () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
  if (url === undefined) {
    await stop();
    throw new Error("the gateway did not print its URL within 30 s (is --log-level below info?)");
  }
  const logLine = (match: (line: Record<string, any>) => boolean) =>
    new Promise<Record<string, any>>((resolve, reject) => {
      const past = logs.find(match);
      if (past) return resolve(past);
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error("the expected log line did not come within 30 s"));
      }, 30_000);
      const waiter = (line: Record<string, any>) => {
        if (!match(line)) return;
        clearTimeout(timer);
        waiters.delete(waiter);
        resolve(line);
      };
      waiters.add(waiter);
    });
  return { child, url, exit, logs, logLine, stop };
}

/** `count` gateway processes started together; when one fails to start, the others are stopped before the
 * error is thrown (a started one left behind would keep the test process from ever exiting). */
export async function startGatewayProcesses(
  count: number,
  upstreamPort: number,
  extra: string[] = [],
  env: Record<string, string> = {},
): Promise<GatewayProcess[]> {
  const outcomes = await Promise.allSettled(
    Array.from({ length: count }, () => startGatewayProcess(upstreamPort, extra, env)),
  );
  const started = outcomes.flatMap((o) => (o.status === "fulfilled" ? [o.value] : []));
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
  if (failed) {
    await Promise.all(started.map((g) => g.stop()));
    throw failed.reason;
  }
  return started;
}
