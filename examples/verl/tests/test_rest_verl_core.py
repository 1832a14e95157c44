"""CPU tests of the verl integration's logic (numpy only; verl and torch are not needed)."""

import json

import numpy as np
import pytest

from fake_shaper import FakeShaperClient
from rest_verl import core

RNG = np.random.default_rng(7)


def ragged_batch(lengths, vocab=50):
    ids = [RNG.integers(0, vocab, size=n) for n in lengths]
    masks = []
    for n in lengths:
        m = np.ones(n, dtype=np.int64)
        if n > 4:
            m[1:3] = 0  # a tool-response span inside a multi-turn response
        masks.append(m)
    return ids, masks


# --------------------------------------------------------------------------- settings


def test_settings_config_wins_over_env_and_defaults():
    env = {"REST_SHAPER_ENDPOINT": "tcp://127.0.0.1:9", "REST_SHAPER_PROFILE": "released"}
    s = core.RestSettings.from_mapping({"endpoint": "ipc:///tmp/x.sock", "options": {"schedule": "cos"}}, env)
    assert s.endpoint == "ipc:///tmp/x.sock"
    assert s.options == {"schedule": "cos", "profile": "released"}
    s = core.RestSettings.from_mapping(None, env)
    assert s.endpoint == "tcp://127.0.0.1:9" and s.reward_mode == "replace" and s.send_entropy


def test_settings_reject_unknown_keys_and_modes():
    with pytest.raises(core.RestIntegrationError, match="unknown"):
        core.RestSettings.from_mapping({"endpont": "x"}, {})
    with pytest.raises(core.RestIntegrationError, match="reward_mode"):
        core.RestSettings.from_mapping({"reward_mode": "sum"}, {})
    s = core.RestSettings.from_mapping({"send_entropy": "false"}, {"REST_SHAPER_SEND_ENTROPY": "1"})
    assert s.send_entropy is False


# --------------------------------------------------------------------------- fields


def test_pad_unpad_roundtrip():
    rows = [np.arange(3), np.arange(5), np.arange(1)]
    padded, lengths = core.pad_rows(rows, pad_value=-1, dtype=np.int64)
    assert padded.shape == (3, 5) and lengths.tolist() == [3, 5, 1]
    assert padded[0].tolist() == [0, 1, 2, -1, -1]
    back = core.unpad_rows(padded, lengths)
    assert all(np.array_equal(a, b) for a, b in zip(rows, back))


def test_rewards_go_on_last_response_position():
    placed = core.place_sequence_rewards([1.5, -2.0], [3, 1], width=4)
    assert placed.tolist() == [[0, 0, 1.5, 0], [-2.0, 0, 0, 0]]
    with pytest.raises(core.RestIntegrationError, match="empty"):
        core.place_sequence_rewards([1.0], [0])


def test_reward_modes():
    existing = np.array([[0, 0, 1.0]], dtype=np.float32)
    placed = np.array([[0, 0, 2.0]], dtype=np.float32)
    assert core.combine_token_rewards(existing, placed, "replace").tolist() == [[0, 0, 2.0]]
    assert core.combine_token_rewards(existing, placed, "add").tolist() == [[0, 0, 3.0]]
    assert core.combine_token_rewards(existing, placed, "keep").tolist() == [[0, 0, 1.0]]
    with pytest.raises(core.RestIntegrationError):
        core.combine_token_rewards(None, placed, "add")
    with pytest.raises(core.RestIntegrationError):
        core.combine_token_rewards(existing[:, :2], placed, "add")


def test_ground_truth_extraction():
    entries = [{"ground_truth": "<tool_call>a</tool_call>", "style": "rule"}, "plain", {"ground_truth": [{"name": "f"}]}]
    gts = core.extract_ground_truths(np.array(entries, dtype=object))
    assert gts[0] == "<tool_call>a</tool_call>" and gts[1] == "plain"
    assert json.loads(gts[2]) == [{"name": "f"}]
    with pytest.raises(core.RestIntegrationError, match="ground_truth"):
        core.extract_ground_truths([{"style": "rule"}])
    assert core.extract_ground_truths([{"answer": "x"}], key="answer") == ["x"]


def test_status_ok():
    assert core.status_ok("ok") and core.status_ok(None) and core.status_ok({"status": "ok"}) and core.status_ok(0)
    assert not core.status_ok("error:token_id") and not core.status_ok({"status": "error", "code": "utf8"})
    assert core.status_ok({"code": "ok"}) and not core.status_ok({"code": "token_id", "message": "bad id"})


# --------------------------------------------------------------------------- the sidecar call


def test_shape_rollouts_pads_masks_and_unpads():
    ids, masks = ragged_batch([6, 3, 8])
    ent = [RNG.random(len(i)).astype(np.float32) for i in ids]
    client = FakeShaperClient()
    shaped = core.shape_rollouts(client, ids, masks, ["gt0", "gt1", "gt2"], 17, entropies=ent, pad_token_id=151643,
                                 options={"profile": "aligned"})
    call = client.calls[0]
    assert call["input_ids"].dtype == np.int32 and call["input_ids"].shape == (3, 8)
    assert call["input_ids"][1, 3:].tolist() == [151643] * 5  # padded with the pad id
    assert call["mask"].dtype == np.uint8 and call["mask"][1, 3:].sum() == 0
    assert call["entropy"].shape == (3, 8) and np.allclose(call["entropy"][0, :6], ent[0])
    assert call["step"] == 17 and call["options"] == {"profile": "aligned"} and call["ground_truth"][2] == "gt2"
    for w, m, n in zip(shaped.weights, masks, [6, 3, 8]):
        assert w.shape == (n,) and w.dtype == np.float32
        assert np.all(w[m == 0] == 0)  # masked tool-response tokens carry no weight
        pos = w[w > 0]
        if pos.size:
            assert abs(pos.mean() - 1.0) < 1e-5  # ResT: positive weights average 1
    assert shaped.rewards.shape == (3,) and shaped.components.shape == (3, 4) and shaped.failed == 0


def test_shape_rollouts_rejects_bad_replies():
    ids, masks = ragged_batch([4, 4])

    class Broken(FakeShaperClient):
        def shape(self, *a, **k):
            r = super().shape(*a, **k)
            r.weights = r.weights[:, :2]
            return r

    with pytest.raises(core.RestIntegrationError, match="weights have shape"):
        core.shape_rollouts(Broken(), ids, masks, ["a", "b"], 0)

    class Negative(FakeShaperClient):
        def shape(self, *a, **k):
            r = super().shape(*a, **k)
            r.weights[0, 0] = -1.0
            return r

    with pytest.raises(core.RestIntegrationError, match="non-negative"):
        core.shape_rollouts(Negative(), ids, masks, ["a", "b"], 0)
    with pytest.raises(core.RestIntegrationError, match="ground truths"):
        core.shape_rollouts(FakeShaperClient(), ids, masks, ["a"], 0)


def test_shape_step_replace_and_metrics():
    ids, masks = ragged_batch([5, 9, 2, 7])
    rows = {
        "responses": ids,
        "response_mask": masks,
        "reward_model": [{"ground_truth": "<tool_call>x</tool_call>"}, {"ground_truth": "y"}] * 2,
        "entropy": [np.full(len(i), 0.5, np.float32) for i in ids],
        "rm_scores": [np.zeros(len(i), np.float32) for i in ids],
    }
    settings = core.RestSettings.from_mapping({"pad_token_id": 0}, {})
    client = FakeShaperClient(fail_rows={2})
    out = core.shape_step(rows, client, settings, step=300, loss_mode="rest")
    assert client.calls[0]["entropy"] is not None
    reply = client.shape(*[client.calls[0][k] for k in ("input_ids", "mask", "ground_truth", "step")])
    for i, (r, n) in enumerate(zip(out.rm_scores, [5, 9, 2, 7])):
        assert r.shape == (n,) and r[-1] == pytest.approx(reply.rewards[i]) and np.all(r[:-1] == 0)
    assert np.array_equal(out.weights[2], (masks[2] != 0).astype(np.float32))  # the flagged fallback row
    m = out.metrics
    assert m["rest/failed_rollouts"] == 1 and m["rest/rollouts"] == 4
    assert m["rest/sidecar/tokens/args"] == 4 and "rest/sidecar/label" not in m
    assert m["rest/reward/format_mean"] == pytest.approx(0.5)
    assert 0 < m["rest/weights/weighted_fraction"] <= 1


def test_shape_step_add_keep_and_entropy_switch():
    ids, masks = ragged_batch([4, 6])
    base = [np.array([0, 0, 0, 2.0], np.float32), np.array([0, 0, 0, 0, 0, -1.0], np.float32)]
    rows = {"responses": ids, "response_mask": masks, "reward_model": ["a", "b"], "rm_scores": base,
            "entropy": [np.zeros(4, np.float32), np.zeros(6, np.float32)]}
    client = FakeShaperClient()
    add = core.shape_step(rows, client, core.RestSettings.from_mapping({"reward_mode": "add", "send_entropy": False}, {}), 3, "rest")
    assert client.calls[-1]["entropy"] is None
    keep = core.shape_step(rows, client, core.RestSettings.from_mapping({"reward_mode": "keep"}, {}), 3, "rest")
    rewards = client.calls[-1]
    sidecar = client.shape(rewards["input_ids"], rewards["mask"], rewards["ground_truth"], 3).rewards
    assert add.rm_scores[0][-1] == pytest.approx(2.0 + sidecar[0])
    assert add.rm_scores[1][-1] == pytest.approx(-1.0 + sidecar[1])
    assert np.array_equal(keep.rm_scores[0], base[0])
    no_scores = dict(rows)
    del no_scores["rm_scores"]
    with pytest.raises(core.RestIntegrationError, match="rm_scores"):
        core.shape_step(no_scores, client, core.RestSettings.from_mapping({"reward_mode": "add"}, {}), 3, "rest")


# --------------------------------------------------------------------------- loss normalisation


def make_microbatch(rows, T=12):
    loss = RNG.normal(size=(rows, T)).astype(np.float64)
    mask = (RNG.random((rows, T)) > 0.2).astype(np.float64)
    w = np.where(RNG.random((rows, T)) > 0.4, RNG.uniform(0.2, 2.0, (rows, T)), 0.0)
    return loss, mask, w


def rest_ratio_reference(loss, mask, w):
    return float((loss * mask * w).sum() / ((mask * w).sum() + 1e-8))


def test_micro_loss_reproduces_released_rest_over_accumulation_and_ranks():
    # global mini-batch of 8 rows, 2 ranks, 2 equal micro-batches per rank
    dp, global_bs = 2, 8
    ranks = [[make_microbatch(2), make_microbatch(2)], [make_microbatch(2), make_microbatch(2)]]
    per_rank = [sum(core.rest_micro_loss(l, m, w, dp, global_bs) for (l, m, w) in mbs) for mbs in ranks]
    verl_gradient_objective = np.mean(per_rank)  # FSDP averages gradients over ranks
    released = np.mean([rest_ratio_reference(*mb) for mbs in ranks for mb in mbs])  # loss / grad_accum
    assert verl_gradient_objective == pytest.approx(released, rel=1e-12)


def test_micro_loss_dynamic_batch_weights_micro_batches_by_rows():
    dp, global_bs = 2, 8
    ranks = [[make_microbatch(3), make_microbatch(1)], [make_microbatch(2), make_microbatch(2)]]
    objective = np.mean([sum(core.rest_micro_loss(*mb, dp, global_bs) for mb in mbs) for mbs in ranks])
    # released ResT with use_dynamic_bsz: loss * rows / (mini_batch_size per rank), averaged over ranks
    released = np.mean([sum(rest_ratio_reference(*mb) * mb[0].shape[0] / (global_bs / dp) for mb in mbs) for mbs in ranks])
    assert objective == pytest.approx(released, rel=1e-12)


def test_micro_loss_single_micro_batch_is_the_plain_ratio():
    l, m, w = make_microbatch(5)
    assert core.rest_micro_loss(l, m, w) == pytest.approx(rest_ratio_reference(l, m, w), rel=1e-12)
    assert core.rest_micro_loss(l, m, w, 1, 5) == pytest.approx(rest_ratio_reference(l, m, w), rel=1e-12)
    with pytest.raises(core.RestIntegrationError):
        core.micro_batch_scale(5, dp_size=2, global_batch_size=None)
    zero = core.rest_micro_loss(l, m, np.zeros_like(w))
    assert zero == 0.0  # no weighted token: no gradient, no NaN


def test_global_scale_makes_verl_token_mean_equal_rest_over_the_batch():
    dp = 2
    ranks = [[make_microbatch(2), make_microbatch(3)], [make_microbatch(4), make_microbatch(1)]]
    mbs = [mb for r in ranks for mb in r]
    c = core.global_weight_scale([m for _, m, _ in mbs], [w for _, _, w in mbs])
    n_tokens = sum(float((m != 0).sum()) for _, m, _ in mbs)  # verl's batch_num_tokens (all-reduced)
    # verl token-mean per micro-batch: masked_sum(l*w*c, m) / batch_num_tokens * dp; summed per rank; mean over ranks
    objective = np.mean([sum((l * w * c * m).sum() / n_tokens * dp for l, m, w in r) for r in ranks])
    all_l = np.concatenate([l for l, _, _ in mbs])
    all_m = np.concatenate([m for _, m, _ in mbs])
    all_w = np.concatenate([w for _, _, w in mbs])
    assert objective == pytest.approx(rest_ratio_reference(all_l, all_m, all_w), rel=1e-9)
    assert core.global_weight_scale([np.ones(3)], [np.zeros(3)]) == 1.0


def test_shape_step_global_mode_prescales_weights():
    ids, masks = ragged_batch([6, 6, 3])
    rows = {"responses": ids, "response_mask": masks, "reward_model": ["a", "b", "c"]}
    settings = core.RestSettings.from_mapping({}, {})
    micro = core.shape_step(rows, FakeShaperClient(), settings, 1, core.LOSS_MODE_MICRO)
    glob = core.shape_step(rows, FakeShaperClient(), settings, 1, core.LOSS_MODE_GLOBAL)
    c = glob.metrics["rest/weights/global_scale"]
    valid = sum(float((m != 0).sum()) for m in masks)
    weighted = sum(float(w[m != 0].sum()) for w, m in zip(micro.weights, masks))
    assert c == pytest.approx(valid / weighted)
    for a, b in zip(micro.weights, glob.weights):
        assert np.allclose(b, a * c)


# --------------------------------------------------------------------------- multi-turn rollouts


def agent_loop_rollouts():
    """Three rollouts laid out as verl's agent loop writes them: model tokens (mask 1) and tool
    responses (mask 0) interleaved in ``responses`` / ``response_mask``; one single-turn rollout.
    (The layout of ToolAgentLoop in verl 0.9.1: |LLM|tool|LLM|...; padding stays outside the rows.)"""
    turns = [
        [[11, 12, 13, 14], [21, 22, 23], [31, 32]],  # three turns
        [[41, 42, 43, 44, 45]],  # one turn
        [[51, 52], [61, 62, 63, 64]],  # two turns
    ]
    tools = [[90, 91, 92], [93, 94]]
    ids, masks = [], []
    for row in turns:
        r, m = [], []
        for k, t in enumerate(row):
            if k:
                tool = tools[(k - 1) % len(tools)]
                r += tool
                m += [0] * len(tool)
            r += t
            m += [1] * len(t)
        ids.append(np.array(r, dtype=np.int64))
        masks.append(np.array(m, dtype=np.int64))
    return turns, ids, masks


def test_turn_spans_match_the_agent_loop_layout():
    _, ids, masks = agent_loop_rollouts()
    assert core.turn_spans(masks[0]) == [(0, 4), (7, 10), (12, 14)]
    assert core.turn_spans(masks[1]) == [(0, 5)]
    assert core.turn_spans(np.array([0, 1, 1, 0, 0])) == [(1, 3)]  # leading / trailing zeros: padding
    assert core.turn_spans(np.zeros(3)) == []


def test_multi_turn_batch_passes_the_mask_as_is_and_gets_turn_rewards():
    turns, ids, masks = agent_loop_rollouts()
    rows = {
        "responses": ids,
        "response_mask": masks,
        "reward_model": [
            {"ground_truth": "<tool_call>final</tool_call>", "turn_ground_truth": ["<tool_call>a</tool_call>", None, "<tool_call>c</tool_call>"]},
            {"ground_truth": "<tool_call>single</tool_call>"},
            {"ground_truth": "plain last"},
        ],
    }
    client = FakeShaperClient()
    out = core.shape_step(rows, client, core.RestSettings.from_mapping({"options": {"turn_reward": "mean"}}, {}), 5, "rest")
    call = client.calls[0]
    # the agent loop's response_mask goes as is (0 on tool tokens), padded with zeros
    for i, m in enumerate(masks):
        assert call["mask"][i, : len(m)].tolist() == m.tolist() and call["mask"][i, len(m):].sum() == 0
    # rows without per-turn ground truths score their last turn only (what the sidecar does by default)
    assert call["options"]["turn_ground_truth"] == [
        ["<tool_call>a</tool_call>", None, "<tool_call>c</tool_call>"],
        ["<tool_call>single</tool_call>"],
        [None, "plain last"],
    ]
    reply = FakeShaperClient().shape(call["input_ids"], call["mask"], call["ground_truth"], 5, **call["options"])
    # each turn is scored like the same tokens sent alone as a single-turn rollout
    for i, row in enumerate(turns):
        for k, t in enumerate(row):
            gt = call["options"]["turn_ground_truth"][i][k]
            if gt is None:
                assert reply.turn_rewards[i, k] == 0
                continue
            alone = FakeShaperClient().shape(np.array([t]), np.ones((1, len(t))), [gt], 5)
            assert reply.turn_rewards[i, k] == pytest.approx(alone.rewards[0])
    # default placement: the (mean) sequence reward on the last response position
    for i, (r, n) in enumerate(zip(out.rm_scores, [len(x) for x in ids])):
        assert r.shape == (n,) and r[-1] == pytest.approx(reply.rewards[i]) and np.all(r[:-1] == 0)
    assert reply.rewards[0] == pytest.approx((reply.turn_rewards[0, 0] + reply.turn_rewards[0, 2]) / 2)
    # tool-response tokens never carry weight; the valid weights of a row average 1
    for w, m in zip(out.weights, masks):
        assert np.all(w[m == 0] == 0)
        assert abs(w[w > 0].mean() - 1) < 1e-5
    assert out.metrics["rest/turns/max"] == 3 and out.metrics["rest/turns/mean"] == pytest.approx(2.0)
    assert out.metrics["rest/turns/multi_turn_fraction"] == pytest.approx(2 / 3)


def test_turn_end_placement_credits_every_turn_at_its_last_token():
    turns, ids, masks = agent_loop_rollouts()
    rows = {"responses": ids, "response_mask": masks,
            "reward_model": [{"ground_truth": "g", "turn_ground_truth": ["<tool_call>x</tool_call>", "y", "z"]},
                             {"ground_truth": "s"}, {"ground_truth": "t", "turn_ground_truth": ["u", "v"]}]}
    settings = core.RestSettings.from_mapping({"turn_reward_placement": "turn_ends"}, {})
    client = FakeShaperClient()
    out = core.shape_step(rows, client, settings, 2, "rest")
    call = client.calls[0]
    reply = FakeShaperClient().shape(call["input_ids"], call["mask"], call["ground_truth"], 2, **call["options"])
    for i, m in enumerate(masks):
        ends = [b - 1 for _, b in core.turn_spans(m)]
        want = np.zeros(len(m), dtype=np.float32)
        for k, e in enumerate(ends):
            want[e] = reply.turn_rewards[i, k]
        assert np.allclose(out.rm_scores[i], want)
        assert np.all(out.rm_scores[i][m == 0] == 0)  # never on a tool-response token
    with pytest.raises(core.RestIntegrationError, match="turn_reward_placement"):
        core.RestSettings.from_mapping({"turn_reward_placement": "everywhere"}, {})


def test_turn_replies_are_checked_against_the_mask():
    _, ids, masks = agent_loop_rollouts()

    class Shifted(FakeShaperClient):
        def shape(self, *a, **k):
            r = super().shape(*a, **k)
            r.turn_ends = r.turn_ends.copy()
            r.turn_ends[0, 1] += 1  # one token off: the sidecar and verl disagree on the turns
            return r

    with pytest.raises(core.RestIntegrationError, match="turn ends"):
        core.shape_rollouts(Shifted(), ids, masks, ["a", "b", "c"], 0)

    class Missing(FakeShaperClient):
        def shape(self, *a, **k):
            r = super().shape(*a, **k)
            r.turn_rewards = r.turn_ends = None
            return r

    with pytest.raises(core.RestIntegrationError, match="turn_rewards"):
        core.shape_rollouts(Missing(), ids, masks, ["a", "b", "c"], 0)
    with pytest.raises(core.RestIntegrationError, match="turns"):
        core.extract_turn_ground_truths([{"ground_truth": "g", "turn_ground_truth": ["only one"]}], [masks[0]])
    assert core.extract_turn_ground_truths([{"ground_truth": "g"}], [masks[0]]) is None


def _step_ack(client, loss_weights_of, micro=2, epochs=2, mini_batches=2):
    """A step as verl runs it: the sidecar call, then mini-batches of micro-batches over several
    epochs, each loss call reporting applied_loss_metrics; verl averages every metric over
    micro-batches, then over mini-batches; the trainer acknowledges from those means."""
    rows = [np.array([3, 4, 6, 9, 12, 1]), np.array([1, 3]), np.array([6, 7, 9]), np.array([2, 3, 3, 4]),
            np.array([5, 6, 7]), np.array([9, 9, 3, 3, 1]), np.array([4]), np.array([6, 3])]
    masks = [np.ones(len(r), dtype=np.int64) for r in rows]
    masks[0][2:4] = 0  # a tool response inside the rollout
    settings = core.RestSettings()
    out = core.shape_step({"responses": rows, "response_mask": masks, "reward_model": [{"ground_truth": "a"}] * 8},
                          client, settings, 1, core.LOSS_MODE_MICRO)
    w, _ = core.pad_rows(out.weights, 0.0, np.float32)
    m, _ = core.pad_rows(masks, 0, np.int64)
    rng = np.random.default_rng(0)
    per_mini = []
    for _ in range(epochs):
        order = rng.permutation(len(rows))
        for mb in np.array_split(order, mini_batches):
            micro_metrics = [core.applied_loss_metrics(loss_weights_of(w[idx], m[idx]), m[idx])
                             for idx in np.array_split(mb, len(mb) // micro)]
            per_mini.append({k: np.mean([x[k] for x in micro_metrics]) for k in core.APPLIED_KEYS})
    means = {"actor/" + k: float(np.mean([x[k] for x in per_mini])) for k in core.APPLIED_KEYS}
    means = {k[len("actor/"):]: v for k, v in means.items()}
    return out, client.applied(out.reply_id, digest=core.applied_from_loss_means(means, out.rows, out.weight_scale))


def test_acknowledgement_from_verl_loss_metrics():
    client = FakeShaperClient()
    out, verdict = _step_ack(client, lambda w, m: w)
    assert out.reply_id is not None and verdict == {"result": "ok"}, verdict


def test_a_loss_that_skips_the_weights_is_caught():
    client = FakeShaperClient()
    # the weights are there but the loss multiplies by the mask alone
    _, verdict = _step_ack(client, lambda w, m: (m != 0).astype(np.float32))
    assert verdict["result"] == "mismatch" and client.acks == {"ok": 0, "mismatch": 1, "unknown": 0}


def test_applied_needs_the_loss_metrics():
    with pytest.raises(core.RestIntegrationError, match="loss_mode"):
        core.applied_from_loss_means({"rest/applied_rows": 2.0}, 4)
