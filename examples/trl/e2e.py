"""End to end with real TRL: a tiny Qwen3 model learns a tool-calling task through the sidecar.

``make -C examples trl-e2e`` runs it (CPU, nothing downloaded). Steps:
  1. a Hugging Face tokenizer derived at run time from the vendored Qwen3 vocabulary
     (Tests/TestSupport/Fixtures/qwen.tiktoken + Qwen3's 26 added tokens), checked against the
     golden vectors' token ids;
  2. a tiny Qwen3-architecture model made by ``transformers`` from a config, over the task's slice
     of the Qwen3 vocabulary (the sidecar still receives genuine Qwen3 ids, see compact_tokenizer);
  3. a short supervised warm-up on a synthetic tool-calling task (the fallback trainer's task:
     pick one of three tools, copy a three-digit argument), so the model emits tool calls some of
     the time;
  4. TRL's GRPOTrainer through RestGRPOTrainer with a real ``rest-shaper serve``, once per arm
     (``aligned`` ResT weights, ``uniform`` weights = mask; ``aligned_structure``, ResT with γ 0.5
     on JSON structure and special tokens, with E2E_ARMS) and seed, same seed and data per arm;
  5. per-step metrics as JSONL under examples/trl/runs/, a PNG of the reward curves, and the
     sidecar's ``stats``: every shape reply acknowledged (``applied_ok``), none mismatched.
Prints ``N passed, M failed`` last; exits non-zero when a check fails.
"""
import argparse
import base64
import copy
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "examples", "python"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from datasets import Dataset  # noqa: E402
from tokenizers import AddedToken, Regex, Tokenizer, decoders, pre_tokenizers  # noqa: E402
from tokenizers.models import BPE  # noqa: E402
from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3ForCausalLM, TrainerCallback  # noqa: E402
from transformers.convert_slow_tokenizer import bytes_to_unicode  # noqa: E402
from trl import GRPOConfig  # noqa: E402

from rest_shaper_client import Client  # noqa: E402
from rest_trl import RestGRPOTrainer, RestShaperReward  # noqa: E402

TIKTOKEN = os.path.join(ROOT, "Tests", "TestSupport", "Fixtures", "qwen.tiktoken")
VECTORS = os.path.join(ROOT, "Tests", "TestSupport", "Fixtures", "rest_vectors_visible.json")
# Qwen3's pre-tokenizer pattern and added tokens (ids 151643-151668), as in its tokenizer.json.
PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
ADDED = [("<|endoftext|>", True), ("<|im_start|>", True), ("<|im_end|>", True), ("<|object_ref_start|>", True),
         ("<|object_ref_end|>", True), ("<|box_start|>", True), ("<|box_end|>", True), ("<|quad_start|>", True),
         ("<|quad_end|>", True), ("<|vision_start|>", True), ("<|vision_end|>", True), ("<|vision_pad|>", True),
         ("<|image_pad|>", True), ("<|video_pad|>", True), ("<tool_call>", False), ("</tool_call>", False),
         ("<|fim_prefix|>", True), ("<|fim_middle|>", True), ("<|fim_suffix|>", True), ("<|fim_pad|>", True),
         ("<|repo_name|>", True), ("<|file_sep|>", True), ("<tool_response>", False), ("</tool_response>", False),
         ("<think>", False), ("</think>", False)]
TOOLS = [("get", "weather", "get_weather", "city"), ("find", "book", "find_book", "title"),
         ("play", "song", "play_song", "song")]
# Arms: options for Client.shape. aligned_structure is the fallback trainer's learning-test
# schedule: the released gammas plus 0.5 on JSON structure and special tokens (which they leave at 0).
ARMS = {"aligned": {"profile": "aligned"}, "uniform": {"profile": "uniform"},
        "aligned_structure": {"profile": "aligned", "schedule": '{"gammas": {"tool_json": 0.5, "special": 0.5}}'}}
SYSTEM = "Tools: " + ", ".join(f"{v}_{n}({p})" for v, n, _, p in TOOLS)
RESULTS = []


def check(name, ok, detail=""):
    RESULTS.append(bool(ok))
    print(f"{'PASS' if ok else 'FAIL'} {name}" + (f": {detail}" if detail else ""), flush=True)


# ----------------------------------------------------------------------------- tokenizer


def _byte_level(tk):
    tk.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(PATTERN), behavior="isolated"),
                                                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tk.decoder = decoders.ByteLevel()
    return tk


def qwen3_tokenizer(cache_dir):
    """A PreTrainedTokenizerFast built from the tiktoken ranks: byte-level BPE whose merges are
    recovered from the ranks (as transformers' TikTokenConverter does), Qwen3's pattern and added tokens."""
    path = os.path.join(cache_dir, "tokenizer.json")
    if not os.path.exists(path):
        ranks = {}
        with open(TIKTOKEN, "rb") as fh:
            for line in fh:
                tok, rank = line.split()
                ranks[base64.b64decode(tok)] = int(rank)
        enc = bytes_to_unicode()

        def s(b):
            return "".join(enc[x] for x in b)

        vocab, merges = {}, []
        for tok, rank in ranks.items():
            vocab[s(tok)] = rank
            local = [(tok[:i], tok[i:], rank) for i in range(1, len(tok)) if tok[:i] in ranks and tok[i:] in ranks]
            local.sort(key=lambda m: (ranks[m[0]], ranks[m[1]]))
            merges.extend(local)
        merges.sort(key=lambda m: m[2])
        tk = Tokenizer(BPE(vocab, [(s(a), s(b)) for a, b, _ in merges], fuse_unk=False))
        tk.model.ignore_merges = True
        _byte_level(tk)
        tk.add_tokens([AddedToken(t, special=sp, normalized=False) for t, sp in ADDED])
        tk.save(path)
    tok = PreTrainedTokenizerFast(tokenizer_file=path, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    assert tok.convert_tokens_to_ids("<think>") == 151667 and tok.convert_tokens_to_ids("<|im_end|>") == 151645
    return tok


def compact_tokenizer(full, texts, cache_dir):
    """The task's slice of the Qwen3 vocabulary: the 256 byte tokens, every Qwen3 token the task's
    texts use, and the chat/tool/think added tokens, renumbered 0..N-1. Returns the tokenizer and
    ``id_map`` (compact id -> Qwen3 id). With ``ignore_merges`` and no merges, a pre-token is one
    token when the slice has it and falls back to bytes otherwise, so the task's texts tokenize
    exactly as Qwen3 does (checked by the caller).

    Why a slice: a 151,669-row embedding and LM head made one GRPO step of this tiny model take
    ~50 s on the shared 2-core machine; the model only needs the tokens of its task, while the
    sidecar still scores genuine Qwen3 ids (``MappedClient``)."""
    vocab = full.get_vocab()  # token string -> Qwen3 id
    enc = bytes_to_unicode()
    used = {enc[b] for b in range(256)}
    for t in texts:
        used.update(full.convert_ids_to_tokens(full(t, add_special_tokens=False)["input_ids"]))
    added = [t for t, _ in ADDED if t in ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>",
                                          "<think>", "</think>")]
    regular = sorted((t for t in used if t not in added), key=lambda t: vocab[t])
    tk = Tokenizer(BPE({t: i for i, t in enumerate(regular)}, [], fuse_unk=False))
    tk.model.ignore_merges = True
    _byte_level(tk)
    tk.add_tokens([AddedToken(t, special=sp, normalized=False) for t, sp in ADDED if t in added])
    path = os.path.join(cache_dir, "compact-tokenizer.json")
    tk.save(path)
    tok = PreTrainedTokenizerFast(tokenizer_file=path, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    id_map = np.array([vocab[t] for t in regular] + [vocab[t] for t in added], dtype=np.int64)
    assert all(tok.convert_tokens_to_ids(t) == len(regular) + i for i, t in enumerate(added))
    return tok, id_map


class MappedClient:
    """A ``rest_shaper_client.Client`` whose shape requests carry Qwen3 ids: the model's compact
    ids are translated with ``id_map`` on the way out; everything else passes through."""

    def __init__(self, client, id_map):
        self.client, self.id_map = client, id_map

    def shape(self, input_ids, mask, ground_truth, step, **kw):
        return self.client.shape(self.id_map[np.asarray(input_ids, dtype=np.int64)], mask, ground_truth, step, **kw)

    def __getattr__(self, name):
        return getattr(self.client, name)


# ----------------------------------------------------------------------------- task


def example(rng):
    verb, noun, name, param = TOOLS[int(rng.integers(len(TOOLS)))]
    arg = "".join(str(int(d)) for d in rng.integers(0, 10, 3))
    prompt = (f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{verb} {noun} {arg}<|im_end|>\n"
              "<|im_start|>assistant\n")
    answer = (f"<think> {verb} {noun} </think>\n<tool_call>\n"
              f'{{"name": "{name}", "parameters": {{"{param}": "{arg}"}}}}\n</tool_call>')
    return prompt, answer


def dataset(seed, n):
    rng = np.random.default_rng(seed)
    rows = [example(rng) for _ in range(n)]
    return Dataset.from_dict({"prompt": [p for p, _ in rows], "ground_truth": [a for _, a in rows]})


def tiny_model(tok, seed):
    torch.manual_seed(seed)
    cfg = Qwen3Config(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, head_dim=16, max_position_embeddings=256,
                      tie_word_embeddings=True, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
                      bos_token_id=None)
    model = Qwen3ForCausalLM(cfg)
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    return model


def warm_up(model, tok, steps, seed, batch=16, lr=3e-3):
    """Supervised steps on prompt + answer + <|im_end|>, loss on the answer only."""
    rng = np.random.default_rng(10_000 + seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    loss = None
    for _ in range(steps):
        seqs, labels = [], []
        for _ in range(batch):
            p, a = example(rng)
            pi, ai = tok(p)["input_ids"], tok(a + "<|im_end|>")["input_ids"]
            seqs.append(pi + ai)
            labels.append([-100] * len(pi) + ai)
        width = max(map(len, seqs))
        ids = torch.full((batch, width), tok.pad_token_id)
        lab = torch.full((batch, width), -100)
        att = torch.zeros((batch, width), dtype=torch.long)
        for i, (s_, l_) in enumerate(zip(seqs, labels)):
            ids[i, : len(s_)] = torch.tensor(s_)
            lab[i, : len(l_)] = torch.tensor(l_)
            att[i, : len(s_)] = 1
        loss = model(input_ids=ids, attention_mask=att, labels=lab).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    return float(loss) if loss is not None else float("nan")


# ----------------------------------------------------------------------------- GRPO


class StepLog(TrainerCallback):
    """One JSON line per step: TRL's logs (reward, loss, rest/* metrics) plus the sidecar's counters."""

    def __init__(self, path, stats_client, arm, seed):
        self.fh = open(path, "w")
        self.stats = stats_client
        self.arm, self.seed = arm, seed
        self.t0 = time.time()

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs or "loss" not in logs:
            return
        s = self.stats.stats()["stats"]
        row = {"arm": self.arm, "seed": self.seed, "step": int(state.global_step), "seconds": time.time() - self.t0}
        for k, v in logs.items():
            if isinstance(v, (int, float)):
                row[k] = float(v)
        for k in ("requests_shape", "applied_ok", "applied_mismatch", "applied_unknown", "shape_unacknowledged"):
            row["sidecar/" + k] = int(s.get(k, 0))
        self.fh.write(json.dumps(row) + "\n")
        self.fh.flush()

    def close(self):
        self.fh.close()


def run_arm(arm, seed, base_model, tok, id_map, endpoint, steps, outdir, runs_dir, args):
    model = copy.deepcopy(base_model)
    reward = RestShaperReward(endpoint=endpoint, options=dict(ARMS[arm]), pad_token_id=tok.pad_token_id,
                              client_factory=lambda ep: MappedClient(Client(ep), id_map))
    cfg = GRPOConfig(
        output_dir=os.path.join(outdir, f"{arm}-{seed}"), per_device_train_batch_size=args.batch,
        num_generations=args.generations, max_completion_length=args.max_completion, max_steps=steps,
        loss_type="bnpo", learning_rate=args.lr, logging_steps=1, report_to=[], use_cpu=True, bf16=False,
        save_strategy="no", beta=0.0, seed=seed, data_seed=seed, temperature=1.0, disable_tqdm=True,
        lr_scheduler_type="constant", warmup_steps=0, num_iterations=1, dataloader_num_workers=0,
    )
    trainer = RestGRPOTrainer(model=model, args=cfg, train_dataset=dataset(seed, steps * args.batch),
                              processing_class=tok, rest_reward=reward)
    stats = Client(endpoint)
    log = StepLog(os.path.join(runs_dir, f"{arm}-seed{seed}.jsonl"), stats, arm, seed)
    trainer.add_callback(log)
    before = stats.stats()["stats"]
    t0 = time.time()
    trainer.train()
    log.close()
    after = stats.stats()["stats"]
    delta = {k: after.get(k, 0) - before.get(k, 0)
             for k in ("requests_shape", "applied_ok", "applied_mismatch", "applied_unknown")}
    return time.time() - t0, delta, dict(trainer.rest_acks.verdicts)


# ----------------------------------------------------------------------------- plot


def plot(runs_dir, arms, seeds, png, window):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    colors = {"aligned": "tab:blue", "uniform": "tab:orange", "aligned_structure": "tab:green"}
    summary = {}
    for arm in arms:
        curves = []
        for seed in seeds:
            rows = [json.loads(line) for line in open(os.path.join(runs_dir, f"{arm}-seed{seed}.jsonl"))]
            curves.append([(r["step"], r.get("reward", np.nan), r.get("rest/correctness_mean", np.nan)) for r in rows])
        n = min(len(c) for c in curves)
        window = max(1, min(window, n))
        steps = np.array([c[0] for c in curves[0][:n]])
        for ax, j, label in ((axes[0], 1, "reward (ToolRL, −3 … 4)"), (axes[1], 2, "correctness (−3 … 3)")):
            y = np.array([[c[i][j] for i in range(n)] for c in curves], dtype=float)
            k = np.ones(window) / window
            smooth = np.array([np.convolve(r, k, mode="valid") for r in y])
            x = steps[window - 1:]
            mean = smooth.mean(axis=0)
            ax.plot(x, mean, color=colors.get(arm), label=f"{arm} (mean of {len(seeds)} seeds)")
            if len(seeds) > 1:
                ax.fill_between(x, smooth.min(axis=0), smooth.max(axis=0), color=colors.get(arm), alpha=0.2)
            ax.set_xlabel("GRPO step")
            ax.set_ylabel(label)
            ax.grid(alpha=0.3)
        rewards = np.array([[c[i][1] for i in range(n)] for c in curves], dtype=float)
        summary[arm] = {"first20": float(np.nanmean(rewards[:, :20])), "last20": float(np.nanmean(rewards[:, -20:])),
                        "last20_by_seed": [float(np.nanmean(r[-20:])) for r in rewards]}
    axes[0].legend()
    axes[0].set_title(f"reward, {window}-step moving mean; band: min-max over seeds")
    axes[1].set_title("correctness component")
    fig.suptitle("TRL GRPOTrainer + rest-shaper sidecar: tiny Qwen3 on a synthetic tool-calling task (CPU)")
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    return summary


# ----------------------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "rest-shaper"))
    ap.add_argument("--steps", type=int, default=int(os.environ.get("E2E_STEPS", 150)))
    ap.add_argument("--seeds", default=os.environ.get("E2E_SEEDS", "0,1,2"))
    ap.add_argument("--arms", default=os.environ.get("E2E_ARMS", "aligned,uniform"))
    ap.add_argument("--warmup-steps", type=int, default=int(os.environ.get("E2E_WARMUP", 60)))
    ap.add_argument("--batch", type=int, default=8, help="completions per step")
    ap.add_argument("--generations", type=int, default=4)
    ap.add_argument("--max-completion", type=int, default=40)
    ap.add_argument("--lr", type=float, default=1e-3)
    # One thread: on the shared 2-core machine two torch threads made a warm-up step 17x and a
    # generation 48x slower than one (measured: 3.6 s vs 0.21 s, 27.9 s vs 0.58 s).
    ap.add_argument("--threads", type=int, default=int(os.environ.get("E2E_THREADS", 1)))
    ap.add_argument("--runs", default=os.path.join(HERE, "runs"))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    seeds = [int(s) for s in a.seeds.split(",") if s.strip()]
    arms = [s.strip() for s in a.arms.split(",") if s.strip()]
    unknown = [x for x in arms if x not in ARMS]
    if unknown:
        ap.error(f"unknown arms {unknown} (known: {sorted(ARMS)})")
    os.makedirs(a.runs, exist_ok=True)
    work = tempfile.mkdtemp(prefix="rest-trl-e2e-")
    t_start = time.time()

    t0 = time.time()
    full = qwen3_tokenizer(work)
    golden = json.load(open(VECTORS))
    cases, n_pad = golden["cases"], int(golden["n_pad"])  # token_ids end with n_pad <|endoftext|> pads
    same = sum(full(c["response_text"], add_special_tokens=False)["input_ids"] == c["token_ids"][: len(c["token_ids"]) - n_pad]
               for c in cases)
    check("tokenizer derived from qwen.tiktoken reproduces the golden token ids", same == len(cases),
          f"{same}/{len(cases)} cases, {time.time() - t0:.0f} s")
    rng = np.random.default_rng(12345)
    texts = [p + a + "<|im_end|>" for p, a in (example(rng) for _ in range(400))]
    tok, id_map = compact_tokenizer(full, texts[:300], work)
    held_out = texts[300:]
    same = sum(id_map[tok(t, add_special_tokens=False)["input_ids"]].tolist() == full(t, add_special_tokens=False)["input_ids"]
               for t in held_out)
    check("the model's slice of the vocabulary tokenizes task texts exactly as Qwen3 (ids mapped back)",
          same == len(held_out), f"{same}/{len(held_out)} held-out texts; {len(tok)} tokens")

    endpoint = f"ipc://{work}/sidecar.sock"
    server_log = open(os.path.join(work, "server.log"), "w")
    server = subprocess.Popen([a.binary, "serve", "--bind", endpoint, "--tokenizer", TIKTOKEN, "--workers", "1",
                               "--threads", "1", "--ack-window-s", "120", "--log-level", "info"],
                              stdout=server_log, stderr=subprocess.STDOUT)
    try:
        client = Client(endpoint, timeout=2)
        for _ in range(100):
            try:
                client.ping()
                break
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.2)
                client = Client(endpoint, timeout=2)
        client = Client(endpoint, timeout=30)

        base = tiny_model(tok, seed=0)
        t0 = time.time()
        loss = warm_up(base, tok, a.warmup_steps, seed=0)
        print(f"warm-up: {a.warmup_steps} supervised steps, final loss {loss:.3f}, {time.time() - t0:.0f} s", flush=True)

        timings = {}
        for seed in seeds:
            for arm in arms:
                secs, delta, verdicts = run_arm(arm, seed, base, tok, id_map, endpoint, a.steps, work, a.runs, a)
                timings[f"{arm}-seed{seed}"] = round(secs, 1)
                print(f"{arm} seed {seed}: {a.steps} steps in {secs:.0f} s; sidecar {delta}; trainer verdicts {verdicts}",
                      flush=True)
                check(f"{arm} seed {seed}: every shape reply used was acknowledged, none mismatched",
                      delta["applied_ok"] == delta["requests_shape"] > 0 and delta["applied_mismatch"] == 0
                      and delta["applied_unknown"] == 0, str(delta))
        stats = client.stats()["stats"]
        sidecar = {k: stats[k] for k in ("requests_shape", "applied_ok", "applied_mismatch", "applied_unknown",
                                         "shape_unacknowledged")}
        print("sidecar stats:", json.dumps(sidecar), flush=True)
        check("sidecar: applied_ok = shape replies, applied_mismatch = 0",
              sidecar["applied_ok"] == sidecar["requests_shape"] and sidecar["applied_mismatch"] == 0, json.dumps(sidecar))
    finally:
        server.terminate()
        server.wait(timeout=30)
        server_log.close()

    png = os.path.join(a.runs, "reward_curves.png")
    summary = plot(a.runs, arms, seeds, png, window=10)
    total = time.time() - t_start
    report = {"steps": a.steps, "seeds": seeds, "warmup_steps": a.warmup_steps, "threads": a.threads,
              "seconds_total": round(total, 1), "seconds_per_run": timings, "reward": summary, "sidecar": sidecar,
              "png": os.path.relpath(png, ROOT)}
    with open(os.path.join(a.runs, "summary.json"), "w") as fh:
        json.dump(report, fh, indent=1)
        fh.write("\n")
    print(json.dumps(report, indent=1))
    check("PNG written", os.path.getsize(png) > 10_000, png)
    print(f"{sum(RESULTS)} passed, {len(RESULTS) - sum(RESULTS)} failed")
    return 0 if all(RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())
