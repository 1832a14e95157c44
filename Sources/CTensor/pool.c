// The CPU backend's one thread pool: GEMMs (OpenBLAS run single-threaded, the product split into
// column or row panels) and the row-parallel kernels of ctensor.c share the same workers.
//
// Why not OpenBLAS's own threads: between two GEMMs its idle workers spin on sched_yield (perf:
// 25 % of `bench train` samples), and every kernel outside a GEMM (norms, SwiGLU, softmax,
// attention) ran on one core. One pool for both keeps both cores on the trainer's work and lets
// the idle worker sleep.
//
// Protocol: a job is published under a generation counter; worker t (1 … P−1) runs chunk t, the
// caller runs chunk 0, then waits until `pending` reaches 0. Workers spin briefly (a new job
// usually follows within microseconds), then sleep on a condition variable. Calls from inside a
// job, and calls from a second thread while the pool is busy (tests run in parallel), run
// serially in the calling thread, so the pool never deadlocks and results never depend on it:
// each chunk does exactly what the serial loop would do for its range.
#include "ct_pool.h"
#include <cblas.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define CT_PAUSE() _mm_pause()
#else
#define CT_PAUSE() ((void)0)
#endif

#define CT_MAX_THREADS 64
#define CT_SPIN 4000   // pause iterations (≈ 0.1–0.2 ms) before a worker goes to sleep

void openblas_set_num_threads(int num_threads);

static struct {
    pthread_mutex_t lock;        // guards sleeping/waking
    pthread_cond_t wake;
    pthread_mutex_t busy;        // held by the thread that owns the pool for one job
    atomic_uint generation;
    atomic_int pending;
    ct_range_fn fn;
    void *ctx;
    long n;
    int parts;                   // chunks of the current job (≤ threads)
    int threads;                 // participants including the caller
    int started;                 // workers created
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_MUTEX_INITIALIZER};

static _Thread_local int in_job = 0;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static atomic_int requested_threads = 0;

static void run_chunk(int t) {
    long a = pool.n * t / pool.parts, b = pool.n * (t + 1) / pool.parts;
    if (a < b) pool.fn(pool.ctx, a, b, t);
}

static void *worker(void *arg) {
    int t = (int)(long)arg;
    unsigned seen = 0;  // workers start before the first job (generation 1), maybe after it is published
    in_job = 1;
    for (;;) {
        unsigned g;
        int spins = 0;
        while ((g = atomic_load_explicit(&pool.generation, memory_order_acquire)) == seen) {
            if (++spins < CT_SPIN) { CT_PAUSE(); continue; }
            pthread_mutex_lock(&pool.lock);
            while ((g = atomic_load(&pool.generation)) == seen) pthread_cond_wait(&pool.wake, &pool.lock);
            pthread_mutex_unlock(&pool.lock);
            break;
        }
        seen = g;
        if (t < pool.parts) run_chunk(t);
        atomic_fetch_sub_explicit(&pool.pending, 1, memory_order_acq_rel);
    }
    return NULL;
}

static void pool_init(void) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int want = atomic_load(&requested_threads);
    const char *env = getenv("REST_SHAPER_THREADS");
    if (want <= 0 && env) want = atoi(env);
    if (want <= 0) want = cores > 0 ? (int)cores : 1;
    if (want > CT_MAX_THREADS) want = CT_MAX_THREADS;
    pool.threads = want;
    // GEMM panels call OpenBLAS from every worker: it must not start threads of its own.
    openblas_set_num_threads(1);
    for (int t = 1; t < pool.threads; t++) {
        pthread_t tid;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&tid, &attr, worker, (void *)(long)t) != 0) { pthread_attr_destroy(&attr); break; }
        pthread_attr_destroy(&attr);
        pool.started++;
    }
    pool.threads = pool.started + 1;
}

int ct_pool_threads(void) {
    pthread_once(&pool_once, pool_init);
    return pool.threads;
}

void ct_pool_request_threads(int threads) { atomic_store(&requested_threads, threads); }

void ct_parallel_for(long n, long min_chunk, ct_range_fn fn, void *ctx) {
    if (n <= 0) return;
    pthread_once(&pool_once, pool_init);
    long parts = min_chunk > 0 ? n / min_chunk : n;
    if (parts > pool.threads) parts = pool.threads;
    if (parts <= 1 || in_job || pthread_mutex_trylock(&pool.busy) != 0) {
        fn(ctx, 0, n, 0);
        return;
    }
    pool.fn = fn; pool.ctx = ctx; pool.n = n; pool.parts = (int)parts;
    atomic_store(&pool.pending, pool.started);
    pthread_mutex_lock(&pool.lock);
    atomic_fetch_add_explicit(&pool.generation, 1, memory_order_release);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    in_job = 1;
    run_chunk(0);
    in_job = 0;
    int spins = 0;
    while (atomic_load_explicit(&pool.pending, memory_order_acquire) > 0) {
        if (++spins < CT_SPIN) CT_PAUSE(); else sched_yield();  // a descheduled worker needs the core
    }
    pthread_mutex_unlock(&pool.busy);
}

// ── GEMM in panels ──
// C = α·op(A)·op(B) + β·C splits into independent panels of C's rows (op(A) rows) or columns
// (op(B) columns); each panel is one single-threaded cblas_sgemm, so every element is computed
// by the same kernel arithmetic as one unsplit call would use for it… up to OpenBLAS's blocking,
// which may differ with the panel's size (results agree to float rounding, not bit for bit).
typedef struct {
    int ta, tb; long m, n, k; float alpha; const float *a; long lda; const float *b; long ldb;
    float beta; float *c; long ldc; int by_rows; long align;
} gemm_job;

static void gemm_panel(void *ctx, long begin, long end, int t) {
    (void)t;
    const gemm_job *j = ctx;
    // Panel edges on multiples of `align` keep OpenBLAS's micro-kernels on full tiles.
    long total = j->by_rows ? j->m : j->n;
    long lo = begin == 0 ? 0 : (begin * j->align < total ? begin * j->align : total);
    long hi = end * j->align < total ? end * j->align : total;
    if (hi <= lo) return;
    if (j->by_rows) {
        const float *a = j->ta ? j->a + lo : j->a + lo * j->lda;
        cblas_sgemm(CblasRowMajor, j->ta ? CblasTrans : CblasNoTrans, j->tb ? CblasTrans : CblasNoTrans,
                    (blasint)(hi - lo), (blasint)j->n, (blasint)j->k, j->alpha, a, (blasint)j->lda, j->b, (blasint)j->ldb,
                    j->beta, j->c + lo * j->ldc, (blasint)j->ldc);
    } else {
        const float *b = j->tb ? j->b + lo * j->ldb : j->b + lo;
        cblas_sgemm(CblasRowMajor, j->ta ? CblasTrans : CblasNoTrans, j->tb ? CblasTrans : CblasNoTrans,
                    (blasint)j->m, (blasint)(hi - lo), (blasint)j->k, j->alpha, j->a, (blasint)j->lda, b, (blasint)j->ldb,
                    j->beta, j->c + lo, (blasint)j->ldc);
    }
}

void ct_sgemm(int trans_a, int trans_b, long m, long n, long k, float alpha, const float *a, long lda,
              const float *b, long ldb, float beta, float *c, long ldc) {
    gemm_job j = {trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, 0, 16};
    // Below ~4 MFLOP a split costs more than it saves.
    double flops = 2.0 * (double)m * (double)n * (double)k;
    int threads = ct_pool_threads();
    if (threads <= 1 || flops < 4e6) {
        gemm_panel(&j, 0, (n + 15) / 16, 0);
        return;
    }
    // Split the larger of C's dimensions; a panel must hold at least a few tiles.
    j.by_rows = m >= n;
    long units = ((j.by_rows ? m : n) + j.align - 1) / j.align;
    ct_parallel_for(units, 2, gemm_panel, &j);
}
