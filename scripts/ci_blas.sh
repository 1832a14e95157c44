#!/usr/bin/env bash
# OpenBLAS core selection end to end (BLASCore): a generic core is replaced on CPUs with AVX2, a
# name the library refuses falls back with the reason, and the trainer's gradient checks pass with
# the core the selection settles on.  Usage: scripts/ci_blas.sh BIN
set -euo pipefail
BIN=$1
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
field() { "$PY" -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {}, d))" "$1"; }

echo "== forced generic core, REST_SHAPER_BLAS_CORE=auto"
out=$(OPENBLAS_CORETYPE=Prescott REST_SHAPER_BLAS_CORE=auto "$BIN" bench train --iterations 1 --batch 1 --seq 16)
core=$(field blas_core <<<"$out"); action=$(field "blas_selection['action']" <<<"$out")
echo "blas_core=$core action=$action"
if grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then
  [ "$action" = selected ] && [ "$core" != Prescott ] || { echo "FAIL: Prescott was not replaced on an AVX2 CPU"; exit 1; }
else
  [ "$core" = Prescott ] || { echo "FAIL: core changed on a CPU without AVX2"; exit 1; }
fi

echo "== a core name the library refuses"
out=$(REST_SHAPER_BLAS_CORE=NoSuchCore "$BIN" bench train --iterations 1 --batch 1 --seq 16 2>/dev/null)
[ "$(field "blas_selection['action']" <<<"$out")" = fallback ] || { echo "FAIL: no fallback"; exit 1; }
field "' | '.join(blas_selection['notes'])" <<<"$out" | grep -q "refused core NoSuchCore" || { echo "FAIL: no reason logged"; exit 1; }

echo "== default selection, then the gradient checks with that core"
sel=$(field blas_core <<<"$("$BIN" bench train --iterations 1 --batch 1 --seq 16)")
echo "selected core: $sel"
OPENBLAS_CORETYPE=$sel swift test -c release --skip-build --filter "GradientTests|BLASCoreTests"
