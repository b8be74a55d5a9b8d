/* Error messages follow docs/error-handling.md (issue 17 item 12): values a
 * user gave are printed exactly (%.17g, not rounded by %g), and a message
 * says which text, view or layer it is about. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "irllrec/irllrec.h"
#include "helpers/testutil.h"

static int has(irllrec_ctx *ctx, const char *needle)
{
    return strstr(irllrec_ctx_errmsg(ctx), needle) != NULL;
}

#define HAS(ctx, text) ck_assert_msg(has((ctx), (text)), "message \"%s\" lacks \"%s\"", \
                                     irllrec_ctx_errmsg(ctx), (text))

START_TEST(values_are_printed_exactly)
{
    irllrec_ctx *ctx = tu_ctx();
    const int64_t sizes[1] = {4};
    irllrec_adam *a = NULL;
    irllrec_adam_spec as;
    irllrec_mlp_spec ms;
    irllrec_mlp *m = NULL, *m_ok = NULL;
    irllrec_itm_spec is;
    irllrec_itm *itm = NULL;
    irllrec_adam_spec_init(&as, sizeof as);
    as.lr = -0.30000000000000004; /* %g would print -0.3 */
    ck_assert_int_eq(irllrec_adam_create(ctx, &as, sizes, 1, &a), IRLLREC_E_INVALID_ARG);
    HAS(ctx, "irllrec_adam_create: lr = -0.30000000000000004: must be finite and > 0");
    irllrec_adam_spec_init(&as, sizeof as);
    as.beta1 = 1.0000000000000002;
    ck_assert_int_eq(irllrec_adam_create(ctx, &as, sizes, 1, &a), IRLLREC_E_INVALID_ARG);
    HAS(ctx, "beta1 = 1.0000000000000002");
    irllrec_mlp_spec_init(&ms, sizeof ms);
    ms.in_dim = 4;
    ms.out_dim = 2;
    ms.max_rows = 2;
    ms.leaky_slope = -0.1f;
    ck_assert_int_eq(irllrec_mlp_create(ctx, &ms, &m), IRLLREC_E_INVALID_ARG);
    HAS(ctx, "leaky_slope = -0.10000000149011612");
    ms.leaky_slope = 0.01f;
    ck_assert_int_eq(irllrec_mlp_create(ctx, &ms, &m_ok), IRLLREC_OK);
    irllrec_itm_spec_init(&is, sizeof is);
    is.momentum = 1.0000000000000002;
    ck_assert_int_eq(irllrec_itm_create(ctx, &is, m_ok, &itm), IRLLREC_E_INVALID_ARG);
    HAS(ctx, "momentum = 1.0000000000000002 is not in [0, 1]");
    irllrec_mlp_free(m_ok);
    irllrec_ctx_free(ctx);
}
END_TEST

enum { U = 3, I = 4, D = 4, B = 2, DP = 4 };

START_TEST(hook_messages_name_the_text_and_the_layer)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_hook_spec s;
    irllrec_hook *h = NULL;
    float prf_u[U * DP], eu[U * D], ei[I * D], gu[U * D], gi[I * D];
    const int32_t users[B] = {0, 1}, pos[B] = {0, 1}, neg[B] = {2, 3};
    irllrec_hook_losses hl;
    for (int k = 0; k < U * DP; k++) prf_u[k] = (float)(k % 3) + 0.5f;
    for (int k = 0; k < U * D; k++) eu[k] = 0.1f * (float)(k % 5), gu[k] = 0.0f;
    for (int k = 0; k < I * D; k++) ei[k] = 0.2f * (float)(k % 3), gi[k] = 0.0f;
    irllrec_hook_spec_init(&s, sizeof s);
    s.n_users = U;
    s.n_items = I;
    s.dim = D;
    s.max_batch = B;
    s.profile_dim = DP;
    s.intent_dim = 0;
    s.n_layers = 0;
    ck_assert_int_eq(irllrec_hook_create(ctx, &s, &h), IRLLREC_OK);
    /* set_text says which text a bad view is for */
    ck_assert_int_eq(irllrec_hook_set_text(h, IRLLREC_HOOK_ITEM_PROFILE,
                                           irllrec_cmat_dense(NULL, I, DP)),
                     IRLLREC_E_INVALID_ARG);
    HAS(ctx, "irllrec_hook_set_text: ");
    HAS(ctx, "item profile");
    /* a step without the item profile text names the one missing */
    ck_assert_int_eq(irllrec_hook_set_text(h, IRLLREC_HOOK_USER_PROFILE,
                                           irllrec_cmat_dense(prf_u, U, DP)),
                     IRLLREC_OK);
    {
        irllrec_hook_batch batch = {B, users, pos, neg};
        irllrec_hook_inputs in = {irllrec_cmat_dense(eu, U, D), irllrec_cmat_dense(ei, I, D),
                                  NULL};
        irllrec_hook_grads g = {sizeof g, IRLLREC_HOOK_GRAD_DENSE, irllrec_mat_dense(gu, U, D),
                                irllrec_mat_dense(gi, I, D), NULL};
        hl.struct_size = sizeof hl;
        ck_assert_int_eq(irllrec_hook_step(h, &batch, &in, &g, &hl), IRLLREC_E_STATE);
        HAS(ctx, "item profile text announced in the spec (profile_dim 4) but not set");
    }
    irllrec_hook_free(h);
    irllrec_ctx_free(ctx);
}
END_TEST

Suite *messages_suite(void)
{
    Suite *s = suite_create("messages");
    TCase *tc = tcase_create("messages");
    tcase_add_test(tc, values_are_printed_exactly);
    tcase_add_test(tc, hook_messages_name_the_text_and_the_layer);
    suite_add_tcase(s, tc);
    return s;
}
