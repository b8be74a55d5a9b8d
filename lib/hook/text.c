/* The frozen text a hook holds: users' then items' rows, profile and intent,
 * in fp32 or bf16 (hook.c decides at create). A node-sharded hook holds only
 * the rows of its block [sh_lo, sh_lo + sh_n) of the N nodes; text can then
 * be given whole (set_text copies the block's rows) or in row ranges
 * (set_text_rows), so that a rank never needs all of it in memory. */
#include <stdio.h>
#include <string.h>
#include "hook_impl.h"
#include "../ops/ops.h"

static const char *const NAMES[4] = {"user profile", "item profile", "user intent",
                                     "item intent"};

static int is_user_side(int32_t which)
{
    return which == IRLLREC_HOOK_USER_PROFILE || which == IRLLREC_HOOK_USER_INTENT;
}

/* The held rows [*a, *b) of this side, as side indices (user id or item id). */
static void held_range(const irllrec_hook *h, int32_t which, int64_t *a, int64_t *b)
{
    const int64_t off = is_user_side(which) ? 0 : h->U, side = is_user_side(which) ? h->U : h->I;
    int64_t lo = h->sh_lo - off, hi = h->sh_lo + h->sh_n - off;
    *a = lo < 0 ? 0 : lo > side ? side : lo;
    *b = hi < 0 ? 0 : hi > side ? side : hi;
}

void irllrec__hook_text_init(irllrec_hook *h)
{
    for (int32_t w = 0; w < 4; w++) {
        int64_t a, b;
        held_range(h, w, &a, &b);
        h->text_cnt[w] = 0;
        /* a side of which this rank holds no row is complete as it is */
        h->text_set[w] = a == b;
    }
}

static irllrec_status check_which(irllrec_hook *h, const char *fn, int32_t which)
{
    IRL_CHECK_FN(h->ctx, fn, which >= 0 && which <= 3, IRLLREC_E_INVALID_ARG,
                 "which = %d is not an irllrec_hook_text value (0..3)", (int)which);
    const int is_prf = which <= IRLLREC_HOOK_ITEM_PROFILE;
    IRL_CHECK_FN(h->ctx, fn, is_prf ? h->has_prf : h->has_int, IRLLREC_E_STATE,
                 "%s text: absent in the spec (its dim is 0)", NAMES[which]);
    return IRLLREC_OK;
}

/* Copy side rows [row0, row0 + m.rows) that this hook holds; m is checked. */
static int64_t copy_rows(irllrec_hook *h, int32_t which, int64_t row0, irllrec_cmat m)
{
    const int is_prf = which <= IRLLREC_HOOK_ITEM_PROFILE;
    const int64_t cols = is_prf ? h->Dp : h->Dt, node0 = is_user_side(which) ? 0 : h->U;
    float *dst = h->bf16 ? NULL : is_prf ? h->txt_p : h->txt_t;
    uint16_t *dsth = h->bf16 ? (is_prf ? h->txh_p : h->txh_t) : NULL;
    uint8_t *have = h->text_have + which * h->sh_n;
    int64_t a, b, zero_rows = 0;
    held_range(h, which, &a, &b);
    if (a < row0) a = row0;
    if (b > row0 + m.rows) b = row0 + m.rows;
    for (int64_t r = a; r < b; r++) {
        const float *src = m.data + (r - row0) * m.ld;
        const int64_t local = node0 + r - h->sh_lo;
        if (dsth != NULL)
            irllrec__f32_to_bf16(src, dsth + local * cols, cols);
        else
            memcpy(dst + local * cols, src, (size_t)cols * sizeof(float));
        zero_rows += irllrec__vsumsq(src, cols) == 0.0;
        h->text_cnt[which] += !have[local];
        have[local] = 1;
    }
    int64_t ha, hb;
    held_range(h, which, &ha, &hb);
    h->text_set[which] = h->text_cnt[which] == hb - ha;
    return zero_rows;
}

static irllrec_status set_rows(irllrec_hook *h, const char *fn, int32_t which, int64_t row0,
                               irllrec_cmat m, int whole)
{
    IRL_TRY(check_which(h, fn, which));
    char mname[32];
    snprintf(mname, sizeof mname, "m (%s text)", NAMES[which]);
    IRL_TRY(irllrec__check_cmat(h->ctx, fn, mname, m));
    const int64_t side = is_user_side(which) ? h->U : h->I;
    const int64_t cols = which <= IRLLREC_HOOK_ITEM_PROFILE ? h->Dp : h->Dt;
    if (whole)
        IRL_CHECK_FN(h->ctx, fn, m.rows == side && m.cols == cols, IRLLREC_E_SHAPE,
                     "%s text m is %lld x %lld, expected %lld x %lld", NAMES[which],
                     (long long)m.rows, (long long)m.cols, (long long)side, (long long)cols);
    IRL_CHECK_FN(h->ctx, fn, m.cols == cols, IRLLREC_E_SHAPE,
                 "%s text m has %lld columns, expected %lld", NAMES[which], (long long)m.cols,
                 (long long)cols);
    IRL_CHECK_FN(h->ctx, fn, row0 >= 0 && m.rows >= 1 && row0 <= side - m.rows, IRLLREC_E_SHAPE,
                 "%s text rows %lld .. %lld are outside 0 .. %lld", NAMES[which],
                 (long long)row0, (long long)(row0 + m.rows - 1), (long long)(side - 1));
    IRL_TRY(irllrec__check_finite_mat(h->ctx, fn, NAMES[which], irllrec__mat_of(m)));
    const int64_t zero_rows = copy_rows(h, which, row0, m);
    /* an all-zero row is what a failed embedding job writes: it trains, but
     * carries no text, so the caller should hear of it */
    if (zero_rows > 0)
        irllrec__log(h->ctx, IRLLREC_LOG_WARN, "%s: %s text: %lld of %lld rows are all zero%s", fn,
                     NAMES[which], (long long)zero_rows, (long long)m.rows,
                     zero_rows == m.rows ? " (the whole matrix: a failed embedding job?)" : "");
    return IRLLREC_OK;
}

irllrec_status irllrec_hook_set_text(irllrec_hook *h, int32_t which, irllrec_cmat m)
{
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    return set_rows(h, "irllrec_hook_set_text", which, 0, m, 1);
}

irllrec_status irllrec_hook_set_text_rows(irllrec_hook *h, int32_t which, int64_t row0,
                                          irllrec_cmat m)
{
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    return set_rows(h, "irllrec_hook_set_text_rows", which, row0, m, 0);
}

irllrec_status irllrec_hook_get_align_precision(const irllrec_hook *h, int32_t *precision)
{
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(h->ctx, precision != NULL, IRLLREC_E_INVALID_ARG, "precision is NULL");
    return irllrec_align_get_precision(h->align, precision);
}

irllrec_status irllrec_hook_get_text_precision(const irllrec_hook *h, int32_t *precision)
{
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(h->ctx, precision != NULL, IRLLREC_E_INVALID_ARG, "precision is NULL");
    *precision = h->bf16 ? IRLLREC_HOOK_TEXT_BF16 : IRLLREC_HOOK_TEXT_FP32;
    return IRLLREC_OK;
}
