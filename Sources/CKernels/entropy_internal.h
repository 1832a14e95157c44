// Private helpers shared by the entropy kernels (not part of the C API).
#ifndef CK_ENTROPY_INTERNAL_H
#define CK_ENTROPY_INTERNAL_H
#include "ckernels.h"

/// Element i of a logits row of the given dtype, widened to float (exactly).
static inline float ck_load_scalar(const void *p, int dtype, size_t i) {
    switch (dtype) {
    case CK_DTYPE_BF16: return ck_bf16_to_f32(((const uint16_t *)p)[i]);
    case CK_DTYPE_F16: return ck_f16_to_f32(((const uint16_t *)p)[i]);
    default: return ((const float *)p)[i];
    }
}

/// One row through the AVX2 kernel: returns CK_OK, or CK_ERR_NONFINITE when the fast path saw a
/// non-finite intermediate (the caller then re-runs the row with ck_entropy_row_f64, which tells a
/// real NaN / +inf from a float overflow of x/τ).
/// `skip_t` is ck_entropy_skip_threshold(vocab) (only read when skip != 0); the number of 32-value
/// groups whose exp was skipped (a redone block may count twice) is added to *skipped_groups.
int ck_entropy_row_avx2(const void *row, int dtype, size_t vocab, float temperature, int skip, float skip_t, float *out,
                        size_t *skipped_groups);

#endif
