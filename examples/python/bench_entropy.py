#!/usr/bin/env python3
"""Compare `rest-shaper entropy` with numpy on the same logits rows, in the same run.

Generates seeded LM-like logits rows (the recipe of Sources/Benchmarks/SyntheticLogits.swift: a
Gaussian bulk N(0, s^2), s ~ U(1.5, 3), plus a 16-token head whose top logit sits g above the bulk
mean, g ~ U(10, 45) for the default "lm" profile, the other 15 at g - Exp(mean 3)), computes the
per-row entropy with numpy (float32, rows split over the same number of threads; numpy releases the
GIL in its ufuncs) and with `rest-shaper entropy IN OUT --timing`, and prints JSON with

  speed_ratio             numpy seconds / rest-shaper kernel seconds (both best of --repeat,
                          both excluding file I/O; rest-shaper times its kernel itself, one
                          kernel call per process)
  end_to_end_ratio        numpy seconds / rest-shaper process wall time (process start, mapping
                          the input file, one kernel call, writing the output), best of --repeat
  max_abs_diff            max |H_rest-shaper - H_numpy| over all rows
  max_abs_diff_vs_float64 the same for each against a float64 numpy reference

Usage: python3 examples/python/bench_entropy.py [--rows 256] [--vocab 151936] [--threads 2]
       [--dtype fp32|fp16|bf16] [--profile lm|peaked|broad] [--binary .build/release/rest-shaper]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

PROFILES = {"lm": (10.0, 45.0), "peaked": (40.0, 50.0), "broad": (5.0, 15.0)}


def make_rows(rows, vocab, profile, seed):
    rng = np.random.default_rng(seed)
    g0, g1 = PROFILES[profile]
    sigma = rng.uniform(1.5, 3.0, size=(rows, 1)).astype(np.float32)
    x = rng.standard_normal((rows, vocab), dtype=np.float32) * sigma
    gap = rng.uniform(g0, g1, size=rows)
    for r in range(rows):
        idx = rng.integers(0, vocab, size=16)
        head = gap[r] - rng.exponential(3.0, size=16)
        head[0] = gap[r]
        x[r, idx] = head
    return x


def numpy_entropy(x, temperature=1.0):
    """H = logsumexp(y) - sum softmax(y) * y with y = x / T, computed relative to the row max."""
    y = x / np.float32(temperature) if temperature != 1.0 else x
    m = y.max(axis=1, keepdims=True)
    z = y - m
    e = np.exp(z)
    s = e.sum(axis=1)
    return np.log(s) - (e * z).sum(axis=1) / s


def numpy_threaded(x, threads, temperature):
    if threads <= 1:
        return numpy_entropy(x, temperature)
    chunks = np.array_split(np.arange(x.shape[0]), threads)
    with ThreadPoolExecutor(threads) as pool:
        parts = list(pool.map(lambda c: numpy_entropy(x[c[0]:c[-1] + 1], temperature), chunks))
    return np.concatenate(parts)


def to_bf16_bits(x):
    u = x.view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16  # round to nearest even (no NaN in these rows)
    return u.astype(np.uint16)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=256)
    ap.add_argument("--vocab", type=int, default=151936)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dtype", choices=["fp32", "fp16", "bf16"], default="fp32")
    ap.add_argument("--profile", choices=sorted(PROFILES), default="lm")
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--kernel", choices=["auto", "plain", "portable"], default="auto")
    ap.add_argument("--binary", default=os.environ.get("REST_SHAPER", os.path.join(here, "..", "..", ".build", "release", "rest-shaper")))
    a = ap.parse_args()

    x = make_rows(a.rows, a.vocab, a.profile, a.seed)
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = os.path.join(tmp, "logits.npy"), os.path.join(tmp, "entropy.npy")
        extra = []
        if a.dtype == "fp32":
            np.save(inp, x)
        elif a.dtype == "fp16":
            x = x.astype(np.float16)
            np.save(inp, x)
            x = x.astype(np.float32)      # numpy computes on the same (rounded) values in float32
        else:
            bits = to_bf16_bits(x)
            inp = os.path.join(tmp, "logits.bf16")
            bits.tofile(inp)
            extra = ["--dtype", "bf16", "--vocab", str(a.vocab)]
            x = (bits.astype(np.uint32) << 16).view(np.float32)

        cmd = [a.binary, "entropy", inp, out, "--threads", str(a.threads), "--temperature", str(a.temperature),
               "--timing", "--kernel", a.kernel] + extra
        best_np, best_wall, rs_kernel = float("inf"), float("inf"), float("inf")
        h_np = None
        for _ in range(a.repeat):  # interleave the two so that machine noise hits both alike
            t0 = time.perf_counter()
            h_np = numpy_threaded(x, a.threads, a.temperature)
            best_np = min(best_np, time.perf_counter() - t0)
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True)
            best_wall = min(best_wall, time.perf_counter() - t0)
            if proc.returncode != 0:
                sys.exit(f"rest-shaper failed: {proc.stderr.strip()}")
            rs_kernel = min(rs_kernel, json.loads(proc.stdout.strip().splitlines()[-1])["kernel_seconds"])
        h_rs = np.load(out)

    x64 = x.astype(np.float64) / a.temperature
    m = x64.max(axis=1, keepdims=True)
    e = np.exp(x64 - m)
    s = e.sum(axis=1)
    h64 = np.log(s) - (e * (x64 - m)).sum(axis=1) / s
    logit_bytes = x.shape[0] * x.shape[1] * (4 if a.dtype == "fp32" else 2)
    print(json.dumps({
        "rows": a.rows, "vocab": a.vocab, "dtype": a.dtype, "threads": a.threads, "profile": a.profile,
        "temperature": a.temperature, "repeat": a.repeat, "kernel": a.kernel,
        "numpy_seconds": best_np, "numpy_gb_per_s": x.nbytes / best_np / 1e9,
        "rest_shaper_kernel_seconds": rs_kernel, "rest_shaper_gb_per_s": logit_bytes / rs_kernel / 1e9,
        "rest_shaper_process_seconds": best_wall,
        "speed_ratio": best_np / rs_kernel,
        "end_to_end_ratio": best_np / best_wall,
        "max_abs_diff": float(np.max(np.abs(h_rs.astype(np.float64) - h_np.astype(np.float64)))),
        "max_abs_diff_vs_float64": {"rest_shaper": float(np.max(np.abs(h_rs - h64))), "numpy": float(np.max(np.abs(h_np - h64)))},
        "mean_entropy": float(h64.mean()),
    }, indent=1))


if __name__ == "__main__":
    main()
