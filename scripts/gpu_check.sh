#!/usr/bin/env bash
# GPU checks of the CUDA backend (issue 8), for a machine with an NVIDIA GPU: the CPU/CUDA parity
# tests, CPU vs CUDA training throughput, and a short GRPO run on the GPU.
#   BIN      rest-shaper binary            (default .build/release/rest-shaper)
#   TESTBIN  the release test executable   (default .build/release/rest-shaperPackageTests.xctest;
#            build it with `swift build -c release --build-tests`)
#   OUT      where the run's files go      (default /tmp/rest-shaper-gpu-check)
set -u
BIN=${BIN:-.build/release/rest-shaper}
TESTBIN=${TESTBIN:-.build/release/rest-shaperPackageTests.xctest}
OUT=${OUT:-/tmp/rest-shaper-gpu-check}
mkdir -p "$OUT"
nocolor() { sed 's/\x1b\[[0-9;]*m//g'; }
nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total --format=csv 2>&1
echo "== CUDA tests: parity (forward, backward, AdamW, entropy), selection, NVRTC compile"
"$TESTBIN" --testing-library swift-testing --filter CUDABackendTests 2>&1 | nocolor | grep -vE " started\.$"
for be in cpu cuda; do
  echo "== bench train --backend $be (batch 4 × 128)"; timeout 120 "$BIN" bench train --backend "$be" 2>&1
done
echo "== bench train --backend cuda (batch 16 × 256)"; timeout 120 "$BIN" bench train --backend cuda --batch 16 --seq 256 2>&1
echo "== GRPO on the GPU: synthetic task, warm-up + 20 steps"
start=$(date +%s)
timeout 240 "$BIN" train --config examples/train/synthetic.json --backend cuda --steps 20 --output "$OUT/run-cuda" 2>&1 | nocolor | tail -5
echo "train wall: $(( $(date +%s) - start )) s"
tail -n 2 "$OUT/run-cuda/metrics.jsonl" 2>/dev/null | cut -c1-400
