/* The interaction intent encoder's handle, shared by intent_state.c (create,
 * graph, parameters) and intent.c (the forward and backward passes). */
#ifndef IRLLREC_TOWER_INTENT_IMPL_H
#define IRLLREC_TOWER_INTENT_IMPL_H

#include "tower.h"

/* Edge buffers, allocated together so set_graph can swap them atomically. */
typedef struct graph_buf {
    int64_t nnz;
    int64_t *indptr;   /* N + 1 */
    int32_t *indices;  /* nnz */
    int64_t *tptr;     /* N + 1: transposed pattern (by tail node) */
    int64_t *tedge;    /* nnz: edge id in the forward pattern */
    int32_t *thead;    /* nnz: head node of that edge */
    float *alpha;      /* L x nnz: edge weights of the last forward */
    float *ebuf;       /* 2 x nnz: per-edge (dc_e, g_e / L) of the backward, interleaved so the
                          tail-side pass fetches one cache line per edge */
} graph_buf;

struct irllrec_intent {
    irllrec_ctx *ctx;
    irllrec_intent_spec spec;
    int64_t n, nu, d, k, nl;
    int32_t nt;
    float *c, *dc;       /* [C_u | C_i], each d x K */
    float *a, *da;       /* N x K: attention of one layer and its gradient */
    float *z, *zn;       /* L x N x d: Z(l) and n(Z(l)) of the last forward */
    float *dz, *dzn;     /* N x d */
    float *invs;         /* L x N: 1 / row sum of alpha (0 for empty rows) */
    double *acc;         /* n_threads x 2d */
    int has_graph;
    graph_buf g;
    int fwd_done;
    int64_t nodes_fwd;   /* anchors of the last forward_nodes (0: none) */
    irllrec__param blocks[IRLLREC_INTENT_N_PARAMS];
};

static inline size_t irllrec__fbytes(int64_t a, int64_t b, int64_t c)
{
    return (size_t)a * (size_t)b * (size_t)c * sizeof(float);
}

#endif
