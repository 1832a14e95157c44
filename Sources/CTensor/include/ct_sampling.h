#ifndef CT_SAMPLING_H
#define CT_SAMPLING_H
// Token sampling of the trainer's CPU backend (sampling.c): temperature / nucleus (top-p) draws
// and greedy argmax from rows of logits, with the drawn token's log-probability and the row's
// entropy. The maths is stated in sampling.c; the CUDA backend's kernel computes the same.
#include <stdint.h>

/// One token per row of logits [rows, vocab], among the first `cand` ids (cand ≤ 0: all).
/// inv_temp > 0: a draw from softmax(inv_temp·z) restricted to its top-p nucleus, with
/// uniforms[r] in [0, 1); inv_temp = 0: the first maximal logit (greedy, uniforms unused, NULL
/// allowed). logp[r] = log softmax(z·t)[id] and entropy[r] = H(softmax(z·t)) over all `vocab`
/// ids, with t = inv_temp (1 when greedy); either may be NULL.
void ct_sample_rows(const float *logits, long rows, long vocab, long cand, float inv_temp, float top_p,
                    const float *uniforms, int32_t *ids, float *logp, float *entropy);
/// The reference: the same draw with the nucleus found by sorting the probabilities.
void ct_sample_rows_ref(const float *logits, long rows, long vocab, long cand, float inv_temp, float top_p,
                        const float *uniforms, int32_t *ids, float *logp, float *entropy);
#endif
