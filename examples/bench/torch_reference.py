#!/usr/bin/env python3
"""PyTorch CPU reference for `rest-shaper bench train`: the same Qwen3-architecture model
(TrainBenchmark.config: vocab 8192, hidden 256, ffn 768, 4 layers, 8 heads / 4 kv heads,
head_dim 32, tied embeddings), the same batch × seq, the same loss (mean token log-likelihood),
timed the same way (one warm-up, then N forward and N forward+backward iterations).
Prints JSON; the ratio rest-shaper/torch is forwardBackwardTokensPerSecond / this one's
(`rest-shaper bench train --torch-python PY` runs this script interleaved with its own rounds
and prints ratio_vs_torch). process_time() counts every thread of the process, as rest-shaper's
forwardBackwardTokensPerCPUSecond does.

  python3 examples/bench/torch_reference.py [--batch 4] [--seq 128] [--iterations 5] [--threads 2]
Needs torch (not installed in CI)."""
import argparse, json, time
import torch
import torch.nn.functional as F

CFG = dict(vocab=8192, d=256, ff=768, layers=4, heads=8, kv=4, hd=32, eps=1e-6, theta=1_000_000.0)


class RMSNorm(torch.nn.Module):
    def __init__(self, n, eps):
        super().__init__(); self.w = torch.nn.Parameter(torch.ones(n)); self.eps = eps
    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.w


def rope(x, cos, sin):  # x [B, H, T, hd]
    h = x.shape[-1] // 2
    return x * cos + torch.cat([-x[..., h:], x[..., :h]], -1) * sin


class Layer(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        d, hd = c["d"], c["hd"]
        self.c = c
        self.n1, self.n2 = RMSNorm(d, c["eps"]), RMSNorm(d, c["eps"])
        self.q = torch.nn.Linear(d, c["heads"] * hd, bias=False)
        self.k = torch.nn.Linear(d, c["kv"] * hd, bias=False)
        self.v = torch.nn.Linear(d, c["kv"] * hd, bias=False)
        self.o = torch.nn.Linear(c["heads"] * hd, d, bias=False)
        self.qn, self.kn = RMSNorm(hd, c["eps"]), RMSNorm(hd, c["eps"])
        self.g = torch.nn.Linear(d, c["ff"], bias=False)
        self.u = torch.nn.Linear(d, c["ff"], bias=False)
        self.dn = torch.nn.Linear(c["ff"], d, bias=False)

    def forward(self, x, cos, sin):
        B, T, _ = x.shape
        c = self.c
        h = self.n1(x)
        q = self.qn(self.q(h).view(B, T, c["heads"], c["hd"])).transpose(1, 2)
        k = self.kn(self.k(h).view(B, T, c["kv"], c["hd"])).transpose(1, 2)
        v = self.v(h).view(B, T, c["kv"], c["hd"]).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        rep = c["heads"] // c["kv"]
        k, v = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.o(a.transpose(1, 2).reshape(B, T, -1))
        h = self.n2(x)
        return x + self.dn(F.silu(self.g(h)) * self.u(h))


class Model(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.emb = torch.nn.Embedding(c["vocab"], c["d"])
        self.layers = torch.nn.ModuleList([Layer(c) for _ in range(c["layers"])])
        self.norm = RMSNorm(c["d"], c["eps"])
        self.c = c

    def forward(self, ids):
        T, hd = ids.shape[1], self.c["hd"]
        inv = self.c["theta"] ** (-torch.arange(0, hd, 2, dtype=torch.float32) / hd)
        ang = torch.arange(T, dtype=torch.float32)[:, None] * inv[None]
        cos, sin = torch.cat([ang.cos()] * 2, -1), torch.cat([ang.sin()] * 2, -1)
        x = self.emb(ids)
        for l in self.layers:
            x = l(x, cos, sin)
        return self.norm(x) @ self.emb.weight.T


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=4); ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--iterations", type=int, default=5); ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads); torch.manual_seed(0)
    m = Model(CFG)
    ids = torch.randint(0, CFG["vocab"], (a.batch, a.seq))
    tgt = torch.randint(0, CFG["vocab"], (a.batch, a.seq))
    def fb():
        m.zero_grad(set_to_none=False)
        loss = F.cross_entropy(m(ids).view(-1, CFG["vocab"]), tgt.view(-1))
        loss.backward()
    fb()
    n = a.batch * a.seq
    t = time.perf_counter()
    with torch.no_grad():
        for _ in range(a.iterations): m(ids)
    fs = time.perf_counter() - t
    t, c = time.perf_counter(), time.process_time()
    for _ in range(a.iterations): fb()
    fbs, fbc = time.perf_counter() - t, time.process_time() - c
    print(json.dumps({"backend": "torch-cpu", "torch": torch.__version__, "threads": a.threads, "batch": a.batch, "seq": a.seq,
                      "iterations": a.iterations, "parameters": sum(p.numel() for p in m.parameters()),
                      "forwardTokensPerSecond": n * a.iterations / fs,
                      "forwardBackwardTokensPerSecond": n * a.iterations / fbs,
                      "forwardBackwardTokensPerCPUSecond": n * a.iterations / fbc,
                      "forwardBackwardSecondsPerIteration": fbs / a.iterations}, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
