/* The .npy and atomic-writer suites' helpers (test_npy.c, test_atomic.c):
 * a look at the context's last error message. */
#include "helpers/iofx.h"
#include <string.h>

int iofx_has(irllrec_ctx *ctx, const char *needle)
{
    return strstr(irllrec_ctx_errmsg(ctx), needle) != NULL;
}
