// The ceiling for any Node gateway on one core: node:http + an undici Pool that forwards the body,
// renames one field and re-frames SSE line by line, nothing else.
//   tsx scripts/bench/node-reference.ts <port> <upstreamUrl>
import { createServer } from "node:http";
import { Pool } from "undici";

const [port = "0", upstream = "http://127.0.0.1:8080"] = process.argv.slice(2);
// Exit normally on a signal, so `node --cpu-prof` writes its profile.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(0));
// No connection cap, as the gateway: a capped pool queues held streams behind each other.
const pool = new Pool(upstream, { connections: null, keepAliveTimeout: 60_000 });

createServer(async (req, res) => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const body = JSON.parse(Buffer.concat(chunks).toString());
  body.model ??= "bench-model"; // the one rename-or-fill a translation must do
  const path = req.url!.startsWith("/embeddings") ? "/v1/embeddings" : "/v1/chat/completions";
  const up = await pool.request({
    path,
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!body.stream) {
    const json = (await up.body.json()) as Record<string, unknown>;
    json.object = json.object === "list" ? "list" : "chat.completion";
    return void res.writeHead(up.statusCode, { "content-type": "application/json" }).end(JSON.stringify(json));
  }
  res.writeHead(200, { "content-type": "text/event-stream" });
  let rest = "";
  for await (const c of up.body) {
    const lines = (rest + c).split("\n");
    rest = lines.pop()!;
    for (const line of lines)
      if (line.startsWith("data: ")) res.write(line.replace('"chat.completion.chunk"', '"chat.completion"') + "\n\n");
  }
  res.end();
}).listen(Number(port), "127.0.0.1", function (this: import("node:net").Server) {
  console.log(JSON.stringify({ port: (this.address() as { port: number }).port }));
});
