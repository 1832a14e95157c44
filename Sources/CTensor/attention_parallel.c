// Attention on the pool: the batch rows of ct_attention_fwd / ct_attention_bwd (attention.c) are
// independent (each row's queries see only its own keys), so the rows are split into contiguous
// chunks and each chunk is one call of the kernel on offset pointers. Every row is computed by
// exactly the same code as in a whole-batch call, so the results are bit-identical to it.
#include "ct_attention.h"
#include "ct_pool.h"
#include <stddef.h>

typedef struct {
    const float *q, *k, *v, *out_c, *lse_c, *dout; float *out, *lse, *dq, *dk, *dv;
    const int32_t *kvstart; long Tq, Hq, Hkv, hd, cap, qstart; float scale;
} attn_job;

static void fwd_chunk(void *c, long b0, long b1, int t) {
    (void)t; const attn_job *j = c;
    long qs = j->Tq * j->Hq * j->hd, ks = j->Hkv * j->cap * j->hd;
    ct_attention_fwd(j->q + b0 * qs, j->k + b0 * ks, j->v + b0 * ks, j->out + b0 * qs,
                     j->lse ? j->lse + b0 * j->Hq * j->Tq : NULL, j->kvstart ? j->kvstart + b0 : NULL,
                     b1 - b0, j->Tq, j->Hq, j->Hkv, j->hd, j->cap, j->qstart, j->scale);
}

void ct_attention_fwd_parallel(const float *q, const float *k, const float *v, float *out, float *lse,
                               const int32_t *kvstart, long B, long Tq, long Hq, long Hkv, long hd, long cap,
                               long qstart, float scale) {
    attn_job j = {q, k, v, NULL, NULL, NULL, out, lse, NULL, NULL, NULL, kvstart, Tq, Hq, Hkv, hd, cap, qstart, scale};
    ct_parallel_for(B, 1, fwd_chunk, &j);
}

static void bwd_chunk(void *c, long b0, long b1, int t) {
    (void)t; const attn_job *j = c;
    long qs = j->Tq * j->Hq * j->hd, ks = j->Hkv * j->Tq * j->hd;
    ct_attention_bwd(j->q + b0 * qs, j->k + b0 * ks, j->v + b0 * ks, j->out_c + b0 * qs, j->lse_c + b0 * j->Hq * j->Tq,
                     j->dout + b0 * qs, j->dq + b0 * qs, j->dk + b0 * ks, j->dv + b0 * ks,
                     j->kvstart ? j->kvstart + b0 : NULL, b1 - b0, j->Tq, j->Hq, j->Hkv, j->hd, j->scale);
}

void ct_attention_bwd_parallel(const float *q, const float *k, const float *v, const float *out, const float *lse,
                               const float *dout, float *dq, float *dk, float *dv, const int32_t *kvstart,
                               long B, long T, long Hq, long Hkv, long hd, float scale) {
    attn_job j = {q, k, v, out, lse, dout, NULL, NULL, dq, dk, dv, kvstart, T, Hq, Hkv, hd, T, 0, scale};
    ct_parallel_for(B, 1, bwd_chunk, &j);
}
