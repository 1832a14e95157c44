// Multi-row driver: validates arguments, picks the kernel by CPU features, and lets pthreads claim
// chunks of rows from a shared counter (dynamic scheduling: on a shared machine one core is often
// slower than the other, and rows differ in cost when the skip applies to some and not others).
// Rows the AVX2 kernel cannot finish in float (NaN, ±inf, huge x/τ) are re-run by the float64
// kernel, which either computes them or returns the typed error for that row. The error reported
// is the one of the lowest failing row: threads stop claiming chunks past a known failure, and
// every row below it is still processed.
#include "ckernels.h"
#include "entropy_internal.h"
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

typedef struct {
    const void *logits;
    int dtype, kernel, fast;
    size_t rows, vocab, stride, chunk;
    float temperature, skip_t;
    float *out;
    atomic_size_t next;       // first row not yet claimed
    atomic_size_t first_bad;  // lowest failing row seen so far (rows = none)
} shared_work;

typedef struct {
    shared_work *w;
    ck_status status;  // this thread's lowest failing row
    size_t skipped;
} job;

static size_t elem_size(int dtype) { return dtype == CK_DTYPE_F32 ? 4 : 2; }

static int one_row(shared_work *w, size_t r, size_t *skipped) {
    const void *row = (const char *)w->logits + r * w->stride * elem_size(w->dtype);
    int code = CK_ERR_NONFINITE;
    if (w->fast)
        code = ck_entropy_row_avx2(row, w->dtype, w->vocab, w->temperature, w->kernel == CK_ENTROPY_AUTO, w->skip_t,
                                   &w->out[r], skipped);
    if (code == CK_ERR_NONFINITE) {
        double h;
        code = ck_entropy_row_f64(row, w->dtype, w->vocab, w->temperature, &h);
        if (code == CK_OK) w->out[r] = (float)h;
    }
    return code;
}

static void *run_job(void *arg) {
    job *j = (job *)arg;
    shared_work *w = j->w;
    j->status.code = CK_OK;
    for (;;) {
        size_t r0 = atomic_fetch_add(&w->next, w->chunk);
        if (r0 >= w->rows || r0 > atomic_load(&w->first_bad)) return NULL;
        size_t r1 = r0 + w->chunk < w->rows ? r0 + w->chunk : w->rows;
        for (size_t r = r0; r < r1; r++) {
            int code = one_row(w, r, &j->skipped);
            if (code == CK_OK) continue;
            if (j->status.code == CK_OK || r < j->status.row) { j->status.code = code; j->status.row = r; }
            size_t seen = atomic_load(&w->first_bad);
            while (r < seen && !atomic_compare_exchange_weak(&w->first_bad, &seen, r)) {}
            break;  // later rows of this chunk lie above a failure: not needed
        }
    }
}

ck_status ck_entropy_rows(const void *logits, int dtype, size_t rows, size_t vocab, size_t row_stride,
                          float temperature, int threads, int kernel, float *out) {
    return ck_entropy_rows_stats(logits, dtype, rows, vocab, row_stride, temperature, threads, kernel, out, NULL);
}

ck_status ck_entropy_rows_stats(const void *logits, int dtype, size_t rows, size_t vocab, size_t row_stride,
                                float temperature, int threads, int kernel, float *out, size_t *skipped_groups) {
    ck_status st = {CK_OK, 0};
    if (skipped_groups) *skipped_groups = 0;
    if (dtype < CK_DTYPE_F32 || dtype > CK_DTYPE_F16 || vocab == 0 || row_stride < vocab || threads < 0 ||
        !(temperature > 0) || !isfinite(temperature) || kernel < CK_ENTROPY_AUTO || kernel > CK_ENTROPY_PORTABLE) {
        st.code = CK_ERR_ARGUMENT;
        return st;
    }
    if (rows == 0) return st;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t nt = threads > 0 ? (size_t)threads : (size_t)(cores > 0 ? cores : 1);
    if (nt > 64) nt = 64;
    if (nt > rows) nt = rows;
    if (rows * vocab < (size_t)1 << 16) nt = 1;  // thread start-up would cost more than it saves
    shared_work w = {logits, dtype, kernel, kernel != CK_ENTROPY_PORTABLE && ck_cpu_has_avx2_fma_f16c(),
                     rows, vocab, row_stride, 1, temperature, (float)ck_entropy_skip_threshold(vocab), out};
    // About 16 chunks per thread: enough to even out a slow core, few enough to keep the shared
    // counter cold.
    w.chunk = rows / (nt * 16);
    if (w.chunk < 1) w.chunk = 1;
    atomic_init(&w.next, 0);
    atomic_init(&w.first_bad, rows);
    job jobs[64];
    pthread_t tids[64];
    int started[64] = {0};
    for (size_t t = 0; t < nt; t++) jobs[t] = (job){&w, {CK_OK, 0}, 0};
    for (size_t t = 1; t < nt; t++) started[t] = pthread_create(&tids[t], NULL, run_job, &jobs[t]) == 0;
    run_job(&jobs[0]);  // threads that failed to start simply claim nothing; this one drains the rest
    for (size_t t = 1; t < nt; t++)
        if (started[t]) pthread_join(tids[t], NULL);
    for (size_t t = 0; t < nt; t++) {
        if (skipped_groups) *skipped_groups += jobs[t].skipped;
        if (jobs[t].status.code != CK_OK && (st.code == CK_OK || jobs[t].status.row < st.row)) st = jobs[t].status;
    }
    return st;
}
