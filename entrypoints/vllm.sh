#!/usr/bin/env bash
# vLLM + gateway. docker run … IMAGE --model <id> [vLLM flags]: the arguments go to vLLM.
here="$(dirname "$(readlink -f "$0")")"
# shellcheck source=entrypoints/lib.sh
. "$here/lib.sh"
engine_args "$@"
check_ports 8000
export HF_HUB_USER_AGENT_ORIGIN="${HF_HUB_USER_AGENT_ORIGIN:-azure:foundry:gpu-cuda:inference:vllm-native}"
GATEWAY_ARGS=(--upstream-type chat-completions)
run_engine python3 -m vllm.entrypoints.openai.api_server --host 127.0.0.1 --port "$UPSTREAM_PORT" "${ENGINE_ARGV[@]}"
