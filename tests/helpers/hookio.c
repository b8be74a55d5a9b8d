#include <string.h>
#include "hookio.h"

void tu_hookio_init(tu_hookio *io, int64_t U, int64_t I, int64_t d, const float *ef, float *gf,
                    int L, const float *lay, float *gl)
{
    const int64_t N = U + I;
    memset(io, 0, sizeof *io);
    for (int l = 0; l < L && l < TU_HOOKIO_MAX_LAYERS; l++) {
        io->lay[l] = irllrec_cmat_dense(lay + l * N * d, N, d);
        if (gl != NULL) io->lg[l] = irllrec_mat_dense(gl + l * N * d, N, d);
    }
    io->in.user_final = irllrec_cmat_dense(ef, U, d);
    io->in.item_final = irllrec_cmat_dense(ef + U * d, I, d);
    io->in.layers = L > 0 ? io->lay : NULL;
    io->grads.struct_size = sizeof io->grads;
    io->grads.mode = IRLLREC_HOOK_GRAD_DENSE;
    io->grads.user_grad = irllrec_mat_dense(gf, U, d);
    io->grads.item_grad = irllrec_mat_dense(gf + U * d, I, d);
    io->grads.layer_grads = L > 0 && gl != NULL ? io->lg : NULL;
}
