/* The hook API suites' fixture (test_hook_api.c, test_hook_api_refuse.c): a
 * small hook with all four texts, a graph when it has layers, and host
 * buffers for its inputs and gradients: hook_api_fx.c. Test helper, not a
 * library API. */
#ifndef IRLLREC_TEST_HOOK_API_FX_H
#define IRLLREC_TEST_HOOK_API_FX_H
#include <stdint.h>
#include "irllrec/irllrec.h"
#include "helpers/testutil.h"

enum { U = 9, I = 11, N = U + I, D = 4, DP = 5, DT = 6, B = 4, L = 2, K = 3 };

typedef struct hafx {
    tu_alloc_state st;
    irllrec_ctx *ctx;
    irllrec_hook *h;
    int layers;                     /* n_layers of the hook (0: graph-free) */
    int32_t users[B], pos[B], neg[B];
    float ef[N * D], lay[L * N * D], gf[N * D], gl[L * N * D];
    irllrec_cmat lv[L];
    irllrec_mat lg[L];
} hafx;

/* the suites' random stream: hafx_make reseeds it, tests draw on from there */
extern uint64_t hafx_rs;

/* U users, I items, dim D, K intents, max_batch B, texts of DP and DT columns,
 * n_layers = layers (0: graph-free, else with the fixed graph), a counting
 * allocator; translation and ITM on (w 0.5) for graph-free hosts too. */
void hafx_make(hafx *f, int layers, uint64_t seed);
/* Frees the hook and its ctx; checks nothing is left allocated. */
void hafx_free(hafx *f);
/* The batch, inputs and dense gradients over f's buffers. */
irllrec_hook_batch hafx_batch(const hafx *f);
irllrec_hook_inputs hafx_in(const hafx *f);
irllrec_hook_grads hafx_dense(hafx *f);
/* irllrec_hook_compute over f's batch and inputs. */
irllrec_status hafx_compute(hafx *f, const irllrec_hook_grads *g, uint32_t flags,
                            irllrec_hook_losses *lv);
/* Every block's data, concatenated (malloc'd). */
float *hafx_snapshot(irllrec_hook *h, int64_t *n);
/* Whether ctx's last error message contains s. */
int hafx_msg_has(irllrec_ctx *ctx, const char *s);
#endif
