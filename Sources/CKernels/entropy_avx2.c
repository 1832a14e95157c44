// Streaming per-row entropy, AVX2 + FMA (+ F16C for fp16), one pass over memory.
//
// Maths. With y = x/τ, work in base 2: z_i = y_i·log2(e) = x_i·c, c = log2(e)/τ, and keep a running
// reference m ≈ max z seen so far. Over the row maintain
//     S = Σ 2^{z_i − m}        U = Σ 2^{z_i − m}·(z_i − m)
// Then logsumexp(y) = ln2·(m + log2 S) and Σ p_i·y_i = ln2·(m + U/S), so
//     H = ln S − ln2·U/S.
// H is invariant under a common shift of all z − m (S → 2^a S, U → 2^a (U + a S)), so m only has
// to be *near* the maximum; when a block reveals a larger maximum m' the sums are rescaled:
//     U ← 2^{m−m'}·(U + (m − m')·S),   S ← 2^{m−m'}·S      (double precision, exact factors).
// Blocks of 4096 elements are processed against the m of the previous blocks (no second pass
// over memory); a block whose values exceed that m by more than 64 (2^64 would risk float
// overflow of the block sums) is redone against its own maximum — this happens only when the
// maximum jumps, typically once per row at most. The first block with a finite value sets m from a
// max-only pre-pass. Per block the sums are kept in 4×8 float lanes (≤ 128 terms per lane, so the
// float rounding stays ≤ ~1e-5 relative even in the worst case) and added to double row sums.
// Masked logits (−inf) give z − m = −inf, clamped to −125: 2^{−125} ≈ 2.4e−38 each, i.e. nothing.
//
// Skipping (the "skip" instantiation). A group of 32 values whose z − m all lie below
//     θ = −T·log2(e) + max(0, log2 S)
// is not exponentiated. Every skipped value has final probability p ≤ e^{−T}: its share is
// 2^{z−m}/S at the time of the test, and both later rescaling and later terms only shrink it
// (m only grows, S only gains terms). So the skipped mass is ε ≤ n_skipped·e^{−T} ≤ V·e^{−T}.
// Writing H = h(ε) + (1−ε)·H_kept + ε·H_skipped (grouping rule; h = binary entropy) and using
// 0 ≤ H_skipped ≤ ln V, 0 ≤ H_kept ≤ ln V:
//     |H − H_kept| ≤ h(ε) + ε·ln V.
// T is the smallest value making that bound ≤ 1e−5 for the row length (T ≈ 26.8 for V = 151,936),
// see ck_entropy_skip_threshold. Whether a block runs with the skip branch is decided from the
// previous block's fraction of skippable groups (≥ 3/4), because a branch taken unpredictably costs
// more than the exps it saves; blocks run without it still count skippable groups. The worst case
// (one value at the max, V−1 just below the threshold) is built and checked in
// Tests/EntropyTests/SkipBoundTests.swift.
// NaN detection: a NaN reaches U through the FMA e·d (NaN·anything = NaN) in kept groups, and
// skipped groups are tested with an unordered compare; +inf gives 2^{inf−inf} = NaN. Any
// non-finite outcome, or a reference m beyond 2^20 (see reference_ok), makes the caller re-run the
// row in float64 (entropy_f64.c), which reports a real NaN / +inf as an error and computes finite
// rows with huge logits exactly.
// Reference check: Tests/EntropyTests/ReferenceTests.swift (float64 reference, every dtype).
#include "ckernels.h"
#include "entropy_internal.h"
#include <math.h>

#if defined(__x86_64__)
#include "exp2_avx2.h"

#define CK_BLOCK 4096
#define CK_REDO_LIMIT 64.0f

/// Loads 32 consecutive logits (starting at element i) as four float vectors. bf16 rows are split
/// into even elements (shifted up) and odd elements (low half masked off): the order of terms does
/// not matter to the sums, and that costs one integer op per 8 values.
CK_AVX2_TARGET static CK_INLINE void load32(const void *p, size_t i, int dtype, __m256 x[4]) {
    if (dtype == CK_DTYPE_F32) {
        const float *f = (const float *)p + i;
        x[0] = _mm256_loadu_ps(f); x[1] = _mm256_loadu_ps(f + 8);
        x[2] = _mm256_loadu_ps(f + 16); x[3] = _mm256_loadu_ps(f + 24);
    } else if (dtype == CK_DTYPE_BF16) {
        const __m256i *q = (const __m256i *)((const uint16_t *)p + i);
        const __m256i hi = _mm256_set1_epi32((int)0xffff0000u);
        __m256i a = _mm256_loadu_si256(q), b = _mm256_loadu_si256(q + 1);
        x[0] = _mm256_castsi256_ps(_mm256_slli_epi32(a, 16));
        x[1] = _mm256_castsi256_ps(_mm256_and_si256(a, hi));
        x[2] = _mm256_castsi256_ps(_mm256_slli_epi32(b, 16));
        x[3] = _mm256_castsi256_ps(_mm256_and_si256(b, hi));
    } else {
        const __m128i *q = (const __m128i *)((const uint16_t *)p + i);
        x[0] = _mm256_cvtph_ps(_mm_loadu_si128(q)); x[1] = _mm256_cvtph_ps(_mm_loadu_si128(q + 1));
        x[2] = _mm256_cvtph_ps(_mm_loadu_si128(q + 2)); x[3] = _mm256_cvtph_ps(_mm_loadu_si128(q + 3));
    }
}

/// Loads the last n < 32 logits of a block padded with −inf (scalar widening).
CK_AVX2_TARGET static CK_INLINE void load_tail(const void *p, size_t i, size_t n, int dtype, __m256 x[4]) {
    float buf[32];
    for (size_t j = 0; j < 32; j++) buf[j] = j < n ? ck_load_scalar(p, dtype, i + j) : -INFINITY;
    load32(buf, 0, CK_DTYPE_F32, x);
}

CK_AVX2_TARGET static CK_INLINE float hmax(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

CK_AVX2_TARGET static CK_INLINE double hsum_d(__m256 v) {
    __m256d a = _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
    __m128d b = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
    return _mm_cvtsd_f64(_mm_add_sd(b, _mm_unpackhi_pd(b, b)));
}

/// Max of the raw logits of a block (the pre-pass that seeds m); *has_nan set when a NaN is seen.
CK_AVX2_TARGET static CK_INLINE float block_max_x(const void *p, size_t start, size_t n, int dtype, int *has_nan) {
    __m256 mx = _mm256_set1_ps(-INFINITY), un = _mm256_setzero_ps(), x[4];
    size_t i = 0;
    // Full groups, then the tail once: the loop has no tail test (the unswitching -O3 would do).
    for (; i + 32 <= n; i += 32) {
        load32(p, start + i, dtype, x);
        un = _mm256_or_ps(un, _mm256_or_ps(_mm256_cmp_ps(x[0], x[1], _CMP_UNORD_Q), _mm256_cmp_ps(x[2], x[3], _CMP_UNORD_Q)));
        mx = _mm256_max_ps(mx, _mm256_max_ps(_mm256_max_ps(x[0], x[1]), _mm256_max_ps(x[2], x[3])));
    }
    if (i < n) {
        load_tail(p, start + i, n - i, dtype, x);
        un = _mm256_or_ps(un, _mm256_or_ps(_mm256_cmp_ps(x[0], x[1], _CMP_UNORD_Q), _mm256_cmp_ps(x[2], x[3], _CMP_UNORD_Q)));
        mx = _mm256_max_ps(mx, _mm256_max_ps(_mm256_max_ps(x[0], x[1]), _mm256_max_ps(x[2], x[3])));
    }
    *has_nan = _mm256_movemask_ps(un) != 0;
    return hmax(mx);
}

typedef struct { double s, u; float dmax; int nan; size_t skippable, groups; } block_sums;

/// How run_block treats groups below the skip threshold θ.
enum { MODE_PLAIN = 0, MODE_SKIP = 1, MODE_COUNT = 2 };

/// run_block's running sums (kept in registers: run_group is always inlined).
typedef struct { __m256 s0, s1, s2, s3, u0, u1, u2, u3, un, vmax; size_t skippable; } run_acc;

/// One group of 32 logits into the running sums (see run_block).
CK_AVX2_TARGET static CK_INLINE void run_group(run_acc *a, const __m256 x[4], int mode, __m256 vc, __m256 vnm,
                                              __m256 lo, __m256 vth) {
    __m256 d0 = _mm256_fmadd_ps(x[0], vc, vnm), d1 = _mm256_fmadd_ps(x[1], vc, vnm);
    __m256 d2 = _mm256_fmadd_ps(x[2], vc, vnm), d3 = _mm256_fmadd_ps(x[3], vc, vnm);
    __m256 gm = _mm256_max_ps(_mm256_max_ps(d0, d1), _mm256_max_ps(d2, d3));
    a->vmax = _mm256_max_ps(a->vmax, gm);
    if (mode == MODE_SKIP && _mm256_movemask_ps(_mm256_cmp_ps(gm, vth, _CMP_GT_OQ)) == 0) {
        a->un = _mm256_or_ps(a->un, _mm256_or_ps(_mm256_cmp_ps(d0, d1, _CMP_UNORD_Q), _mm256_cmp_ps(d2, d3, _CMP_UNORD_Q)));
        a->skippable++;
        return;
    }
    if (mode == MODE_COUNT) a->skippable += _mm256_movemask_ps(_mm256_cmp_ps(gm, vth, _CMP_GT_OQ)) == 0;
    // max(lo, d) returns d when d is NaN (the second operand), so NaN reaches u via the FMA.
    d0 = _mm256_max_ps(lo, d0); d1 = _mm256_max_ps(lo, d1);
    d2 = _mm256_max_ps(lo, d2); d3 = _mm256_max_ps(lo, d3);
    __m256 e0 = ck_exp2_ps(d0), e1 = ck_exp2_ps(d1), e2 = ck_exp2_ps(d2), e3 = ck_exp2_ps(d3);
    a->s0 = _mm256_add_ps(a->s0, e0); a->s1 = _mm256_add_ps(a->s1, e1);
    a->s2 = _mm256_add_ps(a->s2, e2); a->s3 = _mm256_add_ps(a->s3, e3);
    a->u0 = _mm256_fmadd_ps(e0, d0, a->u0); a->u1 = _mm256_fmadd_ps(e1, d1, a->u1);
    a->u2 = _mm256_fmadd_ps(e2, d2, a->u2); a->u3 = _mm256_fmadd_ps(e3, d3, a->u3);
}

/// One block against the reference m: sums of 2^{d} and 2^{d}·d with d = x·c − m (clamped ≥ −125),
/// the block's max d, and whether a skipped group held a NaN. MODE_SKIP branches around groups
/// whose d all lie below θ; MODE_COUNT exponentiates everything but counts the groups that could
/// have been skipped (so the caller can decide whether skipping pays: a skip branch that goes both
/// ways unpredictably costs more in mispredictions than it saves); MODE_PLAIN does neither.
CK_AVX2_TARGET static CK_INLINE block_sums run_block(const void *p, size_t start, size_t n, int dtype, int mode,
                                                    float c, float m, float theta) {
    const __m256 vc = _mm256_set1_ps(c), vnm = _mm256_set1_ps(-m), lo = _mm256_set1_ps(-125.0f);
    const __m256 vth = _mm256_set1_ps(theta);
    const __m256 z = _mm256_setzero_ps();
    run_acc a = { z, z, z, z, z, z, z, z, z, _mm256_set1_ps(-INFINITY), 0 };
    __m256 x[4];
    size_t i = 0;
    // Full groups, then the tail once: the loop has no tail test (the unswitching -O3 would do;
    // release builds are -O2, and a versioned dependency may not carry unsafeFlags).
    for (; i + 32 <= n; i += 32) {
        load32(p, start + i, dtype, x);
        run_group(&a, x, mode, vc, vnm, lo, vth);
    }
    if (i < n) {
        load_tail(p, start + i, n - i, dtype, x);
        run_group(&a, x, mode, vc, vnm, lo, vth);
    }
    __m256 s0 = a.s0, s1 = a.s1, s2 = a.s2, s3 = a.s3, u0 = a.u0, u1 = a.u1, u2 = a.u2, u3 = a.u3;
    __m256 un = a.un, vmax = a.vmax;
    size_t skippable = a.skippable;
    block_sums r;
    r.s = hsum_d(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    r.u = hsum_d(_mm256_add_ps(_mm256_add_ps(u0, u1), _mm256_add_ps(u2, u3)));
    r.dmax = hmax(vmax);
    r.nan = _mm256_movemask_ps(un) != 0;
    r.skippable = skippable;
    r.groups = (n + 31) / 32;
    return r;
}

/// The reference m enters every d = x·c − m; the float rounding of m shifts all d of a block by
/// the same amount (harmless: H is shift-invariant) but that amount is up to ulp(m)/2, so a huge m
/// (|x|·c ≥ 2^20, i.e. logits beyond ~10^6) would push every 2^d out of range: such rows go to the
/// float64 kernel instead (the shift stays ≤ 1/32 here, which loosens the skip bound's ε by < 3 %).
static inline int reference_ok(float m) { return fabsf(m) < 0x1p20f; }

/// Moves the row sums from reference m to reference m2 ≥ m (see the file comment).
static inline void rescale(double *s, double *u, float m, float m2) {
    double a = (double)m - (double)m2, f = exp2(a);
    *u = f * (*u + a * *s);
    *s = f * *s;
}

CK_AVX2_TARGET static CK_INLINE int row_generic(const void *row, int dtype, size_t vocab, float temperature, int skip,
                                                float skip_t, float *out, size_t *skipped_groups) {
    const float c = (float)(1.4426950408889634 / (double)temperature);
    if (!isfinite(c)) return CK_ERR_NONFINITE;
    const double t2 = (double)skip_t * 1.4426950408889634;
    double s = 0, u = 0;
    float m = -INFINITY;
    int skipping = 1;  // skip mode for the first block; later blocks follow the skippable fraction
    for (size_t start = 0; start < vocab; start += CK_BLOCK) {
        size_t n = vocab - start < CK_BLOCK ? vocab - start : CK_BLOCK;
        if (m == -INFINITY) {
            int nan = 0;
            float bx = block_max_x(row, start, n, dtype, &nan);
            if (nan || isnan(bx) || bx == INFINITY) return CK_ERR_NONFINITE;
            if (bx == -INFINITY) continue;  // a fully masked block contributes nothing
            m = bx * c;
            if (!reference_ok(m)) return CK_ERR_NONFINITE;
        }
        for (;;) {
            float theta = (float)(-t2 + (s > 1 ? log2(s) : 0.0));
            block_sums b = !skip ? run_block(row, start, n, dtype, MODE_PLAIN, c, m, theta)
                         : skipping ? run_block(row, start, n, dtype, MODE_SKIP, c, m, theta)
                                    : run_block(row, start, n, dtype, MODE_COUNT, c, m, theta);
            // Skip in the next block only when most groups of this one were skippable.
            if (skip && skipping) *skipped_groups += b.skippable;
            if (skip) skipping = b.skippable * 4 >= b.groups * 3;
            if (b.nan || isnan(b.dmax) || b.dmax == INFINITY) return CK_ERR_NONFINITE;
            if (b.dmax > CK_REDO_LIMIT) {  // sums may have overflowed: redo against the new max
                float m2 = m + b.dmax;
                if (!reference_ok(m2)) return CK_ERR_NONFINITE;
                rescale(&s, &u, m, m2);
                m = m2;
                continue;
            }
            s += b.s;
            u += b.u;
            if (b.dmax > 0) {
                float m2 = m + b.dmax;
                if (!reference_ok(m2)) return CK_ERR_NONFINITE;
                if (m2 > m) { rescale(&s, &u, m, m2); m = m2; }
            }
            break;
        }
    }
    if (m == -INFINITY) return CK_ERR_ALL_MASKED;
    if (!isfinite(s) || !isfinite(u) || !(s > 0)) return CK_ERR_NONFINITE;
    double h = log(s) - 0.6931471805599453 * u / s;
    *out = (float)(h > 0 ? h : 0.0);  // rounding can leave −1e−9 for one-hot rows; H ≥ 0 exactly
    return CK_OK;
}

// Compiled for AVX2 as a whole; callers check ck_cpu_has_avx2_fma_f16c() first.
CK_AVX2_TARGET int ck_entropy_row_avx2(const void *row, int dtype, size_t vocab, float temperature, int skip, float t,
                                       float *out, size_t *skipped_groups) {
    switch (dtype * 2 + (skip ? 1 : 0)) {
    case CK_DTYPE_F32 * 2: return row_generic(row, CK_DTYPE_F32, vocab, temperature, 0, t, out, skipped_groups);
    case CK_DTYPE_F32 * 2 + 1: return row_generic(row, CK_DTYPE_F32, vocab, temperature, 1, t, out, skipped_groups);
    case CK_DTYPE_BF16 * 2: return row_generic(row, CK_DTYPE_BF16, vocab, temperature, 0, t, out, skipped_groups);
    case CK_DTYPE_BF16 * 2 + 1: return row_generic(row, CK_DTYPE_BF16, vocab, temperature, 1, t, out, skipped_groups);
    case CK_DTYPE_F16 * 2: return row_generic(row, CK_DTYPE_F16, vocab, temperature, 0, t, out, skipped_groups);
    case CK_DTYPE_F16 * 2 + 1: return row_generic(row, CK_DTYPE_F16, vocab, temperature, 1, t, out, skipped_groups);
    default: return CK_ERR_ARGUMENT;
    }
}

CK_AVX2_TARGET static void ck_exp2_batch_avx2(const float *in, float *out, size_t n) {
    const __m256 lo = _mm256_set1_ps(-125.0f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, ck_exp2_ps(_mm256_max_ps(lo, _mm256_loadu_ps(in + i))));
    if (i < n) {
        float buf[8] = {0};
        for (size_t j = 0; i + j < n; j++) buf[j] = in[i + j];
        _mm256_storeu_ps(buf, ck_exp2_ps(_mm256_max_ps(lo, _mm256_loadu_ps(buf))));
        for (size_t j = 0; i + j < n; j++) out[i + j] = buf[j];
    }
}

void ck_exp2_batch(const float *in, float *out, size_t n) {
    if (!ck_cpu_has_avx2_fma_f16c()) {
        for (size_t i = 0; i < n; i++) out[i] = exp2f(in[i] < -125.0f ? -125.0f : in[i]);
        return;
    }
    ck_exp2_batch_avx2(in, out, n);
}
#else
int ck_entropy_row_avx2(const void *row, int dtype, size_t vocab, float temperature, int skip, float t, float *out,
                        size_t *skipped_groups) {
    (void)row; (void)dtype; (void)vocab; (void)temperature; (void)skip; (void)t; (void)out; (void)skipped_groups;
    return CK_ERR_ARGUMENT;
}
void ck_exp2_batch(const float *in, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = exp2f(in[i] < -125.0f ? -125.0f : in[i]);
}
#endif

/// Binary entropy h(ε) + ε·ln V: the bound on what skipping values with p ≤ e^{−T} can move H.
static double skip_bound(double eps, double v) {
    if (eps <= 0) return 0;
    if (eps >= 0.5) return INFINITY;
    return -eps * log(eps) - (1 - eps) * log1p(-eps) + eps * log(v);
}

double ck_entropy_skip_error_bound(size_t vocab) {
    double v = vocab < 2 ? 2.0 : (double)vocab;
    return skip_bound(v * exp(-ck_entropy_skip_threshold(vocab)), v);
}

double ck_entropy_skip_threshold(size_t vocab) {
    // Smallest T (to 1e-3) with h(V e^{−T}) + V e^{−T} ln V ≤ 1e−5 (a tenth of the 1e−4 accuracy
    // target, leaving the rest to float rounding); the bound falls as T grows.
    const double budget = 1e-5;
    double v = vocab < 2 ? 2.0 : (double)vocab, lo = 0, hi = 80;
    while (hi - lo > 1e-3) {
        double mid = 0.5 * (lo + hi);
        if (skip_bound(v * exp(-mid), v) <= budget) hi = mid; else lo = mid;
    }
    return hi;
}
