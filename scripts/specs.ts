// Brings the pinned upstream specs into .cache/specs/, from $SPECS_DIR (default ../shared/specs) or,
// failing that, from each spec's pinned URL; every file is checked against its sha256 before use.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export interface PinnedSpec {
  name: string;
  file: string;
  repo: string;
  commit: string;
  path: string;
  url: string;
  sha256: string;
}

export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const cacheDir = join(projectRoot, ".cache", "specs");

export function readManifest(file = join(projectRoot, "specs", "manifest.json")): PinnedSpec[] {
  return (JSON.parse(readFileSync(file, "utf8")) as { specs: PinnedSpec[] }).specs;
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

class SpecHashMismatch extends Error {
  constructor(spec: PinnedSpec, source: string, actual: string) {
    super(
      `sha256 mismatch for ${spec.file} (${spec.name}) from ${source}:\n` +
        `  manifest: ${spec.sha256}\n  actual:   ${actual}\n` +
        `Either the source changed or specs/manifest.json pins the wrong hash.`,
    );
  }
}

async function readSource(spec: PinnedSpec, specsDir: string): Promise<{ bytes: Uint8Array; source: string }> {
  const local = join(specsDir, spec.file);
  if (existsSync(local)) return { bytes: readFileSync(local), source: local };
  const res = await fetch(spec.url).catch((err: Error) => {
    throw new Error(`${spec.file}: not in ${specsDir} and ${spec.url} is unreachable (${err.message})`);
  });
  if (!res.ok) throw new Error(`${spec.file}: ${spec.url} answered HTTP ${res.status}`);
  return { bytes: new Uint8Array(await res.arrayBuffer()), source: spec.url };
}

/** Returns the local path of each pinned spec, keyed by name, after verifying every hash. */
export async function ensureSpecs(
  specs = readManifest(),
  specsDir = resolve(projectRoot, process.env.SPECS_DIR ?? "../shared/specs"),
  cache = cacheDir,
): Promise<Record<string, string>> {
  const paths: Record<string, string> = {};
  for (const spec of specs) {
    const cached = join(cache, spec.file);
    if (!existsSync(cached) || sha256(readFileSync(cached)) !== spec.sha256) {
      const { bytes, source } = await readSource(spec, specsDir);
      const actual = sha256(bytes);
      if (actual !== spec.sha256) throw new SpecHashMismatch(spec, source, actual);
      mkdirSync(dirname(cached), { recursive: true });
      writeFileSync(cached, bytes);
    }
    paths[spec.name] = cached;
  }
  return paths;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const manifest = process.argv[2];
  ensureSpecs(manifest ? readManifest(resolve(manifest)) : undefined).then(
    (paths) => {
      for (const [name, path] of Object.entries(paths)) console.log(`${name}: ${path}`);
    },
    (err: Error) => {
      console.error(`npm run specs: ${err.message}`);
      process.exit(1);
    },
  );
}
