// What a first run says. On an older Node (20 is still many images' default) `npm start`, `npm test` and
// `npm run demo` stop at once with one line naming the Node the project needs and how to get it, never a
// stack trace (before: ERR_UNKNOWN_BUILTIN_MODULE node:sqlite); Node 20 comes from the npm registry, as
// .ci/node.sh fetches 24. A gateway listening beyond the machine with no key and no consumers says so once;
// the start-up line names the deployments, their engines and the store.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { startGatewayProcess } from "../helpers/gateway-process.ts";
import { EngineSim } from "../sim/engine.ts";

const test = suite("first-run");
const root = join(import.meta.dirname, "../..");

/** The bin folder of Node 20's official Linux binary, unpacked once into the cache. */
function node20Bin(): string {
  const arch = process.arch === "arm64" ? "arm64" : "x64";
  const version = execFileSync("npm", ["view", `node-linux-${arch}@20`, "version", "--json"], { encoding: "utf8" });
  const latest = ([] as string[]).concat(JSON.parse(version) as string | string[]).at(-1)!;
  const dir = join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "azure-openai-proxy", `node-${latest}`);
  if (!existsSync(join(dir, "bin/node"))) {
    const pack = mkdtempSync(join(tmpdir(), "node20-"));
    const tarball = execFileSync("npm", ["pack", "--silent", `node-linux-${arch}@${latest}`], {
      cwd: pack,
      encoding: "utf8",
    }).trim();
    mkdirSync(`${dir}.partial`, { recursive: true });
    execFileSync("tar", [
      "xzf",
      join(pack, tarball),
      "-C",
      `${dir}.partial`,
      "--strip-components=1",
      "package/bin/node",
    ]);
    rmSync(pack, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
    renameSync(`${dir}.partial`, dir);
  }
  return join(dir, "bin");
}

test("npm_start_test_and_demo_on_node_20_name_the_node_they_need_in_one_line", () => {
  const bin = node20Bin();
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
  assert.match(execFileSync("node", ["--version"], { env, encoding: "utf8" }), /^v20\./);
  for (const script of [["start", "--", "--port", "0"], ["test"], ["run", "demo"]]) {
    const run = spawnSync("npm", script, { cwd: root, env, encoding: "utf8", timeout: 60_000 });
    assert.is(run.status, 1, `npm ${script.join(" ")}: ${run.stderr}`);
    const lines = run.stderr.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("npm "));
    assert.equal(lines.length, 1, `npm ${script[0]}: one line, got:\n${run.stderr}`);
    assert.match(
      lines[0]!,
      /^azure-openai-proxy needs Node\.js 24 or newer; this is Node 20\.\d+\.\d+\. .*source \.ci\/node\.sh/,
    );
    assert.not.match(run.stderr, /\n\s+at /, "no stack trace");
  }
});

test("an_open_gateway_listening_beyond_the_machine_logs_one_warning", async () => {
  const sim = await new EngineSim().start();
  const warned = (logs: Array<Record<string, any>>) =>
    logs.filter((l) => /listening beyond this machine/.test(l.msg ?? ""));
  try {
    for (const [args, warnings] of [
      [["--host", "0.0.0.0"], 1],
      [["--host", "0.0.0.0", "--api-key", "a-key-0123456789"], 0],
      [["--host", "127.0.0.1"], 0],
    ] as const) {
      const gw = await startGatewayProcess(sim.port, [...args]);
      try {
        const listening = await gw.logLine((l) => /^listening on/.test(l.msg ?? ""));
        assert.is(warned(gw.logs).length, warnings, args.join(" "));
        // The start-up line names what is served and where state lives.
        assert.equal(listening.deployments, [{ name: "default", engines: [`${sim.url}/v1`] }]);
        assert.match(listening.store, /^sqlite:\/.+\.db$/);
        if (warnings) assert.is(warned(gw.logs)[0]!.level, 40, "a warning");
      } finally {
        await gw.stop();
      }
    }
  } finally {
    await sim.close();
  }
});

test.run();
