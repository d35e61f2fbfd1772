// `npm run bench -- --routing`: replica choice measured on a KV-cache workload. Four simulated replicas
// with a prefix KV cache and a prefill queue (test/sim/kv-cache.ts) behind the compiled gateway, one
// deployment per policy over the same replicas; each workload is replayed at the same offered load
// against each policy in turn, the caches emptied between runs:
//   shared      sixty ~5k-token system prompts, each request one of them (at random) plus a question;
//               each replica's cache holds about 40 % of them
//   multi-turn  agent sessions with their own ~1k-token system prompt, sixteen turns of ~100-token questions,
//               the history (with each answer) resent
//   unique      ~2k-token prompts that share nothing
// Reported: the share of prompt tokens the engines took from their caches, time to first token
// (p50/p90/p99), answers per second, failures, each replica's share, and the gateway's CPU per request.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Pool } from "undici";
import { hashString } from "../../src/core/routing/prefix.ts";
import { chatFacts } from "../../src/core/routing/prompt.ts";
import { type RouteCandidate, Router } from "../../src/core/routing/router.ts";
import { EngineSim } from "../../test/sim/engine.ts";
import { projectRoot } from "../specs.ts";
import { percentile } from "./load.ts";

const REPLICAS = 4;
const PREFILL_MS_PER_TOKEN = 0.04;
const KV = {
  capacityTokens: 120_000,
  prefillMsPerToken: PREFILL_MS_PER_TOKEN,
  maxRunning: 4,
  everSeen: new Set<string>(),
};
const POLICIES = ["least-loaded", "prefix"] as const;
const WORKLOADS = ["shared", "multi-turn", "unique"] as const;
type Policy = (typeof POLICIES)[number];
type Workload = (typeof WORKLOADS)[number];

export interface RoutingRow {
  workload: Workload;
  policy: Policy;
  requests: number;
  failures: number;
  seconds: number;
  hitRate: number;
  /** Cached over what any replica held before (an ideal router's ceiling). */
  ofReusable: number;
  ttftMs: { p50: number; p90: number; p99: number };
  perSecond: number;
  shares: number[];
  cpuMsPerRequest: number;
}

/** A seeded generator (mulberry32): the same prompts and order for every policy. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau".split(
  " ",
);
/** About `tokens` tokens (four characters each) of words drawn from `next`. */
function text(tokens: number, next: () => number): string {
  let out = "";
  while (out.length < tokens * 4) out += `${WORDS[Math.floor(next() * WORDS.length)]} `;
  return out.slice(0, tokens * 4);
}

const freePort = () =>
  new Promise<number>((done) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => done(port));
    });
  });

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface Outcome {
  ok: boolean;
  ttftMs: number;
  /** The answer's text, from its chunks. */
  content: string;
}

/** One streamed chat request: the time to the first body bytes (the engine writes them after prefill). */
async function ask(pool: Pool, model: string, messages: unknown[]): Promise<Outcome> {
  const started = performance.now();
  try {
    const res = await pool.request({
      path: "/v1/chat/completions",
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model, messages, stream: true, max_tokens: 16 }),
    });
    let first = 0;
    let sse = "";
    for await (const chunk of res.body) {
      if (!first) first = performance.now();
      sse += chunk.toString();
    }
    let content = "";
    for (const line of sse.split("\n"))
      if (line.startsWith("data: {")) content += JSON.parse(line.slice(6)).choices?.[0]?.delta?.content ?? "";
    return { ok: res.statusCode === 200, ttftMs: (first || performance.now()) - started, content };
  } catch {
    return { ok: false, ttftMs: NaN, content: "" };
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends `count` requests, one every 1000/rate ms whatever the answers (an open loop). */
async function openLoop(rate: number, count: number, send: (i: number) => Promise<Outcome>): Promise<Outcome[]> {
  const started = performance.now();
  const pending: Array<Promise<Outcome>> = [];
  for (let i = 0; i < count; i++) {
    const due = started + (i * 1000) / rate - performance.now();
    if (due > 0) await sleep(due);
    pending.push(send(i));
  }
  return Promise.all(pending);
}

async function replay(
  workload: Workload,
  model: string,
  pool: Pool,
  rate: number,
  seconds: number,
): Promise<Outcome[]> {
  const next = random(7);
  if (workload === "shared") {
    const prompts = Array.from({ length: 60 }, (_, i) => `Policy ${i}. ${text(5000, next)}`);
    const picks = Array.from({ length: Math.round(rate * seconds) }, () => Math.floor(next() * prompts.length));
    return openLoop(rate, picks.length, (i) =>
      ask(pool, model, [
        { role: "system", content: prompts[picks[i]!] },
        { role: "user", content: `Question ${i}: ${text(50, random(i))}` },
      ]),
    );
  }
  if (workload === "unique") {
    const count = Math.round(rate * seconds);
    return openLoop(rate, count, (i) =>
      ask(pool, model, [{ role: "user", content: `${i} ${text(2000, random(1000 + i))}` }]),
    );
  }
  // Conversations start at rate/turns a second; each sends its next turn 250 ms after its last answer.
  const turns = 16;
  const conversations = Math.max(1, Math.round((rate * seconds) / turns));
  const outcomes: Outcome[][] = [];
  const run = async (c: number) => {
    const history: unknown[] = [{ role: "system", content: `Agent ${c}. ${text(1000, random(5000 + c))}` }];
    const mine: Outcome[] = [];
    for (let t = 0; t < turns; t++) {
      history.push({ role: "user", content: text(100, random(c * 100 + t)) });
      const answer = await ask(pool, model, history);
      mine.push(answer);
      history.push({ role: "assistant", content: answer.content });
      await sleep(250);
    }
    outcomes.push(mine);
    return mine[0]!;
  };
  await openLoop(rate / turns, conversations, run);
  return outcomes.flat();
}

/** CPU microseconds the prefix router spends on one request with a ~6k-token prompt (the facts read from
 * the body, the blocks hashed, the table looked up and updated), over 60 prompts that recur. */
export function routerCostMicros(): number {
  const next = random(11);
  const replicas: RouteCandidate[] = Array.from({ length: REPLICAS }, (_, i) => ({
    label: `10.0.0.${i}:8000`,
    labelHash: hashString(`10.0.0.${i}:8000`),
    inFlight: 0,
    engineLoad: undefined,
    isIn: true,
  }));
  const bodies = Array.from({ length: 60 }, (_, i) => ({
    model: "m",
    messages: [
      { role: "system" as const, content: `Policy ${i}. ${text(6000, next)}` },
      { role: "user" as const, content: text(50, next) },
    ],
  }));
  const router = new Router<RouteCandidate>({ policy: "prefix" });
  const route = (i: number) => router.choose(replicas, chatFacts(bodies[i % bodies.length]!));
  for (let i = 0; i < 5000; i++) route(i);
  const rounds = 20_000;
  const before = process.cpuUsage();
  for (let i = 0; i < rounds; i++) route(i);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / rounds;
}

export async function runRoutingBench(options: {
  seconds: number;
  rate: number;
  out: string;
  docs: boolean;
}): Promise<void> {
  const micros = routerCostMicros();
  console.log(`prefix router: ${micros.toFixed(1)} µs of CPU per request with a ~6k-token prompt`);
  const gatewayJs = join(projectRoot, "dist/src/main.js");
  const sims = await Promise.all(Array.from({ length: REPLICAS }, () => new EngineSim().withKvCache(KV).start()));
  const urls = `[${sims.map((s) => s.url).join(", ")}]`;
  const file = join(mkdtempSync(join(tmpdir(), "bench-routing-")), "deployments.yaml");
  writeFileSync(
    file,
    `deployments:\n${POLICIES.map((p) => `  - { name: ${p}, urls: ${urls}, routing: ${p} }`).join("\n")}\n`,
  );
  const port = await freePort();
  const gateway: ChildProcess = spawn(
    process.execPath,
    [
      gatewayJs,
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--config",
      file,
      "--log-level",
      "warn",
      "--store",
      "memory:",
    ],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  process.on("exit", () => gateway.kill("SIGTERM"));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if (
      await fetch(`${url}/ready`).then(
        (r) => r.status === 200,
        () => false,
      )
    )
      break;
    await sleep(50);
  }
  const pool = new Pool(url, { connections: 512, keepAliveTimeout: 60_000, pipelining: 1 });
  const rows: RoutingRow[] = [];
  try {
    for (const workload of WORKLOADS)
      for (const policy of POLICIES) {
        for (const sim of sims) sim.reset();
        const cpuBefore = cpuSeconds(gateway.pid!);
        const started = performance.now();
        const outcomes = await replay(workload, policy, pool, options.rate, options.seconds);
        const seconds = (performance.now() - started) / 1000;
        const cpu = cpuSeconds(gateway.pid!) - cpuBefore;
        const ok = outcomes.filter((o) => o.ok);
        const ttft = Float64Array.from(ok.map((o) => o.ttftMs));
        const posts = sims.map((s) => s.requests.filter((r) => r.method === "POST").length);
        const total = posts.reduce((a, b) => a + b, 0);
        const row: RoutingRow = {
          workload,
          policy,
          requests: outcomes.length,
          failures: outcomes.length - ok.length,
          seconds,
          hitRate:
            sims.reduce((n, s) => n + s.kv!.hits, 0) /
            Math.max(
              1,
              sims.reduce((n, s) => n + s.kv!.queries, 0),
            ),
          ofReusable:
            sims.reduce((n, s) => n + s.kv!.hits, 0) /
            Math.max(
              1,
              sims.reduce((n, s) => n + s.kv!.reusable, 0),
            ),
          ttftMs: { p50: percentile(ttft, 50), p90: percentile(ttft, 90), p99: percentile(ttft, 99) },
          perSecond: ok.length / seconds,
          shares: posts.map((n) => n / Math.max(1, total)),
          cpuMsPerRequest: (cpu * 1000) / Math.max(1, outcomes.length),
        };
        rows.push(row);
        console.log(`${workload} ${policy}: ${line(row)}`);
      }
  } finally {
    await pool.close();
    gateway.kill("SIGTERM");
    await Promise.all(sims.map((s) => s.close()));
  }
  const md = toMarkdown(rows, options, micros);
  const dir = resolve(projectRoot, options.out);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "routing.json"), JSON.stringify({ options, routerMicros: micros, rows }, null, 2));
  writeFileSync(join(dir, "routing.md"), md);
  if (options.docs) writeRoutingSection(md);
  console.log(`\n${md}\nbench: wrote ${join(dir, "routing.{json,md}")}`);
}

const pct = (n: number) => `${(n * 100).toFixed(0)} %`;
const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : "–");
const line = (r: RoutingRow) =>
  `hits ${pct(r.hitRate)} (${pct(r.ofReusable)} of reusable), TTFT p50/p90/p99 ${ms(r.ttftMs.p50)}/${ms(r.ttftMs.p90)}/${ms(r.ttftMs.p99)} ms, ${r.perSecond.toFixed(1)}/s, ${r.failures} failed, shares ${r.shares.map(pct).join(" ")}, CPU ${r.cpuMsPerRequest.toFixed(2)} ms/req`;

function toMarkdown(rows: RoutingRow[], options: { seconds: number; rate: number }, micros: number): string {
  const commit = (() => {
    try {
      return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: projectRoot }).toString().trim();
    } catch {
      return "unknown";
    }
  })();
  const out = [
    `Run ${new Date().toISOString().slice(0, 10)} at commit ${commit} (${cpus().length} cores, Node ${process.version}): ${REPLICAS} simulated replicas, each caching ${KV.capacityTokens.toLocaleString("en")} tokens, prefilling ${1 / PREFILL_MS_PER_TOKEN} uncached tokens/ms per request with at most ${KV.maxRunning} at once; ${options.rate} requests/s offered for about ${options.seconds} s per run.`,
    "",
    "| workload | policy | prompt tokens from cache | of those any replica held | TTFT p50 ms | p90 ms | p99 ms | answers/s | failed | replica shares | gateway CPU ms/req |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of rows)
    out.push(
      `| ${r.workload} | ${r.policy} | ${pct(r.hitRate)} | ${pct(r.ofReusable)} | ${ms(r.ttftMs.p50)} | ${ms(r.ttftMs.p90)} | ${ms(r.ttftMs.p99)} | ${r.perSecond.toFixed(1)} | ${r.failures} | ${r.shares.map(pct).join(" / ")} | ${r.cpuMsPerRequest.toFixed(2)} |`,
    );
  out.push("");
  for (const workload of WORKLOADS) {
    const [least, prefix] = POLICIES.map((p) => rows.find((r) => r.workload === workload && r.policy === p)!);
    if (least && prefix)
      out.push(
        `- ${workload}: p90 TTFT ${(least.ttftMs.p90 / prefix.ttftMs.p90).toFixed(2)}x lower with prefix routing; prompt tokens from cache ${pct(least.hitRate)} -> ${pct(prefix.hitRate)}.`,
      );
  }
  out.push(
    `- The prefix router's own cost: ${micros.toFixed(1)} µs of CPU per request with a ~6k-token prompt (reading the prompt, hashing its blocks, the table's lookup and update; measured in-process over 20,000 requests).`,
  );
  return `${out.join("\n")}\n`;
}

const BEGIN = "<!-- routing: written by npm run bench -- --routing --docs -->";
const END = "<!-- /routing -->";

/** Replaces the routing section of docs/benchmark-results.md (the pass-through table stays as it is). */
function writeRoutingSection(md: string): void {
  const path = join(projectRoot, "docs/benchmark-results.md");
  const doc = readFileSync(path, "utf8");
  const section = `${BEGIN}\n## Routing by what the engines hold\n\n${md}${END}\n`;
  const at = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  writeFileSync(
    path,
    at >= 0 && end > at ? doc.slice(0, at) + section + doc.slice(end + END.length + 1) : `${doc}\n${section}`,
  );
}

export { BEGIN as ROUTING_SECTION_BEGIN, END as ROUTING_SECTION_END };
