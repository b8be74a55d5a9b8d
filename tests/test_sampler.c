/* Sampler: negatives avoid the user's train set, an epoch is a permutation
 * of the train pairs, the RNG state round-trips, and no allocation happens. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "helpers/testutil.h"

/* 4 users x 10 items; user 3 holds 9 of the 10 items, so its only
 * negative is item 9. */
static irllrec_x_dataset *small_ds(irllrec_ctx *ctx)
{
    int32_t u[64], it[64];
    int64_t n = 0;
    irllrec_x_dataset *ds = NULL;
    const int32_t rows[4][10] = {{0, 1, -1}, {2, 5, 7, -1}, {4, -1}, {0, 1, 2, 3, 4, 5, 6, 7, 8, -1}};
    for (int32_t r = 0; r < 4; r++)
        for (int32_t k = 0; rows[r][k] >= 0; k++) {
            u[n] = r;
            it[n] = rows[r][k];
            n++;
        }
    ck_assert_int_eq(irllrec_x_dataset_from_pairs(ctx, 4, 10, u, it, n, NULL, NULL, 0, NULL, NULL,
                                                0, &ds), IRLLREC_OK);
    return ds;
}

static int in_row(const irllrec_csr *c, int32_t u, int32_t i)
{
    for (int64_t q = c->indptr[u]; q < c->indptr[u + 1]; q++)
        if (c->indices[q] == i) return 1;
    return 0;
}

static int cmp_pair(const void *a, const void *b)
{
    const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

START_TEST(epoch_is_permutation_with_valid_negatives)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_x_dataset *ds = small_ds(ctx);
    irllrec_x_sampler *s = NULL;
    irllrec_csr tr;
    int32_t us[16], ps[16], ns[16];
    int64_t got[16], want[16], n;
    ck_assert_int_eq(irllrec_x_sampler_create(ctx, ds, 42, &s), IRLLREC_OK);
    irllrec_x_dataset_user_items(ds, IRLLREC_SPLIT_TRAIN, &tr);
    n = irllrec_x_sampler_epoch_size(s);
    ck_assert_int_eq(n, tr.nnz);
    ck_assert_int_eq(n, 15);
    for (int64_t q = 0, k = 0; q < tr.n_rows; q++)
        for (int64_t p = tr.indptr[q]; p < tr.indptr[q + 1]; p++) want[k++] = q * 100 + tr.indices[p];
    qsort(want, (size_t)n, sizeof want[0], cmp_pair);
    for (int e = 0; e < 50; e++) {
        int ordered = 1;
        ck_assert_int_eq(irllrec_x_sampler_epoch(s, us, ps, ns, 16), IRLLREC_OK);
        for (int64_t k = 0; k < n; k++) {
            ck_assert(ns[k] >= 0 && ns[k] < 10);
            ck_assert(!in_row(&tr, us[k], ns[k]));
            if (us[k] == 3) ck_assert_int_eq(ns[k], 9);
            got[k] = (int64_t)us[k] * 100 + ps[k];
            if (k > 0 && got[k] < got[k - 1]) ordered = 0;
        }
        /* 15! orders: staying sorted 50 times in a row would mean no shuffle. */
        if (e == 0) ck_assert(!ordered || n < 3);
        qsort(got, (size_t)n, sizeof got[0], cmp_pair);
        for (int64_t k = 0; k < n; k++) ck_assert_int_eq(got[k], want[k]);
    }
    ck_assert_int_eq(irllrec_x_sampler_epoch(s, us, ps, ns, 14), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_x_sampler_epoch(s, NULL, ps, ns, 16), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_x_sampler_epoch(NULL, us, ps, ns, 16), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_x_sampler_epoch_size(NULL), -1);
    irllrec_x_sampler_free(s);
    irllrec_x_sampler_free(NULL);
    irllrec_x_dataset_free(ds);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(deterministic_per_seed)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_x_dataset *ds = small_ds(ctx);
    irllrec_x_sampler *a, *b, *c;
    int32_t ua[16], pa[16], na[16], ub[16], pb[16], nb[16], uc[16], pc[16], nc[16];
    int differ = 0;
    ck_assert_int_eq(irllrec_x_sampler_create(ctx, ds, 7, &a), IRLLREC_OK);
    ck_assert_int_eq(irllrec_x_sampler_create(ctx, ds, 7, &b), IRLLREC_OK);
    ck_assert_int_eq(irllrec_x_sampler_create(ctx, ds, 8, &c), IRLLREC_OK);
    for (int e = 0; e < 3; e++) {
        irllrec_x_sampler_epoch(a, ua, pa, na, 16);
        irllrec_x_sampler_epoch(b, ub, pb, nb, 16);
        irllrec_x_sampler_epoch(c, uc, pc, nc, 16);
        ck_assert_mem_eq(ua, ub, 15 * sizeof(int32_t));
        ck_assert_mem_eq(pa, pb, 15 * sizeof(int32_t));
        ck_assert_mem_eq(na, nb, 15 * sizeof(int32_t));
        differ |= memcmp(ua, uc, sizeof ua[0] * 15) != 0 || memcmp(na, nc, sizeof na[0] * 15) != 0;
    }
    ck_assert(differ);
    irllrec_x_sampler_free(a);
    irllrec_x_sampler_free(b);
    irllrec_x_sampler_free(c);
    irllrec_x_dataset_free(ds);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(negatives_uniform_over_allowed_items)
{
    /* User 0 holds items {0, 1} of 10; its 2 negatives per epoch over 8
     * allowed items: 20000 epochs give 40000 draws, 5000 expected per
     * item, sd = sqrt(5000 * 7/8) ~ 66, so +-8 % is about 6 sd. */
    irllrec_ctx *ctx = tu_ctx();
    irllrec_x_dataset *ds = small_ds(ctx);
    irllrec_x_sampler *s;
    int32_t us[16], ps[16], ns[16];
    int64_t count[10] = {0};
    ck_assert_int_eq(irllrec_x_sampler_create(ctx, ds, 3, &s), IRLLREC_OK);
    for (int e = 0; e < 20000; e++) {
        irllrec_x_sampler_epoch(s, us, ps, ns, 16);
        for (int k = 0; k < 15; k++)
            if (us[k] == 0) count[ns[k]]++;
    }
    ck_assert_int_eq(count[0], 0);
    ck_assert_int_eq(count[1], 0);
    for (int i = 2; i < 10; i++) ck_assert_msg(labs((long)(count[i] - 5000)) < 400,
                                               "item %d drawn %lld times", i, (long long)count[i]);
    irllrec_x_sampler_free(s);
    irllrec_x_dataset_free(ds);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(state_restore_continues_identically)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_x_dataset *ds = small_ds(ctx);
    irllrec_x_sampler *a, *b;
    uint64_t st[4], zero[4] = {0, 0, 0, 0};
    int32_t u1[16], p1[16], n1[16], u2[16], p2[16], n2[16];
    ck_assert_int_eq(irllrec_x_sampler_create(ctx, ds, 11, &a), IRLLREC_OK);
    ck_assert_int_eq(irllrec_x_sampler_create(ctx, ds, 999, &b), IRLLREC_OK);
    irllrec_x_sampler_epoch(a, u1, p1, n1, 16);
    irllrec_x_sampler_get_state(a, st);
    irllrec_x_sampler_epoch(a, u1, p1, n1, 16);
    /* A different sampler restored from the checkpoint yields the same epoch. */
    ck_assert_int_eq(irllrec_x_sampler_set_state(b, st), IRLLREC_OK);
    irllrec_x_sampler_epoch(b, u2, p2, n2, 16);
    ck_assert_mem_eq(u1, u2, 15 * sizeof(int32_t));
    ck_assert_mem_eq(p1, p2, 15 * sizeof(int32_t));
    ck_assert_mem_eq(n1, n2, 15 * sizeof(int32_t));
    /* And the same sampler rewound does too. */
    ck_assert_int_eq(irllrec_x_sampler_set_state(a, st), IRLLREC_OK);
    irllrec_x_sampler_epoch(a, u2, p2, n2, 16);
    ck_assert_mem_eq(u1, u2, 15 * sizeof(int32_t));
    ck_assert_mem_eq(n1, n2, 15 * sizeof(int32_t));
    ck_assert_int_eq(irllrec_x_sampler_set_state(a, zero), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_x_sampler_set_state(a, NULL), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_x_sampler_set_state(NULL, st), IRLLREC_E_INVALID_ARG);
    irllrec_x_sampler_get_state(NULL, st);
    irllrec_x_sampler_free(a);
    irllrec_x_sampler_free(b);
    irllrec_x_dataset_free(ds);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(epoch_does_not_allocate)
{
    tu_alloc_state st;
    irllrec_ctx *ctx;
    irllrec_x_dataset *ds;
    irllrec_x_sampler *s;
    int32_t us[16], ps[16], ns[16];
    int64_t before;
    memset(&st, 0, sizeof st);
    ctx = tu_ctx_counting(&st);
    ds = small_ds(ctx);
    ck_assert_int_eq(irllrec_x_sampler_create(ctx, ds, 5, &s), IRLLREC_OK);
    before = st.n_alloc;
    for (int e = 0; e < 10; e++) ck_assert_int_eq(irllrec_x_sampler_epoch(s, us, ps, ns, 16), IRLLREC_OK);
    ck_assert_int_eq(st.n_alloc, before);
    irllrec_x_sampler_free(s);
    irllrec_x_dataset_free(ds);
    irllrec_ctx_free(ctx);
    ck_assert_int_eq(st.live_bytes, 0);
}
END_TEST

START_TEST(create_rejects_impossible_inputs)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_x_dataset *ds = NULL;
    irllrec_x_sampler *s = (irllrec_x_sampler *)1;
    const int32_t fu[] = {0, 0, 0, 1}, fi[] = {0, 1, 2, 0};
    /* User 0 holds all 3 items: no negative exists for it. */
    ck_assert_int_eq(irllrec_x_dataset_from_pairs(ctx, 2, 3, fu, fi, 4, NULL, NULL, 0, NULL, NULL, 0,
                                                &ds), IRLLREC_OK);
    ck_assert_int_eq(irllrec_x_sampler_create(ctx, ds, 1, &s), IRLLREC_E_INVALID_ARG);
    ck_assert_ptr_null(s);
    ck_assert(strstr(irllrec_ctx_errmsg(ctx), "user 0 has all 3 items") != NULL);
    irllrec_x_dataset_free(ds);
    /* No train pairs (val only). */
    ck_assert_int_eq(irllrec_x_dataset_from_pairs(ctx, 2, 3, NULL, NULL, 0, fu, fi, 4, NULL, NULL,
                                                0, &ds), IRLLREC_OK);
    ck_assert_int_eq(irllrec_x_sampler_create(ctx, ds, 1, &s), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_x_sampler_create(ctx, NULL, 1, &s), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_x_sampler_create(ctx, ds, 1, NULL), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_x_sampler_create(NULL, ds, 1, &s), IRLLREC_E_INVALID_ARG);
    irllrec_x_dataset_free(ds);
    irllrec_ctx_free(ctx);
}
END_TEST

Suite *sampler_suite(void)
{
    Suite *s = suite_create("sampler");
    TCase *tc = tcase_create("sampler");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, epoch_is_permutation_with_valid_negatives);
    tcase_add_test(tc, deterministic_per_seed);
    tcase_add_test(tc, negatives_uniform_over_allowed_items);
    tcase_add_test(tc, state_restore_continues_identically);
    tcase_add_test(tc, epoch_does_not_allocate);
    tcase_add_test(tc, create_rejects_impossible_inputs);
    suite_add_tcase(s, tc);
    return s;
}
