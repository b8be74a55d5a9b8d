/* The ranking suites' fixture (test_rank.c, test_rank_refuse.c): the
 * hand-computed problem and sentinel-filled outputs: rankfx.c. Test helper,
 * not a library API. */
#ifndef IRLLREC_TEST_RANKFX_H
#define IRLLREC_TEST_RANKFX_H
#include <stdint.h>
#include "irllrec/irllrec.h"

/* The hand-computed problem. Users (d = 2): u0 = (1,0), u1 = (0,1), u2 = (1,1).
 * Items: i0 = (3,1), i1 = (1,2), i2 = (2,2), i3 = (0,3), i4 = (2,0). Scores:
 *        i0 i1 i2 i3 i4
 *   u0    3  1  2  0  2    order: i0, i2, i4 (tie 2: lower id first), i1, i3
 *   u1    1  2  2  3  0    order: i3, i1, i2 (tie), i0, i4
 *   u2    4  3  4  3  2    order: i0, i2 (tie 4), i1, i3 (tie 3), i4
 * Seen: u0 {0}, u1 {3, 1} (deliberately not sorted), u2 {}. */
extern const float rfx_UE[3 * 2];
extern const float rfx_IE[5 * 2];
extern const int64_t rfx_SEEN_P[4];
extern const int32_t rfx_SEEN_I[3];

/* The users' and the items' embeddings as matrices. */
irllrec_cmat rfx_ue_m(void);
irllrec_cmat rfx_ie_m(void);
/* Sentinels into n_slots ids and scores and n_q counts. */
void rfx_fill(int32_t *ids, float *sc, int32_t *cnt, int64_t n_slots, int64_t n_q);
/* Checks that rfx_fill's sentinels are all still there. */
void rfx_assert_untouched(const int32_t *ids, const float *sc, const int32_t *cnt,
                          int64_t n_slots, int64_t n_q);
/* ids[0..n) == want[0..n). */
void rfx_assert_ids(const int32_t *ids, const int32_t *want, int32_t n);
#endif
