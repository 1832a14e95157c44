// Causal grouped-query attention for the trainer's CPU backend.
//
// Notation (one query row i of batch row b and query head h; kv head h / (Hq/Hkv)):
//   visible keys j ∈ [s_b, qstart+i], s_b = kvstart[b] (0 without kvstart): left padding is masked;
//   s_j = scale · q_i·k_j ;  L_i = log Σ_j e^{s_j} ;  p_ij = e^{s_j − L_i} ;  o_i = Σ_j p_ij v_j.
//
// Tiled forward (online softmax, as FlashAttention): keys are visited in tiles of CT_KT starting at
// s_b, so the tile boundaries — and hence every rounding — do not depend on how much padding a row
// has (a prompt gives the same bits alone or in a padded batch). Per query a running max m, sum
// l = Σ e^{s_j − m} and accumulator a = Σ e^{s_j − m} v_j are carried across tiles; a tile with
// maximum t gives m' = max(m, t), c = e^{m − m'} and
//   l ← c·l + Σ_tile e^{s_j − m'},   a ← c·a + Σ_tile e^{s_j − m'} v_j,
// and at the end o = a / l, L = m + log l. Memory: one tile of keys, never a T × T score matrix.
// A query that sees no key (a padding slot) gets o = 0 and L = −∞.
//
// Tiled backward (FlashAttention-2 style): the probabilities are recomputed from L instead of
// being stored. With D_i = dO_i·o_i (= Σ_j p_ij dp_ij since o_i = Σ_j p_ij v_j):
//   dp_ij = dO_i·v_j,  ds_ij = p_ij (dp_ij − D_i),
//   dq_i = scale Σ_j ds_ij k_j,  dk_j = scale Σ_i ds_ij q_i,  dv_j = Σ_i p_ij dO_i.
//
// The reference kernels at the end compute the same quantities the plain way (a whole score row
// in double, probabilities stored); AttentionTests checks the tiled kernels against them.
//
// The tiled kernels are compiled twice, for AVX2+FMA and portable x86-64/other, and the variant
// is chosen at run time (the inner loops run along contiguous tiles, so the compiler vectorises
// them without reassociating any sum).
#include "ct_attention.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CT_KT 64  // keys per tile

#define CT_ALWAYS_INLINE static inline __attribute__((always_inline))

// Transposes rows [t0, t0+n) of a [cap, hd] block into tile[d * CT_KT + j] (columns j ≥ n zeroed).
CT_ALWAYS_INLINE void tile_transpose(const float *src, long t0, long n, long hd, float *tile) {
    for (long j = 0; j < n; j++) {
        const float *row = src + (t0 + j) * hd;
        for (long d = 0; d < hd; d++) tile[d * CT_KT + j] = row[d];
    }
    for (long d = 0; d < hd; d++)
        for (long j = n; j < CT_KT; j++) tile[d * CT_KT + j] = 0;
}

// s[j] = scale · Σ_d x[d] · tile[d][j] for j < CT_KT (contiguous in j: vectorises without reassociation).
CT_ALWAYS_INLINE void tile_dots(const float *x, const float *tile, long hd, float scale, float *s) {
    for (long j = 0; j < CT_KT; j++) s[j] = 0;
    for (long d = 0; d < hd; d++) {
        float xd = x[d];
        const float *t = tile + d * CT_KT;
        for (long j = 0; j < CT_KT; j++) s[j] += xd * t[j];
    }
    for (long j = 0; j < CT_KT; j++) s[j] *= scale;
}

CT_ALWAYS_INLINE void attention_fwd_body(const float *q, const float *k, const float *v, float *out, float *lse,
                                         const int32_t *kvstart, long B, long Tq, long Hq, long Hkv, long hd,
                                         long cap, long qstart, float scale) {
    long grp = Hq / Hkv;
    float *kt = malloc(sizeof(float) * (size_t)(hd * CT_KT));
    float *run = malloc(sizeof(float) * (size_t)(2 * grp * (Tq > 0 ? Tq : 1)));  // m, l per (head in group, query)
    float s[CT_KT];
    if (!kt || !run) abort();
    for (long b = 0; b < B; b++) {
        long s0 = kvstart ? kvstart[b] : 0;
        if (s0 < 0) s0 = 0;
        for (long hk = 0; hk < Hkv; hk++) {
            const float *kb = k + (b * Hkv + hk) * cap * hd;
            const float *vb = v + (b * Hkv + hk) * cap * hd;
            for (long g = 0; g < grp; g++) {
                long h = hk * grp + g;
                for (long i = 0; i < Tq; i++) {
                    run[(g * Tq + i) * 2] = -INFINITY; run[(g * Tq + i) * 2 + 1] = 0;
                    float *oi = out + ((b * Tq + i) * Hq + h) * hd;
                    for (long d = 0; d < hd; d++) oi[d] = 0;
                }
            }
            long lastKey = qstart + Tq - 1;
            for (long t0 = s0; t0 <= lastKey; t0 += CT_KT) {
                long n = lastKey - t0 + 1 < CT_KT ? lastKey - t0 + 1 : CT_KT;
                tile_transpose(kb, t0, n, hd, kt);
                // Queries that see at least the tile's first key: qstart + i >= t0.
                long i0 = t0 - qstart > 0 ? t0 - qstart : 0;
                for (long g = 0; g < grp; g++) {
                    long h = hk * grp + g;
                    for (long i = i0; i < Tq; i++) {
                        long ni = qstart + i - t0 + 1 < n ? qstart + i - t0 + 1 : n;
                        const float *qi = q + ((b * Tq + i) * Hq + h) * hd;
                        float *oi = out + ((b * Tq + i) * Hq + h) * hd;
                        float *m = &run[(g * Tq + i) * 2], *l = m + 1;
                        tile_dots(qi, kt, hd, scale, s);
                        float tmax = -INFINITY;
                        for (long j = 0; j < ni; j++) tmax = s[j] > tmax ? s[j] : tmax;
                        float mnew = tmax > *m ? tmax : *m;
                        float c = expf(*m - mnew);  // e^{-inf} = 0 on the first tile
                        float sum = 0;
                        for (long j = 0; j < ni; j++) { s[j] = expf(s[j] - mnew); sum += s[j]; }
                        *l = *l * c + sum;
                        *m = mnew;
                        for (long d = 0; d < hd; d++) oi[d] *= c;
                        for (long j = 0; j < ni; j++) {
                            const float *vj = vb + (t0 + j) * hd;
                            float p = s[j];
                            for (long d = 0; d < hd; d++) oi[d] += p * vj[d];
                        }
                    }
                }
            }
            for (long g = 0; g < grp; g++) {
                long h = hk * grp + g;
                for (long i = 0; i < Tq; i++) {
                    float m = run[(g * Tq + i) * 2], l = run[(g * Tq + i) * 2 + 1];
                    float *oi = out + ((b * Tq + i) * Hq + h) * hd;
                    if (l > 0) {
                        float inv = 1.0f / l;
                        for (long d = 0; d < hd; d++) oi[d] *= inv;
                    }
                    if (lse) lse[(b * Hq + h) * Tq + i] = l > 0 ? m + logf(l) : -INFINITY;
                }
            }
        }
    }
    free(kt); free(run);
}

CT_ALWAYS_INLINE void attention_bwd_body(const float *q, const float *k, const float *v, const float *out, const float *lse,
                                         const float *dout, float *dq, float *dk, float *dv, const int32_t *kvstart,
                                         long B, long T, long Hq, long Hkv, long hd, float scale) {
    long grp = Hq / Hkv;
    memset(dq, 0, sizeof(float) * (size_t)(B * T * Hq * hd));
    memset(dk, 0, sizeof(float) * (size_t)(B * Hkv * T * hd));
    memset(dv, 0, sizeof(float) * (size_t)(B * Hkv * T * hd));
    float *kt = malloc(sizeof(float) * (size_t)(hd * CT_KT));
    float *vt = malloc(sizeof(float) * (size_t)(hd * CT_KT));
    float *D = malloc(sizeof(float) * (size_t)(grp * (T > 0 ? T : 1)));
    float s[CT_KT], dp[CT_KT];
    if (!kt || !vt || !D) abort();
    for (long b = 0; b < B; b++) {
        long s0 = kvstart ? kvstart[b] : 0;
        if (s0 < 0) s0 = 0;
        for (long hk = 0; hk < Hkv; hk++) {
            const float *kb = k + (b * Hkv + hk) * T * hd;
            const float *vb = v + (b * Hkv + hk) * T * hd;
            float *dkb = dk + (b * Hkv + hk) * T * hd;
            float *dvb = dv + (b * Hkv + hk) * T * hd;
            for (long g = 0; g < grp; g++) {
                long h = hk * grp + g;
                for (long i = 0; i < T; i++) {
                    const float *oi = out + ((b * T + i) * Hq + h) * hd;
                    const float *doi = dout + ((b * T + i) * Hq + h) * hd;
                    float acc = 0;
                    for (long d = 0; d < hd; d++) acc += doi[d] * oi[d];
                    D[g * T + i] = acc;
                }
            }
            for (long t0 = s0; t0 < T; t0 += CT_KT) {
                long n = T - t0 < CT_KT ? T - t0 : CT_KT;
                tile_transpose(kb, t0, n, hd, kt);
                tile_transpose(vb, t0, n, hd, vt);
                for (long g = 0; g < grp; g++) {
                    long h = hk * grp + g;
                    for (long i = t0; i < T; i++) {
                        long ni = i - t0 + 1 < n ? i - t0 + 1 : n;
                        float L = lse[(b * Hq + h) * T + i];
                        if (L == -INFINITY) continue;  // a query that saw no key has no gradient
                        const float *qi = q + ((b * T + i) * Hq + h) * hd;
                        const float *doi = dout + ((b * T + i) * Hq + h) * hd;
                        float *dqi = dq + ((b * T + i) * Hq + h) * hd;
                        tile_dots(qi, kt, hd, scale, s);
                        tile_dots(doi, vt, hd, 1.0f, dp);
                        float Di = D[g * T + i];
                        for (long j = 0; j < ni; j++) {
                            float p = expf(s[j] - L);
                            s[j] = p;                        // p_ij
                            dp[j] = p * (dp[j] - Di) * scale;  // scale · ds_ij
                        }
                        for (long j = 0; j < ni; j++) {
                            const float *kj = kb + (t0 + j) * hd;
                            float *dkj = dkb + (t0 + j) * hd, *dvj = dvb + (t0 + j) * hd;
                            float ds = dp[j], p = s[j];
                            for (long d = 0; d < hd; d++) {
                                dqi[d] += ds * kj[d];
                                dkj[d] += ds * qi[d];
                                dvj[d] += p * doi[d];
                            }
                        }
                    }
                }
            }
        }
    }
    free(kt); free(vt); free(D);
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
__attribute__((target("avx2,fma")))
static void attention_fwd_avx2(const float *q, const float *k, const float *v, float *out, float *lse, const int32_t *kvstart,
                               long B, long Tq, long Hq, long Hkv, long hd, long cap, long qstart, float scale) {
    attention_fwd_body(q, k, v, out, lse, kvstart, B, Tq, Hq, Hkv, hd, cap, qstart, scale);
}
__attribute__((target("avx2,fma")))
static void attention_bwd_avx2(const float *q, const float *k, const float *v, const float *out, const float *lse,
                               const float *dout, float *dq, float *dk, float *dv, const int32_t *kvstart,
                               long B, long T, long Hq, long Hkv, long hd, float scale) {
    attention_bwd_body(q, k, v, out, lse, dout, dq, dk, dv, kvstart, B, T, Hq, Hkv, hd, scale);
}
static int has_avx2_fma(void) {
    static int cached = -1;
    if (cached < 0) { __builtin_cpu_init(); cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
    return cached;
}
#define CT_HAVE_AVX2_VARIANT 1
#endif

static void attention_fwd_portable(const float *q, const float *k, const float *v, float *out, float *lse, const int32_t *kvstart,
                                   long B, long Tq, long Hq, long Hkv, long hd, long cap, long qstart, float scale) {
    attention_fwd_body(q, k, v, out, lse, kvstart, B, Tq, Hq, Hkv, hd, cap, qstart, scale);
}
static void attention_bwd_portable(const float *q, const float *k, const float *v, const float *out, const float *lse,
                                   const float *dout, float *dq, float *dk, float *dv, const int32_t *kvstart,
                                   long B, long T, long Hq, long Hkv, long hd, float scale) {
    attention_bwd_body(q, k, v, out, lse, dout, dq, dk, dv, kvstart, B, T, Hq, Hkv, hd, scale);
}

void ct_attention_fwd(const float *q, const float *k, const float *v, float *out, float *lse,
                      const int32_t *kvstart, long B, long Tq, long Hq, long Hkv, long hd, long cap,
                      long qstart, float scale) {
#ifdef CT_HAVE_AVX2_VARIANT
    if (has_avx2_fma()) { attention_fwd_avx2(q, k, v, out, lse, kvstart, B, Tq, Hq, Hkv, hd, cap, qstart, scale); return; }
#endif
    attention_fwd_portable(q, k, v, out, lse, kvstart, B, Tq, Hq, Hkv, hd, cap, qstart, scale);
}

void ct_attention_bwd(const float *q, const float *k, const float *v, const float *out, const float *lse,
                      const float *dout, float *dq, float *dk, float *dv, const int32_t *kvstart,
                      long B, long T, long Hq, long Hkv, long hd, float scale) {
#ifdef CT_HAVE_AVX2_VARIANT
    if (has_avx2_fma()) { attention_bwd_avx2(q, k, v, out, lse, dout, dq, dk, dv, kvstart, B, T, Hq, Hkv, hd, scale); return; }
#endif
    attention_bwd_portable(q, k, v, out, lse, dout, dq, dk, dv, kvstart, B, T, Hq, Hkv, hd, scale);
}

// ── Reference kernels ──

// Whole score row per query: s_j = scale·q_i·k_j over the visible keys, p = softmax(s) with the
// sum in double, out_i = Σ_j p_j v_j; probs [B, Hq, Tq, qstart+Tq] zero where masked.
void ct_attention_ref_fwd(const float *q, const float *k, const float *v, float *out, float *probs, float *lse,
                          const int32_t *kvstart, long B, long Tq, long Hq, long Hkv, long hd, long cap,
                          long qstart, float scale) {
    long tk = qstart + Tq, grp = Hq / Hkv;
    float *srow = malloc(sizeof(float) * (size_t)(tk > 0 ? tk : 1));
    if (!srow) abort();
    for (long b = 0; b < B; b++) {
        long s0 = kvstart ? kvstart[b] : 0;
        if (s0 < 0) s0 = 0;
        for (long h = 0; h < Hq; h++) {
            const float *kb = k + (b * Hkv + h / grp) * cap * hd;
            const float *vb = v + (b * Hkv + h / grp) * cap * hd;
            for (long i = 0; i < Tq; i++) {
                const float *qi = q + ((b * Tq + i) * Hq + h) * hd;
                float *oi = out + ((b * Tq + i) * Hq + h) * hd;
                long n = qstart + i + 1;
                for (long j = 0; j < tk; j++) srow[j] = 0;
                for (long d = 0; d < hd; d++) oi[d] = 0;
                if (s0 >= n) {
                    if (lse) lse[(b * Hq + h) * Tq + i] = -INFINITY;
                } else {
                    float mx = -INFINITY;
                    for (long j = s0; j < n; j++) {
                        const float *kj = kb + j * hd; float s = 0;
                        for (long d = 0; d < hd; d++) s += qi[d] * kj[d];
                        s *= scale; srow[j] = s; if (s > mx) mx = s;
                    }
                    double sum = 0;
                    for (long j = s0; j < n; j++) sum += exp((double)srow[j] - mx);
                    for (long j = s0; j < n; j++) {
                        float p = (float)(exp((double)srow[j] - mx) / sum);
                        srow[j] = p;
                        const float *vj = vb + j * hd;
                        for (long d = 0; d < hd; d++) oi[d] += p * vj[d];
                    }
                    if (lse) lse[(b * Hq + h) * Tq + i] = (float)(mx + log(sum));
                }
                if (probs) memcpy(probs + ((b * Hq + h) * Tq + i) * tk, srow, sizeof(float) * (size_t)tk);
            }
        }
    }
    free(srow);
}

// From stored probabilities: dv_j += p_ij dO_i ; dp_ij = dO_i·v_j ; ds_ij = p_ij (dp_ij − Σ_l p_il dp_il);
// dq_i = scale Σ_j ds_ij k_j ; dk_j += scale Σ_i ds_ij q_i.
void ct_attention_ref_bwd(const float *q, const float *k, const float *v, const float *probs, const float *dout,
                          float *dq, float *dk, float *dv, long B, long T, long Hq, long Hkv, long hd, float scale) {
    long grp = Hq / Hkv;
    memset(dk, 0, sizeof(float) * (size_t)(B * Hkv * T * hd));
    memset(dv, 0, sizeof(float) * (size_t)(B * Hkv * T * hd));
    float *dp = malloc(sizeof(float) * (size_t)(T > 0 ? T : 1));
    if (!dp) abort();
    for (long b = 0; b < B; b++)
        for (long h = 0; h < Hq; h++) {
            const float *kb = k + (b * Hkv + h / grp) * T * hd;
            const float *vb = v + (b * Hkv + h / grp) * T * hd;
            float *dkb = dk + (b * Hkv + h / grp) * T * hd;
            float *dvb = dv + (b * Hkv + h / grp) * T * hd;
            for (long i = 0; i < T; i++) {
                const float *pr = probs + ((b * Hq + h) * T + i) * T;
                const float *doi = dout + ((b * T + i) * Hq + h) * hd;
                const float *qi = q + ((b * T + i) * Hq + h) * hd;
                float *dqi = dq + ((b * T + i) * Hq + h) * hd;
                long n = i + 1;
                double dot = 0;
                for (long j = 0; j < n; j++) {
                    const float *vj = vb + j * hd; float s = 0;
                    for (long d = 0; d < hd; d++) s += doi[d] * vj[d];
                    dp[j] = s; dot += (double)pr[j] * s;
                    float *dvj = dvb + j * hd; float p = pr[j];
                    for (long d = 0; d < hd; d++) dvj[d] += p * doi[d];
                }
                for (long d = 0; d < hd; d++) dqi[d] = 0;
                for (long j = 0; j < n; j++) {
                    float ds = pr[j] * (dp[j] - (float)dot) * scale;
                    const float *kj = kb + j * hd; float *dkj = dkb + j * hd;
                    for (long d = 0; d < hd; d++) { dqi[d] += ds * kj[d]; dkj[d] += ds * qi[d]; }
                }
            }
        }
    free(dp);
}
