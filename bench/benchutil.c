#define _GNU_SOURCE /* RTLD_DEFAULT, pthread_barrier */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "benchutil.h"
#include "irllrec/irllrec.h"

double bu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double bu_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bu_median(const double *v, size_t n)
{
    double *c, m;
    if (n == 0) return 0.0;
    c = (double *)malloc(n * sizeof *c);
    if (c == NULL) return v[0];
    memcpy(c, v, n * sizeof *c);
    qsort(c, n, sizeof *c, cmp_double);
    m = n % 2 ? c[n / 2] : 0.5 * (c[n / 2 - 1] + c[n / 2]);
    free(c);
    return m;
}

double bu_peak_rss_mib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kib = -1;
    if (f == NULL) return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0) kib = atof(line + 6);
    fclose(f);
    return kib / 1024.0;
}

void bu_print_blas(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[1024], found[512] = "";
    if (f != NULL) {
        while (fgets(line, sizeof line, f)) {
            char *p = strrchr(line, '/');
            if (p && (strstr(p, "blas") || strstr(p, "BLAS"))) {
                char *nl = strchr(line, '\n');
                if (nl) *nl = '\0';
                snprintf(found, sizeof found, "%s", strchr(line, '/'));
                break;
            }
        }
        fclose(f);
    }
    printf("gemm backend: %s; blas library loaded: %s; OPENBLAS_NUM_THREADS=%s\n",
           irllrec_gemm_backend(), found[0] ? found : "(none)",
           getenv("OPENBLAS_NUM_THREADS") ? getenv("OPENBLAS_NUM_THREADS") : "(unset)");
}

void bu_print_cpu(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512], model[256] = "unknown";
    double l1 = 0, l5 = 0, l15 = 0;
    if (f != NULL) {
        while (fgets(line, sizeof line, f)) {
            char *c = strchr(line, ':');
            if (strncmp(line, "model name", 10) == 0 && c != NULL) {
                snprintf(model, sizeof model, "%s", c + 2);
                model[strcspn(model, "\n")] = '\0';
                break;
            }
        }
        fclose(f);
    }
    printf("cpu: %s\n", model);
    f = fopen("/proc/loadavg", "r");
    if (f != NULL) {
        if (fscanf(f, "%lf %lf %lf", &l1, &l5, &l15) == 3)
            printf("load: %.2f %.2f %.2f\n", l1, l5, l15);
        fclose(f);
    }
}

uint64_t bu_mix(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

float bu_unif(uint64_t *x) { return (float)((double)(bu_mix(x) >> 11) * 0x1.0p-53 - 0.5); }

irllrec_x_dataset *bu_amazon_like(irllrec_ctx *ctx)
{
    const int64_t ntr = 120464, nva = 40290;
    int32_t *tu = malloc((size_t)ntr * 4), *ti = malloc((size_t)ntr * 4);
    int32_t *vu = malloc((size_t)nva * 4), *vi = malloc((size_t)nva * 4);
    uint64_t x = 7;
    irllrec_x_dataset *ds = NULL;
    if (tu == NULL || ti == NULL || vu == NULL || vi == NULL) {
        fprintf(stderr, "bu_amazon_like: out of memory\n");
        free(tu), free(ti), free(vu), free(vi);
        return NULL;
    }
    for (int64_t k = 0; k < ntr; k++) {
        tu[k] = (int32_t)(k % BU_AMAZON_USERS);
        ti[k] = (int32_t)(bu_mix(&x) % BU_AMAZON_ITEMS);
    }
    for (int64_t k = 0; k < nva; k++) {
        vu[k] = (int32_t)(bu_mix(&x) % BU_AMAZON_USERS);
        vi[k] = (int32_t)(bu_mix(&x) % BU_AMAZON_ITEMS);
    }
    if (irllrec_x_dataset_from_pairs(ctx, BU_AMAZON_USERS, BU_AMAZON_ITEMS, tu, ti, ntr, vu, vi,
                                     nva, NULL, NULL, 0, &ds) != IRLLREC_OK)
        fprintf(stderr, "from_pairs: %s\n", irllrec_ctx_errmsg(ctx));
    free(tu), free(ti), free(vu), free(vi);
    return ds;
}

/* ---- roofs ---------------------------------------------------------------
 * Each roof runs one independent copy of its loop on every thread at once
 * (pthreads, BLAS forced to one thread each), so it is what all the cores
 * this benchmark uses can do together, measured under the same load. */

#include <pthread.h>
#ifdef IRLLREC_USE_CBLAS
#include <cblas.h>
#endif
#if defined(__has_include)
#if __has_include(<dlfcn.h>)
#include <dlfcn.h>
#define BU_HAVE_DLSYM 1
#endif
#endif

#define BU_ROOF_RUNS 5
#define BU_GATHER_ROWS 20332 /* amazon-book's nodes: a 2.6 MB table at d 32 */
#define BU_GATHER_D 32
#define BU_GATHER_READS (1 << 20)
#define BU_COPY_BYTES ((size_t)32 << 20)

typedef struct roof_job {
    int kind; /* 0 sgemm, 1 gather, 2 memcpy */
    int m, n, k;
    float *a, *b, *c;
    const int32_t *idx;
    char *src, *dst;
    double sink;
    pthread_barrier_t *bar;
    double *t;  /* per run: wall seconds of this thread */
    double *tc; /* per run: CPU seconds of this thread */
} roof_job;

static void roof_gemm(roof_job *j)
{
#ifdef IRLLREC_USE_CBLAS
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, j->m, j->n, j->k, 1.0f, j->a, j->k, j->b,
                j->k, 0.0f, j->c, j->n);
#else
    (void)j;
#endif
}

/* y += X[idx[e]] over 2^20 random rows: the access pattern of a LightGCN
 * layer (one 128-byte row per edge) without its weights. Written like the
 * host's kernel (four 8-float vectors, widest ISA at load time) so the roof
 * is not slower than the code it bounds. */
typedef float bu_v8 __attribute__((vector_size(32)));
#if defined(__GNUC__) && defined(__x86_64__) && defined(__ELF__) && !defined(__SANITIZE_THREAD__)
#define BU_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define BU_CLONES
#endif
BU_CLONES static double gather_rows(const float *tab, const int32_t *idx, int64_t n)
{
    bu_v8 y0 = {0}, y1 = {0}, y2 = {0}, y3 = {0}, x0, x1, x2, x3;
    double s = 0;
    for (int64_t e = 0; e < n; e++) {
        const float *x = tab + (int64_t)idx[e] * BU_GATHER_D;
        memcpy(&x0, x, sizeof x0);
        memcpy(&x1, x + 8, sizeof x1);
        memcpy(&x2, x + 16, sizeof x2);
        memcpy(&x3, x + 24, sizeof x3);
        y0 += x0, y1 += x1, y2 += x2, y3 += x3;
    }
    y0 += y1 + y2 + y3;
    for (int c = 0; c < 8; c++) s += y0[c];
    return s;
}

static void roof_gather(roof_job *j)
{
    j->sink += gather_rows(j->a, j->idx, BU_GATHER_READS);
}

static void *roof_main(void *p)
{
    roof_job *j = (roof_job *)p;
    for (int r = 0; r < BU_ROOF_RUNS; r++) {
        double t0, c0;
        struct timespec ts;
        pthread_barrier_wait(j->bar);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        c0 = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
        t0 = bu_now();
        if (j->kind == 0) roof_gemm(j);
        if (j->kind == 1) roof_gather(j);
        if (j->kind == 2) memcpy(j->dst, j->src, BU_COPY_BYTES);
        j->t[r] = bu_now() - t0;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        j->tc[r] = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec - c0;
    }
    return NULL;
}

static void blas_threads(int n)
{
#ifdef BU_HAVE_DLSYM
    void (*set)(int);
    *(void **)&set = dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
    if (set != NULL) set(n);
#else
    (void)n;
#endif
}

static int blas_threads_now(void)
{
#ifdef BU_HAVE_DLSYM
    int (*get)(void);
    *(void **)&get = dlsym(RTLD_DEFAULT, "openblas_get_num_threads");
    if (get != NULL) return get();
#endif
    return 1;
}

static int roof_alloc(roof_job *j, int kind, int m, int n, int k, uint64_t seed)
{
    memset(j, 0, sizeof *j);
    j->kind = kind;
    j->m = m, j->n = n, j->k = k;
    if (kind == 0) {
        j->a = (float *)malloc((size_t)m * k * sizeof(float));
        j->b = (float *)malloc((size_t)n * k * sizeof(float));
        j->c = (float *)malloc((size_t)m * n * sizeof(float));
        if (!j->a || !j->b || !j->c) return -1;
        for (size_t q = 0; q < (size_t)m * k; q++) j->a[q] = bu_unif(&seed);
        for (size_t q = 0; q < (size_t)n * k; q++) j->b[q] = bu_unif(&seed);
    } else if (kind == 1) {
        int32_t *idx = (int32_t *)malloc((size_t)BU_GATHER_READS * sizeof(int32_t));
        j->a = (float *)malloc((size_t)BU_GATHER_ROWS * BU_GATHER_D * sizeof(float));
        if (!idx || !j->a) return free(idx), -1;
        for (size_t q = 0; q < (size_t)BU_GATHER_ROWS * BU_GATHER_D; q++) j->a[q] = bu_unif(&seed);
        for (int64_t e = 0; e < BU_GATHER_READS; e++)
            idx[e] = (int32_t)(bu_mix(&seed) % BU_GATHER_ROWS);
        j->idx = idx;
    } else {
        j->src = (char *)malloc(BU_COPY_BYTES);
        j->dst = (char *)malloc(BU_COPY_BYTES);
        if (!j->src || !j->dst) return -1;
        memset(j->src, 1, BU_COPY_BYTES);
        memset(j->dst, 2, BU_COPY_BYTES); /* fault the pages in before timing */
    }
    return 0;
}

static void roof_free(roof_job *j)
{
    free(j->a), free(j->b), free(j->c), free((void *)j->idx), free(j->src), free(j->dst);
}

/* Median over runs of (total work / slowest thread's wall time), and in
 * *per_cpu the median of work per CPU-second of one thread (less sensitive
 * to a loaded machine). -1 on failure. */
static double roof_run(int nt, int kind, int m, int n, int k, double work, double *per_cpu)
{
    roof_job *jobs = (roof_job *)calloc((size_t)nt, sizeof *jobs);
    pthread_t *th = (pthread_t *)calloc((size_t)nt, sizeof *th);
    double *t = (double *)calloc((size_t)nt * BU_ROOF_RUNS * 2, sizeof *t), rate[BU_ROOF_RUNS], med = -1;
    double cr[BU_ROOF_RUNS];
    pthread_barrier_t bar;
    int ok = jobs && th && t && pthread_barrier_init(&bar, NULL, (unsigned)nt) == 0, started = 0;
    for (int q = 0; ok && q < nt; q++) {
        ok = roof_alloc(&jobs[q], kind, m, n, k, 1234 + (uint64_t)q) == 0;
        jobs[q].bar = &bar;
        jobs[q].t = t + (size_t)q * BU_ROOF_RUNS;
        jobs[q].tc = t + (size_t)(nt + q) * BU_ROOF_RUNS;
    }
    for (int q = 1; ok && q < nt; q++) ok = pthread_create(&th[q], NULL, roof_main, &jobs[q]) == 0, started += ok;
    if (ok) roof_main(&jobs[0]);
    for (int q = 1; q <= started; q++) pthread_join(th[q], NULL);
    if (ok) {
        for (int r = 0; r < BU_ROOF_RUNS; r++) {
            double w = 0, c = 0;
            for (int q = 0; q < nt; q++) {
                double tq = t[(size_t)q * BU_ROOF_RUNS + r], cq = t[(size_t)(nt + q) * BU_ROOF_RUNS + r];
                w = tq > w ? tq : w;
                c = cq > c ? cq : c;
            }
            rate[r] = work * nt / w;
            cr[r] = c > 0 ? work / c : -1;
        }
        med = bu_median(rate, BU_ROOF_RUNS);
        *per_cpu = bu_median(cr, BU_ROOF_RUNS);
    }
    if (jobs && th && t) pthread_barrier_destroy(&bar);
    for (int q = 0; jobs && q < nt; q++) roof_free(&jobs[q]);
    free(jobs), free(th), free(t);
    return med;
}

void bu_measure_roofs(int n_threads, bu_roofs *r)
{
    int was = blas_threads_now();
    memset(r, 0, sizeof *r);
    r->threads = n_threads < 1 ? 1 : n_threads;
    blas_threads(1); /* one sgemm per thread, as the library's regions run them */
#ifdef IRLLREC_USE_CBLAS
    r->sgemm_square = roof_run(r->threads, 0, 1024, 1024, 1024, 2.0 * 1024 * 1024 * 1024 / 1e9,
                               &r->cpu[0]);
    r->sgemm_thin = roof_run(r->threads, 0, 2048, 2048, 32, 2.0 * 2048 * 2048 * 32 / 1e9, &r->cpu[1]);
#else
    r->sgemm_square = r->sgemm_thin = -1; /* no BLAS: the plain loop is not a roof */
#endif
    blas_threads(was);
    r->gather = roof_run(r->threads, 1, 0, 0, 0, (double)BU_GATHER_READS * BU_GATHER_D * 4 / 1e9,
                         &r->cpu[2]);
    r->memcpy_bw = roof_run(r->threads, 2, 0, 0, 0, (double)BU_COPY_BYTES / 1e9, &r->cpu[3]);
}

void bu_print_roofs(const bu_roofs *r)
{
    printf("roofs (this run, %d threads, median of %d): sgemm 1024^3 %.1f GFLOP/s, "
           "thin sgemm 2048x2048x32 %.1f GFLOP/s, gather of random 128-byte rows "
           "(%d x %d fp32 table) %.1f GB/s, memcpy (32 MiB) %.1f GB/s; per CPU-second of one "
           "thread: %.1f, %.1f, %.1f, %.1f\n",
           r->threads, BU_ROOF_RUNS, r->sgemm_square, r->sgemm_thin, BU_GATHER_ROWS, BU_GATHER_D,
           r->gather, r->memcpy_bw, r->cpu[0], r->cpu[1], r->cpu[2], r->cpu[3]);
}

double bu_fraction(double achieved, double roof)
{
    return roof > 0 && achieved >= 0 ? achieved / roof : -1;
}

void bu_print_isa(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    printf("isa (what run-time dispatch picks from): avx512f %s, avx2 %s, fma %s\n",
           __builtin_cpu_supports("avx512f") ? "yes" : "no",
           __builtin_cpu_supports("avx2") ? "yes" : "no",
           __builtin_cpu_supports("fma") ? "yes" : "no");
#else
    printf("isa: not an x86 GCC/Clang build; baseline code paths\n");
#endif
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define BU_FMA_ITERS 20000000L

/* 24 independent chains: more than latency (4) x pipes (2) needs. The
 * unroll pragmas keep the chains in registers: without them GCC 12 kept a[]
 * on the stack (a store and a load in every chain, measured 70 GFLOP/s per
 * Zen 4 core against OpenBLAS's 98), which made the roof lower than what
 * the kernels it judges reach. */
__attribute__((target("avx512f"))) static float fma_loop_512(long iters)
{
    __m512 a[24], m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    float out[16];
#pragma GCC unroll 24
    for (int i = 0; i < 24; i++) a[i] = _mm512_set1_ps((float)i);
    for (long t = 0; t < iters; t++)
#pragma GCC unroll 24
        for (int i = 0; i < 24; i++) a[i] = _mm512_fmadd_ps(a[i], m, c);
#pragma GCC unroll 24
    for (int i = 1; i < 24; i++) a[0] = _mm512_add_ps(a[0], a[i]);
    _mm512_storeu_ps(out, a[0]);
    return out[0];
}

__attribute__((target("avx2,fma"))) static float fma_loop_256(long iters)
{
    __m256 a[12], m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    float out[8];
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++) a[i] = _mm256_set1_ps((float)i);
    for (long t = 0; t < iters; t++)
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) a[i] = _mm256_fmadd_ps(a[i], m, c);
#pragma GCC unroll 12
    for (int i = 1; i < 12; i++) a[0] = _mm256_add_ps(a[0], a[i]);
    _mm256_storeu_ps(out, a[0]);
    return out[0];
}

const char *bu_fma_isa(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return "avx512";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "avx2";
    return "none";
}

typedef struct fma_arg {
    int wide;
    double cpu_s;
    float sink;
} fma_arg;

static void *fma_thread(void *arg)
{
    fma_arg *a = (fma_arg *)arg;
    struct timespec t0, t1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    a->sink = a->wide == 2 ? fma_loop_512(BU_FMA_ITERS / 2) : fma_loop_256(BU_FMA_ITERS / 2);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    a->cpu_s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    return NULL;
}

double bu_fma_peak_gflops(int threads, double *per_cpu_s)
{
    const char *isa = bu_fma_isa();
    const int wide = strcmp(isa, "avx512") == 0 ? 2 : strcmp(isa, "avx2") == 0 ? 1 : 0;
    pthread_t th[64];
    fma_arg arg[64];
    double t0, flop, cpu = 0.0;
    if (per_cpu_s) *per_cpu_s = 0.0;
    if (wide == 0 || threads < 1 || threads > 64) return 0.0;
    t0 = bu_now();
    for (int i = 0; i < threads; i++) {
        arg[i].wide = wide;
        pthread_create(&th[i], NULL, fma_thread, &arg[i]);
    }
    for (int i = 0; i < threads; i++) pthread_join(th[i], NULL);
    /* per iteration: 24 zmm or 12 ymm FMAs = 384 or 96 lanes, 2 flops each */
    flop = (double)threads * (double)(BU_FMA_ITERS / 2) * (wide == 2 ? 768.0 : 192.0);
    for (int i = 0; i < threads; i++) cpu += arg[i].cpu_s;
    if (per_cpu_s) *per_cpu_s = flop / cpu * 1e-9;
    return flop / (bu_now() - t0) * 1e-9;
}
#else
const char *bu_fma_isa(void) { return "none"; }
double bu_fma_peak_gflops(int threads, double *per_cpu_s)
{
    (void)threads;
    if (per_cpu_s) *per_cpu_s = 0.0;
    return 0.0;
}
#endif

double bu_sgemm_gflops(int m, int n, int k, int reps)
{
#ifdef IRLLREC_USE_CBLAS
    float *a = malloc((size_t)m * (size_t)k * sizeof(float));
    float *b = malloc((size_t)n * (size_t)k * sizeof(float));
    float *c = malloc((size_t)m * (size_t)n * sizeof(float));
    double t[64];
    uint64_t x = 5;
    if (!a || !b || !c || reps < 1 || reps > 64) {
        free(a), free(b), free(c);
        return 0.0;
    }
    for (size_t i = 0; i < (size_t)m * (size_t)k; i++) a[i] = bu_unif(&x);
    for (size_t i = 0; i < (size_t)n * (size_t)k; i++) b[i] = bu_unif(&x);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, k, b, k, 0.0f, c, n);
    for (int r = 0; r < reps; r++) {
        double t0 = bu_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, k, b, k, 0.0f, c, n);
        t[r] = bu_now() - t0;
    }
    free(a), free(b), free(c);
    return 2.0 * m * (double)n * k / bu_median(t, (size_t)reps) * 1e-9;
#else
    (void)m, (void)n, (void)k, (void)reps;
    return 0.0;
#endif
}

/* C = A B^T as the ranking benchmarks' roof: cblas_sgemm where the build has
 * BLAS, else the plain loop the library's no-BLAS build uses for the same
 * product (so the roof matches what that build could do). */
static void sgemm_abt(const float *a, int64_t m, const float *b, int64_t n, int64_t k, float *c)
{
#ifdef IRLLREC_USE_CBLAS
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)k, 1.0f, a, (int)k,
                b, (int)k, 0.0f, c, (int)n);
#else
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            float acc = 0.0f;
            for (int64_t q = 0; q < k; q++) acc += a[i * k + q] * b[j * k + q];
            c[i * n + j] = acc;
        }
#endif
}

double bu_sgemm_abt_seconds(const float *a, int64_t m, const float *b, int64_t n, int64_t k)
{
    float *c = (float *)malloc((size_t)m * (size_t)n * sizeof(float));
    double t[5];
    if (c == NULL) return -1.0;
    sgemm_abt(a, m, b, n, k, c); /* warm-up */
    for (int r = 0; r < 5; r++) {
        double t0 = bu_now();
        sgemm_abt(a, m, b, n, k, c);
        t[r] = bu_now() - t0;
    }
    free(c);
    return bu_median(t, 5);
}
