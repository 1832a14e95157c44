"""Real-TRL integration check on a toy model (run by ``make -C examples trl-check``).

Builds a tiny random Qwen2 model and a character-level tokenizer in memory (nothing is
downloaded), then with the installed trl 1.16:
  1. trains RestGRPOTrainer for 2 steps with RestShaperReward as the reward (loss_type bnpo);
     checks the sidecar got the completions, the weights of the reward call were reused (one
     sidecar call per generation batch), and rest/* metrics were logged;
  2. recomputes the loss of one generated batch by hand: with bnpo and dapo it must equal ResT's
     sum(l*m*w)/sum(m*w) where l is TRL's per-token GRPO loss.
The sidecar is an in-process fake (examples/testing/fake_shaper.py) unless REST_SHAPER_ENDPOINT is set and
``rest_shaper_client`` is importable. Prints ``N passed, M failed`` last.
"""

import os
import sys
import tempfile
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "testing"))  # fake_shaper

import numpy as np  # noqa: E402
import torch  # noqa: E402
import trl  # noqa: E402
from datasets import Dataset  # noqa: E402
from tokenizers import Tokenizer, models, pre_tokenizers  # noqa: E402
from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM  # noqa: E402
from trl import GRPOConfig  # noqa: E402

from fake_shaper import FakeShaperClient  # noqa: E402
from rest_trl import RestGRPOTrainer, RestShaperReward, core  # noqa: E402

RESULTS = []


def check(name):
    def deco(fn):
        try:
            detail = fn()
            RESULTS.append((name, True))
            print(f"PASS {name}" + (f": {detail}" if detail else ""))
        except Exception:  # noqa: BLE001
            RESULTS.append((name, False))
            print(f"FAIL {name}")
            traceback.print_exc()
        return fn

    return deco


REAL = bool(os.environ.get("REST_SHAPER_ENDPOINT"))
if REAL:
    try:
        import rest_shaper_client  # noqa: F401
    except ImportError:
        REAL = False
FAKES = []


def client_factory(endpoint):
    if REAL:
        from rest_shaper_client import Client

        return Client(os.environ["REST_SHAPER_ENDPOINT"])
    FAKES.append(FakeShaperClient(endpoint))
    return FAKES[-1]


def tiny_tokenizer():
    specials = ["<pad>", "<eos>", "<tool_call>", "</tool_call>"]
    chars = [chr(c) for c in range(32, 127)] + ["\n"]
    vocab = {t: i for i, t in enumerate(specials + chars)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<pad>"))
    tok.pre_tokenizer = pre_tokenizers.Split(pattern="", behavior="isolated")
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>")
    fast.add_special_tokens({"additional_special_tokens": ["<tool_call>", "</tool_call>"]})
    return fast


def tiny_model(vocab_size):
    torch.manual_seed(0)
    cfg = Qwen2Config(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=256,
                      pad_token_id=0, eos_token_id=1, bos_token_id=None, tie_word_embeddings=True)
    return Qwen2ForCausalLM(cfg)


def dataset():
    prompts = ["call f:", "call g:", "weather?", "time?"]
    gts = ['<tool_call>\n{"name": "f"}\n</tool_call>', "plain answer", '<tool_call>\n{"name": "w"}\n</tool_call>', "t"]
    return Dataset.from_dict({"prompt": prompts, "ground_truth": gts})


def make_trainer(loss_type, outdir, max_steps=2):
    tok = tiny_tokenizer()
    args = GRPOConfig(
        output_dir=outdir, per_device_train_batch_size=4, num_generations=2, max_completion_length=8,
        max_steps=max_steps, loss_type=loss_type, learning_rate=1e-3, logging_steps=1, report_to=[],
        use_cpu=True, bf16=False, save_strategy="no", beta=0.0, seed=0, temperature=1.0,
    )
    reward = RestShaperReward(endpoint="inproc://fake", client_factory=client_factory, options={"profile": "aligned"})
    trainer = RestGRPOTrainer(model=tiny_model(len(tok)), args=args, train_dataset=dataset(),
                              processing_class=tok, rest_reward=reward)
    return trainer, reward


print(f"trl {trl.__version__}, torch {torch.__version__}, sidecar: {'real' if REAL else 'in-process fake'}")
TMP = tempfile.mkdtemp(prefix="rest-trl-check-")


@check("RestGRPOTrainer trains 2 steps with RestShaperReward (bnpo)")
def _train():
    trainer, reward = make_trainer("bnpo", os.path.join(TMP, "bnpo"))
    trainer.train()
    logs = [h for h in trainer.state.log_history if "loss" in h]
    assert len(logs) == 2, trainer.state.log_history
    # the fake's rewards differ inside a group; the real reward of a random toy model's text is flat
    assert REAL or any(h["grad_norm"] > 0 for h in logs), "no gradient reached the model"
    rest_keys = sorted({k for h in trainer.state.log_history for k in h if k.startswith("rest/")})
    assert "rest/weighted_fraction" in rest_keys, rest_keys
    if not REAL:
        calls = [c for f in FAKES for c in f.calls]
        assert len(calls) == 2, f"expected one sidecar call per generation batch (weights reused), got {len(calls)}"
        assert calls[0]["step"] == 1 and calls[1]["step"] == 2, [c["step"] for c in calls]
        assert calls[0]["input_ids"].shape[0] == 4 and calls[0]["options"] == {"profile": "aligned"}
        assert calls[0]["ground_truth"][0].startswith("<tool_call>")
    return f"losses {[round(h['loss'], 5) for h in logs]}, metrics {rest_keys}"


def hand_loss_check(loss_type):
    trainer, reward = make_trainer(loss_type, os.path.join(TMP, loss_type), max_steps=1)
    trainer.model.train()
    if not hasattr(trainer, "current_gradient_accumulation_steps"):
        trainer.current_gradient_accumulation_steps = 1
    examples = [dataset()[i] for i in (0, 0, 1, 1)]
    out = trainer._generate_and_score_completions(examples)
    w = out["rest_weights"]
    assert w.shape == out["completion_ids"].shape
    loss = trainer._compute_loss(trainer.model, out)
    ids = torch.cat([out["prompt_ids"], out["completion_ids"]], dim=1)
    att = torch.cat([out["prompt_mask"], out["completion_mask"]], dim=1)
    with torch.no_grad():
        logps, _, _ = trainer._get_per_token_logps_and_entropies(trainer.model, ids, att, out["completion_ids"].size(1))
    # old logps == current (one iteration): ratio 1, the clipped GRPO term is -A on every token
    adv = out["advantages"].unsqueeze(1).expand_as(logps).numpy()
    m = out["completion_mask"].numpy()
    want = core.rest_loss_reference(-adv, m, w.numpy())
    assert abs(loss.item() - want) < 1e-5 * max(1.0, abs(want)), (loss.item(), want)
    degenerate = not (abs(want) > 1e-6 and out["advantages"].abs().max() > 0)
    assert REAL or not degenerate, "degenerate batch: all advantages are zero"
    note = " (all advantages 0: flat real rewards on random text)" if degenerate else ""
    return f"loss {loss.item():.6f} == sum(l*m*w)/sum(m*w) {want:.6f}{note}"


@check("bnpo loss of a generated batch == ResT sum(l*m*w)/sum(m*w)")
def _bnpo():
    return hand_loss_check("bnpo")


@check("dapo loss of a generated batch == ResT sum(l*m*w)/sum(m*w) (global normaliser)")
def _dapo():
    return hand_loss_check("dapo")


@check("a loss mask that differs from the reward call's gets its own weights (mask_truncated_completions)")
def _remask():
    trainer, reward = make_trainer("bnpo", os.path.join(TMP, "remask"), max_steps=1)
    trainer.args.mask_truncated_completions = True
    trainer.mask_truncated_completions = True
    trainer.model.train()
    n_before = sum(len(f.calls) for f in FAKES)
    out = trainer._generate_and_score_completions([dataset()[i] for i in (0, 0, 1, 1)])
    n_calls = sum(len(f.calls) for f in FAKES) - n_before
    truncated = out["completion_mask"].sum(dim=1) == 0
    w = out["rest_weights"]
    assert torch.all(w[truncated] == 0) and torch.all(w[~truncated][out["completion_mask"][~truncated] == 0] == 0)
    if not REAL and bool(truncated.any()):
        assert n_calls == 2, f"expected a second sidecar call under the trainer's loss mask, got {n_calls}"
        assert FAKES[-1].calls[-1]["mask"][truncated.numpy()].sum() == 0
    calls = "real sidecar" if REAL else f"{n_calls} sidecar calls"
    return f"{int(truncated.sum())} of {len(truncated)} completions truncated and masked; {calls}"


@check("unsupported loss types are refused")
def _refuse():
    try:
        make_trainer("grpo", os.path.join(TMP, "grpo"))
    except core.RestTrlError as e:
        return str(e)[:60] + "..."
    raise AssertionError("loss_type=grpo was accepted")


passed = sum(1 for _, ok in RESULTS if ok)
failed = len(RESULTS) - passed
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
