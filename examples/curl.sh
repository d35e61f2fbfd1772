#!/usr/bin/env bash
# The Azure AI Model Inference API with curl. Usage: ENDPOINT=http://127.0.0.1:8000 bash examples/curl.sh
set -euo pipefail
ENDPOINT="${ENDPOINT:-http://127.0.0.1:8000}"
V="api-version=2025-05-01"
KEY=(); [ -n "${API_KEY:-}" ] && KEY=(-H "api-key: $API_KEY")

echo "== model info"
curl -fsS "${KEY[@]}" "$ENDPOINT/info?$V"; echo

echo "== chat"
curl -fsS "${KEY[@]}" "$ENDPOINT/chat/completions?$V" -H 'content-type: application/json' \
  -d '{"messages":[{"role":"user","content":"Hello!"}],"max_tokens":32}'; echo

echo "== streamed chat"
curl -fsS -N "${KEY[@]}" "$ENDPOINT/chat/completions?$V" -H 'content-type: application/json' \
  -d '{"messages":[{"role":"user","content":"Hello!"}],"max_tokens":8,"stream":true}'

echo "== an OpenAI-only parameter, passed through to the engine"
curl -fsS "${KEY[@]}" "$ENDPOINT/chat/completions?$V" -H 'content-type: application/json' -H 'extra-parameters: pass-through' \
  -d '{"messages":[{"role":"user","content":"Hello!"}],"max_tokens":8,"logprobs":false}'; echo

echo "== embeddings"
curl -fsS "${KEY[@]}" "$ENDPOINT/embeddings?$V" -H 'content-type: application/json' \
  -d '{"input":["first phrase","second phrase"],"encoding_format":"int8"}'; echo

echo "== an Azure error (unknown parameter without extra-parameters)"
curl -sS "${KEY[@]}" "$ENDPOINT/chat/completions?$V" -H 'content-type: application/json' \
  -d '{"messages":[{"role":"user","content":"Hello!"}],"n":2}'; echo
