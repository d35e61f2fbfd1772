// The tree's rules, checked: no import circles in src/ (a circle makes load order matter and hides which
// module depends on which), and per-request facts only through the exchange (core/pipeline/exchange.ts).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";

const SRC = resolve(import.meta.dirname, "../../src");
const test = suite("architecture");

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith(".ts") ? [path] : [];
  });
}

/** Relative imports of a module that are values at run time (`import type` makes no circle). */
function imports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const found: string[] = [];
  for (const match of text.matchAll(/^import\s+(type\s+)?[^;]*?from\s+"(\.[^"]+)";/gms)) {
    if (match[1]) continue;
    const path = resolve(dirname(file), match[2]!);
    if (path.startsWith(SRC)) found.push(path);
  }
  return found;
}

test("no_import_circles_in_src", () => {
  const graph = new Map(sources(SRC).map((file) => [file, imports(file)]));
  const circles: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (file: string, path: string[]): void => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "visiting") {
      circles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(SRC, f)).join(" -> "));
      return;
    }
    state.set(file, "visiting");
    for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
    state.set(file, "done");
  };
  for (const file of graph.keys()) visit(file, []);
  assert.equal(circles, []);
});

test("per_request_facts_only_through_the_exchange", () => {
  const offenders = sources(SRC)
    .filter((file) => !file.endsWith("core/pipeline/exchange.ts"))
    .filter((file) => /ctx\.state\b/.test(readFileSync(file, "utf8")))
    .map((file) => relative(SRC, file));
  assert.equal(offenders, []);
});

test.run();
