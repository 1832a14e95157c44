#!/usr/bin/env python3
"""Independent numpy implementation of the Qwen3 causal-LM forward pass (HF Qwen3ForCausalLM
semantics: RMSNorm, rotate-half RoPE, GQA with q/k RMSNorm, SwiGLU), used by TrainerTests.

  qwen3_reference.py logits MODEL_DIR IDS_JSON      -> prints {"logits": [[...], ...]} (float64 maths)
  qwen3_reference.py make-fixture OUT_DIR SEED      -> writes a random tiny model (config.json,
                                                       model.safetensors with random norms), ids.json
                                                       and logits.json (the expected output)
IDS_JSON is [[id, ...], ...] (batch of equal-length rows)."""
import json, struct, sys
import numpy as np


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, t = e["data_offsets"]
        buf = raw[8 + n + b:8 + n + t]
        if e["dtype"] == "F32":
            a = np.frombuffer(buf, dtype="<f4")
        elif e["dtype"] == "BF16":
            a = (np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise SystemExit("unsupported dtype " + e["dtype"])
        out[name] = a.reshape(e["shape"]).astype(np.float64)
    return out


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, a in tensors.items():
        b = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - (len(h) + 8) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def rmsnorm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def rope(x, pos, theta):  # x [T, H, hd]
    hd = x.shape[-1]
    inv = theta ** (-np.arange(0, hd, 2, dtype=np.float64) / hd)
    ang = pos[:, None] * inv[None, :]
    cos = np.concatenate([np.cos(ang)] * 2, -1)[:, None, :]
    sin = np.concatenate([np.sin(ang)] * 2, -1)[:, None, :]
    rot = np.concatenate([-x[..., hd // 2:], x[..., :hd // 2]], -1)
    return x * cos + rot * sin


def forward(cfg, W, ids):
    d, hd = cfg["hidden_size"], cfg["head_dim"]
    H, KV, eps = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["rms_norm_eps"]
    T = len(ids)
    pos = np.arange(T, dtype=np.float64)
    x = W["model.embed_tokens.weight"][ids]
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rmsnorm(x, W[p + "input_layernorm.weight"], eps)
        q = (h @ W[p + "self_attn.q_proj.weight"].T).reshape(T, H, hd)
        k = (h @ W[p + "self_attn.k_proj.weight"].T).reshape(T, KV, hd)
        v = (h @ W[p + "self_attn.v_proj.weight"].T).reshape(T, KV, hd)
        q = rope(rmsnorm(q, W[p + "self_attn.q_norm.weight"], eps), pos, cfg["rope_theta"])
        k = rope(rmsnorm(k, W[p + "self_attn.k_norm.weight"], eps), pos, cfg["rope_theta"])
        rep = H // KV
        k = np.repeat(k, rep, axis=1); v = np.repeat(v, rep, axis=1)
        s = np.einsum("thd,shd->hts", q, k) / np.sqrt(hd)
        s = s + np.triu(np.full((T, T), -np.inf), 1)[None]
        s = np.exp(s - s.max(-1, keepdims=True)); s /= s.sum(-1, keepdims=True)
        o = np.einsum("hts,shd->thd", s, v).reshape(T, H * hd)
        x = x + o @ W[p + "self_attn.o_proj.weight"].T
        h = rmsnorm(x, W[p + "post_attention_layernorm.weight"], eps)
        g = h @ W[p + "mlp.gate_proj.weight"].T
        u = h @ W[p + "mlp.up_proj.weight"].T
        x = x + (g / (1 + np.exp(-g)) * u) @ W[p + "mlp.down_proj.weight"].T
    x = rmsnorm(x, W["model.norm.weight"], eps)
    head = W["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else W["lm_head.weight"]
    return x @ head.T


def logits_for(model_dir, ids_rows):
    cfg = json.load(open(model_dir + "/config.json"))
    W = read_safetensors(model_dir + "/model.safetensors")
    return [forward(cfg, W, np.array(r, dtype=np.int64)).tolist() for r in ids_rows]


def make_fixture(out, seed):
    rng = np.random.default_rng(seed)
    cfg = {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "vocab_size": 37, "hidden_size": 16,
           "intermediate_size": 24, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
           "head_dim": 8, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": False,
           "max_position_embeddings": 64, "hidden_act": "silu", "torch_dtype": "float32"}
    d, hd, ff = 16, 8, 24
    W = {"model.embed_tokens.weight": rng.normal(0, 1, (37, d))}
    for l in range(2):
        p = f"model.layers.{l}."
        W[p + "input_layernorm.weight"] = 1 + 0.2 * rng.normal(size=d)
        W[p + "self_attn.q_proj.weight"] = rng.normal(0, 0.3, (4 * hd, d))
        W[p + "self_attn.k_proj.weight"] = rng.normal(0, 0.3, (2 * hd, d))
        W[p + "self_attn.v_proj.weight"] = rng.normal(0, 0.3, (2 * hd, d))
        W[p + "self_attn.q_norm.weight"] = 1 + 0.2 * rng.normal(size=hd)
        W[p + "self_attn.k_norm.weight"] = 1 + 0.2 * rng.normal(size=hd)
        W[p + "self_attn.o_proj.weight"] = rng.normal(0, 0.3, (d, 4 * hd))
        W[p + "post_attention_layernorm.weight"] = 1 + 0.2 * rng.normal(size=d)
        W[p + "mlp.gate_proj.weight"] = rng.normal(0, 0.3, (ff, d))
        W[p + "mlp.up_proj.weight"] = rng.normal(0, 0.3, (ff, d))
        W[p + "mlp.down_proj.weight"] = rng.normal(0, 0.3, (d, ff))
    W["model.norm.weight"] = 1 + 0.2 * rng.normal(size=d)
    W["lm_head.weight"] = rng.normal(0, 0.3, (37, d))
    W = {k: v.astype(np.float32) for k, v in W.items()}
    import os
    os.makedirs(out, exist_ok=True)
    json.dump(cfg, open(out + "/config.json", "w"), indent=1)
    write_safetensors(out + "/model.safetensors", W)
    ids = rng.integers(0, 37, (2, 9)).tolist()
    json.dump(ids, open(out + "/ids.json", "w"))
    json.dump({"logits": logits_for(out, ids)}, open(out + "/logits.json", "w"))


if __name__ == "__main__":
    if sys.argv[1] == "logits":
        print(json.dumps({"logits": logits_for(sys.argv[2], json.load(open(sys.argv[3])))}))
    elif sys.argv[1] == "make-fixture":
        make_fixture(sys.argv[2], int(sys.argv[3]))
    else:
        raise SystemExit(__doc__)
