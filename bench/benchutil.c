#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>
#ifdef IRLLREC_USE_CBLAS
#include <cblas.h>
#endif
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

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define BU_FMA_ITERS 20000000L

/* 24 independent chains: more than latency (4) x pipes (2) needs. */
__attribute__((target("avx512f"))) static float fma_loop_512(long iters)
{
    __m512 a[24], m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    float out[16];
    for (int i = 0; i < 24; i++) a[i] = _mm512_set1_ps((float)i);
    for (long t = 0; t < iters; t++)
        for (int i = 0; i < 24; i++) a[i] = _mm512_fmadd_ps(a[i], m, c);
    for (int i = 1; i < 24; i++) a[0] = _mm512_add_ps(a[0], a[i]);
    _mm512_storeu_ps(out, a[0]);
    return out[0];
}

__attribute__((target("avx2,fma"))) static float fma_loop_256(long iters)
{
    __m256 a[12], m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    float out[8];
    for (int i = 0; i < 12; i++) a[i] = _mm256_set1_ps((float)i);
    for (long t = 0; t < iters; t++)
        for (int i = 0; i < 12; i++) a[i] = _mm256_fmadd_ps(a[i], m, c);
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
