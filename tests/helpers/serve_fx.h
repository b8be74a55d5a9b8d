/* The serving suites' fixture: serve_fx.c. */
#ifndef IRLLREC_TEST_SERVE_FX_H
#define IRLLREC_TEST_SERVE_FX_H
#include <stdint.h>
#include "irllrec/irllrec.h"

enum { U = 9, I = 11, N = U + I, D = 4, DP = 5, DT = 6, B = 4, L = 2, K = 3 };

typedef struct sfx {
    irllrec_ctx *ctx;
    irllrec_hook *h;
    float ef[N * D], lay[L * N * D];
    float txt[4][N * DT];  /* user profile, item profile, user intent, item intent */
    irllrec_cmat lv[L];
    int64_t seen_ptr[U + 1];
    int32_t seen_idx[14];
    irllrec_csr seen;
} sfx;

/* the suites' random stream: sfx_make reseeds it, tests draw on from there */
extern uint64_t sfx_rs;

/* A hook of L layers with all four texts (only the profiles unless
 * with_intent_text) and a graph, trained 3 steps when it has all four. */
void sfx_make(sfx *f, int with_intent_text);
void sfx_free(sfx *f);
/* the recommender's spec over f's embeddings and seen items, with the
 * hook's layers when layers != 0 */
irllrec_rec_spec sfx_spec(sfx *f, int layers);
irllrec_rec *sfx_rec(sfx *f, int layers);
int sfx_msg_has(irllrec_ctx *ctx, const char *s);
/* |got - want| <= tol max(1, |want|), naming what on failure */
void sfx_close_rel(double got, double want, double tol, const char *what);
#endif
