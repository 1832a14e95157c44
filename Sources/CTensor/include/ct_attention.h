#ifndef CT_ATTENTION_H
#define CT_ATTENTION_H
// Causal grouped-query attention of the trainer's CPU backend (attention.c): a tiled,
// FlashAttention-style forward and backward whose memory does not grow with the number of keys,
// and the plain reference kernels they are checked against. The maths is stated in attention.c.
//
// Layouts: q, out, dq [B, Tq, Hq, hd]; k, v [B, Hkv, cap, hd] (the KV-cache layout); dk, dv
// [B, Hkv, T, hd]; lse [B, Hq, Tq]. Query i of row b sits at slot qstart+i and sees the key slots
// kvstart[b] ... qstart+i (kvstart NULL: from slot 0), so a left-padded batch masks its padding.
#include <stdint.h>

/// Tiled forward: out, and lse (the log-sum-exp of each query's scaled scores, -inf for a
/// query that sees no key) when lse is non-NULL. A query that sees no key gets out = 0.
void ct_attention_fwd(const float *q, const float *k, const float *v, float *out, float *lse,
                      const int32_t *kvstart, long B, long Tq, long Hq, long Hkv, long hd, long cap,
                      long qstart, float scale);
/// Tiled backward of a qstart = 0, cap = T forward, from its out and lse: dq, dk, dv (all
/// overwritten; keys before kvstart[b] get zero gradients).
void ct_attention_bwd(const float *q, const float *k, const float *v, const float *out, const float *lse,
                      const float *dout, float *dq, float *dk, float *dv, const int32_t *kvstart,
                      long B, long T, long Hq, long Hkv, long hd, float scale);

/// Reference forward: the whole score row per query, softmax summed in double; keeps the
/// probabilities probs [B, Hq, Tq, qstart+Tq] (zero where masked) and lse when non-NULL.
void ct_attention_ref_fwd(const float *q, const float *k, const float *v, float *out, float *probs, float *lse,
                          const int32_t *kvstart, long B, long Tq, long Hq, long Hkv, long hd, long cap,
                          long qstart, float scale);
/// Reference backward from the stored probabilities of ct_attention_ref_fwd (qstart = 0, cap = T).
void ct_attention_ref_bwd(const float *q, const float *k, const float *v, const float *probs, const float *dout,
                          float *dq, float *dk, float *dv, long B, long T, long Hq, long Hkv, long hd, float scale);
#endif
