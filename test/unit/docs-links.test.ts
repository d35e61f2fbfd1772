// The docs hold together: every relative link in README.md, docs/ and examples/README.md names a file of
// the repository, and every #anchor a heading of its target (GitHub's slugs; code blocks skipped).
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { docFiles } from "../helpers/docs.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const FILES = docFiles(ROOT);

/** Markdown outside fenced code blocks. */
const prose = (text: string) => text.replace(/^```[\s\S]*?^```/gm, "");

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- _]/gu, "")
    .replace(/ /g, "-");

const anchorsOf = (file: string) =>
  new Set([...prose(readFileSync(file, "utf8")).matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!)));

const test = suite("docs-links");

test("every_relative_link_and_anchor_resolves", () => {
  const broken: string[] = [];
  for (const name of FILES) {
    const file = join(ROOT, name);
    for (const [, target] of prose(readFileSync(file, "utf8")).matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^(https?:|mailto:)/.test(target!)) continue;
      const [path, anchor] = target!.split("#") as [string, string | undefined];
      const to = path ? resolve(dirname(file), path) : file;
      if (!existsSync(to)) broken.push(`${name}: ${target} (no ${relative(ROOT, to)})`);
      else if (anchor && to.endsWith(".md") && !anchorsOf(to).has(anchor))
        broken.push(`${name}: ${target} (no heading #${anchor})`);
    }
  }
  assert.equal(broken, []);
});

test("the_readme_stays_short_and_links_every_doc", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  assert.ok(readme.split("\n").length < 120, "README: what it is, the two commands, the dialects, where next");
  for (const doc of FILES.filter((f) => f.startsWith("docs/"))) assert.ok(readme.includes(`](${doc})`), doc);
});

test("every_example_is_listed_in_the_examples_readme", () => {
  const readme = readFileSync(join(ROOT, "examples/README.md"), "utf8");
  const files = readdirSync(join(ROOT, "examples"), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name !== "README.md")
    .map((e) => relative(join(ROOT, "examples"), join(e.parentPath, e.name)));
  assert.ok(files.length > 10, "the examples were found");
  assert.equal(
    files.filter((f) => !readme.includes(f)),
    [],
    "examples/README.md names every example",
  );
});

test.run();
