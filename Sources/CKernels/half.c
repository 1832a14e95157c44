// Scalar bf16 / fp16 <-> float32 conversions shared by every entropy kernel.
//
// bf16 is the top half of a float32: widening is a 16-bit left shift and exact.
// fp16 (IEEE binary16: 1 sign, 5 exponent, 10 mantissa bits) widens exactly too: normals rebias
// the exponent by 127 − 15 = 112, subnormals (m·2^−24) are normalised, inf/NaN keep their class.
// Narrowing rounds to nearest, ties to even (the rounding PyTorch and numpy use).
#include "ckernels.h"
#include <string.h>

static inline uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
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

uint16_t ck_f32_to_bf16(float f) {
    uint32_t u = f2u(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);  // quiet NaN
    u += 0x7fffu + ((u >> 16) & 1u);                                            // nearest, ties to even
    return (uint16_t)(u >> 16);
}

uint16_t ck_f32_to_f16(float f) {
    uint32_t u = f2u(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return sign | 0x7e00u;             // NaN
    if (a >= 0x477ff000u) return sign | 0x7c00u;            // ≥ 65520 rounds to inf
    if (a < 0x38800000u) {                                  // below 2^−14: subnormal or zero
        // Round a·2^24 to an integer, ties to even (float arithmetic does exactly that here).
        float v = u2f(a) * 0x1p24f;
        float r = v + 0x1p23f - 0x1p23f;                    // nearest-even rounding of v < 2^10
        return sign | (uint16_t)r;
    }
    uint32_t e = (a >> 23) - 112u, m = a & 0x7fffffu;
    uint32_t h = (e << 10) | (m >> 13);
    uint32_t rem = m & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h += 1;  // carries into the exponent correctly
    return sign | (uint16_t)h;
}
