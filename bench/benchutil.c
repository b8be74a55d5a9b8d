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

/* ---- roofs ------------------------------------------------------------------ */

/* 16 independent FMA chains in registers, nothing from memory: what the
 * cores' fp32 units do flat out. Chains of 16 cover the FMA latency (4
 * cycles) on two pipes. Only the widest vector this CPU has is timed. */
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#include <immintrin.h>
__attribute__((target("avx512f"))) static float fma_loop512(long iters)
{
    __m512 a[16], s = _mm512_setzero_ps();
    const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
    float out[16];
    for (int i = 0; i < 16; i++) a[i] = _mm512_set1_ps((float)i);
    for (long k = 0; k < iters; k++)
        for (int i = 0; i < 16; i++) a[i] = _mm512_fmadd_ps(a[i], x, y);
    for (int i = 0; i < 16; i++) s = _mm512_add_ps(s, a[i]);
    _mm512_storeu_ps(out, s);
    return out[0];
}
__attribute__((target("avx2,fma"))) static float fma_loop256(long iters)
{
    __m256 a[12], s = _mm256_setzero_ps();
    const __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
    float out[8];
    for (int i = 0; i < 12; i++) a[i] = _mm256_set1_ps((float)i);
    for (long k = 0; k < iters; k++)
        for (int i = 0; i < 12; i++) a[i] = _mm256_fmadd_ps(a[i], x, y);
    for (int i = 0; i < 12; i++) s = _mm256_add_ps(s, a[i]);
    _mm256_storeu_ps(out, s);
    return out[0];
}
#endif

#include <pthread.h>

typedef struct fma_job {
    long iters;
    double flops;
    float sink;
} fma_job;

static void *fma_thread(void *p)
{
    fma_job *j = (fma_job *)p;
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) {
        j->sink = fma_loop512(j->iters);
        j->flops = (double)j->iters * 16 * 16 * 2;
        return NULL;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        j->sink = fma_loop256(j->iters);
        j->flops = (double)j->iters * 12 * 8 * 2;
        return NULL;
    }
#endif
    {
        volatile float a = 1.0f;
        for (long k = 0; k < j->iters; k++) a = a * 0.999999f + 1e-7f;
        j->sink = a;
        j->flops = (double)j->iters * 2;
    }
    return NULL;
}

double bu_fma_peak_gflops(int threads)
{
    double g[5];
    if (threads < 1) threads = 1;
    if (threads > 64) threads = 64;
    for (int r = 0; r < 5; r++) {
        pthread_t th[64];
        fma_job jobs[64];
        double t0 = bu_now(), flops = 0;
        for (int t = 0; t < threads; t++) {
            jobs[t].iters = 2000000;
            pthread_create(&th[t], NULL, fma_thread, &jobs[t]);
        }
        for (int t = 0; t < threads; t++) {
            pthread_join(th[t], NULL);
            flops += jobs[t].flops;
        }
        g[r] = 1e-9 * flops / (bu_now() - t0);
    }
    return bu_median(g, 5);
}

#include "internal.h" /* irllrec__sgemm: the benchmarks link the static library */

double bu_sgemm_abt_seconds(const float *a, int64_t m, const float *b, int64_t n, int64_t k)
{
    float *c = (float *)malloc((size_t)m * (size_t)n * sizeof(float));
    double t[5];
    if (c == NULL) return -1.0;
    irllrec__sgemm(0, 1, m, n, k, 1.0f, a, k, b, k, 0.0f, c, n); /* warm-up */
    for (int r = 0; r < 5; r++) {
        double t0 = bu_now();
        irllrec__sgemm(0, 1, m, n, k, 1.0f, a, k, b, k, 0.0f, c, n);
        t[r] = bu_now() - t0;
    }
    free(c);
    return bu_median(t, 5);
}
