#include "ctensor.h"
#include <math.h>
#include <string.h>

// RMSNorm (Qwen3): y_i = w_i * x_i * r, r = 1/sqrt(mean_j x_j^2 + eps), accumulated in double.
void ct_rmsnorm_fwd(const float *x, const float *w, float *y, float *rstd, long rows, long dim, float eps) {
    for (long r = 0; r < rows; r++) {
        const float *xr = x + r * dim; float *yr = y + r * dim;
        double ss = 0; for (long i = 0; i < dim; i++) ss += (double)xr[i] * xr[i];
        float rs = (float)(1.0 / sqrt(ss / dim + eps));
        if (rstd) rstd[r] = rs;
        for (long i = 0; i < dim; i++) yr[i] = xr[i] * rs * w[i];
    }
}

// dL/dx_i = r*w_i*dy_i - (r^3/dim) * x_i * sum_j w_j dy_j x_j ; dL/dw_i = sum_rows dy_i x_i r.
void ct_rmsnorm_bwd(const float *x, const float *w, const float *rstd, const float *dy,
                    float *dx, float *dw, long rows, long dim) {
    for (long r = 0; r < rows; r++) {
        const float *xr = x + r * dim; const float *dyr = dy + r * dim; float *dxr = dx + r * dim;
        float rs = rstd[r];
        double dot = 0; for (long i = 0; i < dim; i++) dot += (double)w[i] * dyr[i] * xr[i];
        float c = (float)(dot * rs * rs * rs / dim);
        for (long i = 0; i < dim; i++) {
            float d = dyr[i];
            if (dw) dw[i] += d * xr[i] * rs;
            dxr[i] = rs * w[i] * d - c * xr[i];
        }
    }
}

// RoPE, rotate-half: for j < hd/2, f = theta^(-2j/hd), a = pos*f:
// y_j = x_j cos a - x_{j+h} sin a ; y_{j+h} = x_{j+h} cos a + x_j sin a. sign = -1 rotates back
// (the transpose), which is also the backward.
void ct_rope(float *x, const int32_t *pos, long tokens, long heads, long hd, float theta, float sign) {
    long h2 = hd / 2;
    double freq[h2 > 0 ? h2 : 1];
    for (long j = 0; j < h2; j++) freq[j] = pow((double)theta, -2.0 * (double)j / (double)hd);
    for (long t = 0; t < tokens; t++) {
        double p = pos[t];
        for (long j = 0; j < h2; j++) {
            double f = freq[j];
            float c = (float)cos(p * f), s = sign * (float)sin(p * f);
            for (long h = 0; h < heads; h++) {
                float *xh = x + (t * heads + h) * hd;
                float a = xh[j], b = xh[j + h2];
                xh[j] = a * c - b * s;
                xh[j + h2] = b * c + a * s;
            }
        }
    }
}

static inline float sigm(float g) { return 1.0f / (1.0f + expf(-g)); }

void ct_silu_mul_fwd(const float *g, const float *u, float *a, long n) {
    for (long i = 0; i < n; i++) a[i] = g[i] * sigm(g[i]) * u[i];
}

void ct_silu_mul_bwd(const float *g, const float *u, const float *da, float *dg, float *du, long n) {
    for (long i = 0; i < n; i++) {
        float s = sigm(g[i]);
        float silu = g[i] * s;
        float d = da[i];
        dg[i] = d * u[i] * s * (1.0f + g[i] * (1.0f - s));
        du[i] = d * silu;
    }
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

// z = inv_temp * logits; lse = log sum exp z; logp = z_y - lse; H = lse - sum softmax(z) z.
void ct_logprob_entropy(const float *logits, const int32_t *targets, long rows, long vocab, float inv_temp,
                        float *logp, float *entropy) {
    for (long r = 0; r < rows; r++) {
        const float *z = logits + r * vocab;
        float mx = -INFINITY;
        for (long i = 0; i < vocab; i++) { float a = z[i] * inv_temp; if (a > mx) mx = a; }
        double s = 0, sz = 0;
        for (long i = 0; i < vocab; i++) { float a = z[i] * inv_temp; double e = exp((double)(a - mx)); s += e; sz += e * a; }
        double lse = mx + log(s);
        if (logp) { long y = targets ? targets[r] : 0; logp[r] = (float)(z[y] * inv_temp - lse); }
        if (entropy) entropy[r] = (float)(lse - sz / s);
    }
}

void ct_logprob_grad(float *logits, const int32_t *targets, const float *coef, long rows, long vocab, float inv_temp) {
    for (long r = 0; r < rows; r++) {
        float *z = logits + r * vocab;
        float c = coef[r] * inv_temp;
        if (c == 0.0f) { memset(z, 0, sizeof(float) * vocab); continue; }
        float mx = -INFINITY;
        for (long i = 0; i < vocab; i++) { float a = z[i] * inv_temp; if (a > mx) mx = a; }
        double s = 0;
        for (long i = 0; i < vocab; i++) { float e = expf(z[i] * inv_temp - mx); z[i] = e; s += e; }
        float inv = (float)(1.0 / s);
        for (long i = 0; i < vocab; i++) z[i] = -c * z[i] * inv;
        z[targets[r]] += c;
    }
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

// m = b1 m + (1-b1) g ; v = b2 v + (1-b2) g^2 ; p -= lr (wd p + (m/bc1) / (sqrt(v/bc2) + eps)).
void ct_adamw(float *p, const float *g, float *m, float *v, long n, float lr, float b1, float b2,
              float eps, float wd, float bc1, float bc2) {
    for (long i = 0; i < n; i++) {
        float gi = g[i];
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        float mh = m[i] / bc1, vh = v[i] / bc2;
        p[i] -= lr * (wd * p[i] + mh / (sqrtf(vh) + eps));
    }
}

double ct_sumsq(const float *x, long n) {
    double s = 0; for (long i = 0; i < n; i++) s += (double)x[i] * x[i]; return s;
}
