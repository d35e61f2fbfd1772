#!/usr/bin/env bash
# Text Generation Inference + gateway. docker run … IMAGE --model-id <id> [TGI flags].
here="$(dirname "$(readlink -f "$0")")"
# shellcheck source=entrypoints/lib.sh
. "$here/lib.sh"
engine_args "$@"
check_ports 8080
# As TGI's own entrypoint does: refresh the linker cache (CUDA compat libs) and use its virtualenv.
if command -v ldconfig >/dev/null 2>&1; then ldconfig 2>/dev/null || true; fi
# shellcheck disable=SC1091
if [ -f /usr/src/.venv/bin/activate ]; then . /usr/src/.venv/bin/activate; fi
# The TGI launcher reads HOST and PORT; they are the gateway's here (lib.sh has read them).
unset HOST PORT
export HF_HUB_USER_AGENT_ORIGIN="${HF_HUB_USER_AGENT_ORIGIN:-azure:foundry:gpu-cuda:inference:tgi-native}"
GATEWAY_ARGS=(--upstream-type chat-completions)
run_engine text-generation-launcher --hostname 127.0.0.1 --port "$UPSTREAM_PORT" "${ENGINE_ARGV[@]}"
