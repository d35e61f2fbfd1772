// Static checks of the Dockerfile (no Docker engine here) and shellcheck of the entrypoints.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { accessSync, constants, readFileSync, readdirSync } from "node:fs";
import { resolve } from "node:path";
import { Copy, DockerfileParser } from "dockerfile-ast";

const ROOT = resolve(import.meta.dirname, "../..");
const dockerfile = DockerfileParser.parse(readFileSync(resolve(ROOT, "Dockerfile"), "utf8"));
const test = suite("dockerfile");
const TARGETS = ["tgi", "vllm", "sglang", "tei-cpu", "tei-gpu"];

/** Instructions of one stage: from its FROM up to the next. */
function stage(name: string) {
  const instructions = dockerfile.getInstructions();
  const start = instructions.findIndex(
    (i) => i.getKeyword() === "FROM" && i.getArgumentsContent()?.endsWith(` AS ${name}`),
  );
  assert.ok(start >= 0, `target ${name} exists`);
  const end = instructions.findIndex((i, n) => n > start && i.getKeyword() === "FROM");
  return instructions.slice(start, end === -1 ? undefined : end);
}

/** The global ARGs (before the first FROM) and their defaults. */
const BUILD_ARGS = new Map(
  dockerfile.getInitialARGs().map((i) => {
    const [name, value] = i.getArgumentsContent()!.split("=", 2) as [string, string | undefined];
    return [name, value];
  }),
);

/** A target's base image: `FROM ${ARG}` resolved to the ARG's default. */
function baseImage(target: string): { arg: string; image: string } {
  const from = dockerfile.getFROMs().find((f) => f.getBuildStage() === target)!;
  const arg = /^\$\{(\w+)\}$/.exec(from.getImage() ?? "")?.[1];
  assert.ok(arg, `${target}'s base image is a build argument (FROM \${…}), not ${from.getImage()}`);
  const image = BUILD_ARGS.get(arg);
  assert.ok(image, `${arg} has a default`);
  return { arg, image };
}

for (const target of TARGETS) {
  test(`${target}_is_pinned_wired_and_healthchecked`, () => {
    const body = stage(target);
    const { arg, image } = baseImage(target);
    const tag = image.split(":").at(-1)!;
    assert.ok(
      image.includes(":") && tag !== "latest" && /\d/.test(tag),
      `${target} pins its base image (${arg}=${image})`,
    );
    assert.ok(
      readFileSync(resolve(ROOT, "docs/docker.md"), "utf8").includes(`\`${image}\``),
      `docs/docker.md names ${image}, the version checked`,
    );
    const entrypoint = body.find((i) => i.getKeyword() === "ENTRYPOINT")!.getArgumentsContent()!;
    assert.ok(entrypoint.includes(`/entrypoints/${target}.sh`), entrypoint);
    accessSync(resolve(ROOT, "entrypoints", `${target}.sh`), constants.X_OK);
    assert.ok(
      body.some((i) => i.getKeyword() === "HEALTHCHECK"),
      "HEALTHCHECK",
    );
    const copiesGateway = body.some((i) => i instanceof Copy && i.getFromFlag()?.getValue() === "gateway-files");
    assert.ok(copiesGateway, "Node and the gateway are copied in");
    assert.ok(body.some((i) => i.getKeyword() === "EXPOSE" && i.getArgumentsContent() === "80"));
    assert.not.ok(
      body.some((i) => i.getKeyword() === "RUN" && /apt(-get)? install|nodejs/.test(i.getArgumentsContent() ?? "")),
      "no apt install of node",
    );
  });
}

test("gateway_target_is_the_gateway_alone_non_root", () => {
  const body = stage("gateway");
  assert.is(baseImage("gateway").arg, "NODE_IMAGE");
  const user = body.find((i) => i.getKeyword() === "USER")?.getArgumentsContent();
  assert.ok(user && user !== "root" && user !== "0", `runs as ${user}`);
  assert.is(body.find((i) => i.getKeyword() === "ENTRYPOINT")!.getArgumentsContent(), '["azure-openai-proxy"]');
  assert.ok(
    body.some((i) => i.getKeyword() === "EXPOSE" && i.getArgumentsContent() === "8080"),
    "a port a non-root user can bind",
  );
  assert.match(
    body
      .filter((i) => i.getKeyword() === "ENV")
      .map((i) => i.getArgumentsContent())
      .join(" "),
    /PORT=8080/,
  );
  assert.ok(
    body.some((i) => i.getKeyword() === "HEALTHCHECK"),
    "HEALTHCHECK",
  );
});

test("build_stage_installs_builds_and_prunes", () => {
  const run = stage("build")
    .filter((i) => i.getKeyword() === "RUN")
    .map((i) => i.getArgumentsContent())
    .join("\n");
  assert.match(run, /npm ci/);
  assert.match(run, /npm run build/);
  assert.match(run, /npm prune --omit=dev/);
  assert.match(readFileSync(resolve(ROOT, ".dockerignore"), "utf8"), /node_modules/);
});

test("entrypoints_and_ci_scripts_pass_shellcheck", () => {
  let found = true;
  try {
    execFileSync("shellcheck", ["--version"], { stdio: "ignore" });
  } catch {
    found = false;
  }
  if (!found) {
    assert.ok(!process.env.CI, "shellcheck is required in CI (.ci/run installs it)");
    return console.log("  (shellcheck not installed: skipped locally)");
  }
  const scripts = readdirSync(resolve(ROOT, "entrypoints"))
    .filter((f) => f.endsWith(".sh"))
    .map((f) => `entrypoints/${f}`);
  execFileSync("shellcheck", ["-x", ...scripts, "test/sim/fake-engine.sh", ".ci/run", ".ci/node.sh"], {
    cwd: ROOT,
    stdio: "inherit",
  });
});

test.run();
