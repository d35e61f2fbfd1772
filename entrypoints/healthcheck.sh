#!/usr/bin/env bash
# Docker HEALTHCHECK: the gateway's liveness route answers 200.
exec node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "http://127.0.0.1:${PORT:-80}/health"
