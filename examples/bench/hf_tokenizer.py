#!/usr/bin/env python3
"""The HF `tokenizers` side of `rest-shaper bench tokenizer`: encodes (ids + offsets) and decodes
the same rollout texts on one thread and prints one JSON object. rest-shaper runs it interleaved
with its own rounds and divides the medians (encode_ratio_vs_hf).

  python3 examples/bench/hf_tokenizer.py --tokenizer tokenizer.json|qwen.tiktoken \
      --texts TEXTS.json [--added-tokens ADDED.json] [--repeat 5]

TEXTS.json is a JSON list of strings. A `.tiktoken` rank file is converted the standard way
(byte-level vocab; merges = every split of a token into two tokens, ordered by the merged rank,
then the left and right ranks; the Qwen split regex; NFC; ignore_merges), with the added tokens
of ADDED.json ([{"id", "content", "special"}]). Checksums of the ids and offsets let the caller
check that both sides produced the same encodings. Needs `tokenizers` (pip install tokenizers)."""
import argparse, base64, json, os, statistics, time

os.environ.setdefault("RAYON_NUM_THREADS", "1")       # one thread, like the Swift side
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

QWEN_PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
MOD = (1 << 61) - 1


def byte_level_alphabet():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def from_tiktoken(path, added):
    from tokenizers import Tokenizer, Regex, AddedToken, models, pre_tokenizers, normalizers, decoders
    ranks = {}
    with open(path, "rb") as f:
        for line in f:
            line = line.strip()
            if line:
                tok, rank = line.split()
                ranks[base64.b64decode(tok)] = int(rank)
    enc = byte_level_alphabet()
    s = lambda b: "".join(enc[x] for x in b)
    merges = []
    for tok, rank in ranks.items():
        for k in range(1, len(tok)):
            l, r = ranks.get(tok[:k]), ranks.get(tok[k:])
            if l is not None and r is not None:
                merges.append((rank, l, r, tok[:k], tok[k:]))
    merges.sort()
    t = Tokenizer(models.BPE({s(b): i for b, i in ranks.items()}, [(s(a), s(b)) for _, _, _, a, b in merges], ignore_merges=True))
    t.normalizer = normalizers.NFC()
    t.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(QWEN_PATTERN), "isolated"),
                                               pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    t.decoder = decoders.ByteLevel()
    specials = sorted(added, key=lambda a: a["id"])
    t.add_tokens([AddedToken(a["content"], special=a["special"], normalized=False) for a in specials])
    for a in specials:
        assert t.token_to_id(a["content"]) == a["id"], f"added token {a['content']} got id {t.token_to_id(a['content'])}, expected {a['id']}"
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", required=True); ap.add_argument("--texts", required=True)
    ap.add_argument("--added-tokens"); ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    import tokenizers
    from tokenizers import Tokenizer
    if a.tokenizer.endswith(".json"):
        tok = Tokenizer.from_file(a.tokenizer)
    else:
        with open(a.added_tokens) as f:
            tok = from_tiktoken(a.tokenizer, json.load(f))
    with open(a.texts) as f:
        texts = json.load(f)
    enc_t, dec_t, encodings = [], [], None
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        encodings = [tok.encode(x, add_special_tokens=False) for x in texts]   # ids and offsets
        enc_t.append(time.perf_counter() - t0)
        ids = [e.ids for e in encodings]
        t0 = time.perf_counter()
        for row in ids:
            tok.decode(row, skip_special_tokens=False)
        dec_t.append(time.perf_counter() - t0)
    ids_sum, off_sum, n = 0, 0, 0
    for e in encodings:
        for i, (s, t) in zip(e.ids, e.offsets):
            n += 1
            ids_sum = (ids_sum + n * (i + 1)) % MOD
            off_sum = (off_sum + n * (s * 31 + t + 1)) % MOD
    print(json.dumps({"tokenizers": tokenizers.__version__, "threads": 1, "rollouts": len(texts), "tokens": n,
                      "bytes": sum(len(x.encode()) for x in texts),
                      "encode_seconds": statistics.median(enc_t), "decode_seconds": statistics.median(dec_t),
                      "ids_checksum": ids_sum, "offsets_checksum": off_sum}))


if __name__ == "__main__":
    main()
