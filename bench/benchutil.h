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

/* Roofs measured in the same run as the figure they bound. */
/* fp32 FMA throughput of `threads` threads running register-only FMA
 * chains at the widest vector this CPU has (AVX-512, AVX2 or scalar),
 * GFLOP/s summed over threads, median of 5 runs of ~0.1 s. */
double bu_fma_peak_gflops(int threads);
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
