extension CUDAKernels {
    /// Queries per block of the tiled attention kernels (one warp each; blocks of 256 threads).
    static let attentionQueriesPerBlock = 8

    /// Keys (forward, dq) or queries (dk/dv) per shared-memory tile for a head size: 32 (one per
    /// lane) while the tiles fit in the 48 KiB a block may use without opting in, else 16 or 8
    /// (Qwen3's head_dim 128 gets 32).
    static func attentionTile(headDim hd: Int) -> Int {
        [32, 16, 8].first { attentionSharedBytes(headDim: hd, tile: $0) <= 48 * 1024 } ?? 8
    }

    /// The largest head size the kernels take (8 output dims per lane).
    static let attentionMaxHeadDim = 256

    /// Dynamic shared memory of the attention kernels: two padded `[tile][hd+1]` tiles plus one
    /// `[8][hd]` row per warp for each of two vectors, and two `[tile]` vectors.
    static func attentionSharedBytes(headDim hd: Int, tile: Int) -> Int {
        (2 * tile * (hd + 1) + 2 * attentionQueriesPerBlock * hd + 2 * tile) * 4
    }

    /// Causal grouped-query attention, tiled with an online softmax (FlashAttention-style), so the
    /// number of keys is bounded by nothing but the KV cache. The maths is the CPU kernels' (see
    /// `Sources/CTensor/attention.c`):
    ///   visible keys of query i of row b: j ∈ [s_b, qstart+i], s_b = kvstart[b] (left padding);
    ///   s_j = scale·q_i·k_j;  per key tile (m' = max(m, max_tile s), c = e^{m−m'}):
    ///   l ← c·l + Σ e^{s_j−m'},  a ← c·a + Σ e^{s_j−m'} v_j;  o = a/l,  L = m + log l
    ///   (o = 0, L = −∞ for a query that sees no key).
    /// Backward from L (probabilities recomputed), D_i = dO_i·o_i, p_ij = e^{s_ij−L_i},
    /// ds_ij = p_ij (dO_i·v_j − D_i): dq_i = scale Σ_j ds_ij k_j, dk_j = scale Σ_i ds_ij q_i,
    /// dv_j = Σ_i p_ij dO_i — dq per query block and dk/dv per key block, no atomics (deterministic).
    ///
    /// Forward and dq: a block holds 8 queries of one (b, h), one warp each; per tile of KT keys,
    /// lane j scores key j (K tile in shared memory, rows padded to hd+1 floats so lanes hit
    /// distinct banks), the warp reduces max/sum with shuffles, and lane owns output dims
    /// d = lane + 32r (r < 8: hd ≤ 256). dk/dv: a block holds 8 keys of one (b, kv head), one warp
    /// each, and sweeps query tiles of every query head of the group.
    static let attention = #"""
    #define RS_FULL 0xffffffffu
    __device__ __forceinline__ float rs_warp_max(float v) {
        for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(RS_FULL, v, o));
        return v;
    }
    __device__ __forceinline__ float rs_warp_sum(float v) {
        for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(RS_FULL, v, o);
        return v;
    }
    // Rows t0 ..< t0+n of two [rows][hd] blocks into padded [n][hd+1] shared tiles (the whole block
    // loads; the caller synchronises before and after).
    __device__ __forceinline__ void rs_load_tiles(float *ta, float *tb, const float *a, const float *b, long t0, long n, long hd) {
        for (long e = threadIdx.x; e < n * hd; e += blockDim.x) {
            long j = e / hd, d = e % hd;
            ta[j * (hd + 1) + d] = a[(t0 + j) * hd + d];
            tb[j * (hd + 1) + d] = b[(t0 + j) * hd + d];
        }
    }

    extern "C" __global__ void rs_attention_fwd(const float *q, const float *k, const float *v, float *out, float *lse,
                                                const int *kvstart, long Tq, long Hq, long Hkv, long hd, long cap,
                                                long qstart, float scale, long KT) {
        extern __shared__ float sm[];
        float *ks = sm;                    // [KT][hd+1]
        float *vs = ks + KT * (hd + 1);    // [KT][hd+1]
        float *qs = vs + KT * (hd + 1);    // [8][hd]
        long nqb = (Tq + 7) / 8;
        long qb = blockIdx.x % nqb, h = (blockIdx.x / nqb) % Hq, b = blockIdx.x / (nqb * Hq);
        int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
        long i = qb * 8 + warp;
        bool active = i < Tq;
        long hk = h / (Hq / Hkv);
        long s0 = kvstart ? (long)kvstart[b] : 0;
        if (s0 < 0) s0 = 0;
        const float *kb = k + (b * Hkv + hk) * cap * hd;
        const float *vb = v + (b * Hkv + hk) * cap * hd;
        float *qw = qs + warp * hd;
        if (active) for (long d = lane; d < hd; d += 32) qw[d] = q[((b * Tq + i) * Hq + h) * hd + d];
        long myLast = qstart + i;
        long lastQ = qb * 8 + 7 < Tq - 1 ? qb * 8 + 7 : Tq - 1;
        long blockLast = qstart + lastQ;
        float m = NEG_INF, l = 0.0f;
        float acc[8];
        #pragma unroll
        for (int r = 0; r < 8; r++) acc[r] = 0.0f;
        for (long t0 = s0; t0 <= blockLast; t0 += KT) {
            long n = blockLast - t0 + 1 < KT ? blockLast - t0 + 1 : KT;
            __syncthreads();
            rs_load_tiles(ks, vs, kb, vb, t0, n, hd);
            __syncthreads();
            if (!active || myLast < t0) continue;
            long ni = myLast - t0 + 1 < n ? myLast - t0 + 1 : n;
            float s = NEG_INF;
            if (lane < ni) {
                float a = 0.0f;
                const float *kj = ks + lane * (hd + 1);
                for (long d = 0; d < hd; d++) a += qw[d] * kj[d];
                s = a * scale;
            }
            float mnew = fmaxf(m, rs_warp_max(s));
            float c = expf(m - mnew);
            float p = lane < ni ? expf(s - mnew) : 0.0f;
            l = l * c + rs_warp_sum(p);
            m = mnew;
            #pragma unroll
            for (int r = 0; r < 8; r++) acc[r] *= c;
            for (long jj = 0; jj < ni; jj++) {
                float pj = __shfl_sync(RS_FULL, p, (int)jj);
                const float *vj = vs + jj * (hd + 1);
                #pragma unroll
                for (int r = 0; r < 8; r++) { long d = lane + 32 * r; if (d < hd) acc[r] += pj * vj[d]; }
            }
        }
        if (!active) return;
        float *oi = out + ((b * Tq + i) * Hq + h) * hd;
        float inv = l > 0.0f ? 1.0f / l : 0.0f;
        #pragma unroll
        for (int r = 0; r < 8; r++) { long d = lane + 32 * r; if (d < hd) oi[d] = acc[r] * inv; }
        if (lse && lane == 0) lse[(b * Hq + h) * Tq + i] = l > 0.0f ? m + logf(l) : NEG_INF;
    }

    // D_i = dO_i · o_i, one warp per (b, i, h) row of [B, T, Hq]; written to D[b, h, i].
    extern "C" __global__ void rs_attention_bwd_dot(const float *out, const float *dout, float *D, long rows, long T, long Hq, long hd) {
        long row = blockIdx.x * 8 + (threadIdx.x >> 5);
        int lane = threadIdx.x & 31;
        if (row >= rows) return;
        const float *o = out + row * hd, *g = dout + row * hd;
        float a = 0.0f;
        for (long d = lane; d < hd; d += 32) a += o[d] * g[d];
        a = rs_warp_sum(a);
        long h = row % Hq, i = (row / Hq) % T, b = row / (Hq * T);
        if (lane == 0) D[(b * Hq + h) * T + i] = a;
    }

    extern "C" __global__ void rs_attention_bwd_dq(const float *q, const float *k, const float *v, const float *lse, const float *D,
                                                   const float *dout, float *dq, const int *kvstart, long T, long Hq, long Hkv,
                                                   long hd, float scale, long KT) {
        extern __shared__ float sm[];
        float *ks = sm;                    // [KT][hd+1]
        float *vs = ks + KT * (hd + 1);    // [KT][hd+1]
        float *qs = vs + KT * (hd + 1);    // [8][hd]
        float *gs = qs + 8 * hd;           // [8][hd]  dO rows
        long nqb = (T + 7) / 8;
        long qb = blockIdx.x % nqb, h = (blockIdx.x / nqb) % Hq, b = blockIdx.x / (nqb * Hq);
        int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
        long i = qb * 8 + warp;
        long hk = h / (Hq / Hkv);
        long s0 = kvstart ? (long)kvstart[b] : 0;
        if (s0 < 0) s0 = 0;
        const float *kb = k + (b * Hkv + hk) * T * hd;
        const float *vb = v + (b * Hkv + hk) * T * hd;
        float L = i < T ? lse[(b * Hq + h) * T + i] : NEG_INF;
        bool active = i < T && L != NEG_INF;
        float Di = i < T ? D[(b * Hq + h) * T + i] : 0.0f;
        float *qw = qs + warp * hd, *gw = gs + warp * hd;
        if (i < T) for (long d = lane; d < hd; d += 32) {
            qw[d] = q[((b * T + i) * Hq + h) * hd + d];
            gw[d] = dout[((b * T + i) * Hq + h) * hd + d];
        }
        long lastQ = qb * 8 + 7 < T - 1 ? qb * 8 + 7 : T - 1;
        float acc[8];
        #pragma unroll
        for (int r = 0; r < 8; r++) acc[r] = 0.0f;
        for (long t0 = s0; t0 <= lastQ; t0 += KT) {
            long n = lastQ - t0 + 1 < KT ? lastQ - t0 + 1 : KT;
            __syncthreads();
            rs_load_tiles(ks, vs, kb, vb, t0, n, hd);
            __syncthreads();
            if (!active || i < t0) continue;
            long ni = i - t0 + 1 < n ? i - t0 + 1 : n;
            float ds = 0.0f;
            if (lane < ni) {
                float a = 0.0f, g = 0.0f;
                const float *kj = ks + lane * (hd + 1), *vj = vs + lane * (hd + 1);
                for (long d = 0; d < hd; d++) { a += qw[d] * kj[d]; g += gw[d] * vj[d]; }
                float p = expf(a * scale - L);
                ds = p * (g - Di) * scale;
            }
            for (long jj = 0; jj < ni; jj++) {
                float dj = __shfl_sync(RS_FULL, ds, (int)jj);
                const float *kj = ks + jj * (hd + 1);
                #pragma unroll
                for (int r = 0; r < 8; r++) { long d = lane + 32 * r; if (d < hd) acc[r] += dj * kj[d]; }
            }
        }
        if (i >= T) return;
        float *dqi = dq + ((b * T + i) * Hq + h) * hd;
        #pragma unroll
        for (int r = 0; r < 8; r++) { long d = lane + 32 * r; if (d < hd) dqi[d] = acc[r]; }
    }

    extern "C" __global__ void rs_attention_bwd_dkdv(const float *q, const float *k, const float *v, const float *lse, const float *D,
                                                     const float *dout, float *dk, float *dv, const int *kvstart, long T, long Hq,
                                                     long Hkv, long hd, float scale, long QT) {
        extern __shared__ float sm[];
        float *qs = sm;                    // [QT][hd+1]
        float *gs = qs + QT * (hd + 1);    // [QT][hd+1]  dO rows
        float *kw = gs + QT * (hd + 1);    // [8][hd]
        float *vw = kw + 8 * hd;           // [8][hd]
        float *Ls = vw + 8 * hd;           // [QT]
        float *Ds = Ls + QT;               // [QT]
        long nkb = (T + 7) / 8;
        long kb8 = blockIdx.x % nkb, hk = (blockIdx.x / nkb) % Hkv, b = blockIdx.x / (nkb * Hkv);
        int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
        long j = kb8 * 8 + warp;
        long grp = Hq / Hkv;
        long s0 = kvstart ? (long)kvstart[b] : 0;
        if (s0 < 0) s0 = 0;
        bool active = j < T && j >= s0;
        const float *kj = k + ((b * Hkv + hk) * T + j) * hd;
        const float *vj = v + ((b * Hkv + hk) * T + j) * hd;
        float *kr = kw + warp * hd, *vr = vw + warp * hd;
        if (j < T) for (long d = lane; d < hd; d += 32) { kr[d] = kj[d]; vr[d] = vj[d]; }
        float dka[8], dva[8];
        #pragma unroll
        for (int r = 0; r < 8; r++) { dka[r] = 0.0f; dva[r] = 0.0f; }
        long firstKey = kb8 * 8 > s0 ? kb8 * 8 : s0;
        for (long g = 0; g < grp; g++) {
            long h = hk * grp + g;
            for (long t0 = firstKey; t0 < T; t0 += QT) {
                long n = T - t0 < QT ? T - t0 : QT;
                __syncthreads();
                for (long e = threadIdx.x; e < n * hd; e += blockDim.x) {
                    long t = e / hd, d = e % hd;
                    qs[t * (hd + 1) + d] = q[((b * T + t0 + t) * Hq + h) * hd + d];
                    gs[t * (hd + 1) + d] = dout[((b * T + t0 + t) * Hq + h) * hd + d];
                }
                for (long t = threadIdx.x; t < n; t += blockDim.x) {
                    Ls[t] = lse[(b * Hq + h) * T + t0 + t];
                    Ds[t] = D[(b * Hq + h) * T + t0 + t];
                }
                __syncthreads();
                if (!active || t0 + n - 1 < j) continue;
                // lane t: query i = t0 + t, valid when it sees key j (i ≥ j) and saw any key.
                long i = t0 + lane;
                float p = 0.0f, ds = 0.0f;
                if (lane < n && i >= j && Ls[lane] != NEG_INF) {
                    float a = 0.0f, gd = 0.0f;
                    const float *qi = qs + lane * (hd + 1), *gi = gs + lane * (hd + 1);
                    for (long d = 0; d < hd; d++) { a += qi[d] * kr[d]; gd += gi[d] * vr[d]; }
                    p = expf(a * scale - Ls[lane]);
                    ds = p * (gd - Ds[lane]) * scale;
                }
                for (long t = 0; t < n; t++) {
                    float pt = __shfl_sync(RS_FULL, p, (int)t), dt = __shfl_sync(RS_FULL, ds, (int)t);
                    const float *qi = qs + t * (hd + 1), *gi = gs + t * (hd + 1);
                    #pragma unroll
                    for (int r = 0; r < 8; r++) {
                        long d = lane + 32 * r;
                        if (d < hd) { dva[r] += pt * gi[d]; dka[r] += dt * qi[d]; }
                    }
                }
            }
        }
        if (j >= T) return;
        float *dkj = dk + ((b * Hkv + hk) * T + j) * hd, *dvj = dv + ((b * Hkv + hk) * T + j) * hd;
        #pragma unroll
        for (int r = 0; r < 8; r++) { long d = lane + 32 * r; if (d < hd) { dkj[d] = dka[r]; dvj[d] = dva[r]; } }
    }
    """#
}
