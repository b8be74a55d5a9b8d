/* Helpers shared by the benchmark programs: clocks, medians, peak RSS and
 * which BLAS library is actually loaded. */
#ifndef IRLLREC_BENCHUTIL_H
#define IRLLREC_BENCHUTIL_H
#include <stddef.h>

/* Monotonic wall clock in seconds. */
double bu_now(void);
/* Median of n values (sorts a copy). */
double bu_median(const double *v, size_t n);
/* Peak resident set size of this process in MiB (VmHWM). */
double bu_peak_rss_mib(void);
/* Print one line naming the GEMM backend and the BLAS shared object mapped
 * into this process (from /proc/self/maps), e.g. "blas: cblas via libopenblas". */
void bu_print_blas(void);
#endif
