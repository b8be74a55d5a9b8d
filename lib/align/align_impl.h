/* The alignment handle and what its two files share: align.c (lifecycle,
 * validation, the engine call and InfoNCE) and translation.c (translation
 * alignment and its noise). Never installed. */
#ifndef IRLLREC_ALIGN_IMPL_H
#define IRLLREC_ALIGN_IMPL_H

#include "engine.h"

/* Normals per step of the noise draw: its uniforms are drawn in order on the
 * calling thread, then turned into normals by every thread (translation.c). */
#define ALIGN_NOISE_CHUNK 32768

struct irllrec_align {
    irllrec_ctx *ctx;
    irllrec_align_spec spec;
    int32_t n_threads;
    int32_t noise;
    irllrec_noise_fn noise_fn; /* caller's noise, or NULL */
    void *noise_ud;
    irllrec__rng rng;
    int64_t block_rows, block_cols;
    int32_t n_slices;
    /* one allocation, carved below */
    void *mem;
    size_t mem_bytes;
    float *xn, *yn;     /* normalised (noisy) rows: max_rows x d, max_cols x d */
    double *rx, *ry;    /* their norms sqrt(1e-8 + |v|^2) */
    float *ex, *ey;     /* noise of the current call */
    float *blk;         /* n_threads x block_rows x block_cols */
    double *row_loss;   /* max_rows */
    double *row_aux;    /* 5 x max_rows */
    float *dxn;         /* max_rows x d */
    float *dyn;         /* n_slices x max_cols x d */
    int32_t *ids;       /* max_rows: sampled node ids / permutation scratch */
    float *ypack;       /* the fused engine's packed columns and scratch rows */
    uint32_t *xpairs;   /* bf16 logits: the engine's per-thread row pairs (else NULL) */
    double *unif;       /* 2 x ALIGN_NOISE_CHUNK uniforms: the noise drawn, then transformed */
    int32_t bf16;       /* the precision granted at create (irllrec_align_precision) */
    /* a chunked call whose dY waits for irllrec__align_translation_finish */
    int64_t pend_nc;    /* its columns (0: none waits) */
    int pend_eps;       /* its y rows had noise (h->ey) */
};

typedef struct irllrec__align_call {
    int64_t nr, nc;            /* rows of xn / yn in use */
    const int32_t *target;     /* engine target, NULL = diagonal */
    int32_t kind;
    float inv_tau;
    double scale;
    const float *row_weight;   /* InfoNCE row weights (NULL: 1) */
    const float *col_weight;   /* InfoNCE column multiplicities (NULL: 1) */
    const int32_t *ids_x, *ids_y; /* output row of internal row i (NULL: i) */
    const float *eps_x, *eps_y;   /* noise used (NULL: none) */
    const int64_t *cuts;       /* chunked rows (engine.h), or NULL */
    int64_t n_cuts;
    double *dyd;               /* chunked: the engine's double dY (n_threads x nc x d) */
} irllrec__align_call;


/* out row i = n(src row (ids[i] or i) (+ that row * eps row i)); r[i] its norm. */
void irllrec__align_norm_rows(int64_t n, int32_t d, const float *src, int64_t ld,
                              const int32_t *ids, const float *eps, float *restrict out,
                              double *restrict r);
/* dst rows (ids[i] or i) += g row i * (1 + eps row i when eps). */
void irllrec__align_add_rows(irllrec_mat dst, int64_t n, int32_t d, const int32_t *ids,
                             const float *g, const float *eps);
/* n distinct ids of [0, n_all) (a partial Fisher-Yates shuffle). */
void irllrec__align_draw_sample(irllrec__rng *rng, int64_t n_all, int64_t n, int32_t *ids);
irllrec_status irllrec__align_check_input(irllrec_align *h, const char *func, const char *name,
                                          irllrec_mat m, int64_t max_rows);
irllrec_status irllrec__align_check_output(irllrec_align *h, const char *func, const char *name,
                                           irllrec_mat m, int64_t rows);
irllrec_status irllrec__align_check_finite(irllrec_align *h, const char *func, const char *name,
                                           irllrec_mat m);
irllrec_status irllrec__align_check_ids(irllrec_align *h, const char *func, const char *name,
                                        const int32_t *ids, int64_t n, int64_t bound);
/* The shared tail: the engine over h->xn / h->yn, the backward through the
 * normalisation, the finiteness check, then the += into dx / dy. */
irllrec_status irllrec__align_run(irllrec_align *h, const char *func,
                                  const irllrec__align_call *c, irllrec_mat dx, irllrec_mat dy,
                                  double *loss);

#endif
