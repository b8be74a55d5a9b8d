/* ABI: the public modules' spec structs (mlp, intent, itm, align) may grow,
 * with the three cases test_abi_structs.c describes (an older caller's
 * shorter struct gets the defaults, a newer one's zero tail is accepted, a
 * non-zero tail is refused with nothing changed); and a struct_size below 4
 * is refused by every create. The ctx, adam, synth and hook specs are in
 * test_abi_structs.c. */
#include <check.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "helpers/testutil.h"
#include "helpers/abifx.h"

/* Older layouts: the current struct cut before the named field. */
typedef struct {
    uint32_t struct_size;
    int32_t in_dim, hidden_dim, out_dim;
    float leaky_slope;
    int32_t bias_init;
    int64_t max_rows;
} mlp_spec_v0; /* no seed */
_Static_assert(sizeof(mlp_spec_v0) == offsetof(irllrec_mlp_spec, seed), "mlp v0 layout");

typedef struct {
    uint32_t struct_size;
    int32_t dim, n_intents, n_layers;
    int64_t n_users, n_items;
} intent_spec_v0; /* no seed */
_Static_assert(sizeof(intent_spec_v0) == offsetof(irllrec_intent_spec, seed), "intent v0 layout");

typedef struct {
    uint32_t struct_size;
    int32_t init_equal;
    double momentum, alpha;
} itm_spec_v0; /* no seed */
_Static_assert(sizeof(itm_spec_v0) == offsetof(irllrec_itm_spec, seed), "itm v0 layout");

typedef struct {
    uint32_t struct_size;
    int32_t dim;
    int64_t max_rows, max_cols;
} align_spec_v0; /* no block_rows, block_cols, n_slices, precision (was reserved0), seed */
_Static_assert(sizeof(align_spec_v0) == offsetof(irllrec_align_spec, block_rows), "align v0 layout");

/* ---- mlp ---------------------------------------------------------------- */

static void mlp_small(irllrec_mlp_spec *s)
{
    irllrec_mlp_spec_init(s, sizeof *s);
    s->in_dim = 6;
    s->out_dim = 4;
    s->max_rows = 8;
}

/* W1 (hidden 5 x in 6) of an MLP made from @p spec. */
static void mlp_w1(irllrec_ctx *ctx, const irllrec_mlp_spec *spec, float w[30])
{
    irllrec_mlp *m = NULL;
    ck_assert_int_eq(irllrec_mlp_create(ctx, spec, &m), IRLLREC_OK);
    ck_assert_int_eq(irllrec_mlp_get_param(m, IRLLREC_MLP_W1, irllrec_mat_dense(w, 5, 6)),
                     IRLLREC_OK);
    irllrec_mlp_free(m);
}

START_TEST(mlp_spec_growth)
{
    tu_alloc_state st = {0};
    irllrec_ctx *ctx = tu_ctx_counting(&st);
    irllrec_mlp_spec def;
    mlp_spec_v0 old;
    GROWN(irllrec_mlp_spec) big;
    float w_def[30], w_old[30], w_seed[30];
    irllrec_mlp *m;
    int64_t n0, live0;

    mlp_small(&def);
    memcpy(&old, &def, sizeof old);
    old.struct_size = (uint32_t)sizeof old;
    mlp_w1(ctx, &def, w_def);
    mlp_w1(ctx, (const irllrec_mlp_spec *)(const void *)&old, w_old);
    ck_assert_mem_eq(w_old, w_def, sizeof w_def); /* seed defaulted to 0 */
    def.seed = 1;
    mlp_w1(ctx, &def, w_seed);
    ck_assert(memcmp(w_seed, w_def, sizeof w_def) != 0);

    memset(&big, 0, sizeof big);
    mlp_small(&big.s);
    big.s.struct_size = (uint32_t)sizeof big;
    m = NULL;
    ck_assert_int_eq(irllrec_mlp_create(ctx, &big.s, &m), IRLLREC_OK);
    irllrec_mlp_free(m);

    big.tail[2] = (uint64_t)1 << 63;
    n0 = st.n_alloc, live0 = st.live_bytes;
    m = abifx_sentinel();
    ck_assert_int_eq(irllrec_mlp_create(ctx, &big.s, &m), IRLLREC_E_VERSION);
    ck_assert_ptr_null(m);
    abifx_assert_unchanged(ctx, &st, n0, live0, "irllrec_mlp_create");
    irllrec_ctx_free(ctx);
}
END_TEST

/* ---- intent ------------------------------------------------------------- */

static void intent_small(irllrec_intent_spec *s)
{
    irllrec_intent_spec_init(s, sizeof *s);
    s->dim = 4;
    s->n_intents = 3;
    s->n_layers = 2;
    s->n_users = 5;
    s->n_items = 6;
}

static void intent_cu(irllrec_ctx *ctx, const irllrec_intent_spec *spec, float c[12])
{
    irllrec_intent *e = NULL;
    ck_assert_int_eq(irllrec_intent_create(ctx, spec, NULL, &e), IRLLREC_OK);
    ck_assert_int_eq(irllrec_intent_get_param(e, IRLLREC_INTENT_C_USER, irllrec_mat_dense(c, 4, 3)),
                     IRLLREC_OK);
    irllrec_intent_free(e);
}

START_TEST(intent_spec_growth)
{
    tu_alloc_state st = {0};
    irllrec_ctx *ctx = tu_ctx_counting(&st);
    irllrec_intent_spec def;
    intent_spec_v0 old;
    GROWN(irllrec_intent_spec) big;
    float c_def[12], c_old[12], c_seed[12];
    irllrec_intent *e;
    int64_t n0, live0;

    intent_small(&def);
    memcpy(&old, &def, sizeof old);
    old.struct_size = (uint32_t)sizeof old;
    intent_cu(ctx, &def, c_def);
    intent_cu(ctx, (const irllrec_intent_spec *)(const void *)&old, c_old);
    ck_assert_mem_eq(c_old, c_def, sizeof c_def);
    def.seed = 99;
    intent_cu(ctx, &def, c_seed);
    ck_assert(memcmp(c_seed, c_def, sizeof c_def) != 0);

    memset(&big, 0, sizeof big);
    intent_small(&big.s);
    big.s.struct_size = (uint32_t)sizeof big;
    e = NULL;
    ck_assert_int_eq(irllrec_intent_create(ctx, &big.s, NULL, &e), IRLLREC_OK);
    irllrec_intent_free(e);

    big.tail[0] = 1;
    n0 = st.n_alloc, live0 = st.live_bytes;
    e = abifx_sentinel();
    ck_assert_int_eq(irllrec_intent_create(ctx, &big.s, NULL, &e), IRLLREC_E_VERSION);
    ck_assert_ptr_null(e);
    abifx_assert_unchanged(ctx, &st, n0, live0, "irllrec_intent_create");
    irllrec_ctx_free(ctx);
}
END_TEST

/* ---- itm ---------------------------------------------------------------- */

/* Teacher W1 of a pair made from @p spec over @p student. */
static void itm_teacher_w1(irllrec_ctx *ctx, const irllrec_itm_spec *spec, irllrec_mlp *student,
                           float w[30])
{
    irllrec_itm *p = NULL;
    ck_assert_int_eq(irllrec_itm_create(ctx, spec, student, &p), IRLLREC_OK);
    ck_assert_int_eq(irllrec_mlp_get_param(irllrec_itm_teacher(p), IRLLREC_MLP_W1,
                                           irllrec_mat_dense(w, 5, 6)),
                     IRLLREC_OK);
    irllrec_itm_free(p);
}

START_TEST(itm_spec_growth)
{
    tu_alloc_state st = {0};
    irllrec_ctx *ctx = tu_ctx_counting(&st);
    irllrec_mlp_spec ms;
    irllrec_mlp *student = NULL;
    irllrec_itm_spec def;
    itm_spec_v0 old;
    GROWN(irllrec_itm_spec) big;
    float w_student[30], w_after[30], w_def[30], w_old[30], w_seed[30];
    irllrec_itm *p;
    int64_t n0, live0;

    mlp_small(&ms);
    ck_assert_int_eq(irllrec_mlp_create(ctx, &ms, &student), IRLLREC_OK);
    ck_assert_int_eq(irllrec_mlp_get_param(student, IRLLREC_MLP_W1, irllrec_mat_dense(w_student, 5, 6)),
                     IRLLREC_OK);
    /* init_equal = 0 makes the (missing) seed observable: the teacher is
     * re-initialised from it. */
    irllrec_itm_spec_init(&def, sizeof def);
    def.init_equal = 0;
    memcpy(&old, &def, sizeof old);
    old.struct_size = (uint32_t)sizeof old;
    itm_teacher_w1(ctx, &def, student, w_def);
    itm_teacher_w1(ctx, (const irllrec_itm_spec *)(const void *)&old, student, w_old);
    ck_assert_mem_eq(w_old, w_def, sizeof w_def);
    def.seed = 5;
    itm_teacher_w1(ctx, &def, student, w_seed);
    ck_assert(memcmp(w_seed, w_def, sizeof w_def) != 0);

    memset(&big, 0, sizeof big);
    irllrec_itm_spec_init(&big.s, sizeof big.s);
    big.s.struct_size = (uint32_t)sizeof big;
    p = NULL;
    ck_assert_int_eq(irllrec_itm_create(ctx, &big.s, student, &p), IRLLREC_OK);
    irllrec_itm_free(p);

    big.tail[1] = 2;
    n0 = st.n_alloc, live0 = st.live_bytes;
    p = abifx_sentinel();
    ck_assert_int_eq(irllrec_itm_create(ctx, &big.s, student, &p), IRLLREC_E_VERSION);
    ck_assert_ptr_null(p);
    abifx_assert_unchanged(ctx, &st, n0, live0, "irllrec_itm_create");
    ck_assert_int_eq(irllrec_mlp_get_param(student, IRLLREC_MLP_W1, irllrec_mat_dense(w_after, 5, 6)),
                     IRLLREC_OK);
    ck_assert_mem_eq(w_after, w_student, sizeof w_student); /* the student is untouched */
    irllrec_mlp_free(student);
    irllrec_ctx_free(ctx);
}
END_TEST

/* ---- align -------------------------------------------------------------- */

static void align_small(irllrec_align_spec *s)
{
    irllrec_align_spec_init(s, sizeof *s);
    s->dim = 4;
    s->max_rows = 8;
    s->max_cols = 8;
}

/* Workspace size and a translation loss with Gaussian noise (seed-dependent). */
static double align_probe(irllrec_ctx *ctx, const irllrec_align_spec *spec, int64_t *ws)
{
    float x[32], y[32];
    irllrec_mat none = {NULL, 0, 0, 0};
    irllrec_align *h = NULL;
    double loss = NAN;
    for (int i = 0; i < 32; i++) {
        x[i] = (float)sin(0.7 * i + 0.3);
        y[i] = (float)cos(0.5 * i - 0.2);
    }
    ck_assert_int_eq(irllrec_align_create(ctx, spec, &h), IRLLREC_OK);
    *ws = irllrec_align_workspace_bytes(h);
    ck_assert_int_eq(irllrec_align_translation(h, irllrec_mat_dense(x, 8, 4),
                                               irllrec_mat_dense(y, 8, 4), none, none, &loss),
                     IRLLREC_OK);
    irllrec_align_free(h);
    return loss;
}

START_TEST(align_spec_growth)
{
    tu_alloc_state st = {0};
    irllrec_ctx *ctx = tu_ctx_counting(&st);
    irllrec_align_spec def;
    align_spec_v0 old;
    GROWN(irllrec_align_spec) big;
    int64_t ws_def, ws_old, ws_seed, n0, live0;
    double l_def, l_old, l_seed;
    irllrec_align *h;

    align_small(&def);
    memcpy(&old, &def, sizeof old);
    old.struct_size = (uint32_t)sizeof old;
    l_def = align_probe(ctx, &def, &ws_def);
    l_old = align_probe(ctx, (const irllrec_align_spec *)(const void *)&old, &ws_old);
    /* Blocking, slices and seed defaulted: same workspace, same loss bits. */
    ck_assert_int_eq(ws_old, ws_def);
    ck_assert_mem_eq(&l_old, &l_def, sizeof l_def);
    def.seed = 7;
    l_seed = align_probe(ctx, &def, &ws_seed);
    ck_assert(l_seed != l_def);

    memset(&big, 0, sizeof big);
    align_small(&big.s);
    big.s.struct_size = (uint32_t)sizeof big;
    h = NULL;
    ck_assert_int_eq(irllrec_align_create(ctx, &big.s, &h), IRLLREC_OK);
    irllrec_align_free(h);

    big.tail[2] = 3;
    n0 = st.n_alloc, live0 = st.live_bytes;
    h = abifx_sentinel();
    ck_assert_int_eq(irllrec_align_create(ctx, &big.s, &h), IRLLREC_E_VERSION);
    ck_assert_ptr_null(h);
    abifx_assert_unchanged(ctx, &st, n0, live0, "irllrec_align_create");
    irllrec_ctx_free(ctx);
}
END_TEST

/* struct_size below 4 cannot even hold itself: refused by every create. */
START_TEST(struct_size_too_small_is_refused)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_mlp_spec ms;
    irllrec_align_spec as;
    irllrec_intent_spec is;
    irllrec_mlp *m = abifx_sentinel();
    irllrec_align *a = abifx_sentinel();
    irllrec_intent *e = abifx_sentinel();
    irllrec_ctx *c2 = abifx_sentinel();
    irllrec_ctx_spec cs;
    mlp_small(&ms);
    ms.struct_size = 0;
    ck_assert_int_eq(irllrec_mlp_create(ctx, &ms, &m), IRLLREC_E_VERSION);
    ck_assert_ptr_null(m);
    align_small(&as);
    as.struct_size = 3;
    ck_assert_int_eq(irllrec_align_create(ctx, &as, &a), IRLLREC_E_VERSION);
    ck_assert_ptr_null(a);
    intent_small(&is);
    is.struct_size = 1;
    ck_assert_int_eq(irllrec_intent_create(ctx, &is, NULL, &e), IRLLREC_E_VERSION);
    ck_assert_ptr_null(e);
    irllrec_ctx_spec_init(&cs, sizeof cs);
    cs.struct_size = 0;
    ck_assert_int_eq(irllrec_ctx_create(&cs, &c2), IRLLREC_E_VERSION);
    ck_assert_ptr_null(c2);
    irllrec_ctx_free(ctx);
}
END_TEST

Suite *abi_structs_modules_suite(void)
{
    Suite *s = suite_create("abi_structs_modules");
    TCase *tc = tcase_create("abi_structs_modules");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, mlp_spec_growth);
    tcase_add_test(tc, intent_spec_growth);
    tcase_add_test(tc, itm_spec_growth);
    tcase_add_test(tc, align_spec_growth);
    tcase_add_test(tc, struct_size_too_small_is_refused);
    suite_add_tcase(s, tc);
    return s;
}
