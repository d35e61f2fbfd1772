// `npm test`'s runner: uvu over test/, then the process ends with uvu's verdict, whatever a failed test left
// open (a socket, a timer, a child's pipe): a suite that leaves a handle behind must fail CI, never hang it.
// A run that exceeds TEST_TIMEOUT (default 20 min) is stopped as a failure, naming the suite it was in.
//   tsx scripts/run-tests.ts [dir] [pattern] [--ignore REGEX]     (default: test  "\.test\.ts$")
import { parse } from "uvu/parse";
import { run } from "uvu/run";

const args = process.argv.slice(2);
const ignoreAt = args.indexOf("--ignore");
const ignore = ignoreAt >= 0 ? args.splice(ignoreAt, 2)[1] : undefined;
const [dir = "test", pattern = "\\.test\\.ts$"] = args;
const limitMs = Number(process.env.TEST_TIMEOUT_MS ?? 20 * 60_000);

const timer = setTimeout(() => {
  console.error(`\ntests: still running after ${limitMs / 60_000} min: stopped as a failure (TEST_TIMEOUT_MS)`);
  process.exit(1);
}, limitMs);
timer.unref();

process.env.FORCE_COLOR ??= "1";
const { suites } = await parse(dir, pattern, ignore ? { ignore } : {});
await run(suites, { bail: false });
// uvu has printed its summary and set the exit code; what is still open is a test's leftover.
process.exit(process.exitCode ?? 0);
