#ifndef CT_POOL_H
#define CT_POOL_H
// The CPU backend's thread pool and panel-split GEMM (pool.c).
#include <stdint.h>

/// A chunk of a parallel loop: indices [begin, end), run by participant `thread` (0 = caller).
typedef void (*ct_range_fn)(void *ctx, long begin, long end, int thread);

/// Runs fn over [0, n) in up to ct_pool_threads() contiguous chunks of at least `min_chunk`
/// indices (the caller runs the first). Serial when nested, or when another thread holds the pool.
void ct_parallel_for(long n, long min_chunk, ct_range_fn fn, void *ctx);

/// Participants of a parallel loop (workers + the caller). Starts the pool on first use: the
/// number of online cores, or REST_SHAPER_THREADS, or ct_pool_request_threads before first use.
/// Sets OpenBLAS to one thread (the pool splits GEMMs itself).
int ct_pool_threads(void);

/// Thread count for a pool not started yet (0 = default); ignored once started.
void ct_pool_request_threads(int threads);

/// Row-major C = alpha·op(A)·op(B) + beta·C (cblas_sgemm's arguments), split into row or column
/// panels across the pool; small products run in one call.
void ct_sgemm(int trans_a, int trans_b, long m, long n, long k, float alpha, const float *a, long lda,
              const float *b, long ldb, float beta, float *c, long ldc);

/// ct_attention_fwd / ct_attention_bwd (ct_attention.h) with the batch rows split across the
/// pool; bit-identical to the whole-batch call (attention_parallel.c).
void ct_attention_fwd_parallel(const float *q, const float *k, const float *v, float *out, float *lse,
                               const int32_t *kvstart, long B, long Tq, long Hq, long Hkv, long hd, long cap,
                               long qstart, float scale);
void ct_attention_bwd_parallel(const float *q, const float *k, const float *v, const float *out, const float *lse,
                               const float *dout, float *dq, float *dk, float *dv, const int32_t *kvstart,
                               long B, long T, long Hq, long Hkv, long hd, float scale);
#endif
