// `npm run generate:check`: regenerates into a temporary folder and fails on any difference from
// the committed generated/, so generated/ can only change together with specs/manifest.json.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { projectRoot } from "./specs.ts";

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

const committed = join(projectRoot, "generated");
const fresh = mkdtempSync(join(tmpdir(), "generated-"));
try {
  try {
    execFileSync(process.execPath, ["--import", "tsx", join(projectRoot, "scripts", "gen-types.ts"), "--out", fresh], {
      stdio: "inherit",
    });
  } catch {
    process.exitCode = 1;
    throw new Error("generation failed (see above)");
  }
  const a = new Set(listFiles(committed).map((f) => relative(committed, f)));
  const b = new Set(listFiles(fresh).map((f) => relative(fresh, f)));
  const drift = [...new Set([...a, ...b])].sort().filter((file) => {
    if (!a.has(file) || !b.has(file)) return true;
    return !readFileSync(join(committed, file)).equals(readFileSync(join(fresh, file)));
  });
  if (drift.length > 0) {
    console.error(
      `generated/ drifted from the pinned specs; run \`npm run generate\` and commit:\n  ${drift.join("\n  ")}`,
    );
    process.exitCode = 1;
  } else {
    console.log(`generated/ matches the pinned specs (${a.size} files)`);
  }
} catch (err) {
  console.error(`npm run generate:check: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  rmSync(fresh, { recursive: true, force: true });
}
