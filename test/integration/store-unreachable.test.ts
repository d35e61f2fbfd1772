// A --store that does not answer at start-up (issue 36): named at once, with one warning line per failed
// attempt while the gateway retries, and the port never opened; start-up then stops with one line naming
// it (src/main.ts exits 2). The Redis URL's password is never shown.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { pino } from "pino";
import { loadConfig } from "../../src/config.ts";
import { createGatewayServer, StoreNotReady } from "../../src/server.ts";
import { freePort, logged } from "../helpers/gateway.ts";

test("an_unreachable_redis_is_named_at_once_and_each_retry_logged", async () => {
  const port = await freePort();
  const config = loadConfig(
    ["--host", "127.0.0.1", "--port", "0", "--store", `redis://:secret-password@127.0.0.1:${port}/0`],
    {},
  );
  const logs: Array<Record<string, any>> = [];
  const log = pino({ level: "info" }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const { gateway, server, listen } = createGatewayServer(config, log);
  const started = listen();
  started.catch(() => {});
  try {
    const lines = await logged(logs, (l) => l.msg?.startsWith("the store does not answer"), 3);
    assert.equal(
      lines.map((l) => l.attempt),
      [1, 2, 3],
      "one line per attempt",
    );
    assert.is(lines[0]!.level, 40, "a warning");
    assert.is(lines[0]!.store, `redis://***@127.0.0.1:${port}/0`);
    assert.match(lines[0]!.reason, /ECONNREFUSED/);
    assert.not.ok(server.listening, "the port stays closed while the store does not answer");
    const refused = await started.then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.instance(refused, StoreNotReady);
    assert.match(
      (refused as Error).message,
      new RegExp(`^--store redis://\\*\\*\\*@127\\.0\\.0\\.1:${port}/0: cannot reach it`),
    );
    assert.not.match(JSON.stringify(logs) + (refused as Error).message, /secret-password/);
  } finally {
    await gateway.close();
  }
});

test.run();
