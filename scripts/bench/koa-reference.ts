// The floor of the stack the gateway is built on: the Node reference's pass-through (fill `model`,
// rename `object`, re-frame SSE line by line), served by Koa + @koa/router + koa-body instead of bare
// node:http. The gateway cannot beat it; the gap between the two is what the gateway's own work costs.
//   tsx scripts/bench/koa-reference.ts <port> <upstreamUrl>
import Router from "@koa/router";
import Koa from "koa";
import { koaBody } from "koa-body";
import { Pool } from "undici";

const [port = "0", upstream = "http://127.0.0.1:8080"] = process.argv.slice(2);
// Exit normally on a signal, so `node --cpu-prof` writes its profile.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(0));
// No connection cap, as the gateway: a capped pool queues held streams behind each other.
const pool = new Pool(upstream, { connections: null, keepAliveTimeout: 60_000 });

const app = new Koa();
const router = new Router();
router.post(["/chat/completions", "/embeddings"], async (ctx) => {
  const body = ctx.request.body as Record<string, unknown>;
  body.model ??= "bench-model";
  const path = ctx.path === "/embeddings" ? "/v1/embeddings" : "/v1/chat/completions";
  const up = await pool.request({
    path,
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!body.stream) {
    const json = (await up.body.json()) as Record<string, unknown>;
    json.object = json.object === "list" ? "list" : "chat.completion";
    ctx.status = up.statusCode;
    ctx.body = json;
    return;
  }
  ctx.respond = false;
  ctx.res.writeHead(200, { "content-type": "text/event-stream" });
  let rest = "";
  for await (const c of up.body) {
    const lines = (rest + c).split("\n");
    rest = lines.pop()!;
    for (const line of lines)
      if (line.startsWith("data: "))
        ctx.res.write(line.replace('"chat.completion.chunk"', '"chat.completion"') + "\n\n");
  }
  ctx.res.end();
});
app.use(koaBody({ json: true, jsonStrict: true, multipart: false, urlencoded: false, text: false }));
app.use(router.routes());
const server = app.listen(Number(port), "127.0.0.1", () => {
  console.log(JSON.stringify({ port: (server.address() as { port: number }).port }));
});
