// GET /metrics/engine: the engines' own Prometheus metrics (vLLM's KV-cache use and queue length, TGI's
// batch sizes: what autoscaling wants), which the gateway's /metrics hides on the shared port. Each
// engine's series get `deployment` and `replica` labels, and each metric family is written once with all
// its series (the text format wants a family in one group). `engine_metrics_up` says whose were read.
import type { Deployment } from "../deployments/deployments.ts";

const READ_TIMEOUT_MS = 5000;

interface Family {
  help?: string;
  type?: string;
  samples: string[];
}

/** `"` `\` and newlines escaped as the text format wants them in a label value. */
const labelValue = (value: string) => value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/** A sample line with `labels` added before its own (`name{a="1"} 2` -> `name{deployment="d",a="1"} 2`). */
function withLabels(line: string, labels: string): string {
  const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
  if (!name) return line;
  const rest = line.slice(name.length);
  if (rest.startsWith("{")) return `${name}{${labels}${rest[1] === "}" ? "" : ","}${rest.slice(1)}`;
  return `${name}{${labels}}${rest}`;
}

/** Adds one engine's exposition to `families`, its series labelled. */
function addExposition(families: Map<string, Family>, text: string, labels: string): void {
  let current: string | undefined;
  const family = (name: string): Family => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { samples: [] }));
    return f;
  };
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const meta = /^#\s+(HELP|TYPE)\s+([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(.*)$/.exec(line);
    if (meta) {
      current = meta[2]!;
      const f = family(current);
      if (meta[1] === "HELP") f.help ??= meta[3];
      else f.type ??= meta[3];
      continue;
    }
    if (line.startsWith("#")) continue;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
    if (!name) continue;
    // A histogram's _bucket/_sum/_count and a counter's _total/_created belong to the family above them.
    const owner = current !== undefined && name.startsWith(current) ? current : name;
    family(owner).samples.push(withLabels(line, labels));
  }
}

export async function engineMetricsText(deployments: readonly Deployment[]): Promise<string> {
  const sources = deployments.flatMap((d) =>
    d.replicas.map((r) => ({ deployment: d.name ?? "default", replica: r.label, upstream: r.upstream })),
  );
  const texts = await Promise.all(
    sources.map(async ({ upstream }) => {
      try {
        const { status, body } = await upstream.getRootJson("/metrics", AbortSignal.timeout(READ_TIMEOUT_MS));
        return status === 200 && typeof body === "string" ? body : undefined;
      } catch {
        return undefined; // an engine without metrics, or one that is down: `engine_metrics_up 0` says so
      }
    }),
  );
  const families = new Map<string, Family>();
  const up: string[] = [];
  sources.forEach((source, i) => {
    const labels = `deployment="${labelValue(source.deployment)}",replica="${labelValue(source.replica)}"`;
    up.push(`engine_metrics_up{${labels}} ${texts[i] === undefined ? 0 : 1}`);
    if (texts[i] !== undefined) addExposition(families, texts[i]!, labels);
  });
  const out = [
    "# HELP engine_metrics_up Whether the engine's /metrics was read for this answer.",
    "# TYPE engine_metrics_up gauge",
    ...up,
  ];
  for (const [name, f] of families) {
    if (f.help !== undefined) out.push(`# HELP ${name} ${f.help}`);
    if (f.type !== undefined) out.push(`# TYPE ${name} ${f.type}`);
    out.push(...f.samples);
  }
  return `${out.join("\n")}\n`;
}
