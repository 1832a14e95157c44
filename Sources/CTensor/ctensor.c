#include "ctensor.h"
#include "ct_pool.h"
#include "ckernels.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

// Each kernel below states its maths, then has a body written once as plain C and compiled twice:
// for AVX2+FMA (`VEC`) and portable (`PORT`), chosen at run time (ck_cpu_has_avx2_fma). Sums are
// striped over CT_LANES independent accumulators combined in a fixed order, so the compiler can
// vectorise them without reassociating anything; the kernels that need e^x use CKernels' AVX2
// 2^x (relative error ≤ 1.8e-7, see exp2_avx2.h) on the vector path and libm on the portable
// one. Rows (or element ranges) are split across the pool (pool.c); a chunk does exactly what
// the serial loop does for its range, so only the dw reduction of RMSNorm depends on the
// number of threads. Reference checks: Tests/TrainerTests/KernelTests.swift.
#if defined(__x86_64__)
#include "../CKernels/exp2_avx2.h"
#define VEC_TARGET __attribute__((target("avx2,fma")))
#else
#define VEC_TARGET
#endif
#define BODY static inline __attribute__((always_inline))
#define CT_LANES 8

static _Atomic int vector_choice = -1;  // −1: not decided yet; 0 portable; 1 AVX2+FMA

static int vec_ok(void) {
    int c = vector_choice;
    if (c < 0) { c = ck_cpu_has_avx2_fma(); vector_choice = c; }
    return c;
}

int ct_use_vector_kernels(int enabled) {
    int c = enabled && ck_cpu_has_avx2_fma();
    vector_choice = c;
    return c;
}

// Elements per parallel chunk (below this a split costs more than it saves).
#define CT_GRAIN 16384
static long rows_grain(long dim) { return dim >= CT_GRAIN ? 1 : CT_GRAIN / (dim > 0 ? dim : 1); }

// Declares NAME_vec (AVX2+FMA) and NAME_port from BODY NAME_body(ARGS) and a dispatcher NAME_any.
#define CT_TWICE(NAME, PARAMS, ARGS)                                  \
    VEC_TARGET static void NAME##_vec PARAMS { NAME##_body ARGS; }    \
    static void NAME##_port PARAMS { NAME##_body ARGS; }              \
    static void NAME##_any PARAMS { if (vec_ok()) NAME##_vec ARGS; else NAME##_port ARGS; }

// ── RMSNorm (Qwen3) ──
// y_i = w_i · x_i · r, r = 1/sqrt(mean_j x_j² + eps), the mean accumulated in double.
BODY void rms_fwd_body(const float *x, const float *w, float *y, float *rstd, long r0, long r1, long dim, float eps) {
    for (long r = r0; r < r1; r++) {
        const float *xr = x + r * dim; float *yr = y + r * dim;
        double lane[CT_LANES] = {0};
        long i = 0;
        for (; i + CT_LANES <= dim; i += CT_LANES)
            for (int l = 0; l < CT_LANES; l++) lane[l] += (double)xr[i + l] * xr[i + l];
        double ss = 0;
        for (int l = 0; l < CT_LANES; l++) ss += lane[l];
        for (; i < dim; i++) ss += (double)xr[i] * xr[i];
        float rs = (float)(1.0 / sqrt(ss / dim + eps));
        if (rstd) rstd[r] = rs;
        for (long j = 0; j < dim; j++) yr[j] = xr[j] * rs * w[j];
    }
}
CT_TWICE(rms_fwd, (const float *x, const float *w, float *y, float *rstd, long r0, long r1, long dim, float eps),
         (x, w, y, rstd, r0, r1, dim, eps))

typedef struct { const float *x, *w; float *y, *rstd; long dim; float eps; } rms_fwd_job;
static void rms_fwd_chunk(void *c, long a, long b, int t) {
    (void)t; rms_fwd_job *j = c;
    rms_fwd_any(j->x, j->w, j->y, j->rstd, a, b, j->dim, j->eps);
}

void ct_rmsnorm_fwd(const float *x, const float *w, float *y, float *rstd, long rows, long dim, float eps) {
    rms_fwd_job j = {x, w, y, rstd, dim, eps};
    ct_parallel_for(rows, rows_grain(dim), rms_fwd_chunk, &j);
}

// dL/dx_i = r·w_i·dy_i − (r³/dim)·x_i·Σ_j w_j·dy_j·x_j ;  dL/dw_i = Σ_rows dy_i·x_i·r.
// dw goes to `dw` (one partial per thread, summed in thread order by the caller).
BODY void rms_bwd_body(const float *x, const float *w, const float *rstd, const float *dy, float *dx, float *dw,
                       long r0, long r1, long dim) {
    for (long r = r0; r < r1; r++) {
        const float *xr = x + r * dim; const float *dyr = dy + r * dim; float *dxr = dx + r * dim;
        float rs = rstd[r];
        double lane[CT_LANES] = {0};
        long i = 0;
        for (; i + CT_LANES <= dim; i += CT_LANES)
            for (int l = 0; l < CT_LANES; l++) lane[l] += (double)w[i + l] * dyr[i + l] * xr[i + l];
        double dot = 0;
        for (int l = 0; l < CT_LANES; l++) dot += lane[l];
        for (; i < dim; i++) dot += (double)w[i] * dyr[i] * xr[i];
        float c = (float)(dot * rs * rs * rs / dim);
        if (dw) for (long j = 0; j < dim; j++) dw[j] += dyr[j] * xr[j] * rs;
        for (long j = 0; j < dim; j++) dxr[j] = rs * w[j] * dyr[j] - c * xr[j];
    }
}
CT_TWICE(rms_bwd, (const float *x, const float *w, const float *rstd, const float *dy, float *dx, float *dw, long r0, long r1, long dim),
         (x, w, rstd, dy, dx, dw, r0, r1, dim))

typedef struct { const float *x, *w, *rstd, *dy; float *dx, *dw, *partial; long dim; } rms_bwd_job;
static void rms_bwd_chunk(void *c, long a, long b, int t) {
    rms_bwd_job *j = c;
    float *dw = j->dw ? (t == 0 ? j->dw : j->partial + (long)(t - 1) * j->dim) : NULL;
    rms_bwd_any(j->x, j->w, j->rstd, j->dy, j->dx, dw, a, b, j->dim);
}

void ct_rmsnorm_bwd(const float *x, const float *w, const float *rstd, const float *dy,
                    float *dx, float *dw, long rows, long dim) {
    int threads = ct_pool_threads();
    float *partial = NULL;
    if (dw && threads > 1 && rows >= 2 * rows_grain(dim)) {
        partial = calloc((size_t)(threads - 1) * (size_t)dim, sizeof(float));
        if (!partial) { rms_bwd_any(x, w, rstd, dy, dx, dw, 0, rows, dim); return; }
    }
    rms_bwd_job j = {x, w, rstd, dy, dx, dw, partial, dim};
    if (dw && !partial) { rms_bwd_any(x, w, rstd, dy, dx, dw, 0, rows, dim); return; }
    ct_parallel_for(rows, rows_grain(dim), rms_bwd_chunk, &j);
    if (partial) {
        for (int t = 1; t < threads; t++)
            for (long i = 0; i < dim; i++) dw[i] += partial[(long)(t - 1) * dim + i];
        free(partial);
    }
}

// ── RoPE, rotate-half ──
// For j < hd/2, f_j = theta^(−2j/hd), a = pos·f_j:
//   y_j = x_j cos a − x_{j+h} sin a ;  y_{j+h} = x_{j+h} cos a + x_j sin a.
// sign = −1 rotates back (the transpose), which is also the backward.
typedef struct { float *x; const int32_t *pos; long heads, hd; const double *freq; float sign; } rope_job;
static void rope_chunk(void *c, long t0, long t1, int t) {
    (void)t; rope_job *j = c;
    long h2 = j->hd / 2;
    for (long tk = t0; tk < t1; tk++) {
        double p = j->pos[tk];
        for (long i = 0; i < h2; i++) {
            double f = j->freq[i];
            float co = (float)cos(p * f), s = j->sign * (float)sin(p * f);
            for (long h = 0; h < j->heads; h++) {
                float *xh = j->x + (tk * j->heads + h) * j->hd;
                float a = xh[i], b = xh[i + h2];
                xh[i] = a * co - b * s;
                xh[i + h2] = b * co + a * s;
            }
        }
    }
}

void ct_rope(float *x, const int32_t *pos, long tokens, long heads, long hd, float theta, float sign) {
    long h2 = hd / 2;
    double freq[h2 > 0 ? h2 : 1];
    for (long j = 0; j < h2; j++) freq[j] = pow((double)theta, -2.0 * (double)j / (double)hd);
    rope_job j = {x, pos, heads, hd, freq, sign};
    ct_parallel_for(tokens, rows_grain(heads * hd), rope_chunk, &j);
}

// ── SwiGLU ──
// a = silu(g)·u, silu(g) = g·s, s = sigmoid(g) = 1/(1 + e^{−g});
// backward: dg = da·u·s·(1 + g·(1 − s)), du = da·silu(g).
// e^{−g} = 2^{−g·log2 e} with the argument clamped to [−125, 125] (s is then exactly 0 or 1 to
// float precision, as with expf).
static inline float sigm(float g) { return 1.0f / (1.0f + expf(-g)); }

#if defined(__x86_64__)
CK_AVX2_TARGET static CK_INLINE __m256 sigm8(__m256 g) {
    const __m256 lo = _mm256_set1_ps(-125.0f), hi = _mm256_set1_ps(125.0f);
    __m256 z = _mm256_mul_ps(g, _mm256_set1_ps(-1.4426950408889634f));
    __m256 e = ck_exp2_ps(_mm256_min_ps(_mm256_max_ps(z, lo), hi));
    return _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}
CK_AVX2_TARGET static void silu_fwd_vec(const float *g, const float *u, float *a, long i0, long i1) {
    long i = i0;
    for (; i + 8 <= i1; i += 8) {
        __m256 gv = _mm256_loadu_ps(g + i);
        _mm256_storeu_ps(a + i, _mm256_mul_ps(_mm256_mul_ps(gv, sigm8(gv)), _mm256_loadu_ps(u + i)));
    }
    for (; i < i1; i++) a[i] = g[i] * sigm(g[i]) * u[i];
}
CK_AVX2_TARGET static void silu_bwd_vec(const float *g, const float *u, const float *da, float *dg, float *du, long i0, long i1) {
    const __m256 one = _mm256_set1_ps(1.0f);
    long i = i0;
    for (; i + 8 <= i1; i += 8) {
        __m256 gv = _mm256_loadu_ps(g + i), s = sigm8(gv), d = _mm256_loadu_ps(da + i);
        __m256 t = _mm256_fmadd_ps(gv, _mm256_sub_ps(one, s), one);
        _mm256_storeu_ps(dg + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(d, _mm256_loadu_ps(u + i)), s), t));
        _mm256_storeu_ps(du + i, _mm256_mul_ps(d, _mm256_mul_ps(gv, s)));
    }
    for (; i < i1; i++) {
        float s = sigm(g[i]), dd = da[i];
        dg[i] = dd * u[i] * s * (1.0f + g[i] * (1.0f - s));
        du[i] = dd * g[i] * s;
    }
}
#endif

typedef struct { const float *g, *u, *da; float *a, *dg, *du; } silu_job;
static void silu_fwd_chunk(void *c, long i0, long i1, int t) {
    (void)t; silu_job *j = c;
#if defined(__x86_64__)
    if (vec_ok()) { silu_fwd_vec(j->g, j->u, j->a, i0, i1); return; }
#endif
    for (long i = i0; i < i1; i++) j->a[i] = j->g[i] * sigm(j->g[i]) * j->u[i];
}
static void silu_bwd_chunk(void *c, long i0, long i1, int t) {
    (void)t; silu_job *j = c;
#if defined(__x86_64__)
    if (vec_ok()) { silu_bwd_vec(j->g, j->u, j->da, j->dg, j->du, i0, i1); return; }
#endif
    for (long i = i0; i < i1; i++) {
        float s = sigm(j->g[i]), d = j->da[i];
        j->dg[i] = d * j->u[i] * s * (1.0f + j->g[i] * (1.0f - s));
        j->du[i] = d * j->g[i] * s;
    }
}

void ct_silu_mul_fwd(const float *g, const float *u, float *a, long n) {
    silu_job j = {g, u, NULL, a, NULL, NULL};
    ct_parallel_for(n, CT_GRAIN, silu_fwd_chunk, &j);
}

void ct_silu_mul_bwd(const float *g, const float *u, const float *da, float *dg, float *du, long n) {
    silu_job j = {g, u, da, NULL, dg, du};
    ct_parallel_for(n, CT_GRAIN, silu_bwd_chunk, &j);
}

void ct_to_heads(const float *src, float *cache, long B, long T, long H, long hd, long tmax, long start) {
    for (long b = 0; b < B; b++)
        for (long t = 0; t < T; t++)
            for (long h = 0; h < H; h++)
                memcpy(cache + ((b * H + h) * tmax + start + t) * hd, src + ((b * T + t) * H + h) * hd,
                       sizeof(float) * hd);
}

void ct_from_heads(const float *cache, float *dst, long B, long T, long H, long hd, long tmax) {
    for (long b = 0; b < B; b++)
        for (long t = 0; t < T; t++)
            for (long h = 0; h < H; h++)
                memcpy(dst + ((b * T + t) * H + h) * hd, cache + ((b * H + h) * tmax + t) * hd,
                       sizeof(float) * hd);
}

// ── Log-probabilities, entropy and their gradient over the vocabulary ──
// z = inv_temp·logits; lse = log Σ e^{z − max} + max; logp = z_y − lse; H = lse − Σ softmax(z)·z.
// The sums are kept in double (per 4 terms on the vector path).
typedef struct { const float *logits; float *glogits; const int32_t *targets; const float *coef;
                 long vocab; float inv_temp; float *logp, *entropy; } lp_job;

#if defined(__x86_64__)
CK_AVX2_TARGET static float row_max_vec(const float *z, long n, float inv_temp) {
    __m256 m = _mm256_set1_ps(-INFINITY), it = _mm256_set1_ps(inv_temp);
    long i = 0;
    for (; i + 8 <= n; i += 8) m = _mm256_max_ps(m, _mm256_mul_ps(_mm256_loadu_ps(z + i), it));
    float lanes[8], mx = -INFINITY;
    _mm256_storeu_ps(lanes, m);
    for (int l = 0; l < 8; l++) if (lanes[l] > mx) mx = lanes[l];
    for (; i < n; i++) { float a = z[i] * inv_temp; if (a > mx) mx = a; }
    return mx;
}

// e_i = 2^{(z_i·inv_temp − mx)·log2 e} (argument clamped at −125); returns Σ e_i and Σ e_i·a_i
// (a_i = z_i·inv_temp) in double; stores e_i to `store` when non-NULL.
CK_AVX2_TARGET static void row_expsum_vec(const float *z, long n, float inv_temp, float mx, float *store,
                                          double *sum, double *weighted) {
    const __m256 it = _mm256_set1_ps(inv_temp), mv = _mm256_set1_ps(mx), l2e = _mm256_set1_ps(1.4426950408889634f);
    const __m256 lo = _mm256_set1_ps(-125.0f);
    __m256d s0 = _mm256_setzero_pd(), s1 = s0, w0 = s0, w1 = s0;
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 a = _mm256_mul_ps(_mm256_loadu_ps(z + i), it);
        __m256 e = ck_exp2_ps(_mm256_max_ps(_mm256_mul_ps(_mm256_sub_ps(a, mv), l2e), lo));
        if (store) _mm256_storeu_ps(store + i, e);
        __m256d elo = _mm256_cvtps_pd(_mm256_castps256_ps128(e)), ehi = _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1));
        s0 = _mm256_add_pd(s0, elo); s1 = _mm256_add_pd(s1, ehi);
        if (weighted) {
            __m256d alo = _mm256_cvtps_pd(_mm256_castps256_ps128(a)), ahi = _mm256_cvtps_pd(_mm256_extractf128_ps(a, 1));
            w0 = _mm256_fmadd_pd(elo, alo, w0); w1 = _mm256_fmadd_pd(ehi, ahi, w1);
        }
    }
    double sl[4], wl[4];
    _mm256_storeu_pd(sl, _mm256_add_pd(s0, s1)); _mm256_storeu_pd(wl, _mm256_add_pd(w0, w1));
    double s = (sl[0] + sl[1]) + (sl[2] + sl[3]), w = (wl[0] + wl[1]) + (wl[2] + wl[3]);
    for (; i < n; i++) {
        float a = z[i] * inv_temp;
        float e = expf(a - mx);
        if (store) store[i] = e;
        s += e; w += (double)e * a;
    }
    *sum = s;
    if (weighted) *weighted = w;
}
#endif

static void lp_entropy_chunk(void *c, long r0, long r1, int t) {
    (void)t; lp_job *j = c;
    for (long r = r0; r < r1; r++) {
        const float *z = j->logits + r * j->vocab;
        float mx = -INFINITY;
        double s = 0, sz = 0;
#if defined(__x86_64__)
        if (vec_ok()) {
            mx = row_max_vec(z, j->vocab, j->inv_temp);
            row_expsum_vec(z, j->vocab, j->inv_temp, mx, NULL, &s, &sz);
        } else
#endif
        {
            for (long i = 0; i < j->vocab; i++) { float a = z[i] * j->inv_temp; if (a > mx) mx = a; }
            for (long i = 0; i < j->vocab; i++) { float a = z[i] * j->inv_temp; double e = exp((double)(a - mx)); s += e; sz += e * a; }
        }
        double lse = mx + log(s);
        if (j->logp) { long y = j->targets ? j->targets[r] : 0; j->logp[r] = (float)(z[y] * j->inv_temp - lse); }
        if (j->entropy) j->entropy[r] = (float)(lse - sz / s);
    }
}

void ct_logprob_entropy(const float *logits, const int32_t *targets, long rows, long vocab, float inv_temp,
                        float *logp, float *entropy) {
    lp_job j = {logits, NULL, targets, NULL, vocab, inv_temp, logp, entropy};
    ct_parallel_for(rows, rows_grain(vocab), lp_entropy_chunk, &j);
}

// In place: logits ← c·(onehot(y) − softmax(z)), c = coef·inv_temp (a zero c zeroes the row).
static void lp_grad_chunk(void *c, long r0, long r1, int t) {
    (void)t; lp_job *j = c;
    for (long r = r0; r < r1; r++) {
        float *z = j->glogits + r * j->vocab;
        float cc = j->coef[r] * j->inv_temp;
        if (cc == 0.0f) { memset(z, 0, sizeof(float) * j->vocab); continue; }
        float mx = -INFINITY;
        double s = 0;
#if defined(__x86_64__)
        if (vec_ok()) {
            mx = row_max_vec(z, j->vocab, j->inv_temp);
            row_expsum_vec(z, j->vocab, j->inv_temp, mx, z, &s, NULL);
        } else
#endif
        {
            for (long i = 0; i < j->vocab; i++) { float a = z[i] * j->inv_temp; if (a > mx) mx = a; }
            for (long i = 0; i < j->vocab; i++) { float e = expf(z[i] * j->inv_temp - mx); z[i] = e; s += e; }
        }
        float k = -cc * (float)(1.0 / s);
        for (long i = 0; i < j->vocab; i++) z[i] *= k;
        z[j->targets[r]] += cc;
    }
}

void ct_logprob_grad(float *logits, const int32_t *targets, const float *coef, long rows, long vocab, float inv_temp) {
    lp_job j = {NULL, logits, targets, coef, vocab, inv_temp, NULL, NULL};
    ct_parallel_for(rows, rows_grain(vocab), lp_grad_chunk, &j);
}

void ct_embed_fwd(const float *table, const int32_t *ids, float *out, long tokens, long dim) {
    for (long t = 0; t < tokens; t++) memcpy(out + t * dim, table + (long)ids[t] * dim, sizeof(float) * dim);
}

void ct_embed_bwd(const float *dout, const int32_t *ids, float *dtable, long tokens, long dim) {
    for (long t = 0; t < tokens; t++) {
        float *row = dtable + (long)ids[t] * dim; const float *d = dout + t * dim;
        for (long i = 0; i < dim; i++) row[i] += d[i];
    }
}

// ── AdamW ──
// m = b1·m + (1−b1)·g ; v = b2·v + (1−b2)·g² ; p −= lr·(wd·p + (m/bc1) / (sqrt(v/bc2) + eps)).
BODY void adamw_body(float *p, const float *g, float *m, float *v, long i0, long i1, float lr, float b1, float b2,
                     float eps, float wd, float bc1, float bc2) {
    for (long i = i0; i < i1; i++) {
        float gi = g[i];
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        float mh = m[i] / bc1, vh = v[i] / bc2;
        p[i] -= lr * (wd * p[i] + mh / (sqrtf(vh) + eps));
    }
}
CT_TWICE(adamw, (float *p, const float *g, float *m, float *v, long i0, long i1, float lr, float b1, float b2, float eps, float wd, float bc1, float bc2),
         (p, g, m, v, i0, i1, lr, b1, b2, eps, wd, bc1, bc2))

typedef struct { float *p; const float *g; float *m, *v; float lr, b1, b2, eps, wd, bc1, bc2; } adamw_job;
static void adamw_chunk(void *c, long a, long b, int t) {
    (void)t; adamw_job *j = c;
    adamw_any(j->p, j->g, j->m, j->v, a, b, j->lr, j->b1, j->b2, j->eps, j->wd, j->bc1, j->bc2);
}

void ct_adamw(float *p, const float *g, float *m, float *v, long n, float lr, float b1, float b2,
              float eps, float wd, float bc1, float bc2) {
    adamw_job j = {p, g, m, v, lr, b1, b2, eps, wd, bc1, bc2};
    ct_parallel_for(n, CT_GRAIN, adamw_chunk, &j);
}

// Σ x² in double, striped over CT_LANES accumulators.
BODY double sumsq_body(const float *x, long n) {
    double lane[CT_LANES] = {0};
    long i = 0;
    for (; i + CT_LANES <= n; i += CT_LANES)
        for (int l = 0; l < CT_LANES; l++) lane[l] += (double)x[i + l] * x[i + l];
    double s = 0;
    for (int l = 0; l < CT_LANES; l++) s += lane[l];
    for (; i < n; i++) s += (double)x[i] * x[i];
    return s;
}
VEC_TARGET static double sumsq_vec(const float *x, long n) { return sumsq_body(x, n); }
static double sumsq_port(const float *x, long n) { return sumsq_body(x, n); }

double ct_sumsq(const float *x, long n) { return vec_ok() ? sumsq_vec(x, n) : sumsq_port(x, n); }
