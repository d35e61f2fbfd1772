#!/usr/bin/env bash
# Text Embeddings Inference (CUDA) + gateway. The image ships one router per GPU architecture; the
# one for GPU 0's compute capability is chosen (TEI_ROUTER overrides). docker run … IMAGE --model-id <id>.
here="$(dirname "$(readlink -f "$0")")"
# shellcheck source=entrypoints/lib.sh
. "$here/lib.sh"
engine_args "$@"
check_ports 8080
if command -v ldconfig >/dev/null 2>&1; then ldconfig 2>/dev/null || true; fi

router="${TEI_ROUTER:-}"
if [ -z "$router" ]; then
  if ! command -v nvidia-smi >/dev/null 2>&1; then
    log "nvidia-smi not found: run with GPUs (docker run --gpus all) or set TEI_ROUTER"
    exit 1
  fi
  cap="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -n 1 | tr -d ' .')"
  case "$cap" in
    75) router=text-embeddings-router-75 ;;
    80|86|87|89) router=text-embeddings-router-80 ;;
    90) router=text-embeddings-router-90 ;;
    *)
      # Newer GPUs run the newest build; older ones have no build in this image.
      if [ -n "$cap" ] && [ "$cap" -gt 90 ] 2>/dev/null && command -v text-embeddings-router-90 >/dev/null 2>&1; then
        router=text-embeddings-router-90
      else
        log "no TEI build for compute capability '$cap' in this image (have 7.5, 8.x, 9.0); set TEI_ROUTER to override"
        exit 1
      fi ;;
  esac
fi
log "using $router"
unset HOST PORT # read by the TEI router; they are the gateway's here
export HF_HUB_USER_AGENT_ORIGIN="${HF_HUB_USER_AGENT_ORIGIN:-azure:foundry:gpu-cuda:inference:tei}"
GATEWAY_ARGS=(--upstream-type embeddings)
run_engine "$router" --hostname 127.0.0.1 --port "$UPSTREAM_PORT" "${ENGINE_ARGV[@]}"
