// `npm run bench`: the gateway against (a) the upstream stub called directly, (c) nginx with one worker
// as a plain reverse proxy and (d) a minimal Node pass-through, interleaved case by case and round by
// round in one run, so the ratios hold on a noisy machine; (e) koa-ref, the same pass-through on Koa +
// @koa/router + koa-body, shows what the framework alone costs. Writes bench/results/latest.{json,md}.
// Options: USAGE below (`npm run bench -- --help`).
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { Pool } from "undici";
import { projectRoot } from "../specs.ts";
import { startRedis } from "../../test/helpers/redis.ts";
import { merge, percentile, runLoad, type LoadResult } from "./load.ts";
import { ROUTING_SECTION_BEGIN, runRoutingBench } from "./routing.ts";

const USAGE = `npm run bench [-- --seconds 2 --rounds 3 --held 1000 --held-chunks 100 --held-gap 50 --only chat-c1,stream-c64]
                [--gateway-args "--log-level warn"] [--node-args=--max-semi-space-size=8] [--out bench/results] [--docs]
       npm run bench -- --routing [--routing-seconds 15 --routing-rate 70 --docs]   (routing.ts)`;
const options = {
  seconds: { type: "string", default: "2" },
  rounds: { type: "string", default: "3" },
  held: { type: "string", default: "1000" },
  only: { type: "string" },
  "gateway-args": { type: "string", default: "" },
  "node-args": { type: "string", default: "" },
  out: { type: "string", default: "bench/results" },
  "held-chunks": { type: "string", default: "100" },
  "held-gap": { type: "string", default: "50" },
  // Also write the table into docs/benchmark-results.md (with the date, machine and commit it was measured on).
  docs: { type: "boolean", default: false },
  // Replica choice on a KV-cache workload instead (scripts/bench/routing.ts).
  routing: { type: "boolean", default: false },
  "routing-seconds": { type: "string", default: "15" },
  "routing-rate": { type: "string", default: "70" },
  help: { type: "boolean", default: false },
} as const;
/** Usage on --help; a one-line error and the usage, not a stack trace, on a wrong option. */
function readOptions() {
  try {
    const { values } = parseArgs({ options });
    if (values.help) {
      console.log(USAGE);
      process.exit(0);
    }
    for (const name of ["seconds", "rounds", "routing-seconds", "routing-rate"] as const) {
      if (!(Number(values[name]) > 0)) throw new Error(`--${name} must be a number > 0, got '${values[name]}'`);
    }
    for (const name of ["held", "held-chunks", "held-gap"] as const) {
      if (!(Number(values[name]) >= 0)) throw new Error(`--${name} must be a number >= 0, got '${values[name]}'`);
    }
    return values;
  } catch (err) {
    console.error(`bench: ${(err as Error).message}\nusage: ${USAGE}`);
    process.exit(2);
  }
}
const opts = readOptions();
const SECONDS = Number(opts.seconds);
const ROUNDS = Number(opts.rounds);
const HELD = Number(opts.held);
const TSX = join(projectRoot, "node_modules/tsx/dist/esm/index.mjs");
const CLK_TCK = 100;
// Everything measured runs compiled, as the gateway ships: under tsx a process carries ~35 MB more RSS.
const GATEWAY = join(projectRoot, "dist/src/main.js");
const NODE_REF = join(projectRoot, "dist/scripts/bench/node-reference.js");
const KOA_REF = join(projectRoot, "dist/scripts/bench/koa-reference.js");

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

const children: ChildProcess[] = [];
// SIGTERM, not SIGKILL: an nginx master killed outright leaves its worker running.
process.on("exit", () => children.forEach((c) => c.kill("SIGTERM")));
process.on("SIGINT", () => process.exit(130));

/** Starts a process that prints a JSON line with its port (or waits for `readyUrl`). */
async function start(
  cmd: string,
  args: string[],
  readyUrl?: string,
  env: Record<string, string> = {},
): Promise<ChildProcess> {
  // A process waited for by URL writes its logs to /dev/null: an unread pipe would fill up and stall it.
  const child = spawn(cmd, args, {
    stdio: ["ignore", readyUrl ? "ignore" : "pipe", "inherit"],
    env: { ...process.env, ...env },
  });
  children.push(child);
  if (readyUrl) {
    for (let i = 0; i < 200; i++) {
      if (
        await fetch(readyUrl).then(
          (r) => r.status < 500,
          () => false,
        )
      )
        return child;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${cmd} did not come up at ${readyUrl}`);
  }
  for await (const line of createInterface({ input: child.stdout! })) if (line.includes("port")) break;
  return child;
}

/** CPU seconds used so far by a process and its children (nginx: master + worker). */
function cpuSeconds(pid: number): number {
  const pids = [
    pid,
    ...execFileSync("sh", ["-c", `pgrep -P ${pid} || true`])
      .toString()
      .split("\n")
      .filter(Boolean)
      .map(Number),
  ];
  return pids.reduce((sum, p) => {
    try {
      const fields = readFileSync(`/proc/${p}/stat`, "utf8").split(") ")[1]!.split(" ");
      return sum + (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
    } catch {
      return sum;
    }
  }, 0);
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

function nginxConfig(dir: string, port: number, upstreamPort: number): string {
  return `worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  upstream stub { server 127.0.0.1:${upstreamPort}; keepalive 256; keepalive_requests 10000000; keepalive_timeout 120s; }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    keepalive_requests 10000000; keepalive_timeout 120s;
    proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off;
    location /chat/completions { proxy_pass http://stub/v1/chat/completions; }
    location /embeddings { proxy_pass http://stub/v1/embeddings; }
  }
}
`;
}

interface Target {
  name: string;
  url: string;
  pid: number;
  azure: boolean;
}

/** HELD concurrent streams to `url`, all started at once; the target's peak RSS and CPU while they run. */
async function holdStreams(url: string, path: string, pid?: number) {
  const pool = new Pool(url, { connections: HELD, keepAliveTimeout: 60_000 });
  let peak = 0;
  const sampler = pid ? setInterval(() => (peak = Math.max(peak, rssMb(pid))), 100) : undefined;
  const cpu0 = pid ? cpuSeconds(pid) : 0;
  const ttfb: number[] = [];
  let errors = 0;
  await Promise.all(
    Array.from({ length: HELD }, async () => {
      const t0 = performance.now();
      try {
        const res = await pool.request({
          path,
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ ...CHAT, stream: true }),
        });
        let first = 0;
        let text = "";
        for await (const chunk of res.body) {
          if (!first) first = performance.now();
          text = (text + chunk).slice(-64);
        }
        if (res.statusCode !== 200 || !text.includes("[DONE]")) errors++;
        else ttfb.push(first - t0);
      } catch {
        errors++;
      }
    }),
  );
  if (sampler) clearInterval(sampler);
  const cpu = pid ? cpuSeconds(pid) - cpu0 : NaN;
  await pool.close();
  return {
    errors,
    ttfbP50: percentile(Float64Array.from(ttfb), 50),
    ttfbP99: percentile(Float64Array.from(ttfb), 99),
    peakRssMb: peak,
    cpuSeconds: cpu,
  };
}

const CHAT = {
  model: "bench-model",
  messages: [{ role: "user", content: "Hello, how are you today?" }],
  max_tokens: 32,
};
const BENCH_CONSUMER_KEY = "bench-consumer-key-0123456789";
/** A consumer-only config file: the flags' engine, one consumer whose limits never refuse in a bench run. */
const LIMITED_CONFIG = `consumers:
  - name: bench
    keys_env: [BENCH_CONSUMER_KEY]
    limits: { requests_per_minute: 100000000, tokens_per_minute: 100000000000, tokens_per_day: 100000000000000 }
`;
const CASES: Array<{
  id: string;
  label: string;
  concurrency: number;
  body: object;
  path: string;
  stream: boolean;
  gatewayPath?: string;
  headers?: Record<string, string>;
  targets?: string[];
}> = [
  { id: "chat-c1", label: "chat, c=1", concurrency: 1, body: CHAT, path: "chat/completions", stream: false },
  { id: "chat-c16", label: "chat, c=16", concurrency: 16, body: CHAT, path: "chat/completions", stream: false },
  { id: "chat-c64", label: "chat, c=64", concurrency: 64, body: CHAT, path: "chat/completions", stream: false },
  {
    id: "stream-c1",
    label: "stream 20 chunks, c=1",
    concurrency: 1,
    body: { ...CHAT, stream: true },
    path: "chat/completions",
    stream: true,
  },
  {
    id: "stream-c64",
    label: "stream 20 chunks, c=64",
    concurrency: 64,
    body: { ...CHAT, stream: true },
    path: "chat/completions",
    stream: true,
  },
  {
    id: "embed-c16",
    label: "embeddings, c=16",
    concurrency: 16,
    body: { model: "bench-model", input: ["the quick brown fox"] },
    path: "embeddings",
    stream: false,
  },
  // The same chat request through the OpenAI-bodied dialects (the gateway's route only; the other targets are unchanged).
  {
    id: "chat-aoai-c64",
    label: "chat via /openai/v1, c=64",
    concurrency: 64,
    body: CHAT,
    path: "chat/completions",
    stream: false,
    gatewayPath: "/openai/v1/chat/completions",
  },
  {
    id: "chat-v1-c64",
    label: "chat via /v1, c=64",
    concurrency: 64,
    body: CHAT,
    path: "chat/completions",
    stream: false,
    gatewayPath: "/v1/chat/completions",
  },
  // What keeping state costs: the same Responses call kept by the gateway (store, the default) and not. The
  // references do not serve the Responses API: the stub alone is the baseline.
  {
    id: "responses-c16",
    label: "responses (stored), c=16",
    concurrency: 16,
    body: { model: "bench-model", input: "Hello, how are you today?", max_output_tokens: 32 },
    path: "responses",
    stream: false,
    gatewayPath: "/openai/v1/responses",
    targets: ["direct", "gateway", "gateway-redis"],
  },
  {
    id: "responses-nostore-c16",
    label: "responses (store: false), c=16",
    concurrency: 16,
    body: { model: "bench-model", input: "Hello, how are you today?", max_output_tokens: 32, store: false },
    path: "responses",
    stream: false,
    gatewayPath: "/openai/v1/responses",
    targets: ["direct", "gateway", "gateway-redis"],
  },
  // What knowing the caller costs: a consumer's key, its limits taken at admission and settled by usage (one
  // store round trip each), on sqlite and on Redis; limits high enough never to refuse.
  {
    id: "chat-limited-c16",
    label: "chat, limited consumer, c=16",
    concurrency: 16,
    body: CHAT,
    path: "chat/completions",
    stream: false,
    gatewayPath: "/openai/v1/chat/completions",
    headers: { "api-key": BENCH_CONSUMER_KEY },
    targets: ["direct", "gateway", "gateway-limited", "gateway-limited-redis"],
  },
  // What sending the engine a key costs: its answers are searched for the key as they arrive (an engine that
  // echoes its Authorization header hands out nothing); an engine sent no key is not searched.
  {
    id: "chat-keyed-c16",
    label: "chat, engine key, c=16",
    concurrency: 16,
    body: CHAT,
    path: "chat/completions",
    stream: false,
    targets: ["direct", "gateway", "gateway-keyed"],
  },
  {
    id: "stream-keyed-c64",
    label: "stream 20 chunks, engine key, c=64",
    concurrency: 64,
    body: { ...CHAT, stream: true },
    path: "chat/completions",
    stream: true,
    targets: ["direct", "gateway", "gateway-keyed"],
  },
  {
    id: "stream-aoai-c64",
    label: "stream via /openai/v1, c=64",
    concurrency: 64,
    body: { ...CHAT, stream: true },
    path: "chat/completions",
    stream: true,
    gatewayPath: "/openai/v1/chat/completions",
  },
];
/** Gateways measured only by the cases that name them. */
const EXTRA_GATEWAYS = new Set(["gateway-redis", "gateway-limited", "gateway-limited-redis", "gateway-keyed"]);
const onlyIds = opts.only?.split(",");
const unknownCases = onlyIds?.filter((id) => !CASES.some((c) => c.id === id)) ?? [];
if (unknownCases.length) {
  console.error(`bench: unknown case ${unknownCases.join(", ")}; cases: ${CASES.map((c) => c.id).join(", ")}`);
  process.exit(2);
}
const SELECTED = onlyIds ? CASES.filter((c) => onlyIds.includes(c.id)) : CASES;

const pathFor = (t: Target, path: string, gatewayPath?: string) =>
  t.azure ? (gatewayPath ?? `/${path}?api-version=2025-05-01`) : t.name === "direct" ? `/v1/${path}` : `/${path}`;

async function main(): Promise<void> {
  const stubPort = await freePort();
  const stub = await start(process.execPath, [
    "--import",
    TSX,
    join(projectRoot, "scripts/bench/stub.ts"),
    String(stubPort),
    "20",
    "0",
  ]);
  if (!existsSync(GATEWAY)) execFileSync("npm", ["run", "-s", "build"], { cwd: projectRoot, stdio: "inherit" });
  if (!existsSync(NODE_REF) || !existsSync(KOA_REF))
    execFileSync("npx", ["tsc", "-p", "tsconfig.bench.json"], { cwd: projectRoot, stdio: "inherit" });
  const gwPort = await freePort();
  const gatewayArgs = opts["gateway-args"] ? opts["gateway-args"].split(" ") : [];
  const nodeArgs = opts["node-args"] ? opts["node-args"].split(" ") : []; // V8/Node flags for the gateway alone
  // How every gateway in the run is started (the held-streams one included), on a port and an upstream.
  const gatewayArgv = (port: string, upstreamPort: number) => [
    ...nodeArgs,
    GATEWAY,
    "--host",
    "127.0.0.1",
    "--port",
    port,
    "--upstream-port",
    String(upstreamPort),
    "--log-level",
    "info",
    ...gatewayArgs,
  ];
  const gateway = await start(
    process.execPath,
    gatewayArgv(String(gwPort), stubPort),
    `http://127.0.0.1:${gwPort}/health`,
  );
  const refPort = await freePort();
  const ref = await start(process.execPath, [NODE_REF, String(refPort), `http://127.0.0.1:${stubPort}`]);
  const koaRefPort = await freePort();
  const koaRef = await start(process.execPath, [KOA_REF, String(koaRefPort), `http://127.0.0.1:${stubPort}`]);
  const targets: Target[] = [
    { name: "direct", url: `http://127.0.0.1:${stubPort}`, pid: stub.pid!, azure: false },
    { name: "gateway", url: `http://127.0.0.1:${gwPort}`, pid: gateway.pid!, azure: true },
    { name: "node-ref", url: `http://127.0.0.1:${refPort}`, pid: ref.pid!, azure: false },
    { name: "koa-ref", url: `http://127.0.0.1:${koaRefPort}`, pid: koaRef.pid!, azure: false },
  ];
  // The stateful cases also through a gateway whose store is Redis (when redis-server is installed).
  const wants = (name: string) => SELECTED.some((c) => c.targets?.includes(name));
  const redisInstalled = spawnSync("redis-server", ["--version"]).status === 0;
  const redis =
    redisInstalled && (wants("gateway-redis") || wants("gateway-limited-redis")) ? await startRedis() : undefined;
  if (redis) process.on("exit", () => redis.process.kill("SIGKILL"));
  else if (wants("gateway-redis") || wants("gateway-limited-redis"))
    console.log("bench: redis-server not installed: the Redis columns are skipped");
  const addGateway = async (name: string, extra: string[], env: Record<string, string> = {}) => {
    const port = await freePort();
    const child = await start(
      process.execPath,
      [...gatewayArgv(String(port), stubPort), ...extra],
      `http://127.0.0.1:${port}/health`,
      env,
    );
    targets.push({ name, url: `http://127.0.0.1:${port}`, pid: child.pid!, azure: true });
  };
  if (redis && wants("gateway-redis")) await addGateway("gateway-redis", ["--store", redis.url]);
  if (wants("gateway-keyed")) await addGateway("gateway-keyed", ["--upstream-api-key", "bench-engine-key-0123456789"]);
  if (wants("gateway-limited") || wants("gateway-limited-redis")) {
    const config = join(mkdtempSync(join(tmpdir(), "bench-consumers-")), "consumers.yaml");
    writeFileSync(config, LIMITED_CONFIG);
    const env = { BENCH_CONSUMER_KEY };
    const stateDir = mkdtempSync(join(tmpdir(), "bench-state-"));
    if (wants("gateway-limited"))
      await addGateway("gateway-limited", ["--config", config, "--store", `sqlite:${join(stateDir, "state.db")}`], env);
    if (redis && wants("gateway-limited-redis"))
      await addGateway("gateway-limited-redis", ["--config", config, "--store", redis.url], env);
  }
  const nginxVersion = spawnSync("nginx", ["-v"], { encoding: "utf8" }).stderr ?? ""; // nginx -v prints to stderr
  if (/nginx\//.test(nginxVersion)) {
    const dir = mkdtempSync(join(tmpdir(), "bench-nginx-"));
    const port = await freePort();
    writeFileSync(join(dir, "nginx.conf"), nginxConfig(dir, port, stubPort));
    const nginx = await start("nginx", ["-c", join(dir, "nginx.conf"), "-p", dir], `http://127.0.0.1:${port}/`);
    targets.push({ name: "nginx", url: `http://127.0.0.1:${port}`, pid: nginx.pid!, azure: false });
  } else {
    console.log("bench: nginx not installed (apt-get install nginx-light): that column is skipped");
  }
  // The gateway's model list is cached after one call; warm every target once.
  for (const t of targets)
    await runLoad({
      url: t.url,
      path: pathFor(t, "chat/completions"),
      body: JSON.stringify(CHAT),
      concurrency: 4,
      seconds: 0.5,
      headers: { "api-key": BENCH_CONSUMER_KEY }, // the limited gateways' consumer; the others ignore it
    });

  const rows: Array<Record<string, unknown>> = [];
  for (const c of SELECTED) {
    const perTarget = new Map<string, { results: LoadResult[]; cpu: number }>();
    const only = c.targets;
    const measured = targets.filter((t) => (only ? only.includes(t.name) : !EXTRA_GATEWAYS.has(t.name)));
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 ? [...measured].reverse() : measured; // alternate order: no target always runs first
      for (const t of order) {
        const cpu0 = cpuSeconds(t.pid);
        const result = await runLoad({
          url: t.url,
          path: pathFor(t, c.path, c.gatewayPath),
          body: JSON.stringify(c.body),
          concurrency: c.concurrency,
          seconds: SECONDS,
          ...(c.headers ? { headers: c.headers } : {}),
        });
        const entry = perTarget.get(t.name) ?? { results: [], cpu: 0 };
        entry.results.push(result);
        entry.cpu += cpuSeconds(t.pid) - cpu0;
        perTarget.set(t.name, entry);
      }
    }
    const direct = merge(perTarget.get("direct")!.results);
    for (const t of measured) {
      const { results, cpu } = perTarget.get(t.name)!;
      const r = merge(results);
      rows.push({
        case: c.label,
        target: t.name,
        rps: r.requests / r.seconds,
        errors: r.errors,
        p50: percentile(r.latenciesMs, 50),
        p99: percentile(r.latenciesMs, 99),
        addedP50: percentile(r.latenciesMs, 50) - percentile(direct.latenciesMs, 50),
        addedP99: percentile(r.latenciesMs, 99) - percentile(direct.latenciesMs, 99),
        ttfbP50: c.stream ? percentile(r.ttfbMs, 50) : undefined,
        cpuMsPerRequest: t.name === "direct" ? undefined : (cpu * 1000) / Math.max(1, r.requests),
      });
    }
    console.log(`bench: ${c.label} done`);
  }
  const gatewayRss = rssMb(gateway.pid!);

  // Streams held: HELD concurrent long streams (100 chunks, 50 ms apart by default) direct, then through a fresh
  // gateway and fresh references (so each peak RSS is its own), one after the other.
  let held: Record<string, unknown> | undefined;
  if (HELD > 0) {
    const slowPort = await freePort();
    const slow = await start(process.execPath, [
      "--import",
      TSX,
      join(projectRoot, "scripts/bench/stub.ts"),
      String(slowPort),
      opts["held-chunks"],
      opts["held-gap"],
    ]);
    const slowUrl = `http://127.0.0.1:${slowPort}`;
    const viaDirect = await holdStreams(slowUrl, "/v1/chat/completions");
    const through = async (name: string, args: string[], path: string, ready?: string) => {
      const port = await freePort();
      const child = await start(
        process.execPath,
        args.map((a) => a.replace("{port}", String(port))),
        ready?.replace("{port}", String(port)),
      );
      const result = await holdStreams(`http://127.0.0.1:${port}`, path, child.pid);
      child.kill();
      return {
        target: name,
        errors: result.errors,
        peakRssMb: result.peakRssMb,
        cpuSeconds: result.cpuSeconds,
        ttfbP50: result.ttfbP50,
        addedTtfbP50: result.ttfbP50 - viaDirect.ttfbP50,
        addedTtfbP99: result.ttfbP99 - viaDirect.ttfbP99,
      };
    };
    const rowsHeld = [
      await through(
        "gateway",
        gatewayArgv("{port}", slowPort),
        "/chat/completions?api-version=2025-05-01",
        "http://127.0.0.1:{port}/health",
      ),
      await through("node-ref", [NODE_REF, "{port}", slowUrl], "/chat/completions"),
      await through("koa-ref", [KOA_REF, "{port}", slowUrl], "/chat/completions"),
    ];
    const gw = rowsHeld[0]!;
    held = {
      streams: HELD,
      chunks: Number(opts["held-chunks"]),
      gapMs: Number(opts["held-gap"]),
      directErrors: viaDirect.errors,
      directTtfbP50: viaDirect.ttfbP50,
      errors: gw.errors,
      peakRssMb: gw.peakRssMb,
      ttfbP50: gw.ttfbP50,
      addedTtfbP50: gw.addedTtfbP50,
      addedTtfbP99: gw.addedTtfbP99,
      rows: rowsHeld,
    };
    slow.kill();
  }

  const os = await import("node:os");
  const git = (...args: string[]) => spawnSync("git", args, { cwd: projectRoot, encoding: "utf8" }).stdout?.trim();
  const commit = git("rev-parse", "--short", "HEAD") || "unknown";
  const report = {
    date: new Date().toISOString(),
    commit: git("status", "--porcelain", "--untracked-files=no") ? `${commit} + uncommitted changes` : commit,
    machine: `${os.cpus()[0]?.model ?? "unknown CPU"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}`,
    cpus: os.cpus().length,
    node: process.version,
    nginx: nginxVersion.trim(),
    seconds: SECONDS,
    rounds: ROUNDS,
    gatewayRssMb: gatewayRss,
    rows,
    held,
  };
  const md = toMarkdown(report);
  const dir = resolve(projectRoot, opts.out);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "latest.json"), JSON.stringify(report, null, 2));
  writeFileSync(join(dir, "latest.md"), md);
  if (opts.docs) {
    // The routing section (routing.ts) is kept: it is measured by its own run.
    const path = join(projectRoot, "docs/benchmark-results.md");
    const before = existsSync(path) ? readFileSync(path, "utf8") : "";
    const at = before.indexOf(ROUTING_SECTION_BEGIN);
    writeFileSync(
      path,
      `# Benchmark results\n\nWritten by \`npm run bench -- --docs\` (what is measured and how: [Benchmark](benchmark.md)).\n\n${md}${at >= 0 ? `\n${before.slice(at)}` : ""}`,
    );
  }
  console.log(`\n${md}\nbench: wrote ${join(dir, "latest.{json,md}")}`);
}

const f = (n: unknown, digits = 2) => (typeof n === "number" && Number.isFinite(n) ? n.toFixed(digits) : "–");

function toMarkdown(r: {
  rows: Array<Record<string, unknown>>;
  held?: Record<string, unknown>;
  gatewayRssMb: number;
  date: string;
  commit: string;
  machine: string;
  node: string;
  cpus: number;
  seconds: number;
  rounds: number;
}): string {
  const lines = [
    `Run ${r.date} at commit ${r.commit} on ${r.machine} (${r.cpus} cores), Node ${r.node}, ${r.rounds} rounds × ${r.seconds} s per target and case, interleaved.`,
    "",
    "| case | target | req/s | p50 ms | p99 ms | added p50 | added p99 | TTFB p50 | CPU ms/req | vs node-ref req/s |",
    "|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const row of r.rows) {
    const ref = r.rows.find((x) => x.case === row.case && x.target === "node-ref");
    const ratio = ref ? (row.rps as number) / (ref.rps as number) : NaN;
    lines.push(
      `| ${row.case} | ${row.target} | ${f(row.rps, 0)} | ${f(row.p50)} | ${f(row.p99)} | ${row.target === "direct" ? "–" : f(row.addedP50)} | ${row.target === "direct" ? "–" : f(row.addedP99)} | ${f(row.ttfbP50)} | ${f(row.cpuMsPerRequest, 3)} | ${f(ratio)} |`,
    );
  }
  lines.push("", `Gateway RSS after the run: ${f(r.gatewayRssMb, 1)} MB.`);
  if (r.held) {
    const h = r.held as {
      streams: number;
      chunks: number;
      gapMs: number;
      directTtfbP50: number;
      directErrors: number;
      rows: Array<Record<string, number | string>>;
    };
    lines.push(
      "",
      `Streams held: ${h.streams} concurrent streams of ${h.chunks} chunks ${h.gapMs} ms apart, started at once; direct: ${h.directErrors} errors, TTFB p50 ${f(h.directTtfbP50)} ms.`,
      "",
    );
    lines.push(
      "| through | errors | peak RSS MB | CPU s | TTFB p50 ms | added TTFB p50 | added TTFB p99 |",
      "|---|---|---|---|---|---|---|",
    );
    for (const row of h.rows)
      lines.push(
        `| ${row.target} | ${row.errors} | ${f(row.peakRssMb, 1)} | ${f(row.cpuSeconds)} | ${f(row.ttfbP50)} | ${f(row.addedTtfbP50)} | ${f(row.addedTtfbP99)} |`,
      );
  }
  return lines.join("\n") + "\n";
}

/** Stops every started process and waits for it (an nginx master exits after its worker). */
async function stopAll(): Promise<void> {
  await Promise.all(
    children
      .filter((c) => c.exitCode === null && c.signalCode === null)
      .map((c) => {
        const exited = new Promise((r) => c.once("exit", r));
        c.kill("SIGTERM");
        return exited;
      }),
  );
}

(opts.routing
  ? runRoutingBench({
      seconds: Number(opts["routing-seconds"]),
      rate: Number(opts["routing-rate"]),
      out: opts.out,
      docs: opts.docs,
    }).then(() => process.exit(0))
  : main()
)
  .then(stopAll)
  .then(
    () => process.exit(0),
    (err: Error) => {
      console.error(`bench: ${err.stack ?? err.message}`);
      process.exit(1);
    },
  );
