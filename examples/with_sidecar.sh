#!/usr/bin/env bash
# with_sidecar.sh BINARY COMMAND...: runs COMMAND with a real `rest-shaper serve` on a private ipc
# socket (REST_SHAPER_ENDPOINT exported), then stops the server; exits with COMMAND's status.
set -euo pipefail
BIN="$1"; shift
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d /tmp/rest-shaper-with-sidecar.XXXXXX)"
export REST_SHAPER_ENDPOINT="ipc://$WORK/sidecar.sock"
"$BIN" serve --bind "$REST_SHAPER_ENDPOINT" --tokenizer "$ROOT/Tests/TestSupport/Fixtures/qwen.tiktoken" \
  --workers 1 --log-level warning >"$WORK/server.log" 2>&1 &
PID=$!
cleanup() { kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
for _ in $(seq 1 100); do [ -S "$WORK/sidecar.sock" ] && break; kill -0 "$PID" || { cat "$WORK/server.log"; exit 1; }; sleep 0.1; done
set +e
"$@"
rc=$?
set -e
echo "(sidecar log: $(wc -l <"$WORK/server.log") lines)"; cat "$WORK/server.log"
exit $rc
