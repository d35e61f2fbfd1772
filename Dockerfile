# syntax=docker/dockerfile:1
# One gateway build, five engine images. Each target is the engine's official image at a pinned
# version, with Node and the built gateway copied in (no apt install of node in engine images):
#   docker build --target vllm -t azure-openai-proxy:vllm .
#   docker run --gpus all -p 80:80 azure-openai-proxy:vllm --model Qwen/Qwen2.5-0.5B-Instruct
# Arguments after the image go to the engine. The gateway listens on PORT (80), the engine on
# 127.0.0.1:UPSTREAM_PORT (per-engine default), reachable only through the gateway.
# Engine images run as root, as the engine images do: engines write model caches under root-owned
# paths, TGI/TEI run ldconfig, and the gateway binds port 80. The `gateway` target is the gateway alone
# (non-root, port 8080, nothing written to its filesystem), for an engine that runs elsewhere.
# Each base image is a build argument, pinned to a version whose command line is recorded in
# entrypoints/engine-cli/ (docs/docker.md, "Engine pins"); build on a newer engine release with e.g.
# --build-arg VLLM_IMAGE=vllm/vllm-openai:v0.31.0, and record it (npm run engine-cli -- record vllm).

ARG NODE_IMAGE=node:24.22.3-bookworm-slim
ARG TGI_IMAGE=ghcr.io/huggingface/text-generation-inference:3.3.7
ARG VLLM_IMAGE=vllm/vllm-openai:v0.30.0
ARG SGLANG_IMAGE=lmsysorg/sglang:v0.5.20
ARG TEI_CPU_IMAGE=ghcr.io/huggingface/text-embeddings-inference:cpu-1.9.3
ARG TEI_GPU_IMAGE=ghcr.io/huggingface/text-embeddings-inference:cuda-1.9.3

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the sources are not copied yet; the build is the explicit step below.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY generated ./generated
RUN npm run build && npm prune --omit=dev && chmod +x dist/src/main.js \
 && mkdir -p /out/opt/azure-openai-proxy /out/usr/local/bin \
 && cp -r dist node_modules package.json /out/opt/azure-openai-proxy/ \
 && cp /usr/local/bin/node /out/usr/local/bin/node \
 && ln -s /opt/azure-openai-proxy/dist/src/main.js /out/usr/local/bin/azure-openai-proxy

# What every engine image gets: the Node binary, the gateway on PATH and the entrypoints (which default
# PORT to 80 and UPSTREAM_PORT to the engine's own port).
FROM scratch AS gateway-files
COPY --from=build /out /
COPY entrypoints /opt/azure-openai-proxy/entrypoints

FROM ${TGI_IMAGE} AS tgi
COPY --from=gateway-files / /
EXPOSE 80
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s CMD ["/opt/azure-openai-proxy/entrypoints/healthcheck.sh"]
ENTRYPOINT ["/opt/azure-openai-proxy/entrypoints/tgi.sh"]

FROM ${VLLM_IMAGE} AS vllm
COPY --from=gateway-files / /
EXPOSE 80
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s CMD ["/opt/azure-openai-proxy/entrypoints/healthcheck.sh"]
ENTRYPOINT ["/opt/azure-openai-proxy/entrypoints/vllm.sh"]

FROM ${SGLANG_IMAGE} AS sglang
COPY --from=gateway-files / /
EXPOSE 80
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s CMD ["/opt/azure-openai-proxy/entrypoints/healthcheck.sh"]
ENTRYPOINT ["/opt/azure-openai-proxy/entrypoints/sglang.sh"]

FROM ${TEI_CPU_IMAGE} AS tei-cpu
COPY --from=gateway-files / /
EXPOSE 80
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s CMD ["/opt/azure-openai-proxy/entrypoints/healthcheck.sh"]
ENTRYPOINT ["/opt/azure-openai-proxy/entrypoints/tei-cpu.sh"]

FROM ${TEI_GPU_IMAGE} AS tei-gpu
COPY --from=gateway-files / /
EXPOSE 80
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s CMD ["/opt/azure-openai-proxy/entrypoints/healthcheck.sh"]
ENTRYPOINT ["/opt/azure-openai-proxy/entrypoints/tei-gpu.sh"]

# The gateway alone, in front of an engine elsewhere (UPSTREAM_HOST): a Kubernetes sidecar or a Service.
FROM ${NODE_IMAGE} AS gateway
COPY --from=build /out/opt/azure-openai-proxy /opt/azure-openai-proxy
RUN ln -s /opt/azure-openai-proxy/dist/src/main.js /usr/local/bin/azure-openai-proxy
COPY entrypoints/healthcheck.sh /opt/azure-openai-proxy/entrypoints/healthcheck.sh
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080
USER node
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s CMD ["/opt/azure-openai-proxy/entrypoints/healthcheck.sh"]
ENTRYPOINT ["azure-openai-proxy"]
