#!/usr/bin/env bash
# Text Embeddings Inference (CUDA) + gateway. docker run … IMAGE --model-id <id> [TEI flags].
here="$(dirname "$(readlink -f "$0")")"
# shellcheck source=entrypoints/lib.sh
. "$here/lib.sh"
engine_args "$@"
check_ports 8080
if command -v ldconfig >/dev/null 2>&1; then ldconfig 2>/dev/null || true; fi

# As TEI's own image entrypoint does since 1.9: the CUDA forward-compatibility libraries only for drivers
# older than the image's CUDA (12.9.1; with a newer driver they break it), and one router per GPU
# architecture, chosen by GPU 0's compute capability (TEI_ROUTER overrides).
CUDA_COMPAT_DIR="${CUDA_COMPAT_DIR:-/usr/local/cuda/compat}"
IMAGE_CUDA_VERSION="${IMAGE_CUDA_VERSION:-12.9.1}"
router="${TEI_ROUTER:-}"
if [ -z "$router" ] || [ -d "$CUDA_COMPAT_DIR" ]; then
  if ! command -v nvidia-smi >/dev/null 2>&1; then
    log "nvidia-smi not found: run with GPUs (docker run --gpus all) or set TEI_ROUTER"
    exit 1
  fi
fi
if [ -d "$CUDA_COMPAT_DIR" ]; then
  driver_cuda="$(nvidia-smi 2>/dev/null | sed -n 's/.*CUDA Version: *\([0-9][0-9.]*\).*/\1/p' | head -n 1)"
  if [ -n "$driver_cuda" ] && [ "$(printf '%s\n%s\n' "$driver_cuda" "$IMAGE_CUDA_VERSION" | sort -V | head -n 1)" != "$IMAGE_CUDA_VERSION" ]; then
    log "driver supports CUDA $driver_cuda (< $IMAGE_CUDA_VERSION): using the compatibility libraries in $CUDA_COMPAT_DIR"
    export LD_LIBRARY_PATH="$CUDA_COMPAT_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
fi
if [ -z "$router" ]; then
  cap="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -n 1 | tr -d ' .')"
  case "$cap" in
    75) router=text-embeddings-router-75 ;;
    80|86|87|89) router=text-embeddings-router-80 ;;
    90) router=text-embeddings-router-90 ;;
    100) router=text-embeddings-router-100 ;;
    120) router=text-embeddings-router-120 ;;
  esac
  if [ -z "$router" ] || ! command -v "$router" >/dev/null 2>&1; then
    log "no TEI build for compute capability '$cap' in this image (TEI 1.9 has 7.5, 8.x, 9.0, 10.0, 12.0); set TEI_ROUTER to override"
    exit 1
  fi
fi
log "using $router"
unset HOST PORT # read by the TEI router; they are the gateway's here
export HF_HUB_USER_AGENT_ORIGIN="${HF_HUB_USER_AGENT_ORIGIN:-azure:foundry:gpu-cuda:inference:tei}"
GATEWAY_ARGS=(--upstream-type embeddings)
run_engine "$router" --hostname 127.0.0.1 --port "$UPSTREAM_PORT" "${ENGINE_ARGV[@]}"
