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
