#ifndef CKERNELS_H
#define CKERNELS_H
#include <stddef.h>
#include <stdint.h>
/// Returns 1 when the CPU supports AVX2 and FMA (the fast kernel paths).
int ck_cpu_has_avx2_fma(void);
#endif
