/* lightgcn_train's serving model, OUT/model.irlm (docs/cli.md): what the
 * `irllrec` tool answers from. Built from the parameters of the best
 * validation epoch: the final embeddings, the TRAIN items as seen items,
 * and, with --irllrec, the hook at that epoch (its trainable blocks are
 * snapshot when the epoch is found best and put back before the model is
 * built). Host code: malloc, public API only. */
#ifndef LGCN_SERVING_H
#define LGCN_SERVING_H

#include "lightgcn.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A copy of a hook's trainable blocks. */
typedef struct lgcn_hook_snap lgcn_hook_snap;

/** Copy the trainable blocks of @p h into *@p s (allocated on the first
 *  call, reused after). @return 0, or -1 after a message on stderr */
int lgcn_hook_snap_take(lgcn_hook_snap **s, irllrec_hook *h);
void lgcn_hook_snap_free(lgcn_hook_snap *s);

/** Write DIR/model.irlm (irllrec_rec_save, atomic) from the last forward of
 *  @p m (the caller has restored the best parameters and run it), @p train
 *  as the seen items and, when @p h is not NULL, the hook with the
 *  snapshot @p s put back first (NULL: the hook as it is, with a warning
 *  that it may be newer than the embeddings).
 *  @return 0, or -1 after a message on stderr */
int lgcn_serving_write(irllrec_ctx *ctx, const char *dir, const lgcn *m, const irllrec_csr *train,
                       irllrec_hook *h, const lgcn_hook_snap *s);

#ifdef __cplusplus
}
#endif
#endif /* LGCN_SERVING_H */
