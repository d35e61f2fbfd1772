// `npm run test:loaded`: the suite again with the CPU loaded, as on a busy CI runner or a laptop compiling
// beside it (issue 33): one busy loop per core runs for as long as the tests do, so a test that depends on
// timing rather than on events fails here. The loops are stopped however the run ends (pass, fail, signal).
//   tsx scripts/run-loaded.ts [args for scripts/run-tests.ts]
import { type ChildProcess, spawn } from "node:child_process";
import { availableParallelism } from "node:os";

const loops: ChildProcess[] = Array.from({ length: availableParallelism() }, () =>
  spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" }),
);
const stopLoops = () => loops.forEach((loop) => loop.kill("SIGKILL"));
process.on("exit", stopLoops);
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.once(signal, () => {
    stopLoops();
    process.exit(130);
  });

console.log(`test:loaded: ${loops.length} busy loops beside the tests`);
const tests = spawn(process.execPath, ["--import", "tsx", "scripts/run-tests.ts", ...process.argv.slice(2)], {
  stdio: "inherit",
});
tests.once("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
