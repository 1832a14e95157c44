"""Real-verl integration check on a toy batch (run by ``make -C examples verl-check``).

Imports the installed, unmodified verl 0.9.1 with VERL_USE_EXTERNAL_MODULES=rest_verl and checks:
  1. verl's own import hook registered the policy losses, trainers and reward manager;
  2. the registered ``rest`` / ``rest_global`` losses, called as verl's ``ppo_loss`` calls them,
     equal an independent numpy computation of ResT's sum(l*m*w)/(sum(m*w)+1e-8), with gradients;
  3. the ``rest_sync`` trainer's step on a real TransferQueue (local Ray): fetches responses, masks,
     entropies and ground truths, calls the sidecar, writes rm_scores and rollout_is_weights, and
     verl's own GRPO advantage computation then runs on those rewards;
  4. the ``rest`` reward manager scores a real DataProto item.
The sidecar is an in-process fake (examples/testing/fake_shaper.py) unless REST_SHAPER_ENDPOINT is set and
``rest_shaper_client`` is importable, in which case the real sidecar is used.
Prints one line per check and ``N passed, M failed`` last; exits non-zero on any failure.
"""

import os
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "testing"))  # fake_shaper
os.environ.setdefault("VERL_USE_EXTERNAL_MODULES", "rest_verl")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import verl  # noqa: E402  (imports rest_verl through VERL_USE_EXTERNAL_MODULES)

RESULTS = []


def check(name):
    def deco(fn):
        try:
            detail = fn()
            RESULTS.append((name, True))
            print(f"PASS {name}" + (f": {detail}" if detail else ""))
        except Exception:  # noqa: BLE001 - report every failure and go on
            RESULTS.append((name, False))
            print(f"FAIL {name}")
            traceback.print_exc()
        return fn

    return deco


def use_real_sidecar() -> bool:
    if not os.environ.get("REST_SHAPER_ENDPOINT"):
        return False
    try:
        import rest_shaper_client  # noqa: F401
    except ImportError:
        return False
    return True


from fake_shaper import FakeShaperClient  # noqa: E402


def client_stats():
    """The real sidecar's counters (an empty dict with the fake)."""
    if not REAL:
        return {}
    from rest_shaper_client import Client

    return Client(os.environ["REST_SHAPER_ENDPOINT"]).stats()["stats"]

import rest_verl  # noqa: E402
from rest_verl import core, plugin  # noqa: E402

REAL = use_real_sidecar()
FAKES = []
if not REAL:
    def _factory(settings):
        client = FakeShaperClient(settings.endpoint)
        FAKES.append(client)
        return client

    plugin.set_client_factory(_factory)
print(f"verl {verl.__version__}, torch {torch.__version__}, sidecar: {'real ' + os.environ['REST_SHAPER_ENDPOINT'] if REAL else 'in-process fake'}")


@check("registration through VERL_USE_EXTERNAL_MODULES")
def _registration():
    from verl.experimental.reward_loop.reward_manager import get_reward_manager_cls
    from verl.trainer.ppo.core_algos import get_policy_loss_fn
    from verl.trainer.ppo.v1 import get_trainer_cls

    assert "rest_verl" in sys.modules and sys.modules["rest_verl"] is rest_verl
    assert get_policy_loss_fn("rest") is plugin.compute_policy_loss_rest
    assert get_policy_loss_fn("rest_global") is plugin.compute_policy_loss_rest_global
    for mode in ("rest_sync", "rest_colocate_async", "rest_separate_async"):
        assert issubclass(get_trainer_cls(mode), plugin.RestShapingMixin)
    assert get_reward_manager_cls("rest") is plugin.RestRewardManager
    return "losses rest, rest_global; trainers rest_sync/rest_colocate_async/rest_separate_async; reward manager rest"


def numpy_ppo_clip(old, new, adv, clip=0.2, clip_c=3.0):
    ratio = np.exp(np.clip(new - old, -20, 20))
    l1 = -adv * ratio
    l2 = -adv * np.clip(ratio, 1 - clip, 1 + clip)
    c1 = np.maximum(l1, l2)
    c2 = np.minimum(-adv * clip_c, c1)
    return np.where(adv < 0, c2, c1)


def toy_loss_inputs(B=4, T=9, seed=0):
    g = np.random.default_rng(seed)
    old = g.normal(-1.0, 0.3, (B, T))
    new = old + g.normal(0, 0.3, (B, T))
    adv = np.repeat(g.normal(0, 1, (B, 1)), T, axis=1)
    mask = (g.random((B, T)) > 0.25).astype(np.float64)
    w = np.where(g.random((B, T)) > 0.4, g.uniform(0.3, 2.0, (B, T)), 0.0) * mask
    return old, new, adv, mask, w


def actor_config(mode, **batch_info):
    from verl.workers.config import ActorConfig, PolicyLossConfig

    cfg = ActorConfig(strategy="fsdp", ppo_mini_batch_size=8, ppo_micro_batch_size_per_gpu=2, clip_ratio=0.2,
                      policy_loss=PolicyLossConfig(loss_mode=mode), rollout_n=1)
    cfg.global_batch_info.update(batch_info)
    return cfg


@check("policy loss 'rest' = released ResT normaliser (micro-batch, dp scaling, gradients)")
def _loss_micro():
    from verl.trainer.ppo.core_algos import get_policy_loss_fn

    fn = get_policy_loss_fn("rest")
    old, new, adv, mask, w = toy_loss_inputs()
    ell = numpy_ppo_clip(old, new, adv)
    want = (ell * mask * w).sum() / ((mask * w).sum() + 1e-8)
    t = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    logp = t(new).requires_grad_(True)
    loss, metrics = fn(t(old), logp, t(adv), t(mask).bool(), "token-mean", actor_config("rest"), t(w))
    assert abs(loss.item() - want) < 1e-5 * max(1, abs(want)), (loss.item(), want)
    loss.backward()
    dead = (mask * w) == 0
    assert torch.all(logp.grad[torch.tensor(dead)] == 0), "gradient leaked to masked / zero-weight tokens"
    assert torch.any(logp.grad != 0)
    # 2 ranks, global mini-batch of 8 rows, this micro-batch has 4: its share is 2*4/8 of the ratio
    loss2, _ = fn(t(old), t(new), t(adv), t(mask).bool(), "token-mean",
                  actor_config("rest", dp_size=2, global_batch_size=8, batch_num_tokens=123), t(w))
    assert abs(loss2.item() - want * 2 * 4 / 8) < 1e-5 * max(1, abs(want))
    try:
        fn(t(old), t(new), t(adv), t(mask).bool(), "token-mean", actor_config("rest"), None)
        raise AssertionError("missing weights were accepted")
    except core.RestIntegrationError:
        pass
    return f"loss {loss.item():.6f} == numpy {want:.6f}; metrics {sorted(metrics)}"


@check("policy loss 'rest_global' = verl token-mean on prescaled weights")
def _loss_global():
    from verl.trainer.ppo.core_algos import get_policy_loss_fn

    fn = get_policy_loss_fn("rest_global")
    old, new, adv, mask, w = toy_loss_inputs(seed=1)
    c = core.global_weight_scale(list(mask), list(w))
    ell = numpy_ppo_clip(old, new, adv)
    n_tokens = float(mask.sum())
    t = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    loss, _ = fn(t(old), t(new), t(adv), t(mask).bool(), "token-mean",
                 actor_config("rest_global", dp_size=1, batch_num_tokens=n_tokens, global_batch_size=4), t(w * c))
    want = (ell * mask * w).sum() / (mask * w).sum()
    assert abs(loss.item() - want) < 1e-5 * max(1, abs(want)), (loss.item(), want)
    return f"loss {loss.item():.6f} == sum(l*m*w)/sum(m*w) {want:.6f} (c={c:.4f})"


def toy_rollouts():
    g = np.random.default_rng(3)
    lengths = [7, 4, 9, 5]
    rows = []
    for i, n in enumerate(lengths):
        mask = np.ones(n, dtype=np.int64)
        if n > 6:
            mask[2:4] = 0  # tool response tokens inside the response
        rows.append(
            {
                "responses": torch.tensor(g.integers(0, 1000, n), dtype=torch.int64),
                "response_mask": torch.tensor(mask),
                "entropy": torch.tensor(g.random(n), dtype=torch.float32),
                "old_log_probs": torch.tensor(g.normal(-1, 0.2, n), dtype=torch.float32),
                "rm_scores": torch.zeros(n, dtype=torch.float32),
                "uid": f"prompt{i // 2}",
                "reward_model": {"ground_truth": ("<tool_call>\n{}\n</tool_call>" if i % 2 == 0 else "plain"),
                                 "style": "rule"},
            }
        )
    return rows


@check("rest_sync trainer step on a real TransferQueue, then verl's GRPO advantages")
def _trainer_step():
    import ray
    import transfer_queue as tq
    from omegaconf import OmegaConf
    from transfer_queue import KVBatchMeta

    from verl.trainer.ppo.v1 import get_trainer_cls
    from verl.utils.tensordict_utils import list_of_dict_to_tensordict

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    try:
        tq.init(OmegaConf.create({"backend": {"SimpleStorage": {"num_data_storage_units": 1}}}))
        rows = toy_rollouts()
        keys = [f"{r['uid']}_{i % 2}_0" for i, r in enumerate(rows)]  # verl's {uid}_{session}_{turn}
        tq.kv_batch_put(keys=keys, partition_id="train", fields=list_of_dict_to_tensordict(rows),
                        tags=[{"status": "success"} for _ in keys])

        trainer_cls = get_trainer_cls("rest_sync")
        trainer = trainer_cls.__new__(trainer_cls)  # the step under test needs only config/tokenizer/step
        trainer.config = OmegaConf.create({
            "rest_shaper": {"endpoint": os.environ.get("REST_SHAPER_ENDPOINT", "inproc://fake"),
                            "options": {"profile": "aligned"}},
            "algorithm": {"adv_estimator": "grpo", "gamma": 1.0, "lam": 1.0, "norm_adv_by_std_in_grpo": True,
                          "use_kl_in_reward": False,
                          "rollout_correction": {"rollout_is": None, "rollout_rs": None, "bypass_mode": False}},
            "actor_rollout_ref": {"actor": {"policy_loss": {"loss_mode": "rest"}}, "rollout": {"n": 2}},
        })
        trainer.tokenizer = type("Tok", (), {"pad_token_id": 151643})()
        trainer.global_steps = 42
        trainer.timing_raw = {}
        metrics = {}
        batch = KVBatchMeta(keys=keys, tags=[{} for _ in keys], partition_id="train")
        trainer._compute_advantage(batch, metrics)

        out = tq.kv_batch_get(keys=keys, partition_id="train",
                              select_fields=["rm_scores", "rollout_is_weights", "advantages", "response_mask"])
        rm = plugin._rows(out["rm_scores"])
        w = plugin._rows(out["rollout_is_weights"])
        adv = plugin._rows(out["advantages"])
        if not REAL:
            call = FAKES[-1].calls[-1]
            assert call["step"] == 42 and call["entropy"] is not None and call["input_ids"].shape == (4, 9)
            assert call["input_ids"][1, 4:].tolist() == [151643] * 5 and call["options"] == {"profile": "aligned"}
            assert call["ground_truth"][0].startswith("<tool_call>")
            ref = FakeShaperClient().shape(call["input_ids"], call["mask"], call["ground_truth"], 42)
            for i, r in enumerate(rows):
                n = len(r["responses"])
                assert rm[i].shape == (n,) and abs(rm[i][-1] - ref.rewards[i]) < 1e-6 and not rm[i][:-1].any()
                m = r["response_mask"].numpy()
                assert np.allclose(w[i], ref.weights[i, :n] * m)
        scores = np.array([r.sum() for r in rm])
        # GRPO: advantage = (score - group mean) / (group std + eps), broadcast over the response mask
        for g in (0, 1):
            s = scores[2 * g : 2 * g + 2]
            want = (s - s.mean()) / (s.std(ddof=1) + 1e-6)
            for j in range(2):
                i = 2 * g + j
                m = rows[i]["response_mask"].numpy().astype(bool)
                assert np.allclose(adv[i][m], want[j], atol=1e-5), (adv[i], want[j])
        assert metrics["rest/rollouts"] == 4 and "rest/weights/weighted_fraction" in metrics

        # The actor update: verl's own _update_actor (metric renaming and reduction) around a worker
        # group that runs the registered 'rest' loss over micro-batches of 2 rows, two epochs, and
        # returns the loss metrics as verl's engine worker does (mean over micro-batches per mini-batch).
        # Then the trainer acknowledges the weights to the sidecar from those metrics.
        from verl.trainer.ppo.core_algos import get_policy_loss_fn

        loss_fn = get_policy_loss_fn("rest")
        wpad, _ = core.pad_rows(w, 0.0, np.float32)
        mpad, _ = core.pad_rows([r["response_mask"].numpy() for r in rows], 0, np.int64)

        class WorkerGroup:
            def update_actor(self, _batch):
                per_mini = {}
                g = np.random.default_rng(5)
                for _epoch in range(2):
                    micro = []
                    for idx in np.array_split(g.permutation(4), 2):
                        t = lambda a: torch.tensor(a[idx], dtype=torch.float32)  # noqa: E731
                        lp = torch.tensor(g.normal(-1, 0.2, mpad[idx].shape), dtype=torch.float32)
                        _, mm = loss_fn(lp, lp + 0.01, t(np.ones_like(wpad)), t(mpad).bool(), "token-mean",
                                        actor_config("rest"), t(wpad))
                        micro.append(mm)
                    for k in micro[0]:
                        per_mini.setdefault(k, []).append(float(np.mean([float(x[k]) for x in micro])))
                per_mini["mfu"] = [0.0]
                return {"metrics": per_mini}

        trainer.actor_rollout_wg = WorkerGroup()
        trainer.config.actor_rollout_ref.actor.update({
            "ppo_mini_batch_size": 2, "calculate_entropy": False, "entropy_coeff": 0.0, "ppo_epochs": 2,
            "data_loader_seed": 0, "shuffle": False})
        trainer.config.actor_rollout_ref.rollout.update({"temperature": 1.0})
        trainer.config.distillation = None
        batch.extra_info = {}
        before = client_stats()
        trainer._update_actor(batch, metrics)
        after = client_stats()
        assert metrics.get("rest/applied_ok") == 1.0 and metrics.get("rest/applied_mismatch") == 0.0, metrics
        if REAL:
            assert after["applied_ok"] - before["applied_ok"] >= 1 and after["applied_mismatch"] == 0, (before, after)
        else:
            assert FAKES[-1].acks == {"ok": 1, "mismatch": 0, "unknown": 0}, FAKES[-1].acks
        return (f"rm_scores last-token rewards {np.round(scores, 4).tolist()}, advantages "
                f"{[round(float(a[0]), 4) for a in adv]}, {len(metrics)} rest/ metrics; weights acknowledged: "
                f"{'sidecar stats ' + str({k: after[k] for k in ('applied_ok', 'applied_mismatch')}) if REAL else FAKES[-1].acks}")
    finally:
        try:
            tq.close()
        except Exception:  # noqa: BLE001
            pass
        ray.shutdown()


@check("rest reward manager scores a real DataProto item")
def _reward_manager():
    import asyncio

    from omegaconf import OmegaConf

    from verl import DataProto
    from verl.experimental.reward_loop.reward_manager import get_reward_manager_cls

    cls = get_reward_manager_cls("rest")
    tok = type("Tok", (), {"pad_token_id": 0})()
    mgr = cls(OmegaConf.create({"rest_shaper": {"endpoint": os.environ.get("REST_SHAPER_ENDPOINT", "inproc://fake")}}), tok, None)
    prompts = torch.tensor([[5, 6, 7]])
    responses = torch.tensor([[3, 4, 9, 0, 0]])
    attn = torch.tensor([[1, 1, 1, 1, 1, 1, 0, 0]])
    data = DataProto.from_dict(
        tensors={"prompts": prompts, "responses": responses, "attention_mask": attn},
        non_tensors={"reward_model": np.array([{"ground_truth": "<tool_call>x</tool_call>"}], dtype=object),
                     "global_steps": np.array([7])},
    )
    result = asyncio.run(mgr.run_single(data))
    assert set(result) == {"reward_score", "reward_extra_info"}
    if not REAL:
        call = FAKES[-1].calls[-1]
        assert call["input_ids"].tolist() == [[3, 4, 9]] and call["step"] == 7
        ref = FakeShaperClient().shape(call["input_ids"], call["mask"], call["ground_truth"], 7)
        assert abs(result["reward_score"] - float(ref.rewards[0])) < 1e-6
    return f"reward {result['reward_score']:.4f}, extra {sorted(result['reward_extra_info'])}"


@check("config snippet composes with verl's own Hydra config")
def _config_snippet():
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    import verl.trainer.main_ppo as main_ppo
    from verl.trainer.ppo.reward import resolve_reward_manager_cls
    from verl.trainer.ppo.v1 import get_trainer_cls
    from verl.utils.config import omega_conf_to_dataclass

    with open(os.path.join(HERE, "config", "rest_shaper_overrides.txt")) as f:
        overrides = [ln.strip() for ln in f if ln.strip() and not ln.lstrip().startswith("#")]
    config_dir = os.path.join(os.path.dirname(main_ppo.__file__), "config")
    with initialize_config_dir(config_dir=config_dir, version_base=None):
        cfg = compose(config_name="ppo_trainer", overrides=["algorithm.adv_estimator=grpo", "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=4", *overrides])
    assert cfg.trainer.use_v1 is True
    assert get_trainer_cls(cfg.trainer.v1.trainer_mode) is plugin.RestPPOTrainerSync
    actor = omega_conf_to_dataclass(cfg.actor_rollout_ref.actor)
    assert actor.policy_loss.loss_mode == "rest"
    assert resolve_reward_manager_cls(cfg) is plugin.RestRewardManager
    from verl.trainer.ppo.reward import load_reward_manager

    mgr = load_reward_manager(cfg, type("Tok", (), {"pad_token_id": 3})(), reward_router_address=None,
                              reward_model_tokenizer=None)
    assert isinstance(mgr, plugin.RestRewardManager) and mgr.settings.pad_token_id == 3
    settings = plugin.settings_from_config(cfg)
    assert settings.endpoint == "ipc:///tmp/rest-shaper.sock" and settings.options == {"profile": "aligned"}
    OmegaConf.to_container(cfg.rest_shaper, resolve=True)
    return f"{len(overrides)} overrides; trainer {cfg.trainer.v1.trainer_mode}, loss {actor.policy_loss.loss_mode}"


passed = sum(1 for _, ok in RESULTS if ok)
failed = len(RESULTS) - passed
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
