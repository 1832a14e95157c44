"""CPU tests of the TRL integration's logic (numpy only; trl and torch are not needed)."""

import numpy as np
import pytest

from fake_shaper import FakeShaperClient
from rest_trl import core


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
