"""`python -m rest_shaper_client check VECTORS.json --endpoint E`: sends every case of a golden
vectors file (kind "rest-vectors") through a running sidecar and prints `N passed, M failed`.

Pass rules (as `rest-shaper conformance`): the same tokens are zero, non-zero weights within 1e-6
relative, reward components within 1e-9. Rewards travel as float32 on the wire, so a component
also passes when it equals the float32 rounding of the reference double.
Weights are checked with the `released` profile at every `weight_steps` step; rewards at every
`reward_configs` entry (environment flags → reward flags, step).

`--multi-turn` (``run_multi_turn``): the cases' responses are joined three at a time into
multi-turn rows, separated by tool-response observations (mask 0; one of them holds an unclosed
`<think>` and `<tool_call>`), and sent with one ground truth per turn. Every turn must get the
categories and the reward its case gets sent alone, observation tokens category 10 and weight 0,
and each row's positive weights must average 1; under the `aligned` and `released` profiles."""
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


#: Tool responses as verl's agent loop appends them, in the Qwen3 vocabulary of the vectors file:
#: "\n<|im_start|>user\n<tool_response>\n{...}\n</tool_response><|im_end|>\n<|im_start|>assistant\n";
#: the second one carries an unclosed <think> and <tool_call> that must not reach the next turn.
OBSERVATIONS = (
    [198, 151644, 872, 198, 151665, 198, 4913, 34558, 788, 220, 17, 16, 532, 151666, 151645, 198, 151644, 77091, 198],
    [198, 151644, 872, 198, 151665, 198, 151667, 20815, 9259, 220, 151657, 5212, 606, 788, 330, 87, 698, 151666,
     151645, 198, 151644, 77091, 198],
)
OBSERVATION = 10


def _rect(rows, pad_id):
    t = max(len(ids) for ids, _ in rows)
    ids = np.full((len(rows), t), pad_id, dtype=np.int32)
    mask = np.zeros((len(rows), t), dtype=np.uint8)
    for i, (r, m) in enumerate(rows):
        ids[i, :len(r)] = r
        mask[i, :len(m)] = m
    return ids, mask


def run_multi_turn(path, endpoint, turns_per_row=3, step=100, verbose=False, out=sys.stdout):
    """Multi-turn rows against their cases sent alone (see the module docstring); one check per turn
    and profile, plus one per row for its observations and weights."""
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    if data.get("kind") != "rest-vectors":
        raise SystemExit(f"{path}: not a rest-vectors file")
    pad_id = int(data.get("pad_token_id", 151643))
    cases = [c for c in data["cases"] if "error" not in c]
    groups = [cases[i:i + turns_per_row] for i in range(0, len(cases), turns_per_row)]
    passed = failed = 0

    def verdict(ok, what):
        nonlocal passed, failed
        if ok:
            passed += 1
            if verbose:
                print(f"ok   {what}", file=out)
        else:
            failed += 1
            print(f"FAIL {what}", file=out)

    client = Client(endpoint)
    try:
        for profile in ("aligned", "released"):
            alone = client.shape(*_rect([(c["token_ids"], c["loss_mask"]) for c in cases], pad_id),
                                 [c["ground_truth"] for c in cases], step, profile=profile)
            index = {c["id"]: i for i, c in enumerate(cases)}
            rows, spans = [], []
            for g in groups:
                ids, mask, row_spans = [], [], []
                for k, c in enumerate(g):
                    if k:
                        o = OBSERVATIONS[(k - 1) % len(OBSERVATIONS)]
                        ids += o
                        mask += [0] * len(o)
                    valid = [t for t, m in zip(c["token_ids"], c["loss_mask"]) if m]
                    row_spans.append((len(ids), len(ids) + len(valid)))
                    ids += valid
                    mask += [1] * len(valid)
                rows.append((ids, mask))
                spans.append(row_spans)
            turn_gts = [[c["ground_truth"] for c in g] for g in groups]
            multi = client.shape(*_rect(rows, pad_id), [g[-1] for g in turn_gts], step, profile=profile,
                                 turn_ground_truth=turn_gts, turn_reward="mean")
            if multi.turn_rewards is None:
                verdict(False, f"{profile}: no turn_rewards in a multi-turn reply")
                continue
            for r, (g, row_spans) in enumerate(zip(groups, spans)):
                for k, (c, (a, b)) in enumerate(zip(g, row_spans)):
                    i = index[c["id"]]
                    valid = [j for j, m in enumerate(c["loss_mask"]) if m]
                    want_cats = alone.categories[i, valid].tolist()
                    got_cats = multi.categories[r, a:b].tolist()
                    why = None
                    if got_cats != want_cats:
                        j = next(x for x in range(len(want_cats)) if got_cats[x] != want_cats[x])
                        why = f"category of token {j}: {got_cats[j]}, alone {want_cats[j]}"
                    elif float(multi.turn_rewards[r, k]) != float(alone.rewards[i]):
                        why = f"turn reward {float(multi.turn_rewards[r, k])!r}, alone {float(alone.rewards[i])!r}"
                    elif not component_ok(c["rewards"]["default"]["score"], multi.turn_rewards[r, k]):
                        why = f"turn reward {float(multi.turn_rewards[r, k])!r}, reference {c['rewards']['default']['score']!r}"
                    elif int(multi.turn_ends[r, k]) != b - 1:
                        why = f"turn end {int(multi.turn_ends[r, k])}, expected {b - 1}"
                    verdict(why is None, f"{profile} row {r} turn {k} ({c['id']})" + (f": {why}" if why else ""))
                ids, mask = rows[r]
                m = np.zeros(multi.weights.shape[1], dtype=bool)
                m[:len(mask)] = np.asarray(mask) != 0
                obs = [j for (_, e), (s, _) in zip(row_spans, row_spans[1:]) for j in range(e, s)]
                w = multi.weights[r]
                pos = w[(w > 0) & m]
                why = None
                if any(multi.categories[r, j] != OBSERVATION or w[j] != 0 for j in obs):
                    why = "an observation token is not category 10 with weight 0"
                elif np.any(w[~m] != 0):
                    why = "weight on a masked token"
                elif pos.size == 0 or abs(float(pos.mean()) - 1.0) > 1e-5:
                    why = f"positive weights average {float(pos.mean()) if pos.size else 0.0}, not 1"
                elif abs(float(multi.rewards[r]) - float(np.mean(multi.turn_rewards[r, :len(g)]))) > 1e-5:
                    why = f"row reward {float(multi.rewards[r])} is not the mean of its turn rewards"
                verdict(why is None, f"{profile} row {r}: observations, weights, reward" + (f": {why}" if why else ""))
    finally:
        client.close()
    print(f"{passed} passed, {failed} failed", file=out)
    return passed, failed
