/* Internal entry points of the hook, for tests (golden fixtures, finite
 * differences) and for a future model file. Never installed. */
#ifndef IRLLREC_HOOK_INTERNAL_H
#define IRLLREC_HOOK_INTERNAL_H

#include "../internal.h"
#include "irllrec/hook.h"
#include "irllrec/adam.h"
#include "irllrec/align.h"

/* What irllrec__hook_run commits. irllrec_hook_step = both bits. */
enum {
    IRLLREC__HOOK_WRITE_GRADS = 1, /* add host gradients into the caller's buffers */
    IRLLREC__HOOK_UPDATE = 2       /* Adam step, teacher EMA, RNG advance, step count */
};

/* irllrec_hook_step with a choice of what to commit. With flags 0 or
 * WRITE_GRADS alone the hook's state (parameters, teacher, Adam, RNG) is
 * left as it was, so repeated calls see the same noise: the finite-difference
 * test relies on that. */
irllrec_status irllrec__hook_run(irllrec_hook *h, const int32_t *users, const int32_t *pos,
                                 const int32_t *neg, int64_t batch, irllrec_mat user_final,
                                 irllrec_mat item_final, const irllrec_mat *layers,
                                 irllrec_mat user_grad, irllrec_mat item_grad,
                                 const irllrec_mat *layer_grads, irllrec_hook_losses *out,
                                 int flags);

/* The hook's parameter blocks: trainable ones first ("prf.w1", "prf.b1",
 * "prf.w2", "prf.b2", "int.w1" .. "int.b2", "proto.user", "proto.item"; those
 * whose text is absent are missing), then the teacher ("teacher.w1" ..
 * "teacher.b2", grad NULL). Gradients hold the last run's values (not
 * cleared after a step). Returns the number of blocks written (<= cap). */
int irllrec__hook_blocks(irllrec_hook *h, irllrec__param *out, int cap);

/* Replace the translation noise by fixed N x d arrays (copied; exact mode
 * only), or go back to drawing it from the RNG with NULL. */
irllrec_status irllrec__hook_set_noise(irllrec_hook *h, const float *eps1, const float *eps2);

/* A hash of the sign bits of every LeakyReLU pre-activation of the last
 * run (student text towers), for finite-difference tests: when it differs
 * between the x+h and x-h evaluations a kink lies in between. */
uint64_t irllrec__hook_preact_signs(const irllrec_hook *h);

/* Everything a checkpoint reads or restores (lib/hook/checkpoint.c); the
 * pointers are the hook's own. Runtime parameters go through the public
 * get/set_param. */
typedef struct irllrec__hook_view {
    irllrec_ctx *ctx;
    irllrec_hook_spec spec;
    irllrec__param *blocks;  /* n_train trainable blocks, then the teacher's */
    int n_blocks, n_train;
    irllrec_adam *adam;      /* over blocks [0, n_train); one dummy block when n_train == 0 */
    irllrec_align *align;
    irllrec__rng *rng;       /* the hook's own stream (translation sampling and noise) */
    int64_t *steps;
} irllrec__hook_view;

void irllrec__hook_get_view(irllrec_hook *h, irllrec__hook_view *v);

#endif
