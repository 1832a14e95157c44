"""CPU tests of the TRL integration's logic (numpy only; trl and torch are not needed)."""

import numpy as np
import pytest

from fake_shaper import FakeShaperClient
from rest_trl import RestShaperReward, core


def test_loss_types():
    core.check_loss_type("bnpo")
    core.check_loss_type("dapo")
    for bad in ("grpo", "dr_grpo", "sapo", "cispo"):
        with pytest.raises(core.RestTrlError, match="loss_type"):
            core.check_loss_type(bad)


def test_pad_id_rows():
    ids, mask, lengths = core.pad_id_rows([[5, 6, 7], [8]], pad_token_id=99)
    assert ids.dtype == np.int32 and ids.tolist() == [[5, 6, 7], [8, 99, 99]]
    assert mask.tolist() == [[1, 1, 1], [1, 0, 0]] and lengths.tolist() == [3, 1]
    with pytest.raises(core.RestTrlError):
        core.pad_id_rows([], 0)


def test_call_sidecar_masks_padding_and_checks_reply():
    ids, mask, _ = core.pad_id_rows([[3, 4, 6, 9], [1, 3]], pad_token_id=0)
    client = FakeShaperClient()
    reply = core.call_sidecar(client, ids, mask, ["<tool_call>a</tool_call>", {"name": "f"}], 11, {"profile": "released"})
    call = client.calls[0]
    assert call["step"] == 11 and call["options"] == {"profile": "released"}
    assert call["ground_truth"][1] == '{"name": "f"}'
    assert np.all(reply.weights[mask == 0] == 0)  # the fake puts 5.0 on padding
    pos = reply.weights[0][reply.weights[0] > 0]
    assert abs(pos.mean() - 1) < 1e-6
    with pytest.raises(core.RestTrlError, match="ground truths"):
        core.call_sidecar(client, ids, mask, ["only one"], 0)

    class Short(FakeShaperClient):
        def shape(self, *a, **k):
            r = super().shape(*a, **k)
            r.rewards = r.rewards[:1]
            return r

    with pytest.raises(core.RestTrlError, match="shapes"):
        core.call_sidecar(Short(), ids, mask, ["a", "b"], 0)


def test_reuse_weights_only_on_exact_rows_and_masks():
    rows = [[3, 4, 6, 9], [1, 3]]
    ids, mask, lengths = core.pad_id_rows(rows, pad_token_id=0)
    cached = core.call_sidecar(FakeShaperClient(), ids, mask, ["a", "b"], 1)
    # the trainer pads to a wider width (pad_to_multiple_of) with its own pad id
    wide = np.full((2, 6), 7, dtype=np.int64)
    wide[0, :4], wide[1, :2] = rows[0], rows[1]
    lmask = np.zeros((2, 6), dtype=np.uint8)
    lmask[0, :4], lmask[1, :2] = 1, 1
    w = core.reuse_weights(cached, wide, lmask, lengths)
    assert w.shape == (2, 6) and np.array_equal(w[:, :4], cached.weights[:, :4])
    assert np.all(w[:, 4:] == 0)
    tool = lmask.copy()
    tool[0, 1] = 0  # a tool-response token: normalisation differs, must re-ask
    assert core.reuse_weights(cached, wide, tool, lengths) is None
    other = wide.copy()
    other[1, 0] = 2
    assert core.reuse_weights(cached, other, lmask, lengths) is None
    assert core.reuse_weights(None, wide, lmask, lengths) is None
    assert core.reuse_weights(cached, wide[:1], lmask[:1], lengths[:1]) is None


def test_mask_times_weights_gives_rest_normaliser_for_bnpo_and_dapo():
    """TRL's bnpo/dapo aggregations with mask := m*w equal ResT's ratio."""
    g = np.random.default_rng(0)
    loss = g.normal(size=(6, 10))
    m = (g.random((6, 10)) > 0.3).astype(np.float64)
    w = np.where(g.random((6, 10)) > 0.5, g.uniform(0.5, 2, (6, 10)), 0.0)
    mask = m * w
    bnpo = (loss * mask).sum() / max(mask.sum(), 1.0)  # TRL bnpo, one micro-batch
    assert bnpo == pytest.approx(core.rest_loss_reference(loss, m, w), rel=1e-9)
    # dapo: 2 processes x 3 micro-steps (GA = steps_per_generation = 3), num_items = global sum(m*w)
    P, S = 2, 3
    parts = np.split(np.arange(6), P * S)
    num_items = mask.sum()
    normalizer = num_items / P * S / S
    per_process = [sum((loss[p] * mask[p]).sum() / normalizer for p in parts[k * S:(k + 1) * S]) for k in range(P)]
    assert np.mean(per_process) == pytest.approx(core.rest_loss_reference(loss, m, w), rel=1e-9)


def test_reply_metrics():
    ids, mask, _ = core.pad_id_rows([[3, 4, 5], [2]], 0)
    reply = core.call_sidecar(FakeShaperClient(fail_rows={1}), ids, mask, ["<tool_call>", "x"], 0)
    m = core.reply_metrics(reply)
    assert m["rest/failed_rollouts"] == 1 and m["rest/format_mean"] == pytest.approx(0.5)
    assert 0 < m["rest/weighted_fraction"] <= 1


def test_status_ok_matches_the_client_format():
    assert core.status_ok({"code": "ok"}) and core.status_ok(None) and core.status_ok("ok")
    assert not core.status_ok({"code": "token_id", "message": "id 999999 out of range"})
    assert not core.status_ok("error:utf8")


# --------------------------------------------------------------------------- multi-turn completions


def tool_completions():
    """Completions as TRL 1.16's tool loop builds them: model tokens, then the tool result (tool_mask
    0), then the post-tool generation (tool_mask 1); the second completion called no tool."""
    rows = [[3, 4, 6, 70, 71, 72, 9, 12], [1, 3, 5], [6, 9, 80, 81, 3, 90, 91, 4, 7]]
    tool_masks = [[1, 1, 1, 0, 0, 0, 1, 1], [1, 1, 1], [1, 1, 0, 0, 1, 0, 0, 1, 1]]
    return rows, tool_masks


def test_tool_mask_rows_and_length_check():
    rows, tool_masks = tool_completions()
    ids, mask, lengths = core.tool_mask_rows(rows, tool_masks, pad_token_id=0)
    assert lengths.tolist() == [8, 3, 9]
    assert mask[0].tolist() == [1, 1, 1, 0, 0, 0, 1, 1, 0] and mask[1].tolist() == [1, 1, 1, 0, 0, 0, 0, 0, 0]
    assert [core.count_turns(m) for m in mask] == [2, 1, 3]
    bad = [m + [1] for m in tool_masks[:1]] + tool_masks[1:]  # one entry longer than its completion (TRL #5144)
    with pytest.raises(core.RestTrlError, match="tool mask has 9 entries for 8 tokens"):
        core.tool_mask_rows(rows, bad, 0)
    assert core.tool_mask_rows(rows, None, 0)[1][0].tolist() == [1] * 8 + [0]


def test_reward_uses_the_tool_mask_and_the_trainer_reuses_its_weights():
    rows, tool_masks = tool_completions()
    client = FakeShaperClient()
    reward = RestShaperReward(client_factory=lambda _: client, turn_ground_truth_column="turn_truth",
                              options={"turn_reward": "sum"})
    reward.pending_tool_masks = tool_masks  # what RestGRPOTrainer._generate hands over
    turn_truth = [["<tool_call>a</tool_call>", "b"], ["<tool_call>c</tool_call>"], [None, "d", "<tool_call>e</tool_call>"]]
    state = type("State", (), {"global_step": 4})()
    scores = reward(completion_ids=rows, trainer_state=state, ground_truth=["g0", "g1", "g2"], turn_truth=turn_truth)
    call = client.calls[0]
    assert call["mask"][0].tolist() == [1, 1, 1, 0, 0, 0, 1, 1, 0]  # tool results are mask 0: turns
    assert call["options"]["turn_ground_truth"] == turn_truth and call["options"]["turn_reward"] == "sum"
    assert call["step"] == 5
    assert reward.pending_tool_masks is None  # used once
    reply = reward.last_reply
    assert reply.turn_rewards.shape == (3, 3) and reply.turn_ends[2].tolist() == [1, 4, 8]
    assert scores[2] == pytest.approx(float(reply.turn_rewards[2, 1] + reply.turn_rewards[2, 2]))
    assert np.all(reply.weights[reply.mask == 0] == 0)
    # The trainer's loss mask is completion_mask * tool_mask: the same rows and masks, so the reward
    # call's weights are reused (one sidecar call per generation batch) even with tool tokens.
    T = 12  # pad_to_multiple_of
    wide = np.zeros((3, T), dtype=np.int64)
    lmask = np.zeros((3, T), dtype=np.uint8)
    for i, (r, m) in enumerate(zip(rows, tool_masks)):
        wide[i, : len(r)], lmask[i, : len(m)] = r, m
    w = core.reuse_weights(reply, wide, lmask, np.array([len(r) for r in rows]))
    assert w is not None and np.array_equal(w[:, :9], reply.weights)
    truncated = lmask.copy()
    truncated[2] = 0  # mask_truncated_completions zeroed a row: ask again
    assert core.reuse_weights(reply, wide, truncated, np.array([len(r) for r in rows])) is None
    metrics = core.reply_metrics(reply)
    assert metrics["rest/turns_mean"] == pytest.approx(2.0) and metrics["rest/multi_turn_fraction"] == pytest.approx(2 / 3)


def test_reward_without_tool_masks_scores_whole_completions():
    rows, tool_masks = tool_completions()
    client = FakeShaperClient()
    reward = RestShaperReward(client_factory=lambda _: client)
    reward.pending_tool_masks = tool_masks[:2] + [[1, 1]]  # stale: lengths do not match these completions
    reward(completion_ids=rows, ground_truth=["a", "b", "c"])
    assert client.calls[0]["mask"].sum(axis=1).tolist() == [8, 3, 9]
    assert reward.last_reply.turn_rewards is None
    with pytest.raises(core.RestTrlError, match="turn_truth"):
        RestShaperReward(client_factory=lambda _: client, turn_ground_truth_column="turn_truth")(
            completion_ids=rows, ground_truth=["a", "b", "c"])


def _loss_path_acks(client, reply, applied_weights, micro=2, passes=2, seed=0):
    """What RestGRPOTrainer._compute_loss does, in numpy: rows shuffled into micro-batches, every
    pass over them digested from the tensor that multiplies the loss, acknowledgements sent."""
    from rest_shaper_client.digest import row_digests

    ledger = core.AckLedger()
    B = reply.weights.shape[0]
    ledger.expect(reply.reply_id, B)
    rng = np.random.default_rng(seed)
    for _ in range(passes):  # TRL's num_iterations: the same rows again
        order = rng.permutation(B)
        for start in range(0, B, micro):
            rows = order[start:start + micro]
            parts = row_digests(applied_weights[rows], reply.mask[rows])
            for rid, d in ledger.add([reply.reply_id] * len(rows), rows, *parts):
                ledger.record(client.applied(rid, digest=d))
    return ledger


def test_acknowledgement_from_the_loss_path():
    ids, mask, _ = core.pad_id_rows([[3, 4, 6, 9, 12], [1, 3], [6, 7, 9], [2, 3, 3, 4]], pad_token_id=0)
    client = FakeShaperClient()
    reply = core.call_sidecar(client, ids, mask, ["a"] * 4, 1)
    assert reply.reply_id is not None
    # an honest loss multiplies by m*w: one acknowledgement, ok, although rows were seen twice
    ledger = _loss_path_acks(client, reply, reply.weights * reply.mask)
    assert ledger.verdicts == {"ok": 1} and ledger.pending == [] and client.acks["ok"] == 1


def test_a_loss_that_skips_the_weights_is_caught():
    ids, mask, _ = core.pad_id_rows([[3, 4, 6, 9, 12], [1, 3], [6, 7, 9], [2, 3, 3, 4]], pad_token_id=0)
    client = FakeShaperClient()
    reply = core.call_sidecar(client, ids, mask, ["a"] * 4, 1)
    assert not np.array_equal(reply.weights, reply.mask)  # the condition: weights differ from the mask
    # the released ResT bug: weights computed, loss aggregated over the mask alone
    ledger = _loss_path_acks(client, reply, reply.mask.astype(np.float32))
    assert ledger.verdicts == {"mismatch": 1} and client.acks == {"ok": 0, "mismatch": 1, "unknown": 0}
    # a loss that never reports leaves the reply open (the real server counts it unacknowledged)
    silent = core.call_sidecar(client, ids, mask, ["a"] * 4, 2)
    assert silent.reply_id in client.sent


def test_partial_coverage_is_not_acknowledged():
    ids, mask, _ = core.pad_id_rows([[3, 4], [6, 7]], pad_token_id=0)
    client = FakeShaperClient()
    reply = core.call_sidecar(client, ids, mask, ["a"] * 2, 1)
    ledger = core.AckLedger()
    ledger.expect(reply.reply_id, 2)
    from rest_shaper_client.digest import row_digests

    assert ledger.add([reply.reply_id], [0], *row_digests(reply.weights[:1], reply.mask[:1])) == []
    assert ledger.pending == [reply.reply_id]
