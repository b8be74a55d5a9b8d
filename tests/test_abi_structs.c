/* ABI: spec structs may grow (docs/api-stability.md, STYLE.md section 1).
 *
 * Every create-time spec starts with uint32_t struct_size and is read through
 * irllrec__copy_spec. For each module this suite checks the three cases a
 * binary built against another header version produces:
 * - OLDER caller: a real shorter struct type (the current layout cut before
 *   its last fields, as an older header would have declared it) with
 *   struct_size = its sizeof. Create succeeds and the missing fields take
 *   their defaults, checked by comparing the result with a create from the
 *   full spec_init defaults (and, where the missing field is a seed, by
 *   checking that another seed would have given a different result).
 * - NEWER caller, zero tail: a longer struct whose unknown bytes are all
 *   zero. Create succeeds.
 * - NEWER caller, non-zero tail: fails with IRLLREC_E_VERSION and changes
 *   nothing: *out is NULL, the allocator is never called, the context
 *   records the failure (and irllrec_x_synth_write writes no file).
 * The evaluator has no spec struct (irllrec_evaluator_create takes scalars).
 * This file: ctx, adam, synth and hook; the modules' specs (mlp, intent, itm,
 * align) and struct_size < 4 are in test_abi_structs_modules.c. */
#include <check.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "helpers/testutil.h"
#include "helpers/synthfx.h"
#include "helpers/abifx.h"

#define SPEC_HEAD_OK(T)                                                                    \
    _Static_assert(offsetof(T, struct_size) == 0 && sizeof(((T *)0)->struct_size) == 4,    \
                   #T " must start with uint32_t struct_size")
SPEC_HEAD_OK(irllrec_ctx_spec);
SPEC_HEAD_OK(irllrec_adam_spec);
SPEC_HEAD_OK(irllrec_x_synth_spec);
SPEC_HEAD_OK(irllrec_mlp_spec);
SPEC_HEAD_OK(irllrec_intent_spec);
SPEC_HEAD_OK(irllrec_itm_spec);
SPEC_HEAD_OK(irllrec_align_spec);
SPEC_HEAD_OK(irllrec_hook_spec);

/* Older layouts: the current struct cut before the named field. */
typedef struct {
    uint32_t struct_size;
    int32_t n_threads;
    irllrec_alloc_fn alloc;
    irllrec_free_fn free;
    void *alloc_ud;
} ctx_spec_v0; /* no log, log_ud, log_level, reserved0 */
_Static_assert(sizeof(ctx_spec_v0) == offsetof(irllrec_ctx_spec, log), "ctx v0 layout");

typedef struct {
    uint32_t struct_size;
    int32_t reserved0;
    double lr, beta1, beta2, eps;
} adam_spec_v0; /* no weight_decay */
_Static_assert(sizeof(adam_spec_v0) == offsetof(irllrec_adam_spec, weight_decay), "adam v0 layout");

typedef struct {
    uint32_t struct_size;
    int32_t n_users, n_items, n_intents, profile_dim, intent_dim;
    double mean_degree, popularity_skew, text_noise, misleading_frac, val_frac, test_frac;
    uint64_t seed;
} synth_spec_v0; /* the first published layout: no min_degree, max_dominant */
_Static_assert(sizeof(synth_spec_v0) == offsetof(irllrec_x_synth_spec, min_degree), "synth v0 layout");

/* ---- ctx ---------------------------------------------------------------- */

START_TEST(ctx_spec_growth)
{
    tu_alloc_state st = {0};
    ctx_spec_v0 old;
    GROWN(irllrec_ctx_spec) big;
    irllrec_ctx *ctx = NULL;

    memset(&old, 0, sizeof old);
    old.struct_size = (uint32_t)sizeof old;
    old.n_threads = 2;
    old.alloc = tu_alloc;
    old.free = tu_free;
    old.alloc_ud = &st;
    ck_assert_int_eq(irllrec_ctx_create((const irllrec_ctx_spec *)(const void *)&old, &ctx),
                     IRLLREC_OK);
    ck_assert_int_eq(irllrec_ctx_n_threads(ctx), 2);
    ck_assert_int_ge(st.n_alloc, 1); /* the fields it does have are used */
    ck_assert_str_eq(irllrec_ctx_errmsg(ctx), "");
    irllrec_ctx_free(ctx);
    ck_assert_int_eq(st.live_bytes, 0);

    memset(&big, 0, sizeof big);
    irllrec_ctx_spec_init(&big.s, sizeof big.s);
    big.s.struct_size = (uint32_t)sizeof big;
    big.s.alloc = tu_alloc;
    big.s.free = tu_free;
    big.s.alloc_ud = &st;
    ck_assert_int_eq(irllrec_ctx_create(&big.s, &ctx), IRLLREC_OK);
    irllrec_ctx_free(ctx);

    memset(&st, 0, sizeof st);
    big.tail[2] = 1;
    ctx = abifx_sentinel();
    ck_assert_int_eq(irllrec_ctx_create(&big.s, &ctx), IRLLREC_E_VERSION);
    ck_assert_ptr_null(ctx);
    ck_assert_int_eq(st.n_alloc, 0);
}
END_TEST

/* ---- adam --------------------------------------------------------------- */

static void adam_one_step(irllrec_ctx *ctx, const irllrec_adam_spec *spec, float out[4])
{
    const int64_t sizes[1] = {4};
    const float g[4] = {0.5f, -1.0f, 2.0f, 0.1f};
    const float *grads[1] = {g};
    float *params[1] = {out};
    irllrec_adam *a = NULL;
    out[0] = 1.0f, out[1] = 2.0f, out[2] = -3.0f, out[3] = 4.0f;
    ck_assert_int_eq(irllrec_adam_create(ctx, spec, sizes, 1, &a), IRLLREC_OK);
    ck_assert_int_eq(irllrec_adam_step(a, params, grads), IRLLREC_OK);
    irllrec_adam_free(a);
}

START_TEST(adam_spec_growth)
{
    tu_alloc_state st = {0};
    irllrec_ctx *ctx = tu_ctx_counting(&st);
    irllrec_adam_spec def;
    adam_spec_v0 old;
    GROWN(irllrec_adam_spec) big;
    float p_def[4], p_old[4], p_wd[4];
    const int64_t sizes[1] = {4};
    irllrec_adam *a;
    int64_t n0, live0;

    irllrec_adam_spec_init(&def, sizeof def);
    memcpy(&old, &def, sizeof old);
    old.struct_size = (uint32_t)sizeof old;
    adam_one_step(ctx, &def, p_def);
    adam_one_step(ctx, (const irllrec_adam_spec *)(const void *)&old, p_old);
    ck_assert_mem_eq(p_old, p_def, sizeof p_def); /* weight_decay defaulted to 0 */
    def.weight_decay = 0.1;
    adam_one_step(ctx, &def, p_wd);
    ck_assert(memcmp(p_wd, p_def, sizeof p_def) != 0); /* the missing field matters */

    memset(&big, 0, sizeof big);
    irllrec_adam_spec_init(&big.s, sizeof big.s);
    big.s.struct_size = (uint32_t)sizeof big;
    a = NULL;
    ck_assert_int_eq(irllrec_adam_create(ctx, &big.s, sizes, 1, &a), IRLLREC_OK);
    irllrec_adam_free(a);

    big.tail[0] = 0x100;
    n0 = st.n_alloc, live0 = st.live_bytes;
    a = abifx_sentinel();
    ck_assert_int_eq(irllrec_adam_create(ctx, &big.s, sizes, 1, &a), IRLLREC_E_VERSION);
    ck_assert_ptr_null(a);
    abifx_assert_unchanged(ctx, &st, n0, live0, "irllrec_adam_create");
    irllrec_ctx_free(ctx);
}
END_TEST

/* ---- synth -------------------------------------------------------------- */

static void small_synth(irllrec_x_synth_spec *s)
{
    irllrec_x_synth_spec_init(s, sizeof *s);
    s->n_users = 40;
    s->n_items = 30;
    s->n_intents = 3;
    s->profile_dim = 8;
    s->intent_dim = 8;
    s->mean_degree = 5;
}

START_TEST(synth_spec_growth)
{
    tu_alloc_state st = {0};
    irllrec_ctx *ctx = tu_ctx_counting(&st);
    irllrec_x_synth_spec def;
    synth_spec_v0 old;
    GROWN(irllrec_x_synth_spec) big;
    char *d_def = tu_tmpdir(), *d_old = tu_tmpdir(), *d_big = tu_tmpdir();
    size_t la, lb;
    char *a, *b;
    int64_t n0, live0;

    small_synth(&def);
    memcpy(&old, &def, sizeof old);
    old.struct_size = (uint32_t)sizeof old;
    ck_assert_int_eq(irllrec_x_synth_write(ctx, &def, d_def), IRLLREC_OK);
    ck_assert_int_eq(irllrec_x_synth_write(ctx, (const irllrec_x_synth_spec *)(const void *)&old, d_old),
                     IRLLREC_OK);
    /* min_degree and max_dominant defaulted: the same data, byte for byte. */
    a = synfx_slurp(d_def, "train.txt", &la);
    b = synfx_slurp(d_old, "train.txt", &lb);
    ck_assert_uint_eq(la, lb);
    ck_assert_int_eq(memcmp(a, b, (size_t)la), 0);
    free(a);
    free(b);

    memset(&big, 0, sizeof big);
    small_synth(&big.s);
    big.s.struct_size = (uint32_t)sizeof big;
    big.tail[1] = 7;
    n0 = st.n_alloc, live0 = st.live_bytes;
    ck_assert_int_eq(irllrec_x_synth_write(ctx, &big.s, d_big), IRLLREC_E_VERSION);
    abifx_assert_unchanged(ctx, &st, n0, live0, "irllrec_x_synth_write");
    ck_assert_int_eq(tu_count_entries(d_big), 0); /* no file, not even a temporary one */
    big.tail[1] = 0;
    ck_assert_int_eq(irllrec_x_synth_write(ctx, &big.s, d_big), IRLLREC_OK);
    ck_assert_int_eq(tu_count_entries(d_big), 8);

    tu_tmpdir_free(d_def);
    tu_tmpdir_free(d_old);
    tu_tmpdir_free(d_big);
    irllrec_ctx_free(ctx);
}
END_TEST

/* ---- hook ---------------------------------------------------------------- */

/* irllrec_hook_spec of 0.2.0 ended at seed; reduce_rows came after it. An
 * older caller's struct (that layout) is accepted and gets the default
 * chunk (the memory estimate, which counts the chunk tables, is the
 * default's and not another chunk's); a newer one with an all-zero tail is
 * accepted, one that sets a field this library lacks is refused before
 * anything is allocated, and the memory estimate applies the same rule. */
typedef struct hook_spec_v02 {
    uint32_t struct_size;
    int32_t preset;
    int64_t n_users, n_items;
    int32_t dim, n_intents, n_layers, max_batch, profile_dim, intent_dim, teacher_init,
        text_precision;
    uint64_t seed;
} hook_spec_v02;

START_TEST(hook_spec_older_caller)
{
    irllrec_ctx *ctx = tu_ctx_threads(1);
    irllrec_hook_spec def;
    hook_spec_v02 old;
    irllrec_hook *h = NULL;
    int64_t e_def = 0, e_old = 0, e_one = 0;
    ck_assert_uint_eq(sizeof old, offsetof(irllrec_hook_spec, reduce_rows));
    irllrec_hook_spec_init(&def, sizeof def);
    def.n_users = 40;
    def.n_items = 30;
    def.intent_dim = 4;
    memcpy(&old, &def, sizeof old);
    old.struct_size = (uint32_t)sizeof old;
    const irllrec_hook_spec *as_new = (const irllrec_hook_spec *)(const void *)&old;
    ck_assert_int_eq(irllrec_hook_create(ctx, as_new, &h), IRLLREC_OK);
    irllrec_hook_free(h);
    ck_assert_int_eq(irllrec_hook_memory_estimate(&def, 1, 0, &e_def), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_memory_estimate(as_new, 1, 0, &e_old), IRLLREC_OK);
    def.reduce_rows = 1;
    ck_assert_int_eq(irllrec_hook_memory_estimate(&def, 1, 0, &e_one), IRLLREC_OK);
    ck_assert(e_old == e_def && e_one != e_def);
    def.reduce_rows = -1;
    ck_assert_int_eq(irllrec_hook_create(ctx, &def, &h), IRLLREC_E_INVALID_ARG);
    ck_assert(strstr(irllrec_ctx_errmsg(ctx), "reduce_rows = -1") != NULL);
    def.reduce_rows = 0;
    def.align_precision = 3;
    ck_assert_int_eq(irllrec_hook_create(ctx, &def, &h), IRLLREC_E_INVALID_ARG);
    ck_assert(strstr(irllrec_ctx_errmsg(ctx), "align_precision = 3") != NULL);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(hook_spec_growth)
{
    tu_alloc_state st = {0};
    irllrec_ctx *ctx = tu_ctx_counting(&st);
    GROWN(irllrec_hook_spec) big;
    irllrec_hook *h = NULL;
    int64_t est = 0, n0, live0;
    memset(&big, 0xab, sizeof big);
    irllrec_hook_spec_init(&big.s, sizeof big);
    ck_assert_uint_eq(big.s.struct_size, sizeof big);  /* the caller's size is kept */
    for (int k = 0; k < 3; k++) ck_assert(big.tail[k] == 0);  /* the unknown tail is zeroed */
    big.s.n_users = 5;
    big.s.n_items = 7;
    big.s.intent_dim = 4;
    ck_assert_int_eq(irllrec_hook_create(ctx, &big.s, &h), IRLLREC_OK);
    irllrec_hook_free(h);
    ck_assert_int_eq(irllrec_hook_memory_estimate(&big.s, 1, 0, &est), IRLLREC_OK);
    big.tail[2] = 1;
    n0 = st.n_alloc, live0 = st.live_bytes;
    h = abifx_sentinel();
    ck_assert_int_eq(irllrec_hook_create(ctx, &big.s, &h), IRLLREC_E_VERSION);
    ck_assert_ptr_null(h);
    abifx_assert_unchanged(ctx, &st, n0, live0, "irllrec_hook_create");
    ck_assert_int_eq(irllrec_hook_memory_estimate(&big.s, 1, 0, &est), IRLLREC_E_VERSION);
    big.s.struct_size = 3;
    ck_assert_int_eq(irllrec_hook_create(ctx, &big.s, &h), IRLLREC_E_VERSION);
    irllrec_ctx_free(ctx);
}
END_TEST

Suite *abi_structs_suite(void)
{
    Suite *s = suite_create("abi_structs");
    TCase *tc = tcase_create("abi_structs");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, ctx_spec_growth);
    tcase_add_test(tc, adam_spec_growth);
    tcase_add_test(tc, synth_spec_growth);
    tcase_add_test(tc, hook_spec_growth);
    tcase_add_test(tc, hook_spec_older_caller);
    suite_add_tcase(s, tc);
    return s;
}
