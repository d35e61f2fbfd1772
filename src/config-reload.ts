// The --config file read again (issue 26) on SIGHUP and when it changes on disk (an edit, a Kubernetes
// ConfigMap or Secret swap): consumers, their keys and limits, Entra ID, fail_closed and each deployment's
// limits apply from the next request, while a request in flight keeps what it started with. A file with a
// mistake is refused with one log line and the running config stays. Engines (names, URLs, replicas,
// timeouts…) are built at start-up: a change to them is named in the log and applies at the next restart.
import { createHash } from "node:crypto";
import { type FSWatcher, readFileSync, watch } from "node:fs";
import { dirname } from "node:path";
import { createAccess } from "./core/consumers/access.ts";
import type { DeploymentSpec, DeploymentsFile } from "./core/deployments/config-file.ts";
import type { GatewayDeps } from "./deps.ts";

/** Events in the file's directory come in bursts (an editor's write-and-rename, a ConfigMap's symlink swap). */
const SETTLE_MS = 100;

export interface ConfigReloader {
  /** Reads the file again; false when it was refused. `force` reads it even if its bytes are unchanged. */
  reload(reason: string, force?: boolean): boolean;
  close(): void;
}

export function watchConfigFile(deps: GatewayDeps, file: { path: string; read(): DeploymentsFile }): ConfigReloader {
  const { log, metrics } = deps;
  let running: DeploymentsFile = deps.config.deployments;
  let fingerprint = fingerprintOf(file.path);

  const reload = (reason: string, force = false): boolean => {
    const now = fingerprintOf(file.path);
    // Unchanged bytes, or a moment mid-swap where the file is missing: the next event will tell.
    if (!force && (now === fingerprint || now === undefined)) return true;
    let next: DeploymentsFile;
    try {
      next = file.read();
    } catch (err) {
      metrics.configReloads.labels("refused").inc();
      log.error(
        { file: file.path, reason, why: (err as Error).message },
        "config reload refused; the running config stays",
      );
      fingerprint = now;
      return false;
    }
    fingerprint = now;
    const sameEntra = sameJson(running.access?.entra, next.access?.entra);
    deps.access = createAccess(next.access, deps.config.apiKeys, sameEntra ? deps.access.entra : undefined);
    for (const d of deps.deployments.all) {
      const spec = next.deployments.find((s) => s.name === d.name);
      if (spec) d.limits = spec.limits;
    }
    const restartNeeded = engineChanges(running, next);
    const changed = accessChanges(running, next);
    running = { ...next, deployments: mergeLimits(running.deployments, next.deployments) };
    metrics.configReloads.labels("applied").inc();
    const line = {
      file: file.path,
      reason,
      consumers: next.access?.consumers.length ?? 0,
      entra: !!next.access?.entra,
      changed,
    };
    if (restartNeeded.length > 0)
      log.warn(
        { ...line, restartNeeded },
        `config reloaded; deployment changes apply at the next restart: ${restartNeeded.join("; ")}`,
      );
    else log.info(line, "config reloaded");
    if (Object.keys(changed).length > 0) log.info({ file: file.path, changed }, `config changes: ${describe(changed)}`);
    return true;
  };

  let settle: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  try {
    // The directory, not the file: a rename-write or a symlink swap replaces the file the watch would hold.
    watcher = watch(dirname(file.path), { persistent: false }, () => {
      clearTimeout(settle);
      settle = setTimeout(() => reload("file changed"), SETTLE_MS);
      settle.unref();
    });
    watcher.on("error", (err) => {
      log.warn({ file: file.path, err }, "config file watch stopped; SIGHUP still reloads it");
      watcher?.close();
    });
  } catch (err) {
    log.warn({ file: file.path, err }, "cannot watch the config file; SIGHUP reloads it");
  }
  return {
    reload,
    close() {
      clearTimeout(settle);
      watcher?.close();
    },
  };
}

function fingerprintOf(path: string): string | undefined {
  try {
    return createHash("sha256").update(readFileSync(path)).digest("hex");
  } catch {
    return undefined;
  }
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** What changed in the engines themselves (not their limits), which the running gateway cannot apply. */
function engineChanges(before: DeploymentsFile, after: DeploymentsFile): string[] {
  const engine = ({ limits: _limits, ...rest }: DeploymentSpec) => rest;
  const label = (name: string | undefined) => `'${name ?? "default"}'`;
  const changes: string[] = [];
  for (const b of before.deployments) {
    const a = after.deployments.find((s) => s.name === b.name);
    if (!a) changes.push(`${label(b.name)} removed`);
    else if (!sameJson(engine(a), engine(b))) changes.push(`${label(b.name)} changed`);
  }
  for (const a of after.deployments)
    if (!before.deployments.some((b) => b.name === a.name)) changes.push(`${label(a.name)} added`);
  if (before.defaultName !== after.defaultName) changes.push(`default ${label(after.defaultName)}`);
  return changes;
}

/** The running engines with the limits just applied: what the next reload compares against. */
function mergeLimits(running: readonly DeploymentSpec[], next: readonly DeploymentSpec[]): DeploymentSpec[] {
  return running.map((r) => {
    const n = next.find((s) => s.name === r.name);
    return n ? { ...r, limits: n.limits } : r;
  });
}

/** What a reload changed that applies at once: consumers added or removed, whose keys were rotated (never
 * the keys), whose limits, allow-list or Entra mapping changed, deployments whose limits changed, Entra
 * and fail_closed. Names only. */
export function accessChanges(before: DeploymentsFile, after: DeploymentsFile): Record<string, string[] | boolean> {
  const was = new Map((before.access?.consumers ?? []).map((c) => [c.name, c]));
  const now = new Map((after.access?.consumers ?? []).map((c) => [c.name, c]));
  const names = (keep: (name: string) => boolean, from: Map<string, unknown>) => [...from.keys()].filter(keep);
  const both = names((n) => was.has(n), now);
  const digests = (c: { keyDigests: Buffer[] }) => c.keyDigests.map((d) => d.toString("hex")).sort();
  const changes: Record<string, string[] | boolean> = {
    consumersAdded: names((n) => !was.has(n), now),
    consumersRemoved: names((n) => !now.has(n), was),
    keysRotated: both.filter((n) => !sameJson(digests(was.get(n)!), digests(now.get(n)!))),
    limitsChanged: both.filter((n) => !sameJson(was.get(n)!.limits, now.get(n)!.limits)),
    deploymentsAllowedChanged: both.filter((n) => !sameJson(was.get(n)!.deployments, now.get(n)!.deployments)),
    entraMappingChanged: both.filter((n) => !sameJson(was.get(n)!.entra, now.get(n)!.entra)),
    deploymentLimitsChanged: after.deployments
      .filter((d) => !sameJson(before.deployments.find((b) => b.name === d.name)?.limits, d.limits))
      .map((d) => d.name ?? "default"),
    entraChanged: !sameJson(before.access?.entra, after.access?.entra),
    failClosedChanged: (before.access?.failClosed ?? false) !== (after.access?.failClosed ?? false),
  };
  for (const [key, value] of Object.entries(changes))
    if (value === false || (Array.isArray(value) && value.length === 0)) delete changes[key];
  return changes;
}

const describe = (changed: Record<string, string[] | boolean>) =>
  Object.entries(changed)
    .map(([what, value]) => (Array.isArray(value) ? `${what} ${value.join(", ")}` : what))
    .join("; ");
