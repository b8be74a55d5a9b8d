/* The bf16 text path's fp32 work around its products (bias, LeakyReLU, the
 * second layer, the conversions, lib/tower/mlp_bf16.c) is split between the
 * context's threads in fixed row and column chunks, so its outputs and
 * gradients must be the same bits at 1, 2 and 3 threads. The shapes cross
 * every chunk boundary: rows past one MLP_BF16_BLOCK (2048) and not a
 * multiple of the 128-row chunk, a hidden width not a multiple of the
 * 64-column chunk. Accuracy against fp32 is test_bf16.c's. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "ops/ops.h"
#include "tower/tower.h"
#include "helpers/testutil.h"

enum { TR = 2200, TOFF = 5, TIN = 24, TH = 150, TO = 6 };

typedef struct run_out {
    float y[TR * TO];
    float g[4][TH * TIN];
    int64_t len[4];
} run_out;

/* Forward and backward of a fresh seeded MLP at nt threads; act16: the
 * student with its activations in bf16, else the fp32-cache variant. */
static void run(int32_t nt, int act16, const uint16_t *xh, const float *w, run_out *o)
{
    irllrec_ctx *ctx = tu_ctx_threads(nt);
    irllrec_mlp_spec s;
    irllrec_mlp *m;
    irllrec_mlp_spec_init(&s, sizeof s);
    s.in_dim = TIN;
    s.hidden_dim = TH;
    s.out_dim = TO;
    s.max_rows = TR + TOFF;
    s.leaky_slope = 0.2f;
    s.seed = 29;
    if (act16) {
        ck_assert_int_eq(irllrec__mlp_create_bf16(ctx, &s, &m), IRLLREC_OK);
    } else {
        ck_assert_int_eq(irllrec_mlp_create(ctx, &s, &m), IRLLREC_OK);
        ck_assert_int_eq(irllrec__mlp_enable_bf16(m), IRLLREC_OK);
    }
    ck_assert_int_eq(irllrec__mlp_forward_bf16_at(m, xh, TIN, TR, TOFF,
                                                  irllrec_mat_dense(o->y, TR, TO)),
                     IRLLREC_OK);
    ck_assert_int_eq(irllrec__mlp_backward_bf16_at(m, xh, TIN, TR, TOFF,
                                                   irllrec_cmat_dense(w, TR, TO)),
                     IRLLREC_OK);
    irllrec__param *p;
    int n;
    irllrec__mlp_params(m, &p, &n);
    ck_assert_int_eq(n, 4);
    for (int b = 0; b < 4; b++) {
        o->len[b] = p[b].rows * p[b].cols;
        memcpy(o->g[b], p[b].grad, sizeof(float) * (size_t)o->len[b]);
    }
    irllrec_mlp_free(m);
    irllrec_ctx_free(ctx);
}

START_TEST(mlp_bf16_bits_do_not_depend_on_threads)
{
    const int act16 = _i;
    float *x = malloc(sizeof(float) * TR * TIN), *w = malloc(sizeof(float) * TR * TO);
    uint16_t *xh = malloc(sizeof(uint16_t) * TR * TIN);
    run_out *o[3];
    uint64_t st = 13;
    tu_fill(&st, x, TR * TIN, 2.0f);
    tu_fill(&st, w, TR * TO, 1.0f);
    irllrec__f32_to_bf16(x, xh, TR * TIN);
    for (int t = 0; t < 3; t++) {
        o[t] = calloc(1, sizeof *o[t]);
        run(t + 1, act16, xh, w, o[t]);
    }
    double gsum = 0.0;
    for (int b = 0; b < 4; b++)
        for (int64_t k = 0; k < o[0]->len[b]; k++) gsum += o[0]->g[b][k] != 0.0f;
    ck_assert(gsum > 0.5 * (TH * TIN + TH + TO * TH + TO)); /* the backward wrote them */
    for (int t = 1; t < 3; t++) {
        ck_assert_msg(memcmp(o[0]->y, o[t]->y, sizeof o[0]->y) == 0,
                      "y differs at %d threads", t + 1);
        for (int b = 0; b < 4; b++)
            ck_assert_msg(memcmp(o[0]->g[b], o[t]->g[b], sizeof(float) * (size_t)o[0]->len[b]) == 0,
                          "gradient block %d differs at %d threads", b, t + 1);
    }
    for (int t = 0; t < 3; t++) free(o[t]);
    free(x);
    free(w);
    free(xh);
}
END_TEST

Suite *bf16_threads_suite(void)
{
    Suite *s = suite_create("bf16_threads");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, mlp_bf16_bits_do_not_depend_on_threads, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}
