/* libFuzzer target: arbitrary bytes into irllrec_model_load_mem().
 *
 * Each input is tried twice: as is (almost always stopped by a checksum) and
 * with its checksums recomputed, which lets mutations reach the structural
 * checks. Whatever loads must save, and the saved image must load and save
 * again to the same bytes. Invariant failures abort, so libFuzzer records
 * them as crashes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "irllrec/irllrec.h"
#include "irlm_fixup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int cond)
{
    if (!cond) abort();
}

/* Save m, reload, save again: the two images must be identical. */
static void round_trip(irllrec_ctx *ctx, const irllrec_model *m)
{
    size_t n1 = 0, n2 = 0;
    uint8_t *b1, *b2;
    irllrec_model *m2 = NULL;
    require(irllrec_model_save_mem(m, NULL, 0, &n1) == IRLLREC_OK);
    b1 = (uint8_t *)malloc(n1);
    require(b1 != NULL);
    require(irllrec_model_save_mem(m, b1, n1, &n1) == IRLLREC_OK);
    require(irllrec_model_load_mem(ctx, b1, n1, NULL, &m2) == IRLLREC_OK);
    require(irllrec_model_section_count(m2) == irllrec_model_section_count(m));
    require(irllrec_model_meta_count(m2) == irllrec_model_meta_count(m));
    require(irllrec_model_save_mem(m2, NULL, 0, &n2) == IRLLREC_OK && n2 == n1);
    b2 = (uint8_t *)malloc(n2);
    require(b2 != NULL);
    require(irllrec_model_save_mem(m2, b2, n2, &n2) == IRLLREC_OK);
    require(memcmp(b1, b2, n1) == 0);
    free(b2);
    free(b1);
    irllrec_model_free(m2);
}

static void try_load(irllrec_ctx *ctx, const uint8_t *buf, size_t len, uint32_t check_finite)
{
    irllrec_model_load_opts o;
    irllrec_model *m = (irllrec_model *)&o; /* must become NULL on failure */
    irllrec_status st;
    irllrec_model_load_opts_init(&o, (uint32_t)sizeof o);
    o.check_finite = check_finite;
    o.max_bytes = (uint64_t)64 << 20;
    st = irllrec_model_load_mem(ctx, buf, len, &o, &m);
    if (st != IRLLREC_OK) {
        require(m == NULL);
        require(st == IRLLREC_E_FORMAT || st == IRLLREC_E_VERSION || st == IRLLREC_E_CHECKSUM ||
                st == IRLLREC_E_UNSUPPORTED || st == IRLLREC_E_NOMEM || st == IRLLREC_E_NUMERIC);
        require(irllrec_ctx_errmsg(ctx)[0] != '\0');
        return;
    }
    require(m != NULL);
    round_trip(ctx, m);
    irllrec_model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    irllrec_ctx *ctx = NULL;
    uint8_t *copy;
    if (irllrec_ctx_create(NULL, &ctx) != IRLLREC_OK) abort();
    try_load(ctx, data, size, 0);
    copy = (uint8_t *)malloc(size + 1);
    require(copy != NULL);
    if (size > 0) memcpy(copy, data, size);
    tf_irlm_rehash(copy, size);
    try_load(ctx, copy, size, size > 0 ? (uint32_t)(data[size - 1] & 1) : 0);
    free(copy);
    irllrec_ctx_free(ctx);
    return 0;
}
