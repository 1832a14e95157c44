// Entropy from the top-k logits of a row and the logsumexp L of the full row (length V).
//
// Maths. The k given logits z_i (at the sampling temperature already) are the k largest of the
// row, so p_i = e^{z_i − L} is exact for them, and every tail probability is ≤ p_min = min p_i.
//   H = H_top + H_tail,   H_top = −Σ_top p_i·ln p_i = −Σ_top p_i·(z_i − L)   (exact)
//   tail: n = V − k values, mass q = 1 − Σ_top p_i, each 0 ≤ p_j ≤ p_min.
// Upper bound: for fixed mass q over n values the entropy is largest when they are equal:
//   H_tail ≤ q·ln(n/q).
// Lower bound: −ln p_j ≥ −ln p_min for every tail value, so
//   H_tail = Σ_tail p_j·(−ln p_j) ≥ q·(−ln p_min)
// (consistent inputs have q ≤ n·p_min, hence lower ≤ upper; inconsistent ones are clamped).
// The kernel returns the midpoint  H ≈ H_top + (lower + upper)/2  and, when asked, the half-width
// (upper − lower)/2 plus a rounding allowance for the float32 L (|δL| ≤ 2^−23·max(1,|L|) moves H
// by at most |δL|·(H_top + 1 + upper)) and 1e−6 for the float accumulation of the rest, so the
// true entropy lies within ±bound of the estimate. With k = V (or q ≤ 0) the tail is empty and
// the bound is only the rounding allowance.
// Masked top values (−inf) have p = 0 and contribute nothing; NaN or +inf anywhere, or a
// non-finite L, is CK_ERR_NONFINITE for that row; a row whose top logits are all −inf is
// CK_ERR_ALL_MASKED.
// Reference check: Tests/EntropyTests/TopKTests.swift builds full rows, computes the exact float64
// entropy and checks |estimate − H| ≤ bound for peaked, flat and random rows and several k.
#include "ckernels.h"
#include <math.h>

ck_status ck_entropy_topk(const float *top_logits, size_t k, const float *logsumexp, size_t vocab,
                          size_t rows, float *out, float *bound) {
    ck_status st = {CK_OK, 0};
    if (k == 0 || k > vocab) { st.code = CK_ERR_ARGUMENT; return st; }
    for (size_t r = 0; r < rows; r++) {
        const float *z = top_logits + r * k;
        double L = logsumexp[r];
        if (!isfinite(L)) { st.code = CK_ERR_NONFINITE; st.row = r; return st; }
        double mass = 0, htop = 0, pmin = INFINITY;
        int any = 0;
        for (size_t i = 0; i < k; i++) {
            float zi = z[i];
            if (isnan(zi) || zi == INFINITY) { st.code = CK_ERR_NONFINITE; st.row = r; return st; }
            if (zi == -INFINITY) { pmin = 0; continue; }
            any = 1;
            double d = (double)zi - L, p = exp(d);
            mass += p;
            htop -= p * d;
            if (p < pmin) pmin = p;
        }
        if (!any) { st.code = CK_ERR_ALL_MASKED; st.row = r; return st; }
        double q = 1.0 - mass, n = (double)(vocab - k), lower = 0, upper = 0;
        if (q > 0 && n > 0) {
            upper = q * (log(n) - log(q));
            lower = pmin > 0 ? q * -log(pmin) : 0;
            if (lower > upper) lower = upper;
            if (lower < 0) lower = 0;
        }
        double dl = ldexp(fmax(1.0, fabs(L)), -23);
        out[r] = (float)(htop + 0.5 * (lower + upper));
        if (bound) bound[r] = (float)(0.5 * (upper - lower) + dl * (htop + 1 + upper) + 1e-6);
    }
    return st;
}
