/* .npy output through the library's atomic writer (irllrec_npy_write). */
#include <string.h>
#include "irllrec/irllrec.h"
#include "textembed.h"
#include "te_private.h"

irllrec_status te_write_npy(const char *path, const float *x, int64_t rows, int64_t cols,
                            te_err *err)
{
    irllrec_ctx *ctx = NULL;
    irllrec_status st = irllrec_ctx_create(NULL, &ctx);
    if (st != IRLLREC_OK) {
        te__seterr(err, "%s: cannot create a library context: %s", path, irllrec_status_str(st));
        return st;
    }
    /* The writer only reads through the view; the cast is the API's, not a write. */
    st = irllrec_npy_write(ctx, path, irllrec_mat_dense((float *)(uintptr_t)x, rows, cols));
    if (st != IRLLREC_OK) te__seterr(err, "%s: %s", path, irllrec_ctx_errmsg(ctx));
    irllrec_ctx_free(ctx);
    return st;
}
