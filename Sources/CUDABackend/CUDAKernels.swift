/// CUDA C source of every kernel of the CUDA backend, compiled at run time with NVRTC.
///
/// One kernel per concept, the maths in a comment above it, mirroring the CPU kernels in
/// `Sources/CTensor/ctensor.c` (the parity test compares the two). No CUDA headers are used, so
/// NVRTC needs nothing but itself: `-INFINITY` is spelled `__int_as_float(0xff800000)`.
/// Reductions accumulate in double where the CPU kernels do, so results agree to fp32 rounding.
public enum CUDAKernels {
    /// Helpers shared by the kernels: block-wide reductions over `blockDim.x` threads (a power of two ≤ 1024).
    static let prelude = #"""
    #define NEG_INF __int_as_float(0xff800000)
    typedef unsigned short bf16_t;
    typedef unsigned short f16_t;
    __device__ __forceinline__ float bf16_to_f32(bf16_t h) { return __uint_as_float(((unsigned int)h) << 16); }
    __device__ __forceinline__ float f16_to_f32(f16_t h) {
        unsigned int sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ffu;
        if (exp == 0) { float v = man * 5.9604644775390625e-8f; return sign ? -v : v; }      // subnormal: man · 2^-24
        if (exp == 31) return __uint_as_float(sign | 0x7f800000u | (man << 13));              // inf / nan
        return __uint_as_float(sign | ((exp + 112) << 23) | (man << 13));
    }
    __device__ double block_sum_d(double v, double *shared) {
        unsigned int t = threadIdx.x;
        shared[t] = v; __syncthreads();
        for (unsigned int s = blockDim.x / 2; s > 0; s >>= 1) { if (t < s) shared[t] += shared[t + s]; __syncthreads(); }
        double r = shared[0]; __syncthreads();
        return r;
    }
    __device__ float block_max_f(float v, float *shared) {
        unsigned int t = threadIdx.x;
        shared[t] = v; __syncthreads();
        for (unsigned int s = blockDim.x / 2; s > 0; s >>= 1) { if (t < s) shared[t] = fmaxf(shared[t], shared[t + s]); __syncthreads(); }
        float r = shared[0]; __syncthreads();
        return r;
    }
    """#

    /// x[i] = value ; y[i] += alpha · x[i] ; x[i] *= alpha.
    static let elementwise = #"""
    extern "C" __global__ void rs_fill(float *x, float value, long n) {
        for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) x[i] = value;
    }
    extern "C" __global__ void rs_axpy(float alpha, const float *x, float *y, long n) {
        for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) y[i] += alpha * x[i];
    }
    extern "C" __global__ void rs_scale(float *x, float alpha, long n) {
        for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) x[i] *= alpha;
    }
    """#

    /// out = Σ x² in double: per-block partial sums, then one atomicAdd per block (sm_60+).
    static let sumOfSquares = #"""
    extern "C" __global__ void rs_sumsq(const float *x, long n, double *out) {
        __shared__ double sh[256];
        double s = 0;
        for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) s += (double)x[i] * x[i];
        s = block_sum_d(s, sh);
        if (threadIdx.x == 0) atomicAdd(out, s);
    }
    """#

    /// out[t, :] = table[ids[t], :] ; dTable[ids[t], :] += dOut[t, :] (atomics: ids repeat).
    static let embedding = #"""
    extern "C" __global__ void rs_embed_fwd(const float *table, const int *ids, float *out, long tokens, long dim) {
        for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < tokens * dim; i += (long)gridDim.x * blockDim.x) {
            long t = i / dim, d = i % dim;
            out[i] = table[(long)ids[t] * dim + d];
        }
    }
    extern "C" __global__ void rs_embed_bwd(const float *dout, const int *ids, float *dtable, long tokens, long dim) {
        for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < tokens * dim; i += (long)gridDim.x * blockDim.x) {
            long t = i / dim, d = i % dim;
            atomicAdd(&dtable[(long)ids[t] * dim + d], dout[i]);
        }
    }
    """#

    /// RMSNorm, one block per row: r = 1/sqrt(mean x² + eps) (sum in double), y = x · r · w.
    /// Backward: dx = r·w·dy − (r³/dim)·x·Σ w·dy·x ; dw += dy·x·r (atomics across rows).
    static let rmsNorm = #"""
    extern "C" __global__ void rs_rmsnorm_fwd(const float *x, const float *w, float *y, float *rstd, long dim, float eps) {
        __shared__ double sh[256];
        long r = blockIdx.x;
        const float *xr = x + r * dim; float *yr = y + r * dim;
        double ss = 0;
        for (long i = threadIdx.x; i < dim; i += blockDim.x) ss += (double)xr[i] * xr[i];
        ss = block_sum_d(ss, sh);
        float rs = (float)(1.0 / sqrt(ss / dim + eps));
        if (rstd && threadIdx.x == 0) rstd[r] = rs;
        for (long i = threadIdx.x; i < dim; i += blockDim.x) yr[i] = xr[i] * rs * w[i];
    }
    extern "C" __global__ void rs_rmsnorm_bwd(const float *x, const float *w, const float *rstd, const float *dy,
                                              float *dx, float *dw, long dim) {
        __shared__ double sh[256];
        long r = blockIdx.x;
        const float *xr = x + r * dim; const float *dyr = dy + r * dim; float *dxr = dx + r * dim;
        float rs = rstd[r];
        double dot = 0;
        for (long i = threadIdx.x; i < dim; i += blockDim.x) dot += (double)w[i] * dyr[i] * xr[i];
        dot = block_sum_d(dot, sh);
        float c = (float)(dot * rs * rs * rs / dim);
        for (long i = threadIdx.x; i < dim; i += blockDim.x) {
            float d = dyr[i];
            if (dw) atomicAdd(&dw[i], d * xr[i] * rs);
            dxr[i] = rs * w[i] * d - c * xr[i];
        }
    }
    """#

    /// RoPE (rotate-half), one thread per (token, head, j < hd/2): f = θ^(−2j/hd), a = pos·f,
    /// y_j = x_j cos a − x_{j+h} sin a, y_{j+h} = x_{j+h} cos a + x_j sin a; sign = −1 rotates back.
    static let rope = #"""
    extern "C" __global__ void rs_rope(float *x, const int *pos, long tokens, long heads, long hd, float theta, float sign) {
        long h2 = hd / 2, n = tokens * heads * h2;
        for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) {
            long j = i % h2, h = (i / h2) % heads, t = i / (h2 * heads);
            double f = pow((double)theta, -2.0 * (double)j / (double)hd);
            double p = pos[t];
            float c = (float)cos(p * f), s = sign * (float)sin(p * f);
            float *xh = x + (t * heads + h) * hd;
            float a = xh[j], b = xh[j + h2];
            xh[j] = a * c - b * s;
            xh[j + h2] = b * c + a * s;
        }
    }
    """#

    /// SwiGLU: a = silu(g)·u ; backward dg = da·u·s·(1 + g(1 − s)), du = da·silu(g), s = σ(g).
    static let siluMul = #"""
    __device__ __forceinline__ float rs_sigmoid(float g) { return 1.0f / (1.0f + expf(-g)); }
    extern "C" __global__ void rs_silu_mul_fwd(const float *g, const float *u, float *a, long n) {
        for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
            a[i] = g[i] * rs_sigmoid(g[i]) * u[i];
    }
    extern "C" __global__ void rs_silu_mul_bwd(const float *g, const float *u, const float *da, float *dg, float *du, long n) {
        for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) {
            float s = rs_sigmoid(g[i]), d = da[i];
            dg[i] = d * u[i] * s * (1.0f + g[i] * (1.0f - s));
            du[i] = d * g[i] * s;
        }
    }
    """#

    /// Layout changes: src[B,T,H,hd] → cache[B,H,tmax,hd] at time `start`, and back (start 0).
    static let heads = #"""
    extern "C" __global__ void rs_to_heads(const float *src, float *cache, long B, long T, long H, long hd, long tmax, long start) {
        long n = B * T * H * hd;
        for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) {
            long d = i % hd, h = (i / hd) % H, t = (i / (hd * H)) % T, b = i / (hd * H * T);
            cache[((b * H + h) * tmax + start + t) * hd + d] = src[i];
        }
    }
    extern "C" __global__ void rs_from_heads(const float *cache, float *dst, long B, long T, long H, long hd, long tmax) {
        long n = B * T * H * hd;
        for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) {
            long d = i % hd, h = (i / hd) % H, t = (i / (hd * H)) % T, b = i / (hd * H * T);
            dst[i] = cache[((b * H + h) * tmax + t) * hd + d];
        }
    }
    """#

    /// Per row of logits z·invT, one block per row: lse = max + log Σ e^{z−max} (double sums),
    /// logp = z_y − lse, H = lse − Σ softmax(z)·z.
    static let logProbEntropy = #"""
    extern "C" __global__ void rs_logprob_entropy(const float *logits, const int *targets, long vocab, float inv_temp,
                                                  float *logp, float *entropy) {
        __shared__ float shf[256];
        __shared__ double shd[256];
        long r = blockIdx.x;
        const float *z = logits + r * vocab;
        float mx = NEG_INF;
        for (long i = threadIdx.x; i < vocab; i += blockDim.x) mx = fmaxf(mx, z[i] * inv_temp);
        mx = block_max_f(mx, shf);
        double s = 0, sz = 0;
        for (long i = threadIdx.x; i < vocab; i += blockDim.x) {
            float a = z[i] * inv_temp; double e = exp((double)(a - mx)); s += e; sz += e * a;
        }
        s = block_sum_d(s, shd);
        sz = block_sum_d(sz, shd);
        if (threadIdx.x == 0) {
            double lse = mx + log(s);
            if (logp) { long y = targets ? targets[r] : 0; logp[r] = (float)(z[y] * inv_temp - lse); }
            if (entropy) entropy[r] = (float)(lse - sz / s);
        }
    }
    """#

    /// Gradient of Σ_r coef_r · logp_r w.r.t. the logits, in place, one block per row:
    /// z ← c·(onehot(y) − softmax(invT·z)), c = coef_r·invT.
    static let logProbBackward = #"""
    extern "C" __global__ void rs_logprob_grad(float *logits, const int *targets, const float *coef, long vocab, float inv_temp) {
        __shared__ float shf[256];
        __shared__ double shd[256];
        long r = blockIdx.x;
        float *z = logits + r * vocab;
        float c = coef[r] * inv_temp;
        if (c == 0.0f) { for (long i = threadIdx.x; i < vocab; i += blockDim.x) z[i] = 0.0f; return; }
        float mx = NEG_INF;
        for (long i = threadIdx.x; i < vocab; i += blockDim.x) mx = fmaxf(mx, z[i] * inv_temp);
        mx = block_max_f(mx, shf);
        double s = 0;
        for (long i = threadIdx.x; i < vocab; i += blockDim.x) { float e = expf(z[i] * inv_temp - mx); z[i] = e; s += e; }
        s = block_sum_d(s, shd);
        float inv = (float)(1.0 / s);
        for (long i = threadIdx.x; i < vocab; i += blockDim.x) z[i] = -c * z[i] * inv;
        __syncthreads();
        if (threadIdx.x == 0) z[targets[r]] += c;
    }
    """#

    /// AdamW with decoupled weight decay: m = β1 m + (1−β1) g, v = β2 v + (1−β2) g²,
    /// p −= lr·(wd·p + (m/bc1)/(sqrt(v/bc2) + eps)).
    static let adamW = #"""
    extern "C" __global__ void rs_adamw(float *p, const float *g, float *m, float *v, long n, float lr, float b1, float b2,
                                        float eps, float wd, float bc1, float bc2) {
        for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) {
            float gi = g[i];
            m[i] = b1 * m[i] + (1 - b1) * gi;
            v[i] = b2 * v[i] + (1 - b2) * gi * gi;
            float mh = m[i] / bc1, vh = v[i] / bc2;
            p[i] -= lr * (wd * p[i] + mh / (sqrtf(vh) + eps));
        }
    }
    """#

    /// Fused softmax-entropy of raw logits rows (the sidecar's full-logits path), one block per
    /// row, one pass with an online max: per thread (m, s, t) with s = Σ e^{x−m}, t = Σ e^{x−m}·x,
    /// merged across threads by rescaling to the larger max; H = m + log s − t/s (x = logit·invT).
    static let entropyRows = #"""
    template <typename T, float (*load)(T)>
    __device__ void rs_entropy_row(const T *row, long vocab, float inv_temp, float *out) {
        __shared__ float sm[256]; __shared__ double ss[256]; __shared__ double st[256];
        float m = NEG_INF; double s = 0, t = 0;
        for (long i = threadIdx.x; i < vocab; i += blockDim.x) {
            float x = load(row[i]) * inv_temp;
            if (x == NEG_INF) continue;
            if (x > m) { double c = exp((double)(m - x)); s *= c; t *= c; m = x; }
            double e = exp((double)(x - m)); s += e; t += e * x;
        }
        unsigned int k = threadIdx.x;
        sm[k] = m; ss[k] = s; st[k] = t; __syncthreads();
        for (unsigned int w = blockDim.x / 2; w > 0; w >>= 1) {
            if (k < w) {
                float m2 = sm[k + w]; float mm = fmaxf(sm[k], m2);
                if (mm != NEG_INF) {
                    double c1 = exp((double)(sm[k] - mm)), c2 = exp((double)(m2 - mm));
                    ss[k] = ss[k] * c1 + ss[k + w] * c2; st[k] = st[k] * c1 + st[k + w] * c2; sm[k] = mm;
                }
            }
            __syncthreads();
        }
        if (k == 0) out[0] = sm[0] == NEG_INF ? __int_as_float(0x7fc00000) : (float)(sm[0] + log(ss[0]) - st[0] / ss[0]);
    }
    __device__ float rs_load_f32(float x) { return x; }
    __device__ float rs_load_bf16(bf16_t x) { return bf16_to_f32(x); }
    __device__ float rs_load_f16(f16_t x) { return f16_to_f32(x); }
    extern "C" __global__ void rs_entropy_f32(const float *x, long vocab, float inv_temp, float *out) {
        rs_entropy_row<float, rs_load_f32>(x + blockIdx.x * vocab, vocab, inv_temp, out + blockIdx.x);
    }
    extern "C" __global__ void rs_entropy_bf16(const bf16_t *x, long vocab, float inv_temp, float *out) {
        rs_entropy_row<bf16_t, rs_load_bf16>(x + blockIdx.x * vocab, vocab, inv_temp, out + blockIdx.x);
    }
    extern "C" __global__ void rs_entropy_f16(const f16_t *x, long vocab, float inv_temp, float *out) {
        rs_entropy_row<f16_t, rs_load_f16>(x + blockIdx.x * vocab, vocab, inv_temp, out + blockIdx.x);
    }
    """#

    /// The whole translation unit NVRTC compiles.
    public static var source: String {
        [prelude, elementwise, sumOfSquares, embedding, rmsNorm, rope, siluMul, heads, attention,
         logProbEntropy, sampling, logProbBackward, adamW, entropyRows, precision].joined(separator: "\n")
    }

    /// Every `extern "C"` kernel entry point (the compile test checks each is in the PTX).
    public static let entryPoints = [
        "rs_fill", "rs_axpy", "rs_scale", "rs_sumsq", "rs_embed_fwd", "rs_embed_bwd", "rs_rmsnorm_fwd", "rs_rmsnorm_bwd",
        "rs_rope", "rs_silu_mul_fwd", "rs_silu_mul_bwd", "rs_to_heads", "rs_from_heads", "rs_attention_fwd",
        "rs_attention_bwd_dot", "rs_attention_bwd_dq", "rs_attention_bwd_dkdv", "rs_logprob_entropy", "rs_sample", "rs_logprob_grad", "rs_adamw", "rs_entropy_f32", "rs_entropy_bf16",
        "rs_entropy_f16", "rs_to_bf16", "rs_embed_fwd_bf16",
    ]
}
