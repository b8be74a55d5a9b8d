/* Helpers shared by the benchmark programs: clocks, medians, peak RSS and
 * which BLAS library is actually loaded. */
#ifndef IRLLREC_BENCHUTIL_H
#define IRLLREC_BENCHUTIL_H
#include <stddef.h>
#include <stdint.h>

/* Monotonic wall clock in seconds. */
double bu_now(void);
/* CPU seconds of the whole process (all threads): on a shared machine wall
 * time depends on the neighbours, this much less. */
double bu_cpu_now(void);
/* Median of n values (sorts a copy). */
double bu_median(const double *v, size_t n);
/* Peak resident set size of this process in MiB (VmHWM). */
double bu_peak_rss_mib(void);
/* Print one line naming the GEMM backend and the BLAS shared object mapped
 * into this process (from /proc/self/maps), e.g. "blas: cblas via libopenblas". */
void bu_print_blas(void);
/* Print "cpu: <model name from /proc/cpuinfo>" and "load: <1, 5, 15 min averages>". */
void bu_print_cpu(void);

/* Roofs measured in this run, on n threads at once (each thread its own
 * copy, BLAS at one thread each), median of 5: square (1024^3) and thin
 * (2048 x 2048, k = 32) sgemm in GFLOP/s (-1 without BLAS), gather of random
 * 128-byte rows of a 20,332 x 32 fp32 table in GB/s read, memcpy of 32 MiB in
 * GB/s copied. Every benchmark prints its figures as fractions of these. */
typedef struct bu_roofs {
    int threads;
    double sgemm_square, sgemm_thin, gather, memcpy_bw; /* all threads, per wall second */
    double cpu[4]; /* the same four per CPU-second of one thread */
} bu_roofs;
void bu_measure_roofs(int n_threads, bu_roofs *r);
void bu_print_roofs(const bu_roofs *r);
/* Print which of the ISA levels the run-time dispatch (target_clones, the
 * library's cpu checks) chooses between this CPU supports. */
void bu_print_isa(void);
/* achieved / roof, or -1 when the roof is unknown. */
double bu_fraction(double achieved, double roof);
/* Roofs measured in the calling run. bu_fma_peak_gflops: fp32 FMA rate of
 * `threads` threads each running 24 independent register-resident FMA
 * chains (AVX-512 if the CPU has it, else AVX2+FMA, else 0). bu_sgemm_gflops:
 * median of `reps` cblas_sgemm C(m x n) = A(m x k) B(n x k)^T (0 without
 * CBLAS); OPENBLAS_NUM_THREADS decides its threads. *per_cpu_s (may be
 * NULL) gets the FMA rate per CPU-second the threads ran, a roof that holds
 * on a loaded machine as long as the clock does. */
double bu_fma_peak_gflops(int threads, double *per_cpu_s);
double bu_sgemm_gflops(int m, int n, int k, int reps);
/* "avx512", "avx2" or "none": the widest FMA bu_fma_peak_gflops used. */
const char *bu_fma_isa(void);
/* Median of 5 seconds of C = A B^T (A m x k, B n x k, dense) through the
 * library's sgemm (CBLAS with its own threads, or the reference loop);
 * -1 on allocation failure. */
double bu_sgemm_abt_seconds(const float *a, int64_t m, const float *b, int64_t n, int64_t k);

/* splitmix64 step and a uniform float in [-0.5, 0.5) from it. */
#include <stdint.h>
uint64_t bu_mix(uint64_t *x);
float bu_unif(uint64_t *x);

/* A synthetic train/val split with Amazon-book's shape and counts
 * (11,000 x 9,332; ~11 train and ~3.7 val items per user), for when the
 * real data is absent. NULL (message on stderr) on failure. */
#define BU_AMAZON_USERS 11000
#define BU_AMAZON_ITEMS 9332
struct irllrec_x_dataset;
struct irllrec_ctx;
struct irllrec_x_dataset *bu_amazon_like(struct irllrec_ctx *ctx);
#endif
