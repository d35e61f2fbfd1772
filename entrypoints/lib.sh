#!/usr/bin/env bash
# Shared by entrypoints/<engine>.sh: start the engine with the user's arguments and the gateway in front of
# it at once, so the platform's liveness probe (/health) passes during a model load that can take many
# minutes; the gateway's /ready stays 503 ("engine loading") until the engine serves. Then:
#   - the load is bounded: if the engine's /health is not 200 within ENGINE_READY_TIMEOUT, both stop;
#   - SIGTERM/SIGINT are forwarded to both; the script waits for them (up to STOP_TIMEOUT, then SIGKILL)
#     and exits 0;
#   - if either process exits on its own, the other is stopped and the script exits non-zero.
# Requires bash >= 5.1 (wait -n -p). Variables: HOST/PORT (gateway, default 0.0.0.0:80), UPSTREAM_PORT
# (engine), ENGINE_READY_TIMEOUT (s, default 1800: model downloads are slow), STOP_TIMEOUT (s, default 30),
# ENGINE_ARGS (the engine's arguments when the container is given none, for platforms that set only
# environment variables, such as Azure ML: a JSON array of strings, or words split on whitespace; ${NAME}
# expanded, e.g. ${AZUREML_MODEL_DIR}: engine-args.mjs).

set -uo pipefail

GATEWAY_HOST="${HOST:-0.0.0.0}"
GATEWAY_PORT="${PORT:-80}"
ENGINE_READY_TIMEOUT="${ENGINE_READY_TIMEOUT:-1800}"
STOP_TIMEOUT="${STOP_TIMEOUT:-30}"
GATEWAY_BIN="${GATEWAY_BIN:-azure-openai-proxy}"
ENGINE_PID=""
GATEWAY_PID=""
STOPPING=""

log() { echo "entrypoint: $*" >&2; }

# engine_args ARGS...: sets ENGINE_ARGV to the container's arguments, or to $ENGINE_ARGS when there are none.
engine_args() {
  ENGINE_ARGV=("$@")
  if [ "$#" -eq 0 ] && [ -n "${ENGINE_ARGS:-}" ]; then
    local parsed
    parsed="$(mktemp)"
    node "$(dirname "${BASH_SOURCE[0]}")/engine-args.mjs" > "$parsed" || { rm -f "$parsed"; exit 2; }
    mapfile -d '' -t ENGINE_ARGV < "$parsed"
    rm -f "$parsed"
  fi
}

# check_ports DEFAULT_UPSTREAM_PORT: sets UPSTREAM_PORT and refuses a clash with the gateway's port.
check_ports() {
  UPSTREAM_PORT="${UPSTREAM_PORT:-$1}"
  if [ "$UPSTREAM_PORT" = "$GATEWAY_PORT" ]; then
    log "UPSTREAM_PORT ($UPSTREAM_PORT) must differ from the gateway's PORT ($GATEWAY_PORT)"
    exit 2
  fi
  for arg in "${ENGINE_ARGV[@]}"; do
    case "$arg" in
      --port|--port=*|-p) log "do not pass $arg to the engine: set UPSTREAM_PORT instead"; exit 2 ;;
    esac
  done
}

# start_engine CMD...: runs the engine in the background.
start_engine() {
  log "starting engine: $*"
  "$@" &
  ENGINE_PID=$!
}

# wait_engine_ready: polls the engine's /health until it answers 200, the engine or the gateway dies, or
# the timeout.
wait_engine_ready() {
  local url="http://127.0.0.1:${UPSTREAM_PORT}/health" deadline=$((SECONDS + ENGINE_READY_TIMEOUT)) status
  log "waiting up to ${ENGINE_READY_TIMEOUT}s for $url"
  while [ "$SECONDS" -lt "$deadline" ]; do
    if [ -n "$STOPPING" ]; then return 1; fi
    if ! kill -0 "$ENGINE_PID" 2>/dev/null; then
      wait "$ENGINE_PID"
      status=$?
      log "engine exited with code $status before it was ready; stopping the gateway"
      stop_all TERM
      exit 1
    fi
    if ! kill -0 "$GATEWAY_PID" 2>/dev/null; then
      wait "$GATEWAY_PID"
      status=$?
      log "gateway exited with code $status while the engine loaded; stopping the engine"
      stop_all TERM
      exit $((status == 0 ? 1 : status))
    fi
    if node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(2000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$url"; then
      log "engine ready"
      return 0
    fi
    sleep 1
  done
  log "engine not ready after ${ENGINE_READY_TIMEOUT}s (ENGINE_READY_TIMEOUT); stopping it"
  stop_all TERM
  exit 1
}

start_gateway() {
  log "starting gateway on ${GATEWAY_HOST}:${GATEWAY_PORT} -> 127.0.0.1:${UPSTREAM_PORT}"
  "$GATEWAY_BIN" --host "$GATEWAY_HOST" --port "$GATEWAY_PORT" --upstream-host 127.0.0.1 --upstream-port "$UPSTREAM_PORT" "$@" &
  GATEWAY_PID=$!
}

# stop_all SIGNAL: signals both, waits up to STOP_TIMEOUT, then kills what is left.
stop_all() {
  local pids=() deadline=$((SECONDS + STOP_TIMEOUT))
  for pid in "$GATEWAY_PID" "$ENGINE_PID"; do
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then pids+=("$pid"); kill -"$1" "$pid" 2>/dev/null; fi
  done
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then log "pid $pid still running after ${STOP_TIMEOUT}s: SIGKILL"; kill -KILL "$pid" 2>/dev/null; fi
    wait "$pid" 2>/dev/null
  done
}

on_signal() {
  STOPPING="$1"
  log "received SIG$1: stopping gateway and engine"
}

# supervise: returns when a signal arrives (exit 0 after both stopped) or either process exits (exit 1).
supervise() {
  local exited status
  while :; do
    # A signal that came before this wait (during the load) has already set STOPPING.
    [ -z "$STOPPING" ] && wait -n -p exited "$ENGINE_PID" "$GATEWAY_PID"
    status=$?
    if [ -n "$STOPPING" ]; then
      stop_all "$STOPPING"
      log "stopped"
      exit 0
    fi
    if [ -n "${exited:-}" ]; then
      local who=engine
      [ "$exited" = "$GATEWAY_PID" ] && who=gateway
      log "$who (pid $exited) exited with code $status; stopping the other"
      stop_all TERM
      exit $((status == 0 ? 1 : status))
    fi
  done
}

# run_engine ENGINE_CMD...: the whole life of the container (GATEWAY_ARGS holds the gateway's extra flags).
run_engine() {
  trap 'on_signal TERM' TERM
  trap 'on_signal INT' INT
  start_engine "$@"
  start_gateway "${GATEWAY_ARGS[@]}"
  wait_engine_ready || { stop_all "$STOPPING"; exit 0; }
  supervise
}
