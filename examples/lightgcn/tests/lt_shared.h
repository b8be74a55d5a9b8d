/* Helpers shared by the LightGCN example's test files. */
#ifndef LT_SHARED_H
#define LT_SHARED_H
#include "lightgcn.h"
#include "irllrec/irllrec.h"

/* A small user x item graph (indptr/indices owned here, csr views them). */
typedef struct lt_graph {
    int64_t U, I;
    int64_t *indptr;
    int32_t *indices;
    irllrec_csr csr;
} lt_graph;

/* The seeded uniform stream in [0, 1) the helpers draw from (set lt_rng). */
extern uint64_t lt_rng;
double lt_uniform(void);

/* Every user gets at least one item; otherwise each pair is present with
 * probability p. */
lt_graph lt_random_graph(int64_t U, int64_t I, double p, uint64_t seed);
void lt_graph_free(lt_graph *g);

/* A LightGCN over g (fails the test when creation fails). */
lgcn *lt_make_model(const lt_graph *g, int32_t d, int32_t L, double keep, double reg,
                    int32_t nt, uint64_t seed);

void lt_fill_uniform(float *x, int64_t n, double lo, double hi);
double lt_dot(const float *a, const float *b, int64_t n);

/* Evaluate m (d = 32, no dropout) on the held-out split and return its
 * Recall@20 with the expected Recall@20 of a random ranking of each user's
 * unmasked items (a held-out item is in the top 20 with probability
 * 20 / (I - |train_u|)). Fails the test on an evaluator error. */
void lt_recall20_vs_random(lgcn *m, irllrec_evaluator *ev, const irllrec_csr *train,
                           const irllrec_csr *heldout, double *rec, double *random_rec);
#endif
