/* The .npy and atomic-writer suites' helpers (test_npy.c, test_atomic.c):
 * a look at the context's last error message: iofx.c. Test helper, not a library API. */
#ifndef IRLLREC_TEST_IOFX_H
#define IRLLREC_TEST_IOFX_H
#include <stddef.h>
#include "irllrec/irllrec.h"

/* Whether ctx's last error message contains needle. */
int iofx_has(irllrec_ctx *ctx, const char *needle);
#endif
