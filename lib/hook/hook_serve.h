/* What a trained recommender (lib/serve) reads of a const hook: shapes, the
 * text towers, the prototypes and the intent text. Kept apart from
 * hook_impl.h so lib/serve depends on this one view, not on the hook's
 * internals. Never installed. */
#ifndef IRLLREC_HOOK_SERVE_H
#define IRLLREC_HOOK_SERVE_H

#include "../internal.h"
#include "irllrec/hook.h"
#include "irllrec/mlp.h"

typedef struct irllrec__hook_serve {
    int64_t U, I, d, K, Dp, Dt;
    int64_t n_layers;          /* spec.n_layers: 0 = graph-free */
    const irllrec_mlp *prf;    /* profile tower, NULL without profile text */
    const irllrec_mlp *intm;   /* intent tower (student), NULL without intent text */
    const float *proto_user;   /* C_u, d x K, NULL without intent text */
    const float *proto_item;   /* C_i, d x K */
    const float *txt_int;      /* N x Dt intent text (users first), NULL unless both
                                  sides were given to irllrec_hook_set_text; NULL
                                  for a bf16 hook, which has txt_int_bf16 instead */
    const uint16_t *txt_int_bf16; /* the same text in bf16 (bf16 hooks only) */
} irllrec__hook_serve;

/* Fill v from h; borrowed pointers, valid while h lives and is not stepped. */
void irllrec__hook_serve_view(const irllrec_hook *h, irllrec__hook_serve *v);

#endif
