/* The ABI suites' helpers (test_abi_structs.c, test_abi_structs_modules.c):
 * the trace a refused create must not leave, and a sentinel for its *out. */
#include "helpers/abifx.h"
#include <check.h>
#include <string.h>

/* A failed create must leave no trace but the context's message. */
void abifx_assert_unchanged(irllrec_ctx *ctx, const tu_alloc_state *st, int64_t n_alloc0,
                            int64_t live0, const char *func)
{
    ck_assert_int_eq(st->n_alloc, n_alloc0);
    ck_assert_int_eq(st->live_bytes, live0);
    ck_assert_int_eq(irllrec_ctx_errcode(ctx), IRLLREC_E_VERSION);
    ck_assert_msg(strstr(irllrec_ctx_errmsg(ctx), func) != NULL &&
                      strstr(irllrec_ctx_errmsg(ctx), "struct_size") != NULL,
                  "message: %s", irllrec_ctx_errmsg(ctx));
    irllrec_ctx_clear_error(ctx);
}

/* A non-NULL value that a failed create must overwrite with NULL. */
static char sentinel_obj;
void *abifx_sentinel(void) { return &sentinel_obj; }
