#!/usr/bin/env bash
# Stands in for an engine executable (python3 -m vllm…, text-generation-launcher, text-embeddings-router…)
# in the entrypoint tests: records how it was called, then runs the engine simulator on the --port it
# was given. FAKE_ENGINE_MODE: ok (default) | crash (exit 3 after FAKE_CRASH_AFTER s) | never-ready |
# slow (nothing listens for FAKE_READY_AFTER s, as vLLM while it loads) | loading (503 for FAKE_READY_AFTER s,
# as llama.cpp and TGI while they load).
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)"
echo "$(basename "$0") $*" >> "${FAKE_ENGINE_ARGS_FILE:-/dev/null}"
# Each argument NUL-terminated, for tests that check quoting survived.
if [ -n "${FAKE_ENGINE_ARGV_FILE:-}" ]; then printf '%s\0' "$@" > "$FAKE_ENGINE_ARGV_FILE"; fi
# The environment it was started with, for tests of what the entrypoint exports (LD_LIBRARY_PATH).
if [ -n "${FAKE_ENGINE_ENV_FILE:-}" ]; then env > "$FAKE_ENGINE_ENV_FILE"; fi
port=""
prev=""
for arg in "$@"; do
  if [ "$prev" = "--port" ]; then port="$arg"; fi
  prev="$arg"
done
[ -n "$port" ] || { echo "fake engine: no --port" >&2; exit 64; }
tei=()
case "$(basename "$0")" in text-embeddings-router*) tei=(--tei) ;; esac
sim=(node --import "$root/node_modules/tsx/dist/esm/index.mjs" "$root/test/sim/engine.ts" --port "$port" --model fake/model "${tei[@]}")
case "${FAKE_ENGINE_MODE:-ok}" in
  ok) exec "${sim[@]}" ;;
  slow) sleep "${FAKE_READY_AFTER:-3}"; exec "${sim[@]}" ;;
  loading) exec "${sim[@]}" --loading-for "${FAKE_READY_AFTER:-3}" ;;
  never-ready) exec node -e 'require("http").createServer((q, s) => s.writeHead(503).end()).listen(Number(process.argv[1]), "127.0.0.1")' "$port" ;;
  crash)
    node --import "$root/node_modules/tsx/dist/esm/index.mjs" "$root/test/sim/engine.ts" --port "$port" &
    sleep "${FAKE_CRASH_AFTER:-3}"
    kill "$!"
    exit 3 ;;
esac
