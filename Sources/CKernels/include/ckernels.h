#ifndef CKERNELS_H
#define CKERNELS_H
#include <stddef.h>
#include <stdint.h>

/// Returns 1 when the CPU supports AVX2 and FMA (the fast kernel paths).
int ck_cpu_has_avx2_fma(void);
/// Returns 1 when the CPU supports AVX2, FMA and F16C (the fast entropy kernels need all three).
int ck_cpu_has_avx2_fma_f16c(void);
/// Returns 1 when the CPU has AVX2/FMA and AVX-512 F, BW, VL, DQ and CD (what OpenBLAS's AVX-512
/// cores and the AVX-512 kernels here use).
int ck_cpu_has_avx512(void);
/// Returns 1 when the CPU also has AVX-512 BF16 (OpenBLAS's Cooperlake core).
int ck_cpu_has_avx512_bf16(void);
/// CPU vendor from CPUID: 1 Intel, 2 AMD, 0 other or not x86-64.
int ck_cpu_vendor(void);

/// Element type codes of a logits tensor (match Swift's LogitsDType).
enum { CK_DTYPE_F32 = 0, CK_DTYPE_BF16 = 1, CK_DTYPE_F16 = 2 };

/// Kernel choice for the full-row entropy: automatic (skipping AVX2 kernel when the CPU has it),
/// the AVX2 kernel without the skip (the "plain" baseline), or the portable float64 path.
enum { CK_ENTROPY_AUTO = 0, CK_ENTROPY_PLAIN = 1, CK_ENTROPY_PORTABLE = 2 };

/// Result codes of the entropy kernels.
enum {
    CK_OK = 0,
    CK_ERR_NONFINITE = 1,   ///< a NaN or +inf logit (or a top-k input that is NaN / +inf)
    CK_ERR_ALL_MASKED = 2,  ///< every logit of the row is -inf
    CK_ERR_ARGUMENT = 3     ///< bad temperature, shape, dtype or kernel choice
};

/// Status of a multi-row call: the first failing row in row order (when code != CK_OK).
typedef struct { int code; size_t row; } ck_status;

/// Per-token entropy of `rows` rows of `vocab` logits (row i starts at element i * row_stride),
/// H = logsumexp(x/τ) − Σ softmax(x/τ)·x/τ in nats, written to out[i]. `threads` = 0 uses every
/// online core. `kernel` is one of CK_ENTROPY_*. Never reads past rows*row_stride elements.
ck_status ck_entropy_rows(const void *logits, int dtype, size_t rows, size_t vocab, size_t row_stride,
                          float temperature, int threads, int kernel, float *out);

/// ck_entropy_rows that also reports how many 32-value groups the skipping kernel did not
/// exponentiate (benchmark statistics; NULL allowed).
ck_status ck_entropy_rows_stats(const void *logits, int dtype, size_t rows, size_t vocab, size_t row_stride,
                                float temperature, int threads, int kernel, float *out, size_t *skipped_groups);

/// The skip threshold T (nats below the running max, adapted by the running sum) that the
/// skipping kernel uses for rows of length `vocab`, and the proven bound on the absolute entropy
/// error that skipping can add: h(ε) + ε·ln(vocab) with ε = vocab·e^{−T} (see entropy_avx2.c).
double ck_entropy_skip_threshold(size_t vocab);
double ck_entropy_skip_error_bound(size_t vocab);

/// Float64 entropy of one row (two passes, libm exp): the portable path, the fallback of the fast
/// kernel for rows whose scaled logits overflow float, and the classifier of NaN / ±inf rows.
/// Returns CK_OK and writes *entropy, or an error code.
int ck_entropy_row_f64(const void *logits, int dtype, size_t vocab, double temperature, double *entropy);

/// Entropy from the k largest logits of a row and the logsumexp of the full row (length vocab):
/// out = H_top + midpoint of the tail's entropy interval, bound = half the interval width
/// (so the true entropy lies in [out − bound, out + bound] up to float rounding of the inputs).
/// See entropy_topk.c for the derivation. `bound` may be NULL.
ck_status ck_entropy_topk(const float *top_logits, size_t k, const float *logsumexp, size_t vocab,
                          size_t rows, float *out, float *bound);

/// Vectorised 2^x of the entropy kernels applied to n floats (for the accuracy test); uses the
/// AVX2 code when the CPU has it, else libm exp2f. Inputs below −126 are clamped to −126.
void ck_exp2_batch(const float *in, float *out, size_t n);

/// Scalar widening used by every kernel for row tails and by the float64 path (exact).
float ck_bf16_to_f32(uint16_t h);
float ck_f16_to_f32(uint16_t h);
/// float32 → bf16, round to nearest even (NaN stays NaN).
uint16_t ck_f32_to_bf16(float f);
/// float32 → fp16, round to nearest even; overflow → ±inf, NaN → 0x7e00.
uint16_t ck_f32_to_f16(float f);
/// Array forms: narrow (round to nearest even), widen (exact), and round in float32 (each value
/// replaced by the nearest bf16, kept as float32).
void ck_f32_to_bf16_array(const float *src, uint16_t *dst, long n);
void ck_bf16_to_f32_array(const uint16_t *src, float *dst, long n);
void ck_round_to_bf16_array(const float *src, float *dst, long n);

/// Sums n floats with a plain streaming read split across `threads` (0 = all cores): the read
/// bandwidth reference of the entropy benchmark. Returns the sum so the work cannot be elided.
double ck_stream_read_sum(const float *data, size_t n, int threads);

#endif
