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
# Every step runs even when an earlier one failed (so no `set -e`: each exit status is checked
# by `check`, a pipeline's first command through PIPESTATUS); the script exits non-zero if any
# failed, including when no GPU is visible or the CUDA tests skipped for want of a device.
# On a short device lease, `SHAPES=0.6b PRECISIONS=bf16` limits the real-shape section to one pair.
set -uo pipefail
BIN=${BIN:-.build/release/rest-shaper}
TESTBIN=${TESTBIN:-.build/release/rest-shaperPackageTests.xctest}
OUT=${OUT:-/tmp/rest-shaper-gpu-check}
PYTHON=${PYTHON:-python3}
SHAPES=${SHAPES-0.6b 1.7b}
PRECISIONS=${PRECISIONS:-bf16 fp32}
mkdir -p "$OUT" || { echo "cannot create $OUT"; exit 1; }
# NVRTC and cuBLAS: the CUDA wheels of the PyTorch venv when no path is given (their folder
# layout differs between CUDA 12 and 13 wheels, so the libraries are searched for by name).
site=$("$PYTHON" -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null || true)
for pair in "REST_SHAPER_NVRTC libnvrtc.so.1[23]" "REST_SHAPER_CUBLAS libcublas.so.1[23]"; do
  # shellcheck disable=SC2086  # split on purpose: a variable name and a file pattern
  set -- $pair
  if [ -z "${!1:-}" ] && [ -n "$site" ]; then
    # shellcheck disable=SC2086  # $site is a list of folders
    lib=$(find $site -name "$2*" 2>/dev/null | grep -v -e builtins -e alt | head -1 || true)
    [ -n "$lib" ] && export "$1=$lib" && echo "$1=$lib"
  fi
done
failed=0
check() { local rc=$1 what=$2; if [ "$rc" -ne 0 ]; then echo "FAILED ($rc): $what"; failed=1; fi; }
nocolor() { sed 's/\x1b\[[0-9;]*m//g'; }
nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total --format=csv 2>&1
check $? "nvidia-smi (no GPU visible?)"
echo "== CUDA tests: parity (forward, backward, AdamW, entropy, tiled attention, padded batches, sampling), selection, NVRTC compile"
"$TESTBIN" --testing-library swift-testing --filter CUDABackendTests 2>&1 | nocolor | grep -vE " started\.$" | tee "$OUT/cuda-tests.log"
check "${PIPESTATUS[0]}" "CUDABackendTests"
# The CUDA tests skip (and pass) where no device opens: here that is a failure, not a pass.
if grep -q " skipped" "$OUT/cuda-tests.log"; then check 1 "CUDABackendTests skipped tests (no CUDA device opened)"; fi
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
    rs_rc=$?; check "$rs_rc" "rest-shaper bench grpo $shape $prec (stderr: $OUT/rs-$shape-$prec.err)"
    grep -E "peak|DOES NOT" "$OUT/rs-$shape-$prec.err" || true   # the memory plan's summary lines, if any
    PYTHONUNBUFFERED=1 timeout 600 "$PYTHON" examples/bench/torch_grpo_step.py "${args[@]}" --device cuda > "$OUT/pt-$shape-$prec.json" 2> "$OUT/pt-$shape-$prec.err"
    pt_rc=$?; check "$pt_rc" "torch_grpo_step.py $shape $prec (stderr: $OUT/pt-$shape-$prec.err)"
    if [ "$rs_rc" -eq 0 ] && [ "$pt_rc" -eq 0 ]; then
      "$PYTHON" examples/bench/compare_grpo_step.py "$OUT/rs-$shape-$prec.json" "$OUT/pt-$shape-$prec.json"
      check $? "compare_grpo_step.py $shape $prec"
    else
      echo "  (no comparison: a side failed)"
    fi
  done
done
echo "gpu_check: $([ $failed -eq 0 ] && echo "all steps ran" || echo "some steps FAILED")"
exit $failed
