// Failures named for what they are, against upstreams that are not a healthy engine: one that accepts
// connections and never answers, an HTML error page, the wrong service, something that is not HTTP,
// nothing at all. Each answer says the real cause, waits no longer than it was configured to, and its
// log line (at `warn`) carries what the client is not shown.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from "node:net";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { API, postJson, startGateway } from "../helpers/gateway.ts";
import { EngineSim } from "../sim/engine.ts";

const test = suite("truthful-failures");
const CHAT = { messages: [{ role: "user", content: "hi" }] };
const WARN = 40;

async function listen<T extends Server | TcpServer>(server: T): Promise<{ server: T; url: string; port: number }> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return { server, url: `http://127.0.0.1:${port}`, port };
}

/** The gateway in front of `upstreamUrl`, with its log lines collected; closes both after `run`. */
async function withGateway(
  upstreamUrl: string,
  args: string[],
  run: (url: string, logs: Array<Record<string, any>>) => Promise<void>,
): Promise<void> {
  const logs: Array<Record<string, any>> = [];
  const gw = await startGateway(upstreamUrl, args, logs);
  try {
    await run(gw.url, logs);
  } finally {
    await gw.close();
  }
}

const requestLines = async (logs: Array<Record<string, any>>, n: number) => {
  for (let i = 0; i < 100 && logs.filter((l) => l.msg === "request").length < n; i++)
    await new Promise((r) => setTimeout(r, 10));
  return logs.filter((l) => l.msg === "request");
};

test("an_engine_that_never_answers_is_a_504_within_the_timeout_not_a_499", async () => {
  const sockets: Socket[] = [];
  const { server, url } = await listen(createTcpServer((s) => void sockets.push(s))); // accepts, never answers
  try {
    await withGateway(url, ["--first-byte-timeout", "1s"], async (gw, logs) => {
      let started = Date.now();
      const info = await fetch(`${gw}/info?${API}`);
      const infoBody = (await info.json()) as any;
      assert.is(info.status, 504);
      assert.is(infoBody.error.code, "UpstreamTimeout");
      assert.ok(Date.now() - started < 1800, `/info took ${Date.now() - started} ms`);

      const ready = await fetch(`${gw}/ready`);
      const readyBody = (await ready.json()) as any;
      assert.is(ready.status, 503);
      assert.match(
        readyBody.error.message,
        /^The engine is not ready \(for \d+ s\): The engine did not start answering in time/,
      );

      started = Date.now();
      const chat = await postJson(`${gw}/chat/completions?${API}`, CHAT);
      const took = Date.now() - started;
      assert.is(chat.status, 504);
      assert.is(chat.json.error.code, "UpstreamTimeout");
      assert.ok(took < 1800, `the chat request waited ${took} ms with a 1 s first-byte timeout`);

      const lines = await requestLines(logs, 3);
      for (const line of lines) assert.is(line.clientAborted, false, `${line.path}: the client did not leave`);
      const chatLine = lines.find((l) => l.path === "/chat/completions")!;
      assert.is(chatLine.level, WARN);
      assert.is(chatLine.upstreamError, true);
    });
  } finally {
    sockets.forEach((s) => s.destroy());
    server.close();
  }
});

test("an_html_error_page_is_not_copied_to_the_client", async () => {
  const page =
    "<!DOCTYPE HTML><html><head><title>Error response</title></head><body><h1>Error response</h1><p>Error code: 501</p><p>Message: Unsupported method ('POST').</p><p>Error code explanation: 501 - Server does not support this operation.</p>" +
    "<p>padding</p>".repeat(200) +
    "</body></html>";
  const { server, url } = await listen(
    createHttpServer((req, res) => {
      if (req.method === "GET")
        return void res.writeHead(404, { "content-type": "text/html" }).end("<html><body>File not found</body></html>");
      res.writeHead(501, { "content-type": "text/html" }).end(page);
    }),
  );
  try {
    await withGateway(url, [], async (gw, logs) => {
      const res = await postJson(`${gw}/chat/completions?${API}`, CHAT);
      assert.is(res.status, 502);
      const message = res.json.error.message as string;
      assert.ok(message.length < 220, `message of ${message.length} characters`);
      assert.not.match(message, /[<>]/);
      assert.match(
        message,
        /^The engine answered HTTP 501 with a body that is not JSON: "Error response Error response Error code: 501 Message: Unsupported method \('POST'\)/,
      );
      const [line] = await requestLines(logs, 1);
      assert.is(line!.level, WARN);
      assert.match(line!.errorDetail, /^engine HTTP 501 body: <!DOCTYPE HTML>/);
    });
  } finally {
    server.close();
  }
});

test("the_wrong_service_is_a_502_naming_the_missing_route", async () => {
  // Another service: answers JSON, but has none of the engine's routes.
  const { server, url, port } = await listen(
    createHttpServer((_req, res) =>
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ detail: "Not Found" })),
    ),
  );
  try {
    await withGateway(url, [], async (gw, logs) => {
      for (const [path, body, route] of [
        ["/chat/completions", CHAT, "/v1/chat/completions"],
        ["/embeddings", { input: ["x"] }, "/v1/embeddings"],
      ] as const) {
        const res = await postJson(`${gw}${path}?${API}`, body);
        assert.is(res.status, 502, path);
        assert.is(res.json.error.code, "UpstreamRouteNotFound");
        assert.is(
          res.json.error.message,
          `The upstream does not serve POST http://127.0.0.1:${port}${route} (it answered HTTP 404): check that --upstream-host points at an OpenAI-compatible engine.`,
        );
      }
      const lines = await requestLines(logs, 2);
      for (const line of lines) {
        assert.is(line.upstreamError, true);
        assert.is(line.level, WARN);
      }
    });
  } finally {
    server.close();
  }
});

test("something_that_is_not_http_and_nothing_at_all_name_their_cause", async () => {
  const { server, url } = await listen(createTcpServer((s) => s.on("data", () => s.write("SSH-2.0-OpenSSH_9.2\r\n"))));
  try {
    await withGateway(url, [], async (gw, logs) => {
      const res = await postJson(`${gw}/chat/completions?${API}`, CHAT);
      assert.is(res.status, 502);
      assert.is(res.json.error.code, "UpstreamInvalidResponse");
      assert.match(
        res.json.error.message,
        /does not answer in HTTP\/1\.1 \(Response does not match the HTTP\/1\.1 protocol/,
      );
      const [line] = await requestLines(logs, 1);
      assert.is(line!.level, WARN);
    });
  } finally {
    server.close();
  }
  const closed = await listen(createTcpServer());
  const deadUrl = closed.url;
  await new Promise((r) => closed.server.close(r)); // nothing listens there now
  await withGateway(deadUrl, [], async (gw, logs) => {
    // Never reached since the gateway started: an engine still loading, as far as anyone can tell.
    const res = await postJson(`${gw}/chat/completions?${API}`, CHAT);
    assert.is(res.status, 503);
    assert.is(res.headers.get("retry-after"), "5");
    assert.match(
      res.json.error.message,
      /^The engine is loading \(\d+ s since the gateway started\): The engine is unreachable: ECONNREFUSED\. Retry later\.$/,
    );
    const [line] = await requestLines(logs, 1);
    assert.match(line!.errorDetail, /^ECONNREFUSED: connect ECONNREFUSED 127\.0\.0\.1:\d+/);
    assert.is(line!.level, WARN);
  });
});

test("log_lines_carry_what_an_operator_correlates_on", async () => {
  const sim = await new EngineSim().start();
  try {
    await withGateway(
      sim.url,
      ["--api-key", "k", "--max-concurrent", "1", "--queue-timeout", "0", "--body-limit", "1kb"],
      async (gw, logs) => {
        const key = { "api-key": "k" };
        assert.is((await postJson(`${gw}/chat/completions?${API}`, CHAT)).status, 401);
        assert.is((await fetch(`${gw}/models/chat/completions?${API}`, { headers: key })).status, 405);
        const held = postJson(
          `${gw}/chat/completions?${API}`,
          { ...CHAT, stream: true, max_tokens: 20, sim_gap_ms: 20 },
          { ...key, "extra-parameters": "pass-through" },
        );
        await new Promise((r) => setTimeout(r, 100));
        assert.is((await postJson(`${gw}/embeddings?${API}`, { input: "x" }, key)).status, 429);
        await held;
        const big = await postJson(
          `${gw}/chat/completions?${API}`,
          { messages: [{ role: "user", content: "x".repeat(2000) }] },
          key,
        );
        assert.is(big.status, 413);
        assert.match(big.json.error.message, /the limit is 1 KB, set by --body-limit \(BODY_LIMIT\)/);
        const invalid = await postJson(
          `${gw}/chat/completions?api-version=2025-05-01`,
          { messages: [{ role: "user", content: 5 }] },
          { ...key, "x-ms-client-request-id": "client-42" },
        );
        assert.is(invalid.status, 400);

        const lines = (await requestLines(logs, 6)).map((l) => ({ status: l.status, route: l.route }));
        assert.equal(lines, [
          { status: 401, route: "/chat/completions" },
          { status: 405, route: "/chat/completions" },
          { status: 429, route: "/embeddings" },
          { status: 200, route: "/chat/completions" },
          { status: 413, route: "/chat/completions" },
          { status: 400, route: "/chat/completions" },
        ]);
        const last = (await requestLines(logs, 6)).at(-1)!;
        assert.is(last.apiVersion, "2025-05-01");
        assert.is(last.errorTarget, "messages[0].content");
        assert.is(last.clientRequestId, "client-42");
        const metrics = await (await fetch(`${gw}/metrics`, { headers: key })).text();
        assert.match(metrics, /gateway_requests_total\{route="\/chat\/completions",status="401",stream="false"\} 1/);
      },
    );
  } finally {
    await sim.close();
  }
});

test("api_version_twice_and_undeclared_nested_fields_follow_one_rule", async () => {
  const sim = await new EngineSim().start();
  try {
    await withGateway(sim.url, [], async (gw) => {
      for (const path of [
        "/chat/completions?api-version=2025-04-01&api-version=2025-05-01",
        "/openai/deployments/d/chat/completions?api-version=2024-10-21&api-version=2024-10-21",
      ]) {
        const res = await postJson(`${gw}${path}`, { ...CHAT, model: "d" });
        assert.is(res.status, 400, path);
        assert.is(res.json.error.code, "UnsupportedApiVersionValue");
        assert.match(res.json.error.message, /given more than once/);
      }
      const nested = { messages: [{ role: "user", content: "hi", foo: 1 }] };
      const refused = await postJson(`${gw}/chat/completions?${API}`, nested);
      assert.is(refused.status, 400);
      assert.is(refused.json.error.code, "ExtraParametersNotAllowed");
      assert.is(refused.json.error.target, "messages[0].foo");
      const part = await postJson(`${gw}/chat/completions?${API}`, {
        messages: [{ role: "user", content: [{ type: "text", text: "t", bar: true }] }],
      });
      assert.is(part.json.error.target, "messages[0].content[0].bar");
      assert.is(sim.requests.filter((r) => r.method === "POST").length, 0);
      for (const mode of ["drop", "pass-through"]) {
        const res = await postJson(`${gw}/chat/completions?${API}`, nested, { "extra-parameters": mode });
        assert.is(res.status, 200, mode);
        assert.equal(
          sim.last("/v1/chat/completions").body.messages,
          [{ role: "user", content: "hi" }],
          `${mode}: nested fields are not forwarded`,
        );
      }
    });
  } finally {
    await sim.close();
  }
});

test("a_port_in_use_is_one_line_and_exit_2", async () => {
  const taken = await listen(createTcpServer());
  try {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "src/main.ts", "--host", "127.0.0.1", "--port", String(taken.port)],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    const [code] = await once(child, "exit");
    assert.is(code, 2);
    assert.is(
      stderr,
      `azure-openai-proxy: cannot listen on 127.0.0.1:${taken.port}: the address is already in use (EADDRINUSE). Set --host/--port (HOST/PORT).\n`,
    );
  } finally {
    taken.server.close();
  }
});

test("help_is_aligned_and_log_bodies_warns", async () => {
  const help = spawn(process.execPath, ["--import", "tsx", "src/main.ts", "--help"]);
  let text = "";
  help.stdout.on("data", (d) => (text += d));
  await once(help, "exit");
  const options = text.split("\n").filter((l) => l.startsWith("  -"));
  assert.ok(options.length > 20);
  // Every flag is followed by at least two spaces, and every help text starts in the same column.
  const columns = options.map((line) => {
    const match = /^(\s+(?:-\w, )?--[\w-]+(?: <value>)?)(\s+)\S/.exec(line);
    assert.ok(match && match[2]!.length >= 2, `two spaces after the flag: ${line}`);
    return match![1]!.length + match![2]!.length;
  });
  assert.is(new Set(columns).size, 1, `one column: ${[...new Set(columns)].join(", ")}`);

  const gateway = spawn(
    process.execPath,
    ["--import", "tsx", "src/main.ts", "--host", "127.0.0.1", "--port", "0", "--log-bodies", "true"],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let out = "";
  gateway.stdout!.on("data", (d) => (out += d));
  for (let i = 0; i < 200 && !out.includes("listening on"); i++) await new Promise((r) => setTimeout(r, 25));
  gateway.kill("SIGTERM");
  await once(gateway, "exit");
  const warning = out
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .find((l) => l.level === WARN);
  assert.match(
    warning?.msg ?? "",
    /--log-bodies is on: request and response bodies \(prompts and completions\) are written to the log/,
  );
});

test.run();
