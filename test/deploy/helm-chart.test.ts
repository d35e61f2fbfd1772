// deploy/helm: linted and rendered with the pinned helm (scripts/helm.ts) for both modes and a set of
// value combinations; every manifest is validated against the Kubernetes API schemas (kubernetes-models,
// offline), and the wiring a cluster would only reveal at runtime is checked: probe paths and ports,
// Secret references, the grace period against the drain, selectors, every gateway flag.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { OPTIONS } from "../../src/config.ts";
import { parseDeploymentsFile } from "../../src/core/deployments/config-file.ts";
import { helmForTests } from "../../scripts/helm.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const CHART = join(ROOT, "deploy/helm/azure-openai-proxy");
const test = suite("helm-chart");

const helm = helmForTests("chart");

type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
};
type Values = Record<string, unknown>;

/** Where the tests' images come from: the chart requires one (a bare name would be pulled from Docker Hub). */
const REPOSITORY = "registry.example.com/azure-openai-proxy";

function helmRun(args: string[], values: Values): { status: number; stdout: string; stderr: string } {
  const file = join(mkdtempSync(join(tmpdir(), "chart-values-")), "values.json");
  const image = { repository: REPOSITORY, ...((values.image as object | undefined) ?? {}) };
  writeFileSync(file, JSON.stringify({ ...values, image }));
  const out = spawnSync(helm!, [...args, CHART, "-f", file], { encoding: "utf8" });
  return { status: out.status ?? 1, stdout: out.stdout, stderr: out.stderr };
}

function render(values: Values, kubeVersion = "1.31.0"): Manifest[] {
  const out = helmRun(["template", "rel", "--kube-version", kubeVersion], values);
  assert.is(out.status, 0, out.stderr);
  return parseAllDocuments(out.stdout)
    .map((d) => d.toJS() as Manifest)
    .filter(Boolean);
}

/** Validates against the API schema of the manifest's apiVersion and kind. */
async function validate(m: Manifest): Promise<void> {
  const module = m.apiVersion.startsWith("monitoring.coreos.com/")
    ? `@kubernetes-models/prometheus-operator/${m.apiVersion}/${m.kind}`
    : `kubernetes-models/${m.apiVersion}/${m.kind}`;
  const Model = (await import(module))[m.kind] as new (data: unknown) => { validate(): void };
  try {
    new Model(m).validate();
  } catch (err) {
    throw new Error(`${m.kind} ${m.metadata.name} is not valid ${m.apiVersion}: ${(err as Error).message}`);
  }
}

const seconds = (duration: string) => Number(/^(\d+)s$/.exec(duration)?.[1] ?? NaN);

/** What would break in a cluster, in words; empty when the render is sound. */
function problems(docs: Manifest[], values: Values = {}): string[] {
  const found: string[] = [];
  const of = (kind: string) => docs.filter((d) => d.kind === kind);
  const [deployment] = of("Deployment");
  if (!deployment) return ["no Deployment"];
  const pod = deployment.spec.template.spec;
  const podLabels = deployment.spec.template.metadata.labels as Record<string, string>;
  const gateway = pod.containers.find((c: any) => c.name === "gateway" || c.name === "engine-gateway");
  if (!gateway) return ["no gateway container"];
  const env = new Map<string, any>(gateway.env.map((e: any) => [e.name, e]));
  const http = gateway.ports.find((p: any) => p.name === "http");
  if (!http || String(http.containerPort) !== env.get("PORT")?.value)
    found.push(`port http (${http?.containerPort}) is not the gateway's PORT (${env.get("PORT")?.value})`);
  const probe = (name: string, path: string) => {
    const p = gateway[name]?.httpGet;
    if (p?.path !== path) found.push(`${name} path is ${p?.path}, not ${path}`);
    if (p?.port !== "http" && p?.port !== http?.containerPort)
      found.push(`${name} port is ${p?.port}, not the gateway's`);
  };
  probe("startupProbe", "/health");
  probe("livenessProbe", "/health");
  probe("readinessProbe", "/ready");

  const preStop = Number(gateway.lifecycle?.preStop?.exec?.command?.[1] ?? 0);
  const drain = preStop + seconds(env.get("SHUTDOWN_GRACE")?.value);
  if (!(pod.terminationGracePeriodSeconds > drain))
    found.push(
      `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} is not above the drain (${drain} s)`,
    );
  const stop = env.get("STOP_TIMEOUT")?.value;
  if (stop !== undefined && !(preStop + Number(stop) <= pod.terminationGracePeriodSeconds))
    found.push(`STOP_TIMEOUT ${stop} + preStop ${preStop} outlasts the grace period`);

  const secrets = new Map(of("Secret").map((s) => [s.metadata.name, Object.keys(s.data ?? {})]));
  const existing = (values.auth as { existingSecret?: string } | undefined)?.existingSecret;
  const access = values.access as { consumerKeys?: Array<{ env: string; secretName: string }> } | undefined;
  // Secrets the user manages, named in the values.
  const managed = new Set([
    existing,
    (values.engine as any)?.hfToken?.secretName,
    (values.state as any)?.redisUrlSecret?.name,
    (values.state as any)?.compactionKeySecret?.name,
    ...(access?.consumerKeys ?? []).map((k) => k.secretName),
  ]);
  for (const e of env.values()) {
    const ref = e.valueFrom?.secretKeyRef;
    if (!ref || managed.has(ref.name)) continue;
    if (!secrets.get(ref.name)?.includes(ref.key))
      found.push(`${e.name} refers to Secret ${ref.name} key ${ref.key}, which is not rendered`);
  }

  const flagEnvs = new Set(Object.values(OPTIONS).map((o) => o.env));
  const otherEnvs = new Set(["ENGINE_READY_TIMEOUT", "STOP_TIMEOUT", "HF_HOME", "HF_TOKEN"]);
  for (const name of env.keys())
    if (
      !flagEnvs.has(name) &&
      !otherEnvs.has(name) &&
      !(values.gateway as any)?.extraEnv?.some((x: any) => x.name === name) &&
      !access?.consumerKeys?.some((k) => k.env === name)
    )
      found.push(`env ${name} is no gateway flag`);

  for (const v of pod.volumes ?? [])
    if (v.emptyDir && v.emptyDir.medium !== "Memory" && !v.emptyDir.sizeLimit)
      found.push(`emptyDir ${v.name} has no sizeLimit: it may fill the node's disk`);
  const matches = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => podLabels[k] === v);
  for (const s of of("Service")) {
    if (!matches(s.spec.selector)) found.push(`Service ${s.metadata.name} selects no pod`);
    for (const p of s.spec.ports)
      if (!gateway.ports.some((c: any) => c.name === p.targetPort))
        found.push(`Service port ${p.name} targets ${p.targetPort}, which the container does not expose`);
  }
  for (const p of of("PodDisruptionBudget"))
    if (!matches(p.spec.selector.matchLabels)) found.push("the PodDisruptionBudget selects no pod");
  for (const h of of("HorizontalPodAutoscaler")) {
    if (h.spec.scaleTargetRef.name !== deployment.metadata.name) found.push("the HPA scales another Deployment");
    if (deployment.spec.replicas !== undefined) found.push("replicas is set although an HPA owns it");
  }
  for (const m of of("ServiceMonitor")) {
    const ports = of("Service").flatMap((s) => s.spec.ports.map((p: any) => p.name));
    if (!m.spec.endpoints.every((e: any) => ports.includes(e.port)))
      found.push("the ServiceMonitor scrapes a port the Service lacks");
    if (!env.has("METRICS_PORT")) found.push("the ServiceMonitor scrapes /metrics but METRICS_PORT is not set");
  }
  if (gateway.name === "gateway") {
    const sc = { ...pod.securityContext, ...gateway.securityContext };
    if (sc.runAsNonRoot !== true || sc.readOnlyRootFilesystem !== true || sc.allowPrivilegeEscalation !== false)
      found.push("the gateway-only container is not non-root with a read-only root");
    if (!env.get("UPSTREAM_HOST")?.value && !env.get("CONFIG")?.value)
      found.push("no UPSTREAM_HOST nor CONFIG in mode gateway");
  }
  const config = env.get("CONFIG")?.value as string | undefined;
  if (config) {
    const mount = gateway.volumeMounts.find((m: any) => config.startsWith(`${m.mountPath}/`));
    const volume = pod.volumes.find((v: any) => v.name === mount?.name);
    const map = of("ConfigMap").find((c) => c.metadata.name === volume?.configMap?.name);
    if (!map || !(config.slice(mount.mountPath.length + 1) in (map as any).data))
      found.push(`CONFIG ${config} is not a file of a rendered ConfigMap`);
    // The kubelet never updates a subPath mount: the gateway would not see a changed file.
    if (mount?.subPath) found.push("the config file is mounted with subPath, which is never updated");
  }
  return found;
}

const COMBINATIONS: Array<{ name: string; values: Values }> = [
  { name: "engine defaults (vllm, one GPU)", values: {} },
  {
    name: "engine tei-cpu, keys, ServiceMonitor, model cache on a PVC, HF token",
    values: {
      engine: {
        target: "tei-cpu",
        gpus: 0,
        args: ["--model-id", "BAAI/bge-small-en-v1.5"],
        modelCache: { claimName: "models" },
        hfToken: { secretName: "hf", key: "token" },
      },
      auth: { apiKey: "k1,k2", upstreamApiKey: "u" },
      metrics: { serviceMonitor: { enabled: true } },
      gateway: { flags: { "upstream-type": "embeddings" } },
    },
  },
  {
    name: "engine with HPA and a long drain",
    values: {
      autoscaling: { enabled: true, maxReplicas: 8 },
      gateway: { shutdownGraceSeconds: 300 },
      terminationGracePeriodSeconds: 330,
    },
  },
  {
    name: "gateway in front of a Service, keys, every flag set",
    values: {
      mode: "gateway",
      upstream: { url: "http://vllm.llm.svc:8000" },
      auth: { apiKey: "k", upstreamApiKey: "u" },
      gateway: {
        flags: {
          "max-concurrent": 64,
          "first-byte-timeout": "600s",
          "log-level": "warn",
          workers: "auto",
          "log-bodies": false,
        },
      },
    },
  },
  {
    name: "gateway with the engine as a native sidecar",
    values: {
      mode: "gateway",
      upstream: {
        url: "http://127.0.0.1:8000",
        sidecar: {
          name: "vllm",
          image: "vllm/vllm-openai:v0.30.0",
          args: ["--model", "m"],
          securityContext: { runAsUser: 0, runAsNonRoot: false },
        },
      },
    },
  },
  {
    name: "gateway with the engine as a plain sidecar and an existing Secret",
    values: {
      mode: "gateway",
      upstream: {
        url: "http://127.0.0.1:8000",
        nativeSidecar: false,
        sidecar: { name: "tgi", image: "ghcr.io/huggingface/text-generation-inference:3.3.7" },
      },
      auth: { existingSecret: "my-keys" },
    },
  },
  {
    name: "gateway in front of two engines through a deployments file",
    values: {
      mode: "gateway",
      gateway: {
        deploymentsFile: {
          default: "chat",
          deployments: [
            { name: "chat", url: "http://vllm.llm.svc:8000" },
            { name: "embed", url: "http://tei.llm.svc:8080", operations: ["embeddings"] },
          ],
        },
      },
    },
  },
  {
    name: "gateway with consumers and Entra ID from values, their keys and Redis from Secrets",
    values: {
      mode: "gateway",
      gateway: { deploymentsFile: { deployments: [{ name: "chat", url: "http://vllm.llm.svc:8000" }] } },
      access: {
        entra: { tenant_id: "11111111-2222-3333-4444-555555555555", audiences: ["api://azure-openai-proxy"] },
        consumers: [
          { name: "team-a", keys_env: ["TEAM_A_KEY", "TEAM_A_KEY_NEXT"], limits: { tokens_per_minute: 200000 } },
          { name: "analytics", entra: { app_ids: ["66666666-7777-8888-9999-000000000000"] } },
        ],
        failClosed: true,
        consumerKeys: [
          { env: "TEAM_A_KEY", secretName: "team-a-keys", key: "current" },
          { env: "TEAM_A_KEY_NEXT", secretName: "team-a-keys", key: "next" },
        ],
      },
      state: { redisUrlSecret: { name: "redis", key: "url" }, compactionKeySecret: { name: "compaction" } },
    },
  },
  {
    name: "engine with consumers only",
    values: {
      access: { consumers: [{ name: "team-a", key_sha256: ["a".repeat(64)], limits: { max_parallel: 4 } }] },
    },
  },
  {
    name: "gateway with HPA, no PDB, port 9000, ServiceMonitor, PrometheusRule, Grafana dashboard",
    values: {
      mode: "gateway",
      upstream: { url: "https://engine.example.com/v1" },
      gateway: { port: 9000 },
      autoscaling: { enabled: true },
      podDisruptionBudget: { enabled: false },
      metrics: {
        serviceMonitor: { enabled: true },
        prometheusRule: { enabled: true, labels: { release: "kube-prometheus-stack" } },
        grafanaDashboard: { enabled: true },
      },
    },
  },
];

if (helm) {
  test("lint_passes_strict_in_both_modes", () => {
    for (const values of [{}, { mode: "gateway", upstream: { url: "http://vllm:8000" } }]) {
      const out = helmRun(["lint", "--strict"], values);
      assert.is(out.status, 0, out.stdout + out.stderr);
    }
  });

  for (const { name, values } of COMBINATIONS) {
    test(`renders_valid_and_wired: ${name}`, async () => {
      const docs = render(values);
      for (const m of docs) await validate(m);
      assert.equal(problems(docs, values), []);
    });
  }

  test("the_modes_differ_where_they_must", () => {
    const engine = render({}).find((d) => d.kind === "Deployment")!.spec.template.spec;
    assert.is(engine.containers[0].resources.limits["nvidia.com/gpu"], 1);
    assert.equal(engine.containers[0].args, ["--model", "Qwen/Qwen2.5-0.5B-Instruct"]);
    assert.is(engine.containers[0].image, `${REPOSITORY}:vllm`);
    const gateway = render({ mode: "gateway", upstream: { url: "http://vllm:8000" } }).find(
      (d) => d.kind === "Deployment",
    )!.spec.template.spec;
    assert.is(gateway.containers[0].image, `${REPOSITORY}:gateway`);
    assert.is(gateway.containers[0].args, undefined, "the gateway image takes its flags from the environment");
    assert.is(gateway.containers[0].resources.limits?.["nvidia.com/gpu"], undefined, "no GPU for the gateway alone");
    const sidecar = render(COMBINATIONS[4]!.values).find((d) => d.kind === "Deployment")!.spec.template.spec;
    assert.is(sidecar.initContainers[0].restartPolicy, "Always");
    const files = render(COMBINATIONS[6]!.values).find((d) => d.kind === "ConfigMap")!;
    const parsed = parseDeploymentsFile((files as any).data["gateway.yaml"], "configmap", {});
    assert.equal(
      parsed.deployments.map((d) => d.name),
      ["chat", "embed"],
      "the rendered file is one the gateway accepts",
    );
    const plain = render(COMBINATIONS[5]!.values).find((d) => d.kind === "Deployment")!.spec.template.spec;
    assert.equal(
      plain.containers[1].lifecycle.preStop.exec.command,
      ["sleep", "305"],
      "the engine outlives the gateway's drain",
    );
  });

  test("the_checks_catch_a_wrong_probe_a_wrong_port_a_missing_secret_and_a_short_grace", async () => {
    const values = { auth: { apiKey: "k" } };
    const broken = (mutate: (docs: Manifest[]) => Manifest[]) =>
      problems(mutate(structuredClone(render(values))), values);
    const container = (docs: Manifest[]) => docs.find((d) => d.kind === "Deployment")!.spec.template.spec.containers[0];
    assert.match(
      broken((d) => ((container(d).readinessProbe.httpGet.path = "/healthz"), d)).join("; "),
      /readinessProbe path is \/healthz, not \/ready/,
    );
    assert.match(
      broken((d) => ((container(d).livenessProbe.httpGet.port = 8080), d)).join("; "),
      /livenessProbe port is 8080/,
    );
    assert.match(
      broken((d) => ((container(d).ports[0].containerPort = 8080), d)).join("; "),
      /port http \(8080\) is not the gateway's PORT \(80\)/,
    );
    assert.match(
      broken((d) => d.filter((m) => m.kind !== "Secret")).join("; "),
      /API_KEY refers to Secret rel-azure-openai-proxy key api-key, which is not rendered/,
    );
    assert.match(
      broken(
        (d) => ((d.find((m) => m.kind === "Deployment")!.spec.template.spec.terminationGracePeriodSeconds = 30), d),
      ).join("; "),
      /terminationGracePeriodSeconds 30 is not above the drain \(305 s\)/,
    );
    const invalid = structuredClone(render(values).find((m) => m.kind === "Deployment")!);
    invalid.spec.template.spec.containers[0].ports[0].containerPort = "http";
    await validate(invalid).then(
      () => assert.unreachable("a string containerPort passed the API schema"),
      (err: Error) => assert.match(err.message, /containerPort must be integer/),
    );
  });

  test("consumers_entra_and_their_secrets_reach_the_gateway_and_reload_without_a_rollout", () => {
    const values = COMBINATIONS.find((c) => c.name.startsWith("gateway with consumers"))!.values;
    const docs = render(values);
    const pod = docs.find((d) => d.kind === "Deployment")!.spec.template;
    const env = new Map<string, any>(pod.spec.containers[0].env.map((e: any) => [e.name, e]));
    assert.equal(env.get("TEAM_A_KEY").valueFrom.secretKeyRef, {
      name: "team-a-keys",
      key: "current",
      optional: false,
    });
    assert.equal(env.get("STORE").valueFrom.secretKeyRef, { name: "redis", key: "url", optional: false });
    const file = (docs.find((d) => d.kind === "ConfigMap") as any).data["gateway.yaml"];
    const parsed = parseDeploymentsFile(file, "configmap", { TEAM_A_KEY: "k1", TEAM_A_KEY_NEXT: "k2" });
    assert.equal(
      parsed.access?.consumers.map((c) => c.name),
      ["team-a", "analytics"],
      "the rendered file is one the gateway accepts",
    );
    assert.is(parsed.access?.entra?.tenantId, "11111111-2222-3333-4444-555555555555");
    assert.is(parsed.access?.failClosed, true);
    // A consumer's change is read again in place; an engine change rolls the pods.
    const annotations = (v: Values) =>
      render(v).find((d) => d.kind === "Deployment")!.spec.template.metadata.annotations ?? {};
    const access = values.access as any;
    const moreTokens = {
      ...values,
      access: { ...access, consumers: [{ ...access.consumers[0], limits: { tokens_per_minute: 1 } }] },
    };
    assert.equal(annotations(moreTokens), annotations(values), "no rollout for a consumer's change");
    const otherEngine = {
      ...values,
      gateway: { deploymentsFile: { deployments: [{ name: "chat", url: "http://sglang.llm.svc:30000" }] } },
    };
    assert.is.not(
      annotations(otherEngine)["checksum/deployments"],
      annotations(values)["checksum/deployments"],
      "an engine change rolls the pods",
    );
    const engine = render(COMBINATIONS.find((c) => c.name === "engine with consumers only")!.values);
    const engineEnv = engine.find((d) => d.kind === "Deployment")!.spec.template.spec.containers[0].env;
    assert.ok(
      engineEnv.some((e: any) => e.name === "CONFIG"),
      "consumers work in mode engine too (the file has no deployments: the container's own engine)",
    );
  });

  test("rollouts_keep_capacity_drains_let_streams_finish_and_replicas_spread", () => {
    const docs = render({});
    const deployment = docs.find((d) => d.kind === "Deployment")!;
    const pod = deployment.spec.template.spec;
    assert.equal(
      deployment.spec.strategy.rollingUpdate,
      { maxSurge: 1, maxUnavailable: 0 },
      "the new pod loads its model while the old one serves",
    );
    assert.ok(deployment.spec.progressDeadlineSeconds > 1800, "a 30-minute model load does not fail the rollout");
    const env = new Map<string, any>(pod.containers[0].env.map((e: any) => [e.name, e.value]));
    assert.ok(seconds(env.get("SHUTDOWN_GRACE")) >= 300, "streams get minutes to finish on a rollout");
    assert.ok(pod.terminationGracePeriodSeconds > seconds(env.get("SHUTDOWN_GRACE")));
    assert.equal(
      pod.topologySpreadConstraints.map((c: any) => c.topologyKey),
      ["kubernetes.io/hostname", "topology.kubernetes.io/zone"],
    );
    assert.equal(
      pod.topologySpreadConstraints[0].labelSelector.matchLabels,
      deployment.spec.selector.matchLabels,
      "the spread counts this release's pods",
    );
    assert.ok(
      pod.tolerations.some((t: any) => t.key === "nvidia.com/gpu" && t.effect === "NoSchedule"),
      "a GPU pod tolerates the GPU nodes' taint",
    );
    assert.is(
      render({ engine: { target: "tei-cpu", gpus: 0, args: ["--model-id", "m"] } }).find(
        (d) => d.kind === "Deployment",
      )!.spec.template.spec.tolerations,
      undefined,
      "a CPU pod does not",
    );
    assert.ok(pod.volumes.find((v: any) => v.name === "model-cache").emptyDir.sizeLimit, "the model cache is sized");

    const pdb = (values: Values) => render(values).find((d) => d.kind === "PodDisruptionBudget");
    assert.is(pdb({}), undefined, "one replica: no budget, which could only block every node drain");
    assert.is(pdb({ replicaCount: 3 })!.spec.maxUnavailable, 1);
    assert.is(pdb({ autoscaling: { enabled: true, minReplicas: 2 } })!.spec.maxUnavailable, 1);
  });

  test("native_sidecars_only_where_the_cluster_supports_them", () => {
    const values = COMBINATIONS.find((c) => c.name === "gateway with the engine as a native sidecar")!.values;
    const spec = (kube: string, v: Values = values) =>
      render(v, kube).find((d) => d.kind === "Deployment")!.spec.template.spec;
    assert.is(spec("1.31.0").initContainers[0].restartPolicy, "Always");
    const old = spec("1.28.0");
    assert.is(old.initContainers, undefined, "Kubernetes 1.28: a plain container");
    assert.equal(
      old.containers.map((c: any) => c.name),
      ["gateway", "vllm"],
    );
    const forced = { ...values, upstream: { ...(values.upstream as object), nativeSidecar: true } };
    const out = helmRun(["template", "rel", "--kube-version", "1.28.0"], forced);
    assert.is.not(out.status, 0);
    assert.match(out.stderr, /native sidecars need Kubernetes 1.29 or later, this cluster is v1.28.0/);
  });

  test("values_that_would_break_a_rollout_are_refused_at_install", () => {
    const refused = (values: Values, why: RegExp) => {
      const out = helmRun(["template", "rel"], values);
      assert.is.not(out.status, 0, JSON.stringify(values));
      assert.match(out.stderr, why);
    };
    refused(
      { terminationGracePeriodSeconds: 20 },
      /terminationGracePeriodSeconds \(20\) must be above preStopSleepSeconds \+ gateway.shutdownGraceSeconds \(305\)/,
    );
    refused({ mode: "gateway" }, /mode gateway needs upstream.url/);
    refused({ image: { repository: "" } }, /image.repository: set the registry and repository the image was pushed to/);
    refused({ rollout: { maxSurge: 0, maxUnavailable: 0 } }, /maxSurge and maxUnavailable cannot both be 0/);
    refused(
      { replicaCount: 2, podDisruptionBudget: { enabled: true, maxUnavailable: 2 } },
      /podDisruptionBudget.maxUnavailable \(2\) must be below the replica count \(2\)/,
    );
    refused({ mode: "sidecar" }, /mode/);
    refused(
      { access: { consumers: [{ name: "team-a", keys_env: ["TEAM_A_KEY"] }] } },
      /keys_env names TEAM_A_KEY, which no access.consumerKeys entry \(nor gateway.extraEnv\) sets/,
    );
    refused(
      { state: { redisUrlSecret: { name: "redis" } }, gateway: { flags: { store: "memory:" } } },
      /set state.redisUrlSecret or gateway.flags.store, not both/,
    );
    refused({ gateway: { flags: { "max-concurent": 4 } } }, /additional properties 'max-concurent' not allowed/);
    refused(
      { probes: { readiness: { path: "ready", periodSeconds: 5, failureThreshold: 2, timeoutSeconds: 5 } } },
      /readiness\/path/,
    );
  });
}

test("every_pod_requests_cpu_and_memory_so_the_hpa_can_scale_and_it_is_not_best_effort", () => {
  for (const { name, values } of COMBINATIONS) {
    const pod = render(values).find((d) => d.kind === "Deployment")!.spec.template.spec;
    const requests = pod.containers[0].resources?.requests ?? {};
    assert.ok(requests.cpu && requests.memory, `${name}: requests ${JSON.stringify(requests)}`);
  }
  const own = render({ resources: { requests: { cpu: "8", memory: "40Gi" } } }).find((d) => d.kind === "Deployment")!;
  assert.equal(
    own.spec.template.spec.containers[0].resources.requests,
    { cpu: "8", memory: "40Gi" },
    "given requests win",
  );
});

test("the_prometheus_rule_and_the_dashboard_are_the_checked_files_as_they_are", () => {
  if (!helm) return;
  const manifests = render({
    metrics: {
      prometheusRule: { enabled: true },
      grafanaDashboard: { enabled: true, annotations: { grafana_folder: "AI" } },
    },
  });
  const rule = manifests.find((m) => m.kind === "PrometheusRule")!;
  assert.equal(rule.spec, parse(readFileSync(join(CHART, "monitoring/alerts.yaml"), "utf8")));
  const board = manifests.find((m) => m.kind === "ConfigMap" && m.metadata.name.endsWith("-dashboard"))!;
  assert.is(board.metadata.labels?.grafana_dashboard, "1", "the label Grafana's sidecar looks for");
  assert.equal(
    JSON.parse(board.data!["azure-openai-proxy.json"]!),
    JSON.parse(readFileSync(join(CHART, "monitoring/dashboard.json"), "utf8")),
  );
  assert.not.ok(
    render({}).some((m) => m.kind === "PrometheusRule" || m.metadata.name.endsWith("-dashboard")),
    "off by default (they need the operator's CRDs and Grafana's sidecar)",
  );
});

test("every_gateway_flag_is_a_chart_value_or_set_by_the_chart", () => {
  const values = parse(readFileSync(join(CHART, "values.yaml"), "utf8"));
  const schema = JSON.parse(readFileSync(join(CHART, "values.schema.json"), "utf8"));
  const setByChart = [
    "host",
    "port",
    "upstream-host",
    "upstream-port",
    "api-key",
    "upstream-api-key",
    "shutdown-grace",
    "metrics-port",
    "config",
    "compaction-key", // from state.compactionKeySecret: a key is never a value
  ];
  const flags = Object.keys(values.gateway.flags);
  assert.equal([...flags, ...setByChart].sort(), Object.keys(OPTIONS).sort());
  assert.equal(
    Object.keys(schema.properties.gateway.properties.flags.properties).sort(),
    [...flags].sort(),
    "the schema refuses what values.yaml does not list",
  );
  for (const flag of flags)
    assert.is(
      flag.toUpperCase().replaceAll("-", "_"),
      OPTIONS[flag as keyof typeof OPTIONS].env,
      `${flag} is passed as its environment variable`,
    );
});

test.run();
