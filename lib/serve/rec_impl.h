/* The trained recommender's handle, shared by its files:
 *   rec.c        create, free, info, embeddings, growth, recommend / similar
 *   explain.c    intent distributions, pair explanations, exemplars
 *   coldstart.c  text-only nodes (embed_text, add_from_text), fold-in
 *   rec_io.c     save / load (docs/file-format.md, "Serving models")
 * Never installed. */
#ifndef IRLLREC_SERVE_REC_IMPL_H
#define IRLLREC_SERVE_REC_IMPL_H

#include "../internal.h"
#include "irllrec/serve.h"

/* Rows the copied text towers run at once: bounds their activation cache. */
#define IRLLREC__REC_TOWER_ROWS 256

/* One side (users or items): its rows and what is kept per row. */
typedef struct irllrec__rec_side {
    int64_t n, cap;   /* rows in use, rows allocated */
    float *emb;       /* cap x d */
    float *probs;     /* cap x K, NULL without intents */
    float *z;         /* cap x d intent-tower outputs (0 rows: no intent text), NULL
                         when the hook had no intent text */
    double norm;      /* s: mean |e| of the side's rows at create */
} irllrec__rec_side;

struct irllrec_rec {
    irllrec_ctx *ctx;
    int64_t d, K, Dp, Dt;
    irllrec__rec_side side[2];  /* IRLLREC_USERS, IRLLREC_ITEMS */
    float *proto[2];            /* C_u, C_i: d x K, NULL without intents */
    int has_seen, has_z;
    int64_t *seen_ptr;          /* side[0].cap + 1 offsets */
    int32_t *seen_idx;          /* seen_cap ids, each row ascending and distinct */
    int64_t seen_cap;
    irllrec_mlp *prf, *intm;    /* copies of the text towers, NULL when absent */
    float prf_slope, int_slope; /* their LeakyReLU slopes (saved with the weights) */
};

/* ---- rec.c ---- */
/* An empty handle of the given shapes (no rows), or NULL with E_NOMEM recorded. */
irllrec_rec *irllrec__rec_new(irllrec_ctx *ctx, const char *func, int64_t d, int64_t K,
                              int64_t Dp, int64_t Dt);
/* Make room for rows more rows on side s (and their seen offsets): all or
 * nothing, E_NOMEM recorded for func. */
irllrec_status irllrec__rec_reserve(irllrec_rec *r, const char *func, int s, int64_t rows);
/* Make room for nnz more seen ids. */
irllrec_status irllrec__rec_reserve_seen(irllrec_rec *r, const char *func, int64_t nnz);
/* The stored seen items as a CSR view (U x I of the current sizes). */
irllrec_csr irllrec__rec_seen(const irllrec_rec *r);
/* E_INVALID_ARG unless side is IRLLREC_USERS or IRLLREC_ITEMS. */
irllrec_status irllrec__rec_check_side(const irllrec_rec *r, const char *func, int32_t side);
/* A text tower of the given shape without gradients (the copy the rec owns). */
irllrec_status irllrec__rec_tower(irllrec_ctx *ctx, int32_t in_dim, int32_t hidden, int32_t out,
                                  float slope, irllrec_mlp **out_mlp);

/* ---- explain.c ---- */
/* probs[0..n) = softmax(x C) per row, x n x d (ld ldx), C d x K; scale times
 * added into probs when add is set. The rows of the interaction tower. */
irllrec_status irllrec__rec_softmax_rows(irllrec_rec *r, const char *func, const float *x,
                                         int64_t ldx, int64_t n, const float *c, float *probs,
                                         int add, float scale);

/* ---- coldstart.c ---- */
/* y = tower(x) for n rows, through the copied tower in blocks. */
irllrec_status irllrec__rec_tower_rows(irllrec_rec *r, const char *func, irllrec_mlp *m,
                                       irllrec_cmat x, float *y, int64_t ldy);

#endif
