#!/usr/bin/env bash
# Every speed goal of issue 15, measured the same way: each comparison runs both sides in one run
# (interleaved rounds, medians), and this script prints, per goal, the exact command, the ratio it
# printed and the goal, then one JSON summary line with the machine (CPU model, cores, load).
#
#   scripts/bench_goals.sh                    # or: make -C examples bench-goals (installs the Python side)
#
# Environment:
#   BIN       rest-shaper binary (default: the release build)
#   TOK       tokenizer.json or .tiktoken (default: the vendored Qwen3 qwen.tiktoken)
#   PY        Python with torch, transformers and tokenizers (default: .venv-bench/bin/python, else python3)
#   REST_DIR  a checkout of the released ResT code (github.com/1229095296/ResT_Tool_use_LLM);
#             without it the shaping goal is reported as not measured (never from stored figures)
#   ROUNDS    rounds per comparison (default 3)
# Exits non-zero when a benchmark fails to run; STRICT=1 also fails when a goal is not met.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$(swift build -c release --show-bin-path)/rest-shaper}
TOK=${TOK:-Tests/TestSupport/Fixtures/qwen.tiktoken}
if [ -z "${PY:-}" ]; then
  if [ -x .venv-bench/bin/python ]; then PY=.venv-bench/bin/python; else PY=$(command -v python3); fi
fi
ROUNDS=${ROUNDS:-3}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
[ -x "$BIN" ] || { echo "no rest-shaper binary at $BIN (swift build -c release)"; exit 1; }

# field FILE EXPR: a value of a JSON file (EXPR is a Python expression over the object's keys).
field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, d))" "$1" "$2"; }

results=()
goal() {  # goal NAME KEY GOAL FILE COMMAND...
  local name=$1 key=$2 target=$3 file=$4; shift 4
  echo "== $name"
  echo "\$ $*"
  "$@" > "$file"
  local ratio met
  ratio=$(field "$file" "$key")
  met=$(python3 -c "import sys; print('true' if float(sys.argv[1]) >= float(sys.argv[2]) else 'false')" "$ratio" "$target")
  echo "$key = $ratio (goal >= $target, met: $met)"
  results+=("{\"goal\": \"$name\", \"key\": \"$key\", \"ratio\": $ratio, \"target\": $target, \"met\": $met, \"command\": $(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$*")}")
}

goal "bench train vs PyTorch (default threads)" ratio_vs_torch 1.0 "$OUT/train.json" \
  "$BIN" bench train --quiet --rounds "$ROUNDS" --torch-python "$PY"
echo "  (per CPU-second: ratio_vs_torch_cpu = $(field "$OUT/train.json" ratio_vs_torch_cpu); blas_core = $(field "$OUT/train.json" blas_core))"

goal "bench train vs PyTorch (1 thread each)" ratio_vs_torch 1.0 "$OUT/train1.json" \
  "$BIN" bench train --quiet --rounds "$ROUNDS" --threads 1 --torch-python "$PY"

goal "tokenizer encode+offsets vs HF tokenizers" encode_ratio_vs_hf 2.0 "$OUT/tok.json" \
  "$BIN" bench tokenizer --quiet --rounds "$ROUNDS" --tokenizer "$TOK" --python "$PY"
[ "$(field "$OUT/tok.json" "ids_match and offsets_match")" = True ] || { echo "tokenizer encodings differ from HF"; exit 1; }

if [ -n "${REST_DIR:-}" ]; then
  goal "shaping (aligned weights + rewards + categories) vs the released ResT path, 512x2048" total_ratio_vs_reference 300 \
    "$OUT/shaping.json" "$BIN" bench shaping --quiet --tokenizer "$TOK" --reference-dir "$REST_DIR" --reference-python "$PY" --rounds 1
  [ "$(field "$OUT/shaping.json" released_matches_reference)" = True ] || { echo "released profile differs from the reference"; exit 1; }
else
  echo "== shaping vs the released ResT path: NOT MEASURED (set REST_DIR to a checkout of the released code)"
  results+=("{\"goal\": \"shaping vs the released ResT path\", \"key\": \"total_ratio_vs_reference\", \"ratio\": null, \"target\": 300, \"met\": null, \"skipped\": \"REST_DIR not set\"}")
fi

goal "entropy fp32 vs read bandwidth (stretch)" "ratio_to_read_bandwidth" 0.9 "$OUT/entropy.json" \
  "$BIN" bench entropy --rows 256 --vocab 151936 --dtype fp32

machine=$(python3 -c 'import json,os; m=[l.split(":",1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")]; print(json.dumps({"cpu_model": m[0] if m else "unknown", "cores": os.cpu_count(), "load_average_1m": os.getloadavg()[0]}))')
summary="{\"machine\": $machine, \"goals\": [$(IFS=,; echo "${results[*]}")]}"
echo
echo "$summary"
if [ "${STRICT:-0}" = 1 ] && python3 -c "import json,sys; sys.exit(0 if any(g['met'] is False for g in json.loads(sys.argv[1])['goals']) else 1)" "$summary"; then
  echo "a goal was not met"; exit 1
fi
