#!/usr/bin/env python3
"""PyTorch eager reference for `rest-shaper bench grpo`: the same GRPO step on the same GPU.

The model is HF transformers' Qwen3ForCausalLM built from the same config.json (random weights,
SDPA attention, eager mode); the step has the same shape as the Swift benchmark:
  * `--prompts` prompts whose lengths are spaced evenly from 3/4 of `--prompt-tokens` to it
    (GRPOBenchmark.promptLengths), `--samples` rollouts each, `--new-tokens` new tokens per rollout
    (EOS ignored, so every rollout is full length);
  * rollout: `model.generate` on the left-padded prompt batch, sampling at temperature 1
    (optional: `--no-rollout`);
  * update: per prompt group, micro-batches of `--micro-batch` sequences (0: the whole group),
    logits only for the response positions (`logits_to_keep`), a plain PPO-clip loss
    -min(r*A, clip(r, 1-eps, 1+eps)*A) with r = exp(logp - logp_old), uniform token weights,
    Sigma(l*w)/Sigma(w) per group averaged over groups; then gradient-norm clipping to 1 and one
    AdamW step. `--precision bf16`: fp32 master weights and optimizer state, bf16 autocast (the
    Swift side's bf16 mode); `--recompute`: gradient checkpointing.
Tokens/s: sampled tokens per rollout second; prompt + response tokens per update second — the
counts `rest-shaper bench grpo` prints. Peak memory: torch.cuda.max_memory_allocated.

  python3 examples/bench/torch_grpo_step.py --model-config examples/train/qwen3-1.7b-shape.json \
      [--prompts 8] [--samples 8] [--prompt-tokens 512] [--new-tokens 1024] [--micro-batch 0] \
      [--precision bf16] [--recompute] [--device cuda] [--no-rollout]
Needs torch and transformers (not installed in CI; the GPU machine's image has both)."""
import argparse
import contextlib
import json
import time

import torch
import torch.nn.functional as F


def prompt_lengths(count, tokens):
    """GRPOBenchmark.promptLengths: evenly from 3/4·tokens to tokens (integer arithmetic)."""
    if count == 1:
        return [tokens]
    return [tokens - (tokens // 4) * (count - 1 - p) // (count - 1) for p in range(count)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-config", required=True)
    ap.add_argument("--prompts", type=int, default=8)
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--prompt-tokens", type=int, default=512)
    ap.add_argument("--new-tokens", type=int, default=1024)
    ap.add_argument("--micro-batch", type=int, default=0)
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="bf16")
    ap.add_argument("--recompute", action="store_true")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--no-rollout", action="store_true")
    ap.add_argument("--clip-eps", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    from transformers import Qwen3Config, Qwen3ForCausalLM

    with open(a.model_config) as f:
        fields = {k: v for k, v in json.load(f).items() if k not in ("architectures", "model_type")}
    cfg = Qwen3Config(**fields)
    cfg._attn_implementation = "sdpa"
    torch.manual_seed(a.seed)
    dev = torch.device(a.device)
    cuda = dev.type == "cuda"
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 means fp32, as cuBLAS sgemm on the Swift side
    model = Qwen3ForCausalLM(cfg).to(dev)
    if a.recompute:
        model.gradient_checkpointing_enable()
        model.config.use_cache = False
    params = sum(p.numel() for p in model.parameters())
    autocast = (lambda: torch.autocast(dev.type, dtype=torch.bfloat16)) if a.precision == "bf16" else contextlib.nullcontext
    opt = torch.optim.AdamW(model.parameters(), lr=1e-6, weight_decay=0.01)
    g = torch.Generator(device="cpu").manual_seed(a.seed + 1)
    lengths = prompt_lengths(a.prompts, a.prompt_tokens)
    prompts = [torch.randint(0, cfg.vocab_size, (n,), generator=g) for n in lengths]
    n, N = a.samples, a.new_tokens

    def sync():
        if cuda:
            torch.cuda.synchronize()

    def update(groups, count_tokens=True):
        """groups: list of (prompt [P], responses [n, N]); returns (loss, tokens)."""
        total_loss, tokens = 0.0, 0
        mb = a.micro_batch if a.micro_batch > 0 else len(groups[0][1])
        for prompt, responses in groups:
            adv = torch.randn(len(responses), generator=g)
            adv = (adv - adv.mean()).to(dev)
            denom = float(responses.numel())  # uniform weights: Sigma(w) = response tokens of the group
            for s in range(0, len(responses), mb):
                resp = responses[s:s + mb].to(dev)
                ids = torch.cat([prompt.to(dev).expand(len(resp), -1), resp], dim=1)
                with autocast():
                    out = model(input_ids=ids[:, :-1], logits_to_keep=resp.shape[1], use_cache=False)
                logp = torch.log_softmax(out.logits.float(), dim=-1).gather(-1, resp.unsqueeze(-1)).squeeze(-1)
                ratio = torch.exp(logp - logp.detach())
                A = adv[s:s + mb].unsqueeze(1)
                tok = -torch.minimum(ratio * A, torch.clamp(ratio, 1 - a.clip_eps, 1 + a.clip_eps) * A)
                loss = tok.sum() / denom / len(groups)
                loss.backward()
                total_loss += float(loss.detach())
                tokens += ids.numel()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return total_loss, tokens

    # Warm-up of both phases (kernel selection, allocator) outside the timings.
    with torch.no_grad(), autocast():
        model.generate(prompts[0][:16].unsqueeze(0).to(dev), do_sample=True, max_new_tokens=4, min_new_tokens=4,
                       top_k=0, top_p=1.0, temperature=1.0, pad_token_id=0)
    update([(prompts[0][:16], torch.randint(0, cfg.vocab_size, (2, 4), generator=g))])
    sync()
    if cuda:
        torch.cuda.reset_peak_memory_stats()

    result = dict(backend="torch-" + dev.type, precision=a.precision, parameters=params, prompts=a.prompts, samples=n,
                  promptLengths=lengths, newTokens=N, microBatch=a.micro_batch if a.micro_batch > 0 else n,
                  recompute=a.recompute, torch=torch.__version__)
    if not a.no_rollout:
        # Left-padded batch of every prompt repeated n times, sampled to exactly N new tokens.
        width = max(lengths)
        ids = torch.zeros((a.prompts * n, width), dtype=torch.long)
        mask = torch.zeros_like(ids)
        for p, pr in enumerate(prompts):
            for s in range(n):
                ids[p * n + s, width - len(pr):] = pr
                mask[p * n + s, width - len(pr):] = 1
        sync()
        t0 = time.perf_counter()
        with torch.no_grad(), autocast():
            out = model.generate(ids.to(dev), attention_mask=mask.to(dev), do_sample=True, max_new_tokens=N,
                                 min_new_tokens=N, top_k=0, top_p=1.0, temperature=1.0, pad_token_id=0)
        sync()
        secs = time.perf_counter() - t0
        responses = out[:, width:].cpu()
        result.update(rolloutSeconds=secs, rolloutTokensPerSecond=responses.numel() / secs)
    else:
        responses = torch.randint(0, cfg.vocab_size, (a.prompts * n, N), generator=g)
    groups = [(prompts[p], responses[p * n:(p + 1) * n]) for p in range(a.prompts)]
    sync()
    t0 = time.perf_counter()
    loss, _ = update(groups)
    sync()
    secs = time.perf_counter() - t0
    tokens = sum((len(p) + N) * n for p in prompts)
    result.update(updateSeconds=secs, updateTokens=tokens, updateTokensPerSecond=tokens / secs, loss=loss)
    if cuda:
        result["peakDeviceBytes"] = torch.cuda.max_memory_allocated()
    print(json.dumps(result, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
