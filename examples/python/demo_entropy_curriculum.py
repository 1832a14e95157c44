"""The entropy curriculum through a running sidecar (issue 5's demonstration).

Sends the same rollouts four times with falling think-region entropies under a schedule whose
γ_think is of kind `entropy`, and prints, per batch, the reply's think entropy, the curriculum's
progress and the γ's the server used. Run `rest-shaper replay CAPTURE` afterwards for the
per-region entropy table (scripts/demo_entropy.sh does both).

    python demo_entropy_curriculum.py --endpoint ipc:///tmp/rest-shaper.sock
"""
import argparse
import json
import os

import numpy as np

from rest_shaper_client import Client

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(HERE, "..", "..", "Tests", "TestSupport", "Fixtures", "rest_vectors_visible.json")
SCHEDULE = {
    "gammas": {"think": {"kind": "entropy", "start": 0.6, "end": 1.0},
               "tool_args": {"kind": "entropy", "start": 0.6, "end": 1.2}},
    "entropy_schedule": {"full_drop": 0.5, "smoothing": 1.0, "monotone": True},
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--entropies", default="2.0,1.5,1.8,0.9", help="think entropy of each batch (nats)")
    args = ap.parse_args()
    cases = json.load(open(VECTORS))["cases"][:8]
    t = max(len(c["token_ids"]) for c in cases)
    ids = np.full((len(cases), t), 151643, dtype=np.int32)
    mask = np.zeros((len(cases), t), dtype=np.float32)
    for i, c in enumerate(cases):
        ids[i, :len(c["token_ids"])] = c["token_ids"]
        mask[i, :len(c["loss_mask"])] = c["loss_mask"]
    truths = [c["ground_truth"] for c in cases]
    client = Client(args.endpoint)
    print(f"{'batch':>5} {'H_think':>8} {'progress':>9} {'γ_think':>8} {'γ_args':>7} {'γ_name':>7}")
    for step, h in enumerate(float(x) for x in args.entropies.split(",")):
        # Think tokens carry the batch's entropy h; other tokens a fixed 0.5 nats.
        ent = np.full((len(cases), t), 0.5, dtype=np.float32)
        r0 = client.shape(ids, mask, truths, step + 1, profile="aligned")
        ent[r0.categories == 2] = h
        r = client.shape(ids, mask, truths, step + 1, entropy=ent, profile="aligned", schedule=json.dumps(SCHEDULE))
        m = r.metrics
        g = m.get("gammas", {})
        print(f"{step + 1:>5} {m['entropy_means'].get('think', float('nan')):>8.3f} {m.get('entropy_progress', float('nan')):>9.3f} "
              f"{g.get('think', 0):>8.3f} {g.get('tool_args', 0):>7.3f} {g.get('tool_name', 0):>7.3f}")


if __name__ == "__main__":
    main()
