/* The .npy and atomic-writer suites' helpers (test_npy.c, test_atomic.c):
 * a whole file into memory, and a look at the context's last error message. */
#include "helpers/iofx.h"
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

unsigned char *iofx_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b;
    long n;
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

int iofx_has(irllrec_ctx *ctx, const char *needle)
{
    return strstr(irllrec_ctx_errmsg(ctx), needle) != NULL;
}
