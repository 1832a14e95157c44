// Streaming-read loop for the bandwidth reference of `rest-shaper bench entropy`: sums a float
// buffer with AVX2 (8 independent accumulators, no other work), split across pthreads like the
// entropy kernels, so its bytes/s is what the memory system delivers to that access pattern.
#include "ckernels.h"
#include <pthread.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

typedef struct { const float *p; size_t n; double sum; } read_job;

#if defined(__x86_64__)
__attribute__((target("avx2"))) static double sum_avx2(const float *p, size_t n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p + i)); a1 = _mm256_add_ps(a1, _mm256_loadu_ps(p + i + 8));
        a2 = _mm256_add_ps(a2, _mm256_loadu_ps(p + i + 16)); a3 = _mm256_add_ps(a3, _mm256_loadu_ps(p + i + 24));
        a4 = _mm256_add_ps(a4, _mm256_loadu_ps(p + i + 32)); a5 = _mm256_add_ps(a5, _mm256_loadu_ps(p + i + 40));
        a6 = _mm256_add_ps(a6, _mm256_loadu_ps(p + i + 48)); a7 = _mm256_add_ps(a7, _mm256_loadu_ps(p + i + 56));
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    float lanes[8];
    _mm256_storeu_ps(lanes, s);
    double r = 0;
    for (int j = 0; j < 8; j++) r += lanes[j];
    for (; i < n; i++) r += p[i];
    return r;
}
#endif

static void *read_run(void *arg) {
    read_job *j = (read_job *)arg;
#if defined(__x86_64__)
    if (ck_cpu_has_avx2_fma()) { j->sum = sum_avx2(j->p, j->n); return NULL; }
#endif
    double r = 0;
    for (size_t i = 0; i < j->n; i++) r += j->p[i];
    j->sum = r;
    return NULL;
}

double ck_stream_read_sum(const float *data, size_t n, int threads) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t nt = threads > 0 ? (size_t)threads : (size_t)(cores > 0 ? cores : 1);
    if (nt > 64) nt = 64;
    if (nt < 1) nt = 1;
    read_job jobs[64];
    pthread_t tids[64];
    int started[64] = {0};
    for (size_t t = 0; t < nt; t++) {
        size_t a = n * t / nt, b = n * (t + 1) / nt;
        jobs[t] = (read_job){data + a, b - a, 0};
    }
    for (size_t t = 1; t < nt; t++) started[t] = pthread_create(&tids[t], NULL, read_run, &jobs[t]) == 0;
    read_run(&jobs[0]);
    double total = jobs[0].sum;
    for (size_t t = 1; t < nt; t++) {
        if (started[t]) pthread_join(tids[t], NULL); else read_run(&jobs[t]);
        total += jobs[t].sum;
    }
    return total;
}
