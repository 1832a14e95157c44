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
