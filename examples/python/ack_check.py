"""`python ack_check.py --endpoint E VECTORS.json`: protocol op `applied` against a running sidecar.

Sends the golden-vector rollouts (real ResT weights, `aligned` profile) in one padded batch, then
acknowledges the reply three ways, as three trainers would:
  * honest: the digest of the weights as a loss multiplies them (float32 tensor, float64 digest,
    rows split into shuffled micro-batches and summed)        -> ok
  * a loss that ignores the weights (multiplies by the mask)   -> mismatch
  * weights shifted one token against the ids                  -> mismatch
and checks the `applied_*` counters moved by exactly that. Prints the relative digest differences
(what the 1e-8 tolerance of PROTOCOL.md is measured against) and `N passed, M failed` last.
"""
import argparse
import json
import sys

import numpy as np

from rest_shaper_client import Client, WeightDigest, row_digests

RESULTS = []


def check(name, ok, detail=""):
    RESULTS.append(ok)
    print(f"{'PASS' if ok else 'FAIL'} {name}" + (f": {detail}" if detail else ""))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("vectors")
    ap.add_argument("--endpoint", required=True)
    a = ap.parse_args()
    cases = json.load(open(a.vectors))["cases"]
    T = max(len(c["token_ids"]) for c in cases)
    ids = np.zeros((len(cases), T), dtype=np.int32)
    mask = np.zeros((len(cases), T), dtype=np.float32)
    for i, c in enumerate(cases):
        ids[i, : len(c["token_ids"])] = c["token_ids"]
        mask[i, : len(c["loss_mask"])] = c["loss_mask"]
    client = Client(a.endpoint, timeout=60)
    before = client.stats()["stats"]

    def shape():
        return client.shape(ids, mask, [c["ground_truth"] for c in cases], 50, profile="aligned")

    r = shape()
    sent = WeightDigest.of(r.weights, mask)
    # honest trainer: a float32 loss-side tensor, rows shuffled into micro-batches of 5
    applied_w = r.weights.astype(np.float32) * mask
    order = np.random.default_rng(0).permutation(len(cases))
    honest = WeightDigest()
    for start in range(0, len(order), 5):
        rows = order[start:start + 5]
        honest.add_rows(*row_digests(applied_w[rows], mask[rows]))
    v = client.applied(r.id, digest=honest)
    check("honest trainer (shuffled micro-batches) is acknowledged", v.get("result") == "ok", str(v))

    r2 = shape()
    ignoring = WeightDigest.of(mask, mask)
    rel = abs(ignoring.digest - WeightDigest.of(r2.weights, mask).digest) / WeightDigest.of(r2.weights, mask).digest
    v = client.applied(r2.id, mask, mask)
    check("loss that ignores the weights is caught", v.get("result") == "mismatch", f"{v}; relative digest change {rel:.3g}")

    r3 = shape()
    shifted = np.roll(r3.weights, 1, axis=1) * mask
    d3 = WeightDigest.of(r3.weights, mask)
    rel3 = abs(WeightDigest.of(shifted, mask).digest - d3.digest) / d3.digest
    v = client.applied(r3.id, shifted, mask)
    check("weights shifted by one token are caught", v.get("result") == "mismatch", f"{v}; relative digest change {rel3:.3g}")

    v = client.applied(r.id, digest=honest)
    check("a second report of the same reply is unknown", v.get("result") == "unknown", str(v))

    after = client.stats()["stats"]
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in ("applied_ok", "applied_mismatch", "applied_unknown")}
    check("counters", delta == {"applied_ok": 1, "applied_mismatch": 2, "applied_unknown": 1}, str(delta))
    print(f"{sum(RESULTS)} passed, {len(RESULTS) - sum(RESULTS)} failed")
    return 0 if all(RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())
