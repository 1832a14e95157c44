// Token sampling from rows of logits (rollouts and greedy decoding).
//
// Per row, with t = inv_temp (t = 1 for greedy) and z_i = t·logit_i:
//   m = max_i z_i,  S = Σ_i e^{z_i − m} (double),  lse = m + log S,
//   p_i = (float)(e^{z_i − m} / S),  H = lse − Σ_i p_i z_i,  logp(id) = z_id − lse.
// Only the first `cand` ids can be drawn (a vocabulary padded past its tokenizer's keeps its
// extra ids out of rollouts); lse, H and logp are those of the softmax over all `vocab` ids.
// Greedy (inv_temp = 0): id = the first i < cand with maximal logit.
// Nucleus (top-p): the kept set is {i : p_i ≥ τ} where τ is the largest value with
//   M(τ) = Σ_{p_i ≥ τ} p_i ≥ top_p
// — the smallest prefix of the probabilities sorted in decreasing order whose mass reaches top_p,
// with every token tied with its last member (top_p ≥ 1 keeps every token). The draw is the
// inverse CDF in vocabulary order: with target u·M(τ), the first kept i whose running kept mass
// exceeds the target (the last kept token if rounding leaves none).
// ct_sample_rows finds τ by bisection on the bit patterns of non-negative floats (ordered like
// their values), 32 passes over the row and no sort — the form a GPU block computes too;
// ct_sample_rows_ref finds it by sorting, as the definition reads. SamplingTests checks they agree.
#include "ct_sampling.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct { double lse; double entropy; float m; double s; } row_stats;

// lse and entropy of softmax(t·row); also m and S for the probabilities.
static row_stats stats(const float *row, long vocab, float t) {
    row_stats r;
    float m = -INFINITY;
    for (long i = 0; i < vocab; i++) { float z = row[i] * t; if (z > m) m = z; }
    double s = 0, sz = 0;
    for (long i = 0; i < vocab; i++) { float z = row[i] * t; double e = exp((double)(z - m)); s += e; sz += e * z; }
    r.m = m; r.s = s; r.lse = m + log(s); r.entropy = r.lse - sz / s;
    return r;
}

static long argmax(const float *row, long cand) {
    long best = 0;
    for (long i = 1; i < cand; i++) if (row[i] > row[best]) best = i;
    return best;
}

static inline float prob(const float *row, long i, float t, row_stats st) {
    return (float)(exp((double)(row[i] * t - st.m)) / st.s);
}

// The inverse-CDF draw over {i : p_i ≥ tau} in vocabulary order.
static long draw(const float *p, long vocab, float tau, double mass, float u) {
    double target = (double)u * mass, run = 0;
    long last = -1;
    for (long i = 0; i < vocab; i++) {
        if (p[i] < tau) continue;
        run += p[i]; last = i;
        if (run > target) return i;
    }
    return last >= 0 ? last : 0;
}

static double kept_mass(const float *p, long vocab, float tau) {
    double s = 0;
    for (long i = 0; i < vocab; i++) if (p[i] >= tau) s += p[i];
    return s;
}

static void finish(const float *row, long r, long id, float t, row_stats st, int32_t *ids, float *logp, float *entropy) {
    ids[r] = (int32_t)id;
    if (logp) logp[r] = (float)(row[id] * t - st.lse);
    if (entropy) entropy[r] = (float)st.entropy;
}

void ct_sample_rows(const float *logits, long rows, long vocab, long cand, float inv_temp, float top_p,
                    const float *uniforms, int32_t *ids, float *logp, float *entropy) {
    if (cand <= 0 || cand > vocab) cand = vocab;
    float *p = inv_temp > 0 ? malloc(sizeof(float) * (size_t)vocab) : NULL;
    if (inv_temp > 0 && !p) abort();
    for (long r = 0; r < rows; r++) {
        const float *row = logits + r * vocab;
        float t = inv_temp > 0 ? inv_temp : 1.0f;
        row_stats st = stats(row, vocab, t);
        if (inv_temp <= 0) { finish(row, r, argmax(row, cand), t, st, ids, logp, entropy); continue; }
        float pmax = 0;
        for (long i = 0; i < cand; i++) { p[i] = prob(row, i, t, st); if (p[i] > pmax) pmax = p[i]; }
        float tau = 0;
        if (top_p < 1 && kept_mass(p, cand, 0) >= top_p) {
            // Largest bit pattern lo with M(lo) ≥ top_p: M(0) ≥ top_p, M(above pmax) = 0 < top_p.
            uint32_t lo = 0, hi, bits;
            memcpy(&bits, &pmax, 4);
            hi = bits + 1;
            while (hi - lo > 1) {
                uint32_t mid = lo + (hi - lo) / 2; float fm;
                memcpy(&fm, &mid, 4);
                if (kept_mass(p, cand, fm) >= top_p) lo = mid; else hi = mid;
            }
            memcpy(&tau, &lo, 4);
        }
        finish(row, r, draw(p, cand, tau, kept_mass(p, cand, tau), uniforms[r]), t, st, ids, logp, entropy);
    }
    free(p);
}

typedef struct { float p; long i; } ranked;
static int by_prob_desc(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->p != y->p) return x->p > y->p ? -1 : 1;
    return x->i < y->i ? -1 : (x->i > y->i);
}

void ct_sample_rows_ref(const float *logits, long rows, long vocab, long cand, float inv_temp, float top_p,
                        const float *uniforms, int32_t *ids, float *logp, float *entropy) {
    if (cand <= 0 || cand > vocab) cand = vocab;
    float *p = malloc(sizeof(float) * (size_t)vocab);
    ranked *order = malloc(sizeof(ranked) * (size_t)vocab);
    if (!p || !order) abort();
    for (long r = 0; r < rows; r++) {
        const float *row = logits + r * vocab;
        float t = inv_temp > 0 ? inv_temp : 1.0f;
        row_stats st = stats(row, vocab, t);
        if (inv_temp <= 0) { finish(row, r, argmax(row, cand), t, st, ids, logp, entropy); continue; }
        for (long i = 0; i < cand; i++) { p[i] = prob(row, i, t, st); order[i].p = p[i]; order[i].i = i; }
        float tau = 0;
        if (top_p < 1) {
            qsort(order, (size_t)cand, sizeof(ranked), by_prob_desc);
            double acc = 0;
            for (long k = 0; k < cand; k++) { acc += order[k].p; if (acc >= top_p) { tau = order[k].p; break; } }
        }
        double mass = 0;
        for (long i = 0; i < cand; i++) if (p[i] >= tau) mass += p[i];
        finish(row, r, draw(p, cand, tau, mass, uniforms[r]), t, st, ids, logp, entropy);
    }
    free(p); free(order);
}
