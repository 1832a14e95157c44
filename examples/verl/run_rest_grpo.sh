#!/usr/bin/env bash
# GRPO with ResT weights and ToolRL rewards from rest-shaper, on unmodified verl 0.9.1.
#
#   MODEL=Qwen/Qwen3-4B TRAIN=~/data/toolrl/train.parquet VAL=~/data/toolrl/test.parquet \
#   TOKENIZER=~/models/Qwen3-4B/tokenizer.json bash examples/verl/run_rest_grpo.sh [extra Hydra overrides]
#
# Starts `rest-shaper serve` on an ipc socket unless REST_SHAPER_START=0 (then it must already run
# at the endpoint named in config/rest_shaper_overrides.txt), and stops it when training ends.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"

: "${MODEL:?set MODEL to a HF model path or id}"
: "${TRAIN:?set TRAIN to the training parquet (verl format: prompt, reward_model.ground_truth)}"
: "${VAL:?set VAL to the validation parquet}"
NGPUS="${NGPUS:-8}"
ENDPOINT="${REST_SHAPER_ENDPOINT:-ipc:///tmp/rest-shaper.sock}"

# Every verl process (driver, TaskRunner, actor, reward workers) imports rest_verl on `import verl`.
# Ray workers started by this driver inherit these variables; on an existing Ray cluster export them
# before `ray start` as well.
export VERL_USE_EXTERNAL_MODULES=rest_verl
export PYTHONPATH="$HERE:$REPO/examples/python${PYTHONPATH:+:$PYTHONPATH}"

SIDECAR_PID=""
if [[ "${REST_SHAPER_START:-1}" == "1" ]]; then
  : "${TOKENIZER:?set TOKENIZER to the tokenizer.json of MODEL, or REST_SHAPER_START=0}"
  BIN="${REST_SHAPER_BIN:-$REPO/.build/release/rest-shaper}"
  "$BIN" serve --bind "$ENDPOINT" --tokenizer "$TOKENIZER" ${REST_SHAPER_CONFIG:+--config "$REST_SHAPER_CONFIG"} &
  SIDECAR_PID=$!
  trap '[[ -n "$SIDECAR_PID" ]] && kill -TERM "$SIDECAR_PID" && wait "$SIDECAR_PID"' EXIT
  sleep 2
fi

mapfile -t REST_OVERRIDES < <(grep -v '^\s*#' "$HERE/config/rest_shaper_overrides.txt" | grep -v '^\s*$' \
  | sed "s#^+rest_shaper.endpoint=.*#+rest_shaper.endpoint=$ENDPOINT#")

python3 -m verl.trainer.main_ppo \
  algorithm.adv_estimator=grpo \
  data.train_files="$TRAIN" data.val_files="$VAL" \
  data.train_batch_size=512 data.max_prompt_length=2048 data.max_response_length=2048 \
  actor_rollout_ref.model.path="$MODEL" \
  actor_rollout_ref.actor.optim.lr=1e-6 \
  actor_rollout_ref.actor.ppo_mini_batch_size=128 \
  actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=4 \
  actor_rollout_ref.actor.use_kl_loss=true actor_rollout_ref.actor.kl_loss_coef=0.001 \
  actor_rollout_ref.rollout.name=vllm actor_rollout_ref.rollout.n=8 \
  actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=8 \
  actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu=8 \
  trainer.n_gpus_per_node="$NGPUS" trainer.nnodes=1 \
  trainer.project_name=rest-shaper trainer.experiment_name="rest-grpo-$(basename "$MODEL")" \
  trainer.total_epochs=1 trainer.logger='["console"]' \
  "${REST_OVERRIDES[@]}" "$@"
