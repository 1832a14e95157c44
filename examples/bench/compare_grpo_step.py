#!/usr/bin/env python3
"""Compares one `rest-shaper bench grpo` result with one examples/bench/torch_grpo_step.py result
of the same run (scripts/gpu_check.sh's real-shape section) and prints the ratios.

  python3 examples/bench/compare_grpo_step.py RS.json PT.json

Exit status: 0 when both results are readable and did the same work (the update goal, >= 0.80x
PyTorch eager, is printed as met or NOT met: it is a goal, not a correctness check); 1 when the two
runs did different work (update token counts differ) or a field is missing; 2 when a file cannot
be read. Standard library only."""
import json
import sys

GIB = 2 ** 30
GOAL = 0.80


def main(argv):
    if len(argv) != 3:
        print("usage: compare_grpo_step.py RS.json PT.json", file=sys.stderr)
        return 2
    try:
        rs, pt = (json.load(open(path)) for path in argv[1:3])
    except (OSError, ValueError) as e:
        print(f"compare_grpo_step: cannot read a result: {e}", file=sys.stderr)
        return 2
    try:
        if rs["updateTokens"] != pt["updateTokens"]:
            print(f"compare_grpo_step: different work: update tokens {rs['updateTokens']} vs {pt['updateTokens']}",
                  file=sys.stderr)
            return 1
        print(f"  {'':22}{'rest-shaper':>14}{'PyTorch eager':>16}{'ratio':>9}")
        for key, label in (("rolloutTokensPerSecond", "rollout tokens/s"), ("updateTokensPerSecond", "update tokens/s")):
            if key in rs and key in pt:
                print(f"  {label:22}{rs[key]:14.0f}{pt[key]:16.0f}{rs[key] / pt[key]:9.2f}")
        # PyTorch reports device memory only on a GPU (torch.cuda.max_memory_allocated).
        torch_peak = f"{pt['peakDeviceBytes'] / GIB:13.1f} GiB" if "peakDeviceBytes" in pt else f"{'n/a':>17}"
        print(f"  {'peak device memory':22}{rs['peakBackendBytes'] / GIB:11.1f} GiB{torch_peak}"
              f"   (memory plan: {rs['memoryPlanPeakBytes'] / GIB:.1f} GiB)")
        ratio = rs["updateTokensPerSecond"] / pt["updateTokensPerSecond"]
    except KeyError as e:
        print(f"compare_grpo_step: a result lacks {e}", file=sys.stderr)
        return 1
    print(f"  update goal >= {GOAL:.2f}x PyTorch eager: {'met' if ratio >= GOAL else 'NOT met'} ({ratio:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
