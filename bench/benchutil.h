/* Helpers shared by the benchmark programs: clocks, medians, peak RSS and
 * which BLAS library is actually loaded. */
#ifndef IRLLREC_BENCHUTIL_H
#define IRLLREC_BENCHUTIL_H
#include <stddef.h>

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
