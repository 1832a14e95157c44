#!/usr/bin/env python3
"""Times what the released ResT trainer does per batch, on a user's checkout of the released code
(never vendored here): the other side of `rest-shaper bench shaping --reference-dir DIR`.

  python3 examples/bench/reference_path.py --rest-dir DIR --tokenizer tokenizer.json|qwen.tiktoken \
      --batch-file BATCH.json [--added-tokens ADDED.json] [--repeat 1]

DIR is a checkout of the ResT repository (arXiv 2509.21826; e.g. github.com/1229095296/ResT_Tool_use_LLM).
What is timed, exactly as its trainer calls it:
  weights: the rollout worker (verl/workers/rollout/vllm_rollout/vllm_rollout_spmd.py) —
           tokenizer.batch_decode(responses, skip_special_tokens=False), then
           recipe/custom/token_weighting.py build_token_weight({loss_mask, response_text, step}, tokenizer);
  rewards: the reward manager (verl/workers/reward_manager/naive.py), per rollout —
           tokenizer.decode(valid response ids, skip_special_tokens=True), then
           verl/utils/reward_score/rlla.py compute_score(response_str, ground_truth, step).
The tokenizer is a transformers PreTrainedTokenizerFast (what verl passes), built from the
tokenizer.json, or from a tiktoken file by the conversion of hf_tokenizer.py. The released code
prints on every call; stdout goes to /dev/null while timing (the printing stays in the timing).
BATCH.json: {"batch", "len", "step", "ids": [B·T], "mask": [B·T], "ground_truths": [B]}.
Prints one JSON object (seconds are medians over --repeat). Needs torch and transformers."""
import argparse, contextlib, importlib.util, json, os, statistics, sys, time


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rest-dir", required=True); ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--batch-file", required=True); ap.add_argument("--added-tokens")
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args()
    os.environ.setdefault("RAYON_NUM_THREADS", "1")
    import torch
    from transformers import PreTrainedTokenizerFast
    torch.set_num_threads(1)
    tw_path = os.path.join(a.rest_dir, "recipe", "custom", "token_weighting.py")
    rlla_path = os.path.join(a.rest_dir, "verl", "utils", "reward_score", "rlla.py")
    for p in (tw_path, rlla_path):
        if not os.path.isfile(p):
            sys.exit(f"reference_path.py: {p} not found: is {a.rest_dir} a checkout of the ResT repository?")
    # Import the two files directly: the verl package __init__ pulls in the whole training stack.
    tw, rlla = load_module("rest_token_weighting", tw_path), load_module("rest_rlla", rlla_path)

    if a.tokenizer.endswith(".json"):
        tok = PreTrainedTokenizerFast(tokenizer_file=a.tokenizer)
    else:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from hf_tokenizer import from_tiktoken
        with open(a.added_tokens) as f:
            tok = PreTrainedTokenizerFast(tokenizer_object=from_tiktoken(a.tokenizer, json.load(f)))

    with open(a.batch_file) as f:
        d = json.load(f)
    B, T, step = d["batch"], d["len"], d["step"]
    ids = torch.tensor(d["ids"], dtype=torch.long).view(B, T)
    mask = torch.tensor(d["mask"], dtype=torch.float32).view(B, T)
    truths = d["ground_truths"]

    weights_t, decode_t, rewards_t, reward_decode_t = [], [], [], []
    weights = scores = None
    devnull = open(os.devnull, "w")
    for _ in range(a.repeat):
        with contextlib.redirect_stdout(devnull):
            t0 = time.perf_counter()
            texts = tok.batch_decode(ids.tolist(), skip_special_tokens=False)
            t1 = time.perf_counter()
            weights = tw.build_token_weight({"loss_mask": mask, "response_text": texts, "step": step}, tok)
            t2 = time.perf_counter()
            scores, dec = [], 0.0
            for i in range(B):
                r0 = time.perf_counter()
                valid = int(mask[i].sum().item())
                response_str = tok.decode(ids[i, :valid], skip_special_tokens=True)
                dec += time.perf_counter() - r0
                scores.append(rlla.compute_score(response_str, truths[i], step))
            t3 = time.perf_counter()
        weights_t.append(t2 - t0); decode_t.append(t1 - t0); rewards_t.append(t3 - t2); reward_decode_t.append(dec)
    # compute_score returns (score, format, correctness, length).
    score = [s[0] if isinstance(s, tuple) else s["score"] if isinstance(s, dict) else s for s in scores]
    print(json.dumps({
        "source": "released ResT code at " + os.path.abspath(a.rest_dir), "batch": B, "len": T, "step": step,
        "torch": torch.__version__, "repeat": a.repeat,
        "weights_seconds": statistics.median(weights_t), "batch_decode_seconds": statistics.median(decode_t),
        "rewards_seconds": statistics.median(rewards_t), "rewards_decode_seconds": statistics.median(reward_decode_t),
        "weights_sum": float(weights.sum().item()), "nonzero_weights": int((weights > 0).sum().item()),
        "reward_mean": sum(score) / len(score)}))


if __name__ == "__main__":
    main()
