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
