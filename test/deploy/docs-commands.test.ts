// Every command and configuration file in the docs (README, examples/README, docs/), held to what a reader
// can do from a clone. What runs here runs: configuration files load in the gateway, helm commands render
// with the pinned helm. What needs a cloud, a GPU or Docker is checked for what it names: Dockerfile
// targets, the images built just before, Azure ML files and the keys they --set, npm scripts, files, the
// gateway's flags. An engine's options in them: test/unit/engine-cli.test.ts. The README's commands and the
// examples also run for real: test/integration/fresh-clone.test.ts and examples.test.ts.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { helmForTests } from "../../scripts/helm.ts";
import { loadConfig, OPTIONS } from "../../src/config.ts";
import { docFiles } from "../helpers/docs.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const test = suite("docs-commands");

const DOCS = docFiles(ROOT);

interface Block {
  where: string;
  lang: string;
  text: string;
}

/** The fenced code blocks of the docs. */
const BLOCKS: Block[] = DOCS.flatMap((file) =>
  [...readFileSync(join(ROOT, file), "utf8").matchAll(/^```(\w*)\n([\s\S]*?)^```/gm)].map((m) => ({
    where: `${file}:${readFileSync(join(ROOT, file), "utf8").slice(0, m.index).split("\n").length}`,
    lang: m[1]!,
    text: m[2]!,
  })),
);

interface Command {
  where: string;
  /** The command's words after leading VAR=value assignments, quotes kept as written. */
  line: string;
  words: string[];
}

/** The commands of the shell blocks: continuations joined, comments and blank lines dropped. */
const COMMANDS: Command[] = BLOCKS.filter((b) => b.lang === "bash").flatMap((b) =>
  b.text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.replace(/(^|\s)#.*$/, "").trim())
    .filter((l) => l !== "")
    // `a && b` is two commands.
    .flatMap((l) => l.split(/\s&&\s/))
    .map((l) => {
      const line = l.trim().replace(/^(?:[A-Za-z_]\w*=[^\s$]*\s+)+/, "");
      return { where: b.where, line, words: line.split(/\s+/) };
    }),
);

/** A reader's stand-ins for the docs' placeholders. */
const filledIn = (text: string) =>
  text
    .replaceAll("<registry>", "registry.example.com")
    .replace(/<(tenant guid|client id|object id)>/g, "00000000-0000-4000-8000-000000000000")
    .replaceAll("<hex>", "ab".repeat(32));

const dockerfileStages = new Set(
  [...readFileSync(join(ROOT, "Dockerfile"), "utf8").matchAll(/^FROM \S+ AS (\S+)$/gm)].map((m) => m[1]),
);
const npmScripts = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> })
  .scripts;

const valueAfter = (words: string[], ...flags: string[]) => {
  const i = words.findIndex((w) => flags.includes(w));
  return i >= 0 ? words[i + 1] : undefined;
};

/** What each kind of command is checked for; a command of no known kind fails, so a new one gets a check. */
const CHECKS: [RegExp, (c: Command, built: Set<string>) => void][] = [
  [
    /^(docker build|az acr build)\b/,
    (c, built) => {
      const target = valueAfter(c.words, "--target");
      assert.ok(target && dockerfileStages.has(target), `${c.where}: no Dockerfile target ${target}`);
      built.add(valueAfter(c.words, "-t")!);
    },
  ],
  [
    /^docker run\b/,
    (c, built) => {
      const image = c.words.find((w) => built.has(w));
      assert.ok(image, `${c.where}: runs an image the block did not build: ${c.line}`);
    },
  ],
  [
    /^az ml\b/,
    (c) => {
      const file = valueAfter(c.words, "-f", "--file");
      if (!file) return; // show, get-credentials: nothing of ours is named
      assert.ok(existsSync(join(ROOT, file)), `${c.where}: ${file} does not exist`);
      const doc = parseYaml(readFileSync(join(ROOT, file), "utf8")) as Record<string, unknown>;
      for (const [i, w] of c.words.entries()) {
        if (w !== "--set") continue;
        const path = c.words[i + 1]!.split("=")[0]!.split(".");
        let at: unknown = doc;
        for (const key of path) at = (at as Record<string, unknown> | undefined)?.[key];
        assert.ok(at !== undefined, `${c.where}: ${file} has no ${path.join(".")} to --set`);
      }
    },
  ],
  [/^helm (install|upgrade)\b/, () => {}], // rendered by the test below
  [
    /^npm (ci|test|start|run)\b/,
    (c) => {
      if (c.words[1] === "run") assert.ok(npmScripts[c.words[2]!], `${c.where}: no npm script ${c.words[2]}`);
      if (c.words[1] === "start") {
        // `npm start -- <flags>`: the gateway's own flags.
        for (const w of c.words.slice(c.words.indexOf("--") + 1).filter((w) => w.startsWith("--")))
          assert.ok(w.slice(2) in OPTIONS, `${c.where}: the gateway has no flag ${w}`);
      }
    },
  ],
  [
    /^(node|bash) /,
    (c) => {
      const file = c.words[1]!;
      // Outside the clone: a script on the project's own machines (docs/tests.md says so).
      if (!file.startsWith("../")) assert.ok(existsSync(join(ROOT, file)), `${c.where}: ${file} does not exist`);
    },
  ],
  [/^(engine_env=|export )/, () => {}], // sets variables for the next command
];

test("every_command_in_the_docs_is_of_a_kind_that_is_checked_and_passes", () => {
  assert.ok(COMMANDS.length >= 20, `${COMMANDS.length} commands found`);
  const builtByBlock = new Map<string, Set<string>>();
  for (const c of COMMANDS) {
    const check = CHECKS.find(([pattern]) => pattern.test(c.line));
    assert.ok(check, `${c.where}: no check for "${c.line}"`);
    if (!builtByBlock.has(c.where)) builtByBlock.set(c.where, new Set());
    check[1](c, builtByBlock.get(c.where)!);
  }
});

test("a_command_naming_what_does_not_exist_is_caught", () => {
  // The checks can fail: the same checks on commands that name a missing target, file, script or flag.
  const bad = [
    "docker build --target vlm -t x .",
    "az ml online-deployment create -f deploy/azureml/nope.yml",
    "az ml online-deployment create -f deploy/azureml/deployment-vllm.yml --set environment.imag=x",
    "npm run no-such-script",
    "npm start -- --no-such-flag 1",
    "node examples/nope.mjs",
    "docker run -p 80:80 never-built:tag",
  ];
  for (const line of bad) {
    const c = { where: "case", line, words: line.split(/\s+/) };
    const check = CHECKS.find(([pattern]) => pattern.test(line))!;
    let caught = false;
    try {
      check[1](c, new Set());
    } catch {
      caught = true;
    }
    assert.ok(caught, `not caught: ${line}`);
  }
});

test("every_npx_in_the_docs_and_examples_runs_a_command_a_clone_has", () => {
  // npx in a clone runs node_modules/.bin's commands; anything else it would fetch from the registry, and this
  // package is not published there (npm error enoent … _npx/…).
  const examples = readdirSync(join(ROOT, "examples"), { recursive: true, encoding: "utf8" })
    .filter((f) => !f.includes("node_modules") && /\.(?:md|ya?ml|mjs|sh|json)$/.test(f))
    .map((f) => `examples/${f}`);
  const files = [...DOCS, ...examples];
  const found = files.flatMap((file) =>
    [...readFileSync(join(ROOT, file), "utf8").matchAll(/\bnpx\s+(?:-y\s+)?(?:-p\s+\S+\s+)?([\w@./-]+)/g)]
      .map((m) => m[1]!)
      .filter((bin) => !existsSync(join(ROOT, "node_modules/.bin", bin)))
      .map((bin) => `${file}: npx ${bin}`),
  );
  assert.equal(found, []);
});

test("configuration_files_in_the_docs_load_in_the_gateway", () => {
  let loaded = 0;
  for (const b of BLOCKS.filter((b) => b.lang === "yaml")) {
    const text = filledIn(b.text);
    const doc = parseYaml(text) as Record<string, unknown>;
    if (!["deployments", "consumers", "entra"].some((k) => k in doc)) continue;
    // The variables it names (keys, engine keys) set, as a reader would set them.
    const env: Record<string, string> = {};
    for (const m of text.matchAll(/_env:\s*\[?([^\]\n#]+)/g))
      for (const name of m[1]!.split(",").map((s) => s.trim()))
        if (/^[A-Z][A-Z0-9_]*$/.test(name)) env[name] = `key-for-${name.toLowerCase()}`;
    const file = join(mkdtempSync(join(tmpdir(), "docs-config-")), "gateway.yaml");
    writeFileSync(file, text);
    try {
      loadConfig(["--config", file], env);
    } catch (err) {
      assert.unreachable(`${b.where}: the gateway refuses it: ${(err as Error).message}`);
    }
    loaded++;
  }
  assert.ok(loaded >= 2, `${loaded} configuration files found`);
});

const helm = helmForTests("docs' helm");

if (helm) {
  test("helm_commands_in_the_docs_render_with_the_pinned_helm", () => {
    const bin = mkdtempSync(join(tmpdir(), "helm-bin-"));
    symlinkSync(helm!, join(bin, "helm"));
    const commands = COMMANDS.filter((c) => /^helm (install|upgrade)\b/.test(c.line));
    assert.ok(commands.length >= 2, `${commands.length} helm commands`);
    for (const c of commands) {
      // As written, through a shell (its quoting is part of the command), with `template` for `install`.
      const line = filledIn(c.line).replace(/^helm (install|upgrade)\b/, "helm template");
      const out = spawnSync("bash", ["-c", line], {
        cwd: ROOT,
        encoding: "utf8",
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, GATEWAY_KEY: "docs-key" },
      });
      assert.is(out.status, 0, `${c.where}: ${line}\n${out.stderr}`);
      assert.match(out.stdout, /^kind: Deployment$/m, c.where);
    }
  });
}

test.run();
