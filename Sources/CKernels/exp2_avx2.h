// Vectorised 2^x for the entropy kernels (AVX2 + FMA), private header.
//
// Method: x = k + r with k = round(x) (the 1.5·2^23 "magic" addition rounds to nearest and leaves
// k in the low mantissa bits), r = x − k is exact and |r| ≤ 1/2; 2^r ≈ 1 + r·P4(r) where P4 is a
// near-minimax (relative error) fit on [−1/2, 1/2]; 2^k is applied by adding k to the exponent
// field (integer add of k << 23), which needs no float multiply.
// Accuracy: the polynomial's own relative error is 9.2e-8; evaluated in float (Horner with FMA)
// the maximum relative error over all 2,239,365,122 floats x in [−125, 64], measured against
// double exp2, is 1.72e-7 (≈ 2.9·2^−24, at x ≈ −0.4999). Tests/EntropyTests/Exp2Tests.swift checks
// ≤ 1.8e-7 on a dense sample. Effect on the entropy: a relative error δ in every e^{d} moves
// H = ln S − U/S by at most δ·Σ p_i·|1 − H − ln p_i| ≤ δ·(2·ln V + 1) ≤ 4.5e-6 for V ≤ 2^18.
// Domain: callers clamp x ≥ −125 first so that 2^k·P(r) stays a normal float (below that the
// value is < 2.4e-38, far below the resolution of any sum ≥ 1); x > 127 overflows to garbage,
// which the kernel never feeds it (it re-runs a block whose values exceed the running max by > 64).
#ifndef CK_EXP2_AVX2_H
#define CK_EXP2_AVX2_H
#if defined(__x86_64__)
#include <immintrin.h>

#define CK_AVX2_TARGET __attribute__((target("avx2,fma,f16c")))
#define CK_INLINE inline __attribute__((always_inline))

/// 2^x for x in [−125, 127] (see the header comment for the error bound).
CK_AVX2_TARGET static CK_INLINE __m256 ck_exp2_ps(__m256 x) {
    const __m256 magic = _mm256_set1_ps(0x1.8p23f);
    __m256 t = _mm256_add_ps(x, magic);
    __m256 k = _mm256_sub_ps(t, magic);
    __m256 r = _mm256_sub_ps(x, k);
    __m256 p = _mm256_set1_ps(0.0013264709850773215f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.009671514853835106f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.05550733953714371f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.24022242426872253f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.6931470036506653f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_castps_si256(t), 23);
    return _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(p), e));
}
#endif
#endif
