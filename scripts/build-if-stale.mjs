// `npm start`'s build step: runs tsc only when a source is newer than the build (a start with a current
// dist/ costs a directory walk, not 18-100 s of tsc). Plain JavaScript: no loader to start first.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const built = join(root, "dist/src/main.js");

/** The newest modification time under `dir` (0 when it does not exist). */
function newest(dir) {
  if (!existsSync(dir)) return 0;
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

const sources = Math.max(
  newest(join(root, "src")),
  newest(join(root, "generated")),
  ...["package.json", "tsconfig.json", "tsconfig.build.json"].map((f) => statSync(join(root, f)).mtimeMs),
);
if (!existsSync(built) || statSync(built).mtimeMs < sources) {
  execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], {
    cwd: root,
    stdio: "inherit",
  });
}
