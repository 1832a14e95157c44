"""`python -m rest_shaper_client check VECTORS.json --endpoint E`: sends every case of a golden
vectors file (kind "rest-vectors") through a running sidecar and prints `N passed, M failed`.

Pass rules (as `rest-shaper conformance`): the same tokens are zero, non-zero weights within 1e-6
relative, reward components within 1e-9. Rewards travel as float32 on the wire, so a component
also passes when it equals the float32 rounding of the reference double.
Weights are checked with the `released` profile at every `weight_steps` step; rewards at every
`reward_configs` entry (environment flags → reward flags, step)."""
import json
import sys
from collections import OrderedDict

import numpy as np

from .client import Client
from .errors import RestShaperError

COMPONENTS = ("format", "correctness", "length", "score")


def env_to_flags(env):
    """The reference reads each flag as on iff its variable is "1"; EXPERIMENT_NAME containing
    "llama" selects the Llama-3 template."""
    flags = {}
    for k, v in env.items():
        if k == "EXPERIMENT_NAME":
            flags["LLAMA_TEMPLATE"] = "llama" in str(v)
        else:
            flags[k] = str(v) == "1"
    return flags


def weights_ok(expected, got, mask):
    exp = np.asarray(expected, dtype=np.float64)
    got = np.asarray(got, dtype=np.float64)
    if exp.shape != got.shape:
        return f"length {got.shape} != {exp.shape}"
    zero_e, zero_g = exp == 0, got == 0
    if not np.array_equal(zero_e, zero_g):
        i = int(np.argmax(zero_e != zero_g))
        return f"token {i}: expected {float(exp[i])!r}, got {float(got[i])!r} (zero pattern differs)"
    nz = ~zero_e
    if nz.any():
        rel = np.abs(got[nz] - exp[nz]) / np.abs(exp[nz])
        if rel.max() > 1e-6:
            i = int(np.flatnonzero(nz)[int(np.argmax(rel))])
            return f"token {i}: expected {float(exp[i])!r}, got {float(got[i])!r} (rel {rel.max():.3g})"
    return None


def component_ok(expected, got):
    expected = float(expected)
    got = float(got)
    return abs(got - expected) <= 1e-9 or float(np.float32(expected)) == got


def batches(cases, batch_size, pad):
    """Cases grouped into batches: by exact length (no extra padding) unless `pad`."""
    if pad:
        for i in range(0, len(cases), batch_size):
            yield cases[i:i + batch_size]
        return
    groups = OrderedDict()
    for c in cases:
        groups.setdefault(len(c["token_ids"]), []).append(c)
    for group in groups.values():
        for i in range(0, len(group), batch_size):
            yield group[i:i + batch_size]


def send(client, batch, step, pad_id, flags, profile):
    t = max(len(c["token_ids"]) for c in batch)
    ids = np.full((len(batch), t), pad_id, dtype=np.int32)
    mask = np.zeros((len(batch), t), dtype=np.float32)
    for i, c in enumerate(batch):
        n = len(c["token_ids"])
        ids[i, :n] = c["token_ids"]
        mask[i, :n] = c["loss_mask"]
    return client.shape(ids, mask, [c["ground_truth"] for c in batch], step, profile=profile, reward_flags=flags)


def run(path, endpoint, batch_size=32, pad=False, profile="released", verbose=False, out=sys.stdout):
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    if data.get("kind") != "rest-vectors":
        raise SystemExit(f"{path}: not a rest-vectors file")
    cases = data["cases"]
    pad_id = int(data.get("pad_token_id", 151643))
    failures = OrderedDict((c["id"], None) for c in cases)

    def fail(case_id, what):
        if failures[case_id] is None:
            failures[case_id] = what

    client = Client(endpoint)
    try:
        runs = [("weights", int(s), {}, str(s)) for s in data["weight_steps"]]
        runs += [("rewards", int(rc["step"]), env_to_flags(rc.get("env", {})), rc["name"]) for rc in data["reward_configs"]]
        for kind, step, flags, key in runs:
            for batch in batches(cases, batch_size, pad):
                try:
                    res = send(client, batch, step, pad_id, flags, profile)
                except RestShaperError as e:
                    for c in batch:
                        if "error" not in c:
                            fail(c["id"], f"{kind} {key}: request failed: {e}")
                    continue
                for i, c in enumerate(batch):
                    n = len(c["token_ids"])
                    status = res.status[i] if i < len(res.status) else {"code": "ok"}
                    if "error" in c:
                        if status.get("code") == "ok":
                            fail(c["id"], f"{kind} {key}: reference raised {c['error']}, server said ok")
                        continue
                    if kind == "weights":
                        expected = c["weights_by_step"][key]
                        why = weights_ok(expected, res.weights[i, :n], c["loss_mask"])
                        if why is None and np.any(res.weights[i, n:] != 0):
                            why = "non-zero weight on batch padding"
                        if why:
                            fail(c["id"], f"weights step {key}: {why}")
                    else:
                        exp = c["rewards"][key]
                        for j, name in enumerate(COMPONENTS):
                            if not component_ok(exp[name], res.components[i, j]):
                                fail(c["id"], f"reward {key}: {name} expected {exp[name]!r}, got {float(res.components[i, j])!r}")
                                break
                        else:
                            if not component_ok(exp["score"], res.rewards[i]):
                                fail(c["id"], f"reward {key}: reward expected {exp['score']!r}, got {float(res.rewards[i])!r}")
    finally:
        client.close()
    passed = sum(1 for v in failures.values() if v is None)
    failed = len(failures) - passed
    for cid, why in failures.items():
        if why is not None:
            print(f"FAIL {cid}: {why}", file=out)
        elif verbose:
            print(f"ok   {cid}", file=out)
    print(f"{passed} passed, {failed} failed", file=out)
    return passed, failed
