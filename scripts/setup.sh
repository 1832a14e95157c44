#!/usr/bin/env bash
# Sets up a fresh Debian machine for rest-shaper: system libraries, a Python venv (.venv) with the
# client's dependencies, and a release build of the `rest-shaper` binary. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(libzmq3-dev libcjson-dev libopenblas-dev pkg-config python3-venv)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q numpy pyzmq pytest
[ -f examples/python/pyproject.toml ] && .venv/bin/python -m pip install -q -e examples/python
# NVRTC (CUDA run-time compiler) from its pip wheel: lets the CUDA kernels be compiled to PTX and
# checked on machines without a GPU. Optional: the CUDA tests skip without it.
.venv/bin/python -m pip install -q nvidia-cuda-nvrtc-cu12 || echo "(nvidia-cuda-nvrtc-cu12 unavailable: CUDA compile checks will skip)"

echo "== building rest-shaper (release)"
swift build -c release --product rest-shaper
echo "rest-shaper: $(swift build -c release --show-bin-path)/rest-shaper"
