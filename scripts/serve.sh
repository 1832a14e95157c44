#!/usr/bin/env bash
# Sets up a fresh Debian machine (scripts/setup.sh) and serves the rest-shaper sidecar.
#   REST_SHAPER_BIND       endpoint (default ipc:///tmp/rest-shaper.sock)
#   REST_SHAPER_TOKENIZER  tokenizer.json of your policy model, or a tiktoken rank file
#                          (default: the vendored Qwen3 vocabulary)
# Extra arguments go to `rest-shaper serve` (e.g. --capture DIR --workers 2).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec "$(swift build -c release --show-bin-path)/rest-shaper" serve \
  --bind "${REST_SHAPER_BIND:-ipc:///tmp/rest-shaper.sock}" \
  --tokenizer "${REST_SHAPER_TOKENIZER:-Tests/TestSupport/Fixtures/qwen.tiktoken}" "$@"
