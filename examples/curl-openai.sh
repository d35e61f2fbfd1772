#!/usr/bin/env bash
# The Azure OpenAI routes (v1 and deployments) and the engine's own /v1 API, with curl.
# Usage: ENDPOINT=http://127.0.0.1:8000 bash examples/curl-openai.sh
set -euo pipefail
ENDPOINT="${ENDPOINT:-http://127.0.0.1:8000}"
KEY=(); [ -n "${API_KEY:-}" ] && KEY=(-H "api-key: $API_KEY")
JSON=(-H 'content-type: application/json')

echo "== Azure OpenAI v1: chat (model = deployment name, api-version optional)"
curl -fsS "${KEY[@]}" "${JSON[@]}" "$ENDPOINT/openai/v1/chat/completions" \
  -d '{"model":"my-deployment","messages":[{"role":"user","content":"Hello!"}],"max_tokens":16}'; echo

echo "== Azure OpenAI v1: Responses API, streamed (typed events)"
curl -fsS -N "${KEY[@]}" "${JSON[@]}" "$ENDPOINT/openai/v1/responses" \
  -d '{"model":"my-deployment","input":"Hello!","max_output_tokens":16,"stream":true}'

echo "== Azure OpenAI deployments: chat (api-version required)"
curl -fsS "${KEY[@]}" "${JSON[@]}" "$ENDPOINT/openai/deployments/my-deployment/chat/completions?api-version=2024-10-21" \
  -d '{"messages":[{"role":"user","content":"Hello!"}],"max_tokens":16}'; echo

echo "== the engine's own API: models"
curl -fsS "${KEY[@]}" "$ENDPOINT/v1/models"; echo

echo "== an Azure OpenAI error (no api-version on a deployment route)"
curl -sS "${KEY[@]}" "${JSON[@]}" "$ENDPOINT/openai/deployments/my-deployment/embeddings" -d '{"input":"x"}'; echo
