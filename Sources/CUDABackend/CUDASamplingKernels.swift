extension CUDAKernels {
    /// Token sampling, one block of 256 threads per row, the CPU kernel's maths
    /// (`Sources/CTensor/sampling.c`; only ids < cand are drawn): with t = inv_temp (1 when greedy), z = t·logit,
    /// m = max z, S = Σ e^{z−m} (double), lse = m + log S, p_i = (float)(e^{z_i−m}/S),
    /// H = lse − Σ p z, logp = z_id − lse. Greedy: the first maximal logit. Nucleus: τ is the
    /// largest float with Σ_{p_i ≥ τ} p_i ≥ top_p, found by bisection on float bit patterns (one
    /// block sum per step); the draw is the first kept token, in vocabulary order, whose running
    /// kept mass exceeds u·M(τ) — a block-wide inclusive scan per chunk of 256 tokens. The
    /// probabilities are kept in `pbuf` between passes; only ids, logp and entropy leave the device.
    static let sampling = #"""
    __device__ long rs_block_min_l(long v, long *shared) {
        unsigned int t = threadIdx.x;
        shared[t] = v; __syncthreads();
        for (unsigned int s = blockDim.x / 2; s > 0; s >>= 1) { if (t < s && shared[t + s] < shared[t]) shared[t] = shared[t + s]; __syncthreads(); }
        long r = shared[0]; __syncthreads();
        return r;
    }
    __device__ long rs_block_max_l(long v, long *shared) {
        unsigned int t = threadIdx.x;
        shared[t] = v; __syncthreads();
        for (unsigned int s = blockDim.x / 2; s > 0; s >>= 1) { if (t < s && shared[t + s] > shared[t]) shared[t] = shared[t + s]; __syncthreads(); }
        long r = shared[0]; __syncthreads();
        return r;
    }
    __device__ double rs_kept_mass(const float *p, long vocab, float tau, double *shd) {
        double s = 0;
        for (long i = threadIdx.x; i < vocab; i += blockDim.x) if (p[i] >= tau) s += p[i];
        return block_sum_d(s, shd);
    }
    extern "C" __global__ void rs_sample(const float *logits, long vocab, long cand, float inv_temp, float top_p, const float *uniforms,
                                         float *pbuf, int *ids, float *logp, float *entropy) {
        __shared__ float shf[256];
        __shared__ double shd[256];
        __shared__ long shl[256];
        const long NONE = 0x7fffffffffffffffL;
        long r = blockIdx.x;
        unsigned int tid = threadIdx.x;
        const float *row = logits + r * vocab;
        float t = inv_temp > 0.0f ? inv_temp : 1.0f;
        float m = NEG_INF;
        for (long i = tid; i < vocab; i += blockDim.x) m = fmaxf(m, row[i] * t);
        m = block_max_f(m, shf);
        double s = 0, sz = 0;
        for (long i = tid; i < vocab; i += blockDim.x) { float z = row[i] * t; double e = exp((double)(z - m)); s += e; sz += e * z; }
        s = block_sum_d(s, shd);
        sz = block_sum_d(sz, shd);
        double lse = m + log(s);
        long id = 0;
        if (inv_temp <= 0.0f) {
            // First maximal logit: per thread the first maximum of its stride, then (value, index) pairs.
            float bv = NEG_INF; long bi = NONE;
            for (long i = tid; i < cand; i += blockDim.x) if (bi == NONE || row[i] > bv) { bv = row[i]; bi = i; }
            shf[tid] = bv; shl[tid] = bi; __syncthreads();
            for (unsigned int w = blockDim.x / 2; w > 0; w >>= 1) {
                if (tid < w) {
                    float v2 = shf[tid + w]; long i2 = shl[tid + w];
                    if (i2 != NONE && (shl[tid] == NONE || v2 > shf[tid] || (v2 == shf[tid] && i2 < shl[tid]))) { shf[tid] = v2; shl[tid] = i2; }
                }
                __syncthreads();
            }
            id = shl[0] == NONE ? 0 : shl[0];
        } else {
            float *p = pbuf + r * vocab;
            float pmax = 0.0f;
            for (long i = tid; i < cand; i += blockDim.x) { float pi = (float)(exp((double)(row[i] * t - m)) / s); p[i] = pi; pmax = fmaxf(pmax, pi); }
            pmax = block_max_f(pmax, shf);
            float tau = 0.0f;
            if (top_p < 1.0f && rs_kept_mass(p, cand, 0.0f, shd) >= top_p) {
                unsigned int lo = 0, hi = __float_as_uint(pmax) + 1u;
                while (hi - lo > 1u) {
                    unsigned int mid = lo + (hi - lo) / 2u;
                    if (rs_kept_mass(p, cand, __uint_as_float(mid), shd) >= top_p) lo = mid; else hi = mid;
                }
                tau = __uint_as_float(lo);
            }
            double target = (double)uniforms[r] * rs_kept_mass(p, cand, tau, shd);
            double run = 0;
            long found = NONE, lastKept = -1;
            for (long c0 = 0; c0 < cand; c0 += blockDim.x) {
                long i = c0 + tid;
                bool kept = i < cand && p[i] >= tau;
                shd[tid] = kept ? (double)p[i] : 0.0; __syncthreads();
                for (unsigned int off = 1; off < blockDim.x; off <<= 1) {
                    double add = tid >= off ? shd[tid - off] : 0.0;
                    __syncthreads();
                    shd[tid] += add;
                    __syncthreads();
                }
                double cum = run + shd[tid], chunk = shd[blockDim.x - 1];
                __syncthreads();
                long best = rs_block_min_l(kept && cum > target ? i : NONE, shl);
                long lk = rs_block_max_l(kept ? i : -1, shl);
                if (lk > lastKept) lastKept = lk;
                if (best != NONE) { found = best; break; }
                run += chunk;
            }
            id = found != NONE ? found : (lastKept >= 0 ? lastKept : 0);
        }
        if (tid == 0) {
            ids[r] = (int)id;
            if (logp) logp[r] = (float)(row[id] * t - lse);
            if (entropy) entropy[r] = (float)(lse - sz / s);
        }
    }
    """#
}
