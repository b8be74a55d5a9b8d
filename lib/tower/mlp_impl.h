/* The MLP's handle, shared by mlp.c (the fp32 reference) and mlp_bf16.c
 * (the opt-in bf16 text path). Never installed. */
#ifndef IRLLREC_MLP_IMPL_H
#define IRLLREC_MLP_IMPL_H

#include "tower.h"

/* Backward works on blocks of this many rows so its scratch stays small
 * (the forward cache is already rows x hidden). A constant, not max_rows, so
 * the summation order depends on the batch only. */
#define MLP_BWD_BLOCK 4096
/* The bf16 text path's block (forward and backward): its fp32 scratch is
 * the only fp32 copy of H, so it is kept smaller (docs/math-towers.md 5). */
#define MLP_BF16_BLOCK 2048

struct irllrec_mlp {
    irllrec_ctx *ctx;
    irllrec_mlp_spec spec;     /* resolved */
    int64_t in, hid, out;
    float slope;
    float *params, *grads;     /* W1 | b1 | W2 | b2, each 64-byte aligned */
    size_t params_bytes;
    float *h;                  /* max_rows x hid: LeakyReLU output of the last forward */
    size_t h_bytes;            /* (NULL, 0 when the cache is hh) */
    uint16_t *hh;              /* max_rows x hid: the same in bf16 (bf16 student, mlp_bf16.c) */
    size_t hh_bytes;
    float *dh;                 /* bwd_rows x hid scratch (the bf16 forward's block too) */
    size_t dh_bytes;
    int64_t bwd_rows;
    int64_t fwd_rows;          /* rows of the last forward; 0 = none */
    irllrec__param blocks[IRLLREC_MLP_N_PARAMS];
    /* bf16 text path (mlp_bf16.c), NULL unless enabled: W1 rounded per
     * forward, and the transposed dA of one backward block */
    uint16_t *w1h, *dah;
    size_t w1h_bytes, dah_bytes;
};

/* Create an MLP; act16: its activation cache in bf16 (hh, MLP_BF16_BLOCK
 * row blocks), for mlp_bf16.c's student, which the fp32 calls refuse. */
irllrec_status irllrec__mlp_create_ex(irllrec_ctx *ctx, const irllrec_mlp_spec *spec,
                                      int with_grad, int act16, irllrec_mlp **out);

/* Bytes of the bf16 path's buffers (mlp_bf16.c): W1 rounded to bf16, and
 * the transposed bf16 dA of one backward block where there is a backward. */
static inline void irllrec__mlp_bf16_sizes(const irllrec_mlp *m, int with_grad, size_t *w1,
                                           size_t *da)
{
    *w1 = (size_t)(m->hid * m->in) * sizeof(uint16_t);
    *da = with_grad ? (size_t)(m->bwd_rows * m->hid) * sizeof(uint16_t) : 0;
}

/* h = LeakyReLU(h + b) over rows x cols (ld cols), in place. */
void irllrec__mlp_bias_leaky(int64_t rows, int64_t cols, float *h, const float *b, float slope);

#endif
