// A real browser for the pages the gateway serves: Debian's chromium, headless, one process per call, its
// profile in a temporary directory, killed when the call ends or the test process exits. Where chromium is
// not installed the page tests are skipped locally; CI (.ci/run installs it) requires them.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const BINARIES = ["chromium", "chromium-browser", "google-chrome"];
const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** The browser's command, or undefined (then the caller skips, except in CI). */
export function findChromium(): string | undefined {
  const found = [process.env.CHROMIUM, ...BINARIES].find(
    (bin) => bin && spawnSync(bin, ["--version"], { stdio: "ignore" }).status === 0,
  );
  if (!found && (process.env.CI || process.env.REQUIRE_CHROMIUM))
    throw new Error("chromium is not installed: CI installs it (apt-get install chromium)");
  if (!found) console.log("  (chromium unavailable here: the page tests are skipped locally, CI requires them)");
  return found;
}

/** Loads `url` headless and lets its scripts run for `budgetMs` of the page's (virtual) time, then returns
 * the DOM as it stands (`--dump-dom`), or writes a screenshot when `screenshot` names a file. */
export async function headless(
  chromium: string,
  url: string,
  options: { budgetMs?: number; screenshot?: string; size?: [number, number] } = {},
): Promise<string> {
  const profile = mkdtempSync(join(tmpdir(), "chromium-"));
  const [width, height] = options.size ?? [1280, 820];
  const args = [
    "--headless",
    "--no-sandbox", // CI runs as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--hide-scrollbars",
    `--user-data-dir=${profile}`,
    `--window-size=${width},${height}`,
    `--virtual-time-budget=${options.budgetMs ?? 3000}`,
    options.screenshot ? `--screenshot=${options.screenshot}` : "--dump-dom",
    url,
  ];
  const child = spawn(chromium, args, { stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  let out = "";
  let err = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk));
  child.stderr.on("data", (chunk: Buffer) => (err += chunk));
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  try {
    const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
    if (code !== 0) throw new Error(`chromium exited ${code}: ${err.slice(-2000)}`);
    return out;
  } finally {
    clearTimeout(timer);
    running.delete(child);
    rmSync(profile, { recursive: true, force: true });
  }
}
