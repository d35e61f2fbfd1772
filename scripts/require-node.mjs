// The first step of `npm start`, `npm test` and `npm run demo`: one line naming the Node the project needs
// (package.json "engines") when this one is older, instead of a stack trace from a module it lacks
// (node:sqlite). Plain JavaScript that any Node parses.
import { readFileSync } from "node:fs";

const { engines } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const needed = Number(/(\d+)/.exec(engines.node)[1]);
const running = Number(process.versions.node.split(".")[0]);
if (running < needed) {
  console.error(
    `azure-openai-proxy needs Node.js ${needed} or newer; this is Node ${process.versions.node}. Install Node ${needed} LTS (https://nodejs.org), or on Linux run \`source .ci/node.sh\` (it fetches Node ${needed} from the npm registry) and try again.`,
  );
  process.exit(1);
}
