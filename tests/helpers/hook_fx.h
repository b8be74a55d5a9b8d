/* The hook suites' fixture: hook_fx.c. */
#ifndef IRLLREC_TEST_HOOK_FX_H
#define IRLLREC_TEST_HOOK_FX_H
#include <stdint.h>
#include "irllrec/irllrec.h"
#include "internal.h"
#include "helpers/testutil.h"

#define MAXB 8

typedef struct hk {
    tu_alloc_state st;
    irllrec_ctx *ctx;
    irllrec_hook *h;
    int64_t U, I, N, d, L, B, dp, dt;
    int32_t users[MAXB], pos[MAXB], neg[MAXB];
    float *ef, *lay, *gf, *gl;      /* ef, gf: N x d (users then items); lay, gl: L x N x d */
    float *sgf, *sgl;               /* scratch grads for loss-only evaluations */
    int64_t *ip;
    int32_t *ix;
    int64_t nnz;
    uint64_t sign_prev, sign_last;
} hk;

/* What one call does (the v1 internal run's flags, in v2 terms). */
enum {
    HK_LOSS = 0,  /* irllrec_hook_compute with IRLLREC_HOOK_LOSS_ONLY: no gradient out */
    HK_GRADS = 1, /* irllrec_hook_compute, flags 0: gradients added, no apply */
    HK_STEP = 2   /* irllrec_hook_step: compute + apply */
};

/* x[i] = scale * N(0, 1) from r */
void hk_fill(irllrec__rng *r, float *x, int64_t n, double scale);
/* U=4, I=5, d=3, K=3, B=3; L, text dims and preset as given. */
void hk_make(hk *k, int L, int dp, int dt, int preset, uint64_t seed);
void hk_free(hk *k);
/* Strong weights so that every term moves the total. */
void hk_strong(hk *k);
/* One call in mode HK_LOSS, HK_GRADS or HK_STEP with gradients into gf, gl. */
irllrec_status hk_run_into(hk *k, int mode, float *gf, float *gl, irllrec_hook_losses *lv);
irllrec_status hk_step(hk *k, irllrec_hook_losses *lv);
/* Block i of a hook (one irllrec_hook_get_block call per block). */
irllrec_hook_block hk_block(irllrec_hook *h, int32_t i);
/* Every block of a hook, trainable first, then the teacher; returns the count. */
int hk_blocks(irllrec_hook *h, irllrec_hook_block *out, int cap);
#endif
