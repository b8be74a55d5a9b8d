/* The transaction around a compute. A compute moves two pieces of state it
 * must not keep: the teacher (the EMA runs before the teacher's forward, on
 * the pre-step student) and the alignment handle's noise generator. Both
 * are snapshot first and put back at the end; what a successful gradient
 * compute produced is kept aside, and apply commits it. So any number of
 * computes on the same inputs see the same noise, a failed one changes
 * nothing, and a host's own optimizer may move the student between compute
 * and apply without disturbing the teacher's update. */
#include <string.h>
#include "hook_impl.h"

/* Teacher blocks to buf (save) or from it. */
static void teacher_copy(irllrec_hook *h, float *buf, int save)
{
    for (int i = h->n_train; i < h->n_blocks; i++) {
        const int64_t n = h->blocks[i].rows * h->blocks[i].cols;
        if (save)
            memcpy(buf, h->blocks[i].data, (size_t)n * sizeof(float));
        else
            memcpy(h->blocks[i].data, buf, (size_t)n * sizeof(float));
        buf += n;
    }
}

void irllrec__hook_txn_begin(irllrec_hook *h)
{
    /* both calls fail only on NULL or an all-zero state, impossible here */
    (void)irllrec_align_get_rng_state(h->align, h->align_rng_before);
    if (!h->has_int) return;
    teacher_copy(h, h->teacher_prev, 1);
    (void)irllrec_itm_set_momentum(h->itm, h->momentum);  /* bounds checked by set_param */
    (void)irllrec_itm_update_teacher(h->itm);
}

void irllrec__hook_txn_end(irllrec_hook *h, int keep)
{
    if (keep) (void)irllrec_align_get_rng_state(h->align, h->align_rng_after);
    (void)irllrec_align_set_rng_state(h->align, h->align_rng_before);
    if (h->has_int) {
        if (keep) teacher_copy(h, h->teacher_next, 1);
        teacher_copy(h, h->teacher_prev, 0);
    }
    h->pending = keep;
}

void irllrec__hook_txn_commit(irllrec_hook *h, int run_adam)
{
    float *params[IRLLREC__HOOK_MAX_BLOCKS];
    const float *grads[IRLLREC__HOOK_MAX_BLOCKS];
    if (h->has_int) teacher_copy(h, h->teacher_next, 0);
    (void)irllrec_align_set_rng_state(h->align, h->align_rng_after);
    if (run_adam && h->n_train > 0) {
        for (int i = 0; i < h->n_train; i++) {
            params[i] = h->blocks[i].data;
            grads[i] = h->blocks[i].grad;
        }
        irllrec__hook_sync_adam(h);
        /* fails only on NULL pointers, which these are not */
        (void)irllrec_adam_step(h->adam, params, grads);
    }
    h->steps++;
    h->pending = 0;
}
