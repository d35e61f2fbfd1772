// The project's documentation files, as the docs tests read them: README.md, examples/README.md and docs/*.md.
import { readdirSync } from "node:fs";
import { join } from "node:path";

export function docFiles(root: string): string[] {
  const docs = readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md"));
  return ["README.md", "examples/README.md", ...docs.map((f) => `docs/${f}`)];
}
