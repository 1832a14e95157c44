extension CUDAKernels {
    /// bf16 precision: fp32 → bf16 with round-to-nearest-even (the CPU's `ck_f32_to_bf16`: add
    /// 0x7fff plus the lowest kept bit, keep the top half; NaN stays NaN), used for the working
    /// copies of the weights and for the fp32 operands of bf16 GEMMs; and the embedding lookup
    /// from a bf16 table (widening is exact).
    static let precision = #"""
    __device__ __forceinline__ bf16_t rs_f32_to_bf16(float f) {
        unsigned int u = __float_as_uint(f);
        if ((u & 0x7fffffffu) > 0x7f800000u) return (bf16_t)((u >> 16) | 0x40u);
        u += 0x7fffu + ((u >> 16) & 1u);
        return (bf16_t)(u >> 16);
    }
    extern "C" __global__ void rs_to_bf16(const float *src, bf16_t *dst, long n) {
        for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) dst[i] = rs_f32_to_bf16(src[i]);
    }
    extern "C" __global__ void rs_embed_fwd_bf16(const bf16_t *table, const int *ids, float *out, long tokens, long dim) {
        for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < tokens * dim; i += (long)gridDim.x * blockDim.x) {
            long t = i / dim, d = i % dim;
            out[i] = bf16_to_f32(table[(long)ids[t] * dim + d]);
        }
    }
    """#
}
