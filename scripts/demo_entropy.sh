#!/usr/bin/env bash
# Demonstrates the entropy curriculum end to end: serves the sidecar with a capture, sends four
# batches with falling think entropy (γ_think rises 0.6 → 1.0), stops the server with SIGTERM and
# replays the capture, printing the per-region entropy table. Needs scripts/setup.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$(swift build -c release --show-bin-path)/rest-shaper"
WORK="$(mktemp -d /tmp/rest-shaper-demo.XXXXXX)"
"$BIN" serve --bind "ipc://$WORK/s.sock" --tokenizer Tests/TestSupport/Fixtures/qwen.tiktoken --capture "$WORK/capture" \
  --workers 1 --log-level warning &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -S "$WORK/s.sock" ] && break; sleep 0.1; done
.venv/bin/python examples/python/demo_entropy_curriculum.py --endpoint "ipc://$WORK/s.sock"
kill -TERM $PID; wait $PID
echo
"$BIN" replay "$WORK"/capture/*.rscap --tokenizer Tests/TestSupport/Fixtures/qwen.tiktoken
