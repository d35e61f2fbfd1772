// The engines' command lines, recorded with their pins in entrypoints/engine-cli/<engine>.yaml, and the
// options this repository passes to each engine (entrypoints, Azure ML files, the chart's values, the
// docs' commands). test/unit/engine-cli.test.ts checks the second against the first.
//
//   npm run -s engine-cli -- record <engine> [--help-file <file>]
//
// rewrites a record's options from the pinned image's own --help (needs Docker), or from a saved one.
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import { parseDocument, parse as parseYaml } from "yaml";

export const ENGINES = ["vllm", "sglang", "tgi", "tei"] as const;
export type Engine = (typeof ENGINES)[number];
export const TARGETS = ["vllm", "sglang", "tgi", "tei-cpu", "tei-gpu"] as const;
export type Target = (typeof TARGETS)[number];

/** The engine a Dockerfile target runs: both TEI targets build the same router. */
export const engineOf = (target: Target): Engine => (target.startsWith("tei") ? "tei" : (target as Engine));

export interface EngineCli {
  images: string[];
  command: string;
  /** The CUDA image's per-architecture executables (TEI). */
  gpu_commands?: string[];
  recorded: { from: string; complete: boolean; again: string };
  options: string[];
}

const recordPath = (root: string, engine: Engine) => join(root, "entrypoints/engine-cli", `${engine}.yaml`);

export function readEngineCli(root: string, engine: Engine): EngineCli {
  return parseYaml(readFileSync(recordPath(root, engine), "utf8")) as EngineCli;
}

/**
 * The options a --help text lists: on each line that starts with a dash (argparse's and clap's option
 * lines), every option named before the description begins (two spaces or more).
 */
export function optionsInHelp(text: string): string[] {
  const found = new Set<string>();
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (!trimmed.startsWith("-")) continue;
    const names = trimmed.split(/\s{2,}/)[0]!;
    for (const m of names.matchAll(/(?<![\w-])(--?[A-Za-z0-9][\w.-]*)/g)) found.add(m[1]!);
  }
  return [...found];
}

export interface OptionUse {
  engine: Engine;
  option: string;
  /** file:line */
  where: string;
}

/** The options in a list of command-line words: `--name` and `-n`, and `--name=value` as `--name`. */
function optionsOf(words: readonly string[]): string[] {
  return words.filter((w) => /^--?[A-Za-z]/.test(w)).map((w) => w.split("=")[0]!);
}

/** Words of a shell-like command tail, up to the end of the command (a comment, a pipe, a code span's end). */
function commandWords(tail: string): string[] {
  const words: string[] = [];
  for (const raw of tail.trim().split(/\s+/)) {
    if (raw === "" || raw === "#" || raw === "|" || raw === "&&" || raw === ";" || raw === "\\") break;
    const ended = raw.endsWith("`") || raw.endsWith("`,");
    words.push(raw.replace(/^['"]|['"`,]+$/g, ""));
    if (ended) break;
  }
  return words;
}

/** This repository's image as a command's word (not inside `--set x=<image>`), and what follows it. */
const IMAGE_REF = /(?:^|\s)(?:[^\s=]*\/)?(?:aoai-proxy|azure-openai-proxy):(vllm|sglang|tgi|tei-cpu|tei-gpu)\b(.*)$/;
/** Engine executables named in docs and comments, with the engine they belong to. */
const ENGINE_COMMANDS: [RegExp, Engine][] = [
  [/\bpython3? -m vllm\.entrypoints\.openai\.api_server\b(.*)$/, "vllm"],
  [/\bpython3? -m sglang\.launch_server\b(.*)$/, "sglang"],
  [/\btext-generation-launcher\b(.*)$/, "tgi"],
  [/\btext-embeddings-router(?:-\d+)?\b(.*)$/, "tei"],
];

/** Lines of a text with shell continuations (a trailing backslash) joined, each with its first line number. */
function logicalLines(text: string): [string, number][] {
  const out: [string, number][] = [];
  let pending = "";
  let start = 0;
  text.split("\n").forEach((line, i) => {
    if (pending === "") start = i + 1;
    if (/\\\s*$/.test(line)) pending += line.replace(/\\\s*$/, " ");
    else {
      out.push([pending + line, start]);
      pending = "";
    }
  });
  if (pending) out.push([pending, start]);
  return out;
}

function filesUnder(root: string, dir: string, ext: RegExp): string[] {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && ext.test(e.name))
    .map((e) => relative(root, join(e.parentPath, e.name)));
}

/** Every option this repository passes to an engine, and where. */
export function optionsPassed(root: string): OptionUse[] {
  const uses: OptionUse[] = [];
  const add = (engine: Engine, words: readonly string[], where: string) => {
    for (const option of optionsOf(words)) uses.push({ engine, option, where });
  };

  // The entrypoints' own command lines.
  for (const target of TARGETS) {
    const file = `entrypoints/${target}.sh`;
    for (const [line, n] of logicalLines(readFileSync(join(root, file), "utf8"))) {
      // After the executable: `python3 -m <module>`, or one word.
      const m = /^run_engine\s+(?:python3? -m \S+|\S+)\s+(.*)$/.exec(line.trim());
      if (m) add(engineOf(target), m[1]!.split(/\s+/), `${file}:${n}`);
    }
  }

  // Azure ML: the image's target and its ENGINE_ARGS (a JSON array).
  for (const file of filesUnder(root, "deploy/azureml", /^deployment-.*\.ya?ml$/)) {
    const doc = parseYaml(readFileSync(join(root, file), "utf8")) as {
      environment?: { image?: string };
      environment_variables?: { ENGINE_ARGS?: string };
    };
    const target = IMAGE_REF.exec(doc.environment?.image ?? "")?.[1] as Target | undefined;
    const args = doc.environment_variables?.ENGINE_ARGS;
    if (target && args) add(engineOf(target), JSON.parse(args) as string[], file);
  }

  // The chart's default engine arguments.
  const valuesFile = "deploy/helm/azure-openai-proxy/values.yaml";
  const values = parseYaml(readFileSync(join(root, valuesFile), "utf8")) as {
    engine: { target: Target; args: string[] };
  };
  add(engineOf(values.engine.target), values.engine.args, valuesFile);

  // Commands in the docs, examples and the Dockerfile: `docker run … <image>:<target> <engine args>`,
  // an engine's own executable, `helm … --set engine.target=<t> --set-json 'engine.args=[…]'`.
  const texts = [
    "README.md",
    "Dockerfile",
    ...filesUnder(root, "docs", /\.md$/),
    ...filesUnder(root, "examples", /\.(md|ya?ml|sh|mjs|py)$/),
    ...filesUnder(root, "deploy", /\.(md|ya?ml)$/),
  ];
  for (const file of texts) {
    for (const [line, n] of logicalLines(readFileSync(join(root, file), "utf8"))) {
      const where = `${file}:${n}`;
      const image = IMAGE_REF.exec(line);
      if (image) add(engineOf(image[1] as Target), commandWords(image[2]!), where);
      for (const [pattern, engine] of ENGINE_COMMANDS) {
        const m = pattern.exec(line);
        if (m) add(engine, commandWords(m[1]!), where);
      }
      const helmTarget = /--set engine\.target=([\w-]+)/.exec(line)?.[1] as Target | undefined;
      const helmArgs = /engine\.args=(\[[^\]]*\])/.exec(line)?.[1];
      if (helmArgs) add(engineOf(helmTarget ?? values.engine.target), JSON.parse(helmArgs) as string[], where);
    }
  }
  return uses;
}

/** The uses of options a record does not list. */
export function unknownOptions(uses: readonly OptionUse[], records: Record<Engine, EngineCli>): OptionUse[] {
  return uses.filter((u) => !records[u.engine].options.includes(u.option));
}

/** Rewrites a record's options from the pinned image's --help (Docker) or a saved --help text. */
function record(root: string, engine: Engine, helpFile: string | undefined): void {
  const file = recordPath(root, engine);
  const doc = parseDocument(readFileSync(file, "utf8"));
  const cli = doc.toJS() as EngineCli;
  const image = cli.images[0]!;
  const [program, ...rest] = cli.command.split(" ");
  // vLLM's --help lists its option groups; --help=all lists every option.
  const helpFlag = engine === "vllm" ? "--help=all" : "--help";
  const text = helpFile
    ? readFileSync(helpFile, "utf8")
    : execFileSync("docker", ["run", "--rm", "--entrypoint", program!, image, ...rest, helpFlag], {
        encoding: "utf8",
        maxBuffer: 64 << 20,
      });
  const options = optionsInHelp(text);
  if (!options.includes("--port")) throw new Error(`no --port in that --help text: is it ${engine}'s?`);
  doc.setIn(["options"], options);
  doc.setIn(
    ["recorded", "from"],
    `${helpFile ? basename(helpFile) : `docker run ${image} ${cli.command} ${helpFlag}`}, recorded ${new Date().toISOString().slice(0, 10)}`,
  );
  doc.setIn(["recorded", "complete"], true);
  writeFileSync(file, doc.toString({ lineWidth: 0 }));
  console.log(`${relative(root, file)}: ${options.length} options`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [verb, engine, ...rest] = process.argv.slice(2);
  if (verb !== "record" || !ENGINES.includes(engine as Engine)) {
    console.error(`usage: engine-cli record <${ENGINES.join("|")}> [--help-file <file>]`);
    process.exit(2);
  }
  const at = rest.indexOf("--help-file");
  record(resolve(import.meta.dirname, ".."), engine as Engine, at >= 0 ? rest[at + 1] : undefined);
}
