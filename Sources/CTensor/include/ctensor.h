#ifndef CTENSOR_H
#define CTENSOR_H
// Hot CPU kernels of the trainer's CPU backend. Row-major fp32 throughout; the maths of each
// kernel is stated next to it in ctensor.c. Row-parallel on the pool of ct_pool.h (which also
// splits the GEMMs), vectorised for AVX2+FMA with a portable path chosen at run time.
#include <stddef.h>
#include <stdint.h>

/// Chooses the AVX2+FMA kernels (when the CPU has them; the default) or the portable ones (tests
/// check both against a reference). Returns 1 when the vector kernels are in use afterwards.
int ct_use_vector_kernels(int enabled);

/// y = x * rsqrt(mean(x^2) + eps) * w per row of `dim`; rstd[r] keeps the row's rsqrt.
void ct_rmsnorm_fwd(const float *x, const float *w, float *y, float *rstd, long rows, long dim, float eps);
/// dx = r*(w*dy) - r^3/dim * x * sum(w*dy*x); dw += sum over rows of dy*x*r. dx may alias dy.
void ct_rmsnorm_bwd(const float *x, const float *w, const float *rstd, const float *dy,
                    float *dx, float *dw, long rows, long dim);
/// Rotary embedding (rotate-half convention) in place on x[tokens, heads, hd]; sign=-1 applies the inverse.
void ct_rope(float *x, const int32_t *pos, long tokens, long heads, long hd, float theta, float sign);
/// a = silu(g) * u.
void ct_silu_mul_fwd(const float *g, const float *u, float *a, long n);
/// dg = da*u*s*(1+g*(1-s)), du = da*silu(g), s = sigmoid(g).
void ct_silu_mul_bwd(const float *g, const float *u, const float *da, float *dg, float *du, long n);
/// Copies src[B, T, H, hd] into cache[B, H, tmax, hd] at time offset `start`.
void ct_to_heads(const float *src, float *cache, long B, long T, long H, long hd, long tmax, long start);
/// Inverse of ct_to_heads for the first T rows (start 0): cache[B,H,tmax,hd] -> dst[B,T,H,hd].
void ct_from_heads(const float *cache, float *dst, long B, long T, long H, long hd, long tmax);
// Attention lives in ct_attention.h (attention.c).
/// Per row of logits z (scaled by inv_temp): logp = z[target] - lse(z), entropy = lse - sum p z.
void ct_logprob_entropy(const float *logits, const int32_t *targets, long rows, long vocab, float inv_temp,
                        float *logp, float *entropy);
/// In place: logits <- coef[r] * inv_temp * (onehot(target) - softmax(inv_temp*logits)).
void ct_logprob_grad(float *logits, const int32_t *targets, const float *coef, long rows, long vocab, float inv_temp);
/// out[t] = table[ids[t]] (rows of dim).
void ct_embed_fwd(const float *table, const int32_t *ids, float *out, long tokens, long dim);
/// dtable[ids[t]] += dout[t].
void ct_embed_bwd(const float *dout, const int32_t *ids, float *dtable, long tokens, long dim);
/// AdamW (decoupled weight decay) on n elements; bc1 = 1-b1^t, bc2 = 1-b2^t.
void ct_adamw(float *p, const float *g, float *m, float *v, long n, float lr, float b1, float b2,
              float eps, float wd, float bc1, float bc2);
/// sum of squares in double.
double ct_sumsq(const float *x, long n);
#endif
