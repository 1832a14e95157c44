#include "ckernels.h"
int ck_cpu_has_avx2_fma(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

int ck_cpu_has_avx2_fma_f16c(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    // GCC/Clang know "f16c" as a feature name on x86-64.
    return ck_cpu_has_avx2_fma() && __builtin_cpu_supports("f16c");
#else
    return 0;
#endif
}

int ck_cpu_has_avx512(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    // The AVX-512 subset every OpenBLAS AVX-512 core (SkylakeX and later) relies on.
    return ck_cpu_has_avx2_fma() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512cd");
#else
    return 0;
#endif
}

int ck_cpu_has_avx512_bf16(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return ck_cpu_has_avx512() && __builtin_cpu_supports("avx512bf16");
#else
    return 0;
#endif
}

int ck_cpu_vendor(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_is("intel")) return 1;
    if (__builtin_cpu_is("amd")) return 2;
#endif
    return 0;
}
