"""Writes the analyze fixtures: metrics logs whose correlations are known in closed form.

Over one full period (n = 40 steps, θ_t = 2π(t−1)/n) cos θ and sin θ have zero mean, equal norms
and Σ cos·sin = 0, so:
  - y = 3 + 10·(0.6·c + 0.8·s) with x = 0.5 + c (c = 0.1 cos θ, s = 0.1 sin θ) has Pearson r = 0.6;
  - an exact affine map of a strictly monotone x (no near-ties that rounding could break) gives
    r = ρ = +1 (slope > 0) or −1 (slope < 0);
  - x = 0.3 + 0.1 cos θ against y = 1 + 0.1 sin θ gives r = 0.
Seed 2 uses the phase θ + π/2: same means, so the pooled correlations equal the per-run ones.
Rewards: seed 1 r_t = t/10, seed 2 r_t = t/10 + 1. Step time 0.05 s of which the gradient
statistics 0.01 s: their overhead is 0.01 / 0.04 = 25 %.
`outside` has an entropy but no gradient statistics (γ = 0): analyze gives it no row.
Run: python3 make_fixtures.py (from this folder).
"""
import json
import math

N = 40


def trainer_run(seed, path):
    with open(path, "w") as f:
        f.write(json.dumps({"phase": "warmup", "step": 1, "loss": 3.0, "gradNorm": 2.0, "rewardMean": 0}) + "\n")
        for t in range(1, N + 1):
            th = 2 * math.pi * (t - 1) / N + (math.pi / 2 if seed == 2 else 0)
            c, s = 0.1 * math.cos(th), 0.1 * math.sin(th)
            x = 0.5 + c
            m = 0.2 + 0.01 * t + 0.0002 * t * t + (0.005 if seed == 2 else 0)   # strictly increasing, uneven steps
            rec = {
                "phase": "grpo", "step": t, "profile": "aligned",
                "rewardMean": t / 10 + (1 if seed == 2 else 0),
                "entropyMean": x,
                "gradNorm": 0.5, "seconds": 0.05,
                "entropyByRegion": {"think": m, "tool_name": m, "tool_args": 0.3 + c, "outside": 0.2 + s},
                "weightByRegion": {"think": 1.0, "tool_name": 1.2, "tool_args": 0.8},
                "gradStats": {
                    "rollouts": 32, "norm": 0.5, "seconds": 0.01,
                    "variance": 3 + 10 * (0.6 * c + 0.8 * s),
                    "normByRegion": {"think": 0.1, "tool_name": 0.2, "tool_args": 0.3},
                    "varianceByRegion": {"think": 2 * m + 1, "tool_name": -3 * m + 5, "tool_args": 1 + s},
                },
            }
            f.write(json.dumps(rec, sort_keys=True) + "\n")


def trl_run(path):
    # TRL log_history entries, one per line, plus TRL's end-of-training summary entry.
    with open(path, "w") as f:
        for t in range(1, N + 1):
            e = 0.6 - 0.01 * t
            f.write(json.dumps({"step": t, "epoch": t / N, "loss": 0.01, "reward": t / 20, "entropy": e,
                                "grad_norm": 2 * e, "learning_rate": 1e-6}) + "\n")
        f.write(json.dumps({"step": N, "train_runtime": 12.5, "train_loss": 0.01}) + "\n")


def verl_run(path):
    # A VERL log exported as {"step": N, "data": {...}} lines.
    with open(path, "w") as f:
        for t in range(1, N + 1):
            e = 0.6 - 0.01 * t
            f.write(json.dumps({"step": t, "data": {"critic/score/mean": t / 20, "actor/entropy": e,
                                                    "actor/grad_norm": 1 - e,
                                                    "rest/sidecar/entropy_means/think": e,
                                                    "rest/sidecar/token_counts/think": 10}}) + "\n")


trainer_run(1, "trainer-seed1.jsonl")
trainer_run(2, "trainer-seed2.jsonl")
trl_run("trl-run.jsonl")
verl_run("verl-run.jsonl")
