/* The ABI suites' helpers (test_abi_structs.c, test_abi_structs_modules.c):
 * a newer header's grown struct, the check that a refused create left no
 * trace, and a sentinel for its *out: abifx.c. Test helper, not a library
 * API. */
#ifndef IRLLREC_TEST_ABIFX_H
#define IRLLREC_TEST_ABIFX_H
#include <stdint.h>
#include "irllrec/irllrec.h"
#include "helpers/testutil.h"

/* A newer header's struct: the current one followed by fields this library
 * does not know. uint64_t keeps the tail free of padding. */
#define GROWN(T) struct { T s; uint64_t tail[3]; }

/* A failed create must leave no trace but the context's message. */
void abifx_assert_unchanged(irllrec_ctx *ctx, const tu_alloc_state *st, int64_t n_alloc0,
                            int64_t live0, const char *func);
/* A non-NULL value that a failed create must overwrite with NULL. */
void *abifx_sentinel(void);
#endif
