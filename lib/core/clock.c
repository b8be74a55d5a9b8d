/* The library's one clock: monotonic seconds for timing laps. Only
 * differences are meaningful. CLOCK_MONOTONIC is POSIX.1b, so this file
 * asks for it explicitly under -std=c11. */
#define _POSIX_C_SOURCE 199309L
#include <time.h>
#include "../internal.h"

double irllrec__now(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return 0.0;
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
