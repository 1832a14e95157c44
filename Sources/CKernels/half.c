// Scalar bf16 / fp16 → float32 widening shared by every entropy kernel (the AVX2 loops use a
// shift for bf16 and F16C's vcvtph2ps for fp16; both are exact as well).
//
// bf16 is the top half of a float32: widening is a 16-bit left shift and exact.
// fp16 (IEEE binary16: 1 sign, 5 exponent, 10 mantissa bits) widens exactly too: normals rebias
// the exponent by 127 − 15 = 112, subnormals (m·2^−24) are normalised, inf/NaN keep their class.
#include "ckernels.h"
#include <string.h>

static inline float u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

float ck_bf16_to_f32(uint16_t h) { return u2f((uint32_t)h << 16); }

float ck_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    if (exp == 0x1f) return u2f(sign | 0x7f800000u | (man << 13));          // inf / NaN
    if (exp != 0) return u2f(sign | ((exp + 112u) << 23) | (man << 13));     // normal
    if (man == 0) return u2f(sign);                                          // ±0
    // Subnormal: value = man · 2^−24, exact in float32.
    float v = (float)man * 0x1p-24f;
    return sign ? -v : v;
}

// float32 → fp16 with round-to-nearest-even (as Swift's Float16(_:), numpy and PyTorch); values from
// 65520 up (the halfway point past the largest fp16, 65504) become ±inf; NaN → the quiet NaN 0x7e00.
uint16_t ck_f32_to_f16(float f) {
    uint32_t u; memcpy(&u, &f, 4);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return 0x7e00u;
    if (a >= 0x477ff000u) return sign | 0x7c00u;                              // ≥ 65520: inf
    if (a < 0x38800000u) {                                                   // < 2^−14: subnormal
        // |f|·2^24 < 1024 rounded to an integer (nearest even) by the 2^23 trick; 1024 is the
        // smallest normal's encoding, so rounding up across the boundary encodes correctly.
        float q = (u2f(a) * 0x1p24f + 0x1p23f) - 0x1p23f;
        return sign | (uint16_t)q;
    }
    uint32_t h = ((((a >> 23) - 127u + 15u)) << 10) | ((a & 0x7fffffu) >> 13);
    uint32_t rest = a & 0x1fffu;                                             // the 13 dropped bits
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) h++;                // a carry moves the exponent
    return sign | (uint16_t)h;
}

// float32 → bf16 with round-to-nearest-even (as PyTorch and CUDA's __float2bfloat16_rn):
// add 0x7fff plus the lowest kept bit, keep the top 16 bits; NaN stays a (quiet) NaN.
uint16_t ck_f32_to_bf16(float f) {
    uint32_t u; memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

void ck_f32_to_bf16_array(const float *src, uint16_t *dst, long n) {
    for (long i = 0; i < n; i++) dst[i] = ck_f32_to_bf16(src[i]);
}

void ck_bf16_to_f32_array(const uint16_t *src, float *dst, long n) {
    for (long i = 0; i < n; i++) dst[i] = u2f((uint32_t)src[i] << 16);
}

void ck_round_to_bf16_array(const float *src, float *dst, long n) {
    for (long i = 0; i < n; i++) dst[i] = u2f((uint32_t)ck_f32_to_bf16(src[i]) << 16);
}
