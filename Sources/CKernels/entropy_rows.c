// Multi-row driver: validates arguments, picks the kernel by CPU features, splits rows across
// pthreads (contiguous row ranges, one per thread) and reports the first failing row.
// Rows the AVX2 kernel cannot finish in float (NaN, ±inf, x/τ overflowing float) are re-run by the
// float64 kernel, which either computes them or returns the typed error for that row.
#include "ckernels.h"
#include "entropy_internal.h"
#include <math.h>
#include <pthread.h>
#include <unistd.h>

typedef struct {
    const void *logits;
    int dtype, kernel;
    size_t vocab, stride, r0, r1;
    float temperature, skip_t;
    float *out;
    ck_status status;
} job;

static size_t elem_size(int dtype) { return dtype == CK_DTYPE_F32 ? 4 : 2; }

static void *run_job(void *arg) {
    job *j = (job *)arg;
    const size_t es = elem_size(j->dtype);
    const int fast = j->kernel != CK_ENTROPY_PORTABLE && ck_cpu_has_avx2_fma_f16c();
    j->status.code = CK_OK;
    for (size_t r = j->r0; r < j->r1; r++) {
        const void *row = (const char *)j->logits + r * j->stride * es;
        int code = CK_ERR_NONFINITE;
        if (fast) code = ck_entropy_row_avx2(row, j->dtype, j->vocab, j->temperature, j->kernel == CK_ENTROPY_AUTO, j->skip_t, &j->out[r]);
        if (code == CK_ERR_NONFINITE) {
            double h;
            code = ck_entropy_row_f64(row, j->dtype, j->vocab, j->temperature, &h);
            if (code == CK_OK) j->out[r] = (float)h;
        }
        if (code != CK_OK) { j->status.code = code; j->status.row = r; return NULL; }
    }
    return NULL;
}

ck_status ck_entropy_rows(const void *logits, int dtype, size_t rows, size_t vocab, size_t row_stride,
                          float temperature, int threads, int kernel, float *out) {
    ck_status st = {CK_OK, 0};
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
    job jobs[64];
    pthread_t tids[64];
    int started[64] = {0};
    const float skip_t = (float)ck_entropy_skip_threshold(vocab);
    for (size_t t = 0; t < nt; t++) {
        jobs[t] = (job){logits, dtype, kernel, vocab, row_stride, rows * t / nt, rows * (t + 1) / nt,
                        temperature, skip_t, out, {CK_OK, 0}};
    }
    for (size_t t = 1; t < nt; t++) started[t] = pthread_create(&tids[t], NULL, run_job, &jobs[t]) == 0;
    run_job(&jobs[0]);
    for (size_t t = 1; t < nt; t++) {
        if (started[t]) pthread_join(tids[t], NULL);
        else run_job(&jobs[t]);  // could not start a thread: do its rows here
    }
    for (size_t t = 0; t < nt; t++)
        if (jobs[t].status.code != CK_OK) return jobs[t].status;  // threads own ascending row ranges
    return st;
}
