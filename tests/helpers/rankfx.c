/* The ranking suites' fixture (test_rank.c, test_rank_refuse.c): the
 * hand-computed problem (described in rankfx.h) and sentinel-filled outputs. */
#include "helpers/rankfx.h"
#include <check.h>

#define SENT_ID 0x7EADBEEF
#define SENT_SCORE 12345.0f
#define SENT_COUNT (-777)

const float rfx_UE[3 * 2] = {1, 0, 0, 1, 1, 1};
const float rfx_IE[5 * 2] = {3, 1, 1, 2, 2, 2, 0, 3, 2, 0};
const int64_t rfx_SEEN_P[4] = {0, 1, 3, 3};
const int32_t rfx_SEEN_I[3] = {0, 3, 1};

irllrec_cmat rfx_ue_m(void) { return irllrec_cmat_dense(rfx_UE, 3, 2); }
irllrec_cmat rfx_ie_m(void) { return irllrec_cmat_dense(rfx_IE, 5, 2); }

void rfx_fill(int32_t *ids, float *sc, int32_t *cnt, int64_t n_slots, int64_t n_q)
{
    for (int64_t j = 0; j < n_slots; j++) ids[j] = SENT_ID, sc[j] = SENT_SCORE;
    for (int64_t j = 0; j < n_q; j++) cnt[j] = SENT_COUNT;
}

void rfx_assert_untouched(const int32_t *ids, const float *sc, const int32_t *cnt,
                          int64_t n_slots, int64_t n_q)
{
    for (int64_t j = 0; j < n_slots; j++) {
        ck_assert_int_eq(ids[j], SENT_ID);
        ck_assert(sc[j] == SENT_SCORE);
    }
    for (int64_t j = 0; j < n_q; j++) ck_assert_int_eq(cnt[j], SENT_COUNT);
}

void rfx_assert_ids(const int32_t *ids, const int32_t *want, int32_t n)
{
    for (int32_t j = 0; j < n; j++)
        ck_assert_msg(ids[j] == want[j], "slot %d: id %d, want %d", j, ids[j], want[j]);
}

