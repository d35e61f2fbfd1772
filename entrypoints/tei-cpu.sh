#!/usr/bin/env bash
# Text Embeddings Inference (CPU) + gateway. docker run … IMAGE --model-id <id> [TEI flags].
here="$(dirname "$(readlink -f "$0")")"
# shellcheck source=entrypoints/lib.sh
. "$here/lib.sh"
engine_args "$@"
check_ports 8080
if command -v ldconfig >/dev/null 2>&1; then ldconfig 2>/dev/null || true; fi
unset HOST PORT # read by the TEI router; they are the gateway's here
export HF_HUB_USER_AGENT_ORIGIN="${HF_HUB_USER_AGENT_ORIGIN:-azure:foundry:cpu:inference:tei}"
GATEWAY_ARGS=(--upstream-type embeddings)
run_engine text-embeddings-router --hostname 127.0.0.1 --port "$UPSTREAM_PORT" "${ENGINE_ARGV[@]}"
