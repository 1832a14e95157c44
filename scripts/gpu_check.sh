#!/usr/bin/env bash
# GPU checks of the CUDA backend, for a machine with an NVIDIA GPU: the CPU/CUDA parity tests,
# CPU vs CUDA training throughput, a short GRPO run on the GPU (issue 8), and the real-shape
# section (issue 19): one GRPO step at Qwen3-0.6B and Qwen3-1.7B shapes (random weights),
# 8 prompts × 8 samples × 1024 new tokens, rest-shaper and PyTorch eager (HF transformers +
# examples/bench/torch_grpo_step.py) on the same GPU in the same run, with the ratios.
#   BIN      rest-shaper binary            (default .build/release/rest-shaper)
#   TESTBIN  the release test executable   (default .build/release/rest-shaperPackageTests.xctest;
#            build it with `swift build -c release --build-tests`)
#   OUT      where the run's files go      (default /tmp/rest-shaper-gpu-check)
#   PYTHON   a python3 with torch + transformers for the PyTorch side (default python3)
#   SHAPES   real-shape configs to run     (default "0.6b 1.7b"; SHAPES= skips the section)
#   PRECISIONS                             (default "bf16 fp32")
# Every step runs even when an earlier one failed; the script exits non-zero if any failed.
set -u
BIN=${BIN:-.build/release/rest-shaper}
TESTBIN=${TESTBIN:-.build/release/rest-shaperPackageTests.xctest}
OUT=${OUT:-/tmp/rest-shaper-gpu-check}
PYTHON=${PYTHON:-python3}
SHAPES=${SHAPES-0.6b 1.7b}
PRECISIONS=${PRECISIONS:-bf16 fp32}
mkdir -p "$OUT"
# NVRTC and cuBLAS: the CUDA wheels of the PyTorch venv when no path is given (their folder
# layout differs between CUDA 12 and 13 wheels, so the libraries are searched for by name).
site=$("$PYTHON" -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null || true)
for pair in "REST_SHAPER_NVRTC libnvrtc.so.1[23]" "REST_SHAPER_CUBLAS libcublas.so.1[23]"; do
  set -- $pair
  if [ -z "${!1:-}" ] && [ -n "$site" ]; then
    lib=$(find $site -name "$2*" 2>/dev/null | grep -v -e builtins -e alt | head -1)
    [ -n "$lib" ] && export "$1=$lib" && echo "$1=$lib"
  fi
done
failed=0
check() { local rc=$1 what=$2; if [ "$rc" -ne 0 ]; then echo "FAILED ($rc): $what"; failed=1; fi; }
nocolor() { sed 's/\x1b\[[0-9;]*m//g'; }
nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total --format=csv 2>&1
echo "== CUDA tests: parity (forward, backward, AdamW, entropy, tiled attention, padded batches, sampling), selection, NVRTC compile"
"$TESTBIN" --testing-library swift-testing --filter CUDABackendTests 2>&1 | nocolor | grep -vE " started\.$"
check "${PIPESTATUS[0]}" "CUDABackendTests"
for be in cpu cuda; do
  echo "== bench train --backend $be (batch 4 × 128)"; timeout 120 "$BIN" bench train --backend "$be" 2>&1
  check $? "bench train --backend $be"
done
echo "== bench train --backend cuda (batch 16 × 256)"; timeout 120 "$BIN" bench train --backend cuda --batch 16 --seq 256 2>&1
check $? "bench train cuda 16×256"
echo "== GRPO on the GPU: synthetic task, warm-up + 20 steps"
start=$(date +%s)
timeout 240 "$BIN" train --config examples/train/synthetic.json --backend cuda --steps 20 --output "$OUT/run-cuda" 2>&1 | nocolor | tail -5
check "${PIPESTATUS[0]}" "train synthetic --backend cuda"
echo "train wall: $(( $(date +%s) - start )) s"
tail -n 2 "$OUT/run-cuda/metrics.jsonl" 2>/dev/null | cut -c1-400

# ── Real shapes (issue 19) ──
for shape in $SHAPES; do
  cfg=examples/train/qwen3-$shape-shape.json
  for prec in $PRECISIONS; do
    echo "== real shape Qwen3-$shape ($prec): GRPO step, 8 prompts × 8 samples × 1024 new tokens, prompts 384–512 tokens"
    args=(--model-config "$cfg" --prompts 8 --samples 8 --prompt-tokens 512 --new-tokens 1024 --precision "$prec")
    timeout 600 "$BIN" bench grpo "${args[@]}" --backend cuda > "$OUT/rs-$shape-$prec.json" 2> "$OUT/rs-$shape-$prec.err"
    check $? "rest-shaper bench grpo $shape $prec (stderr: $OUT/rs-$shape-$prec.err)"
    grep -E "peak|DOES NOT" "$OUT/rs-$shape-$prec.err"
    PYTHONUNBUFFERED=1 timeout 600 "$PYTHON" examples/bench/torch_grpo_step.py "${args[@]}" --device cuda > "$OUT/pt-$shape-$prec.json" 2> "$OUT/pt-$shape-$prec.err"
    check $? "torch_grpo_step.py $shape $prec (stderr: $OUT/pt-$shape-$prec.err)"
    "$PYTHON" - "$OUT/rs-$shape-$prec.json" "$OUT/pt-$shape-$prec.json" <<'PY'
import json, sys
try:
    rs, pt = (json.load(open(p)) for p in sys.argv[1:3])
except Exception as e:
    print(f"  (no result to compare: {e})"); sys.exit(0)
gib = lambda b: b / 2**30
assert rs["updateTokens"] == pt["updateTokens"], ("different work", rs["updateTokens"], pt["updateTokens"])
print(f"  {'':22}{'rest-shaper':>14}{'PyTorch eager':>16}{'ratio':>9}")
for key, label in (("rolloutTokensPerSecond", "rollout tokens/s"), ("updateTokensPerSecond", "update tokens/s")):
    if key in rs and key in pt:
        print(f"  {label:22}{rs[key]:14.0f}{pt[key]:16.0f}{rs[key] / pt[key]:9.2f}")
print(f"  {'peak device memory':22}{gib(rs['peakBackendBytes']):11.1f} GiB{gib(pt.get('peakDeviceBytes', 0)):13.1f} GiB"
      f"   (memory plan: {gib(rs['memoryPlanPeakBytes']):.1f} GiB)")
r = rs["updateTokensPerSecond"] / pt["updateTokensPerSecond"]
print(f"  update goal ≥ 0.80× PyTorch eager: {'met' if r >= 0.8 else 'NOT met'} ({r:.2f}×)")
PY
  done
done
echo "gpu_check: $([ $failed -eq 0 ] && echo "all steps ran" || echo "some steps FAILED")"
exit $failed
