#!/usr/bin/env bash
# SGLang + gateway. docker run … IMAGE --model-path <id> [SGLang flags]: the arguments go to SGLang.
here="$(dirname "$(readlink -f "$0")")"
# shellcheck source=entrypoints/lib.sh
. "$here/lib.sh"
engine_args "$@"
check_ports 30000
export HF_HUB_USER_AGENT_ORIGIN="${HF_HUB_USER_AGENT_ORIGIN:-azure:foundry:gpu-cuda:inference:sglang-native}"
GATEWAY_ARGS=(--upstream-type chat-completions)
run_engine python3 -m sglang.launch_server --host 127.0.0.1 --port "$UPSTREAM_PORT" "${ENGINE_ARGV[@]}"
