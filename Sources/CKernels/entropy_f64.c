// Float64 entropy of one logits row: the portable kernel, the fallback of the AVX2 kernel and the
// classifier of bad rows.
//
// Maths (two passes, everything in double):
//   y_i = x_i / τ,  m = max_i y_i,  S = Σ_i e^{y_i − m},  U = Σ_i e^{y_i − m}·(y_i − m)
//   logsumexp(y) = m + ln S,   Σ softmax(y)_i·y_i = m + U/S,   so   H = ln S − U/S.
// Working relative to m keeps every e^{·} ≤ 1 and removes the cancellation between the two large
// terms of H = logsumexp − Σ p·y. −inf logits contribute e^{−inf} = 0 (their p·log p limit is 0).
// Rows with a NaN or +inf logit return CK_ERR_NONFINITE; rows whose logits are all −inf return
// CK_ERR_ALL_MASKED. Finite but huge logits (|x| near FLT_MAX, tiny τ) are fine: x − m is formed in
// double, which cannot overflow for float inputs.
// The reference check beside it: Tests/EntropyTests/ReferenceTests.swift compares this path (and
// every fast path) with an independent Swift float64 reference.
#include "ckernels.h"
#include "entropy_internal.h"
#include <math.h>

int ck_entropy_row_f64(const void *logits, int dtype, size_t vocab, double temperature, double *entropy) {
    if (vocab == 0 || !(temperature > 0) || !isfinite(temperature)) return CK_ERR_ARGUMENT;
    double mx = -INFINITY;
    for (size_t i = 0; i < vocab; i++) {
        float x = ck_load_scalar(logits, dtype, i);
        if (isnan(x) || x == INFINITY) return CK_ERR_NONFINITE;
        if (x > mx) mx = x;
    }
    if (mx == -INFINITY) return CK_ERR_ALL_MASKED;
    double inv = 1.0 / temperature, s = 0, u = 0;
    for (size_t i = 0; i < vocab; i++) {
        double d = ((double)ck_load_scalar(logits, dtype, i) - mx) * inv;
        if (d == -INFINITY) continue;
        double e = exp(d);
        s += e;
        u += e * d;
    }
    *entropy = log(s) - u / s;
    return CK_OK;
}
