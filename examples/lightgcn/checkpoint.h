/* Trainer checkpoints of lightgcn_train (--save-every / --resume): the host's
 * whole training state, plus the IRLLRec hook's when it is on, in one .irlm
 * model file (include/irllrec/model.h; section names in docs/file-format.md,
 * "Trainer checkpoints"). Host code: malloc, public API only. */
#ifndef LGCN_CHECKPOINT_H
#define LGCN_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>
#include "lightgcn.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The trainer's loop state besides the model, optimizer, sampler and hook. */
typedef struct lgcn_ckpt_loop {
    int32_t epoch;        /**< last completed epoch (the next one is epoch + 1) */
    int32_t best_epoch;   /**< epoch of the best validation R@20 so far (-1: none) */
    int32_t since_best;   /**< evaluations without improvement */
    int32_t n_evals;      /**< evaluations so far */
    double best_recall;   /**< best validation R@20 so far (-1: none) */
    float *best;          /**< N x d: E(0) at the best evaluation (caller-owned) */
} lgcn_ckpt_loop;

/** Settings that must be equal for a resumed run to continue the saved one. */
typedef struct lgcn_ckpt_cfg {
    int64_t batch;
    uint64_t seed;
    double lr, reg, keep;
    int32_t irllrec;      /**< the hook is on */
    /** FNV-1a 64 fingerprints of the data the run trains on (lgcn_ckpt_fnv1a):
     *  the TRAIN split (shape and user -> items CSR) and the text embeddings
     *  the hook got (0 when IRLLRec is off). Stored as lgcn.data_fnv1a64 /
     *  lgcn.text_fnv1a64; a resume with other data is refused. */
    uint64_t data_fp, text_fp;
    /** The backbone (enum lgcn_model, hosts.h; lgcn.model) and its settings
     *  (0 where it has none): a resume with another --model is refused. */
    int32_t model;
    double cl_weight, cl_tau, eps;
    /** Ranks of a data-parallel run (lightgcn_train_mpi --mpi); 0 or 1: one
     *  process. Stored as lgcn.ranks when > 1 (absent: 1): each global batch
     *  is split by the rank count, so a resume with another count is refused,
     *  naming both. */
    int32_t ranks;
    /** 1: a node-sharded run (--mpi-shard; lgcn.shard = 1), whose ranks all
     *  train the whole batch: a resume in the other layout is refused. */
    int32_t shard;
} lgcn_ckpt_cfg;

/** FNV-1a 64 of @p n bytes, continuing from @p h (start with LGCN_FNV1A_INIT). */
#define LGCN_FNV1A_INIT UINT64_C(0xcbf29ce484222325)
uint64_t lgcn_ckpt_fnv1a(uint64_t h, const void *p, size_t n);

/** Write the checkpoint to @p path atomically (irllrec_model_save).
 *  @param h  the hook, or NULL when IRLLRec is off
 *  @return IRLLREC_OK or the library's error; a message goes to @p err */
irllrec_status lgcn_ckpt_save(irllrec_ctx *ctx, const char *path, const lgcn_ckpt_cfg *cfg,
                              lgcn *m, const lgcn_opt *o, const irllrec_x_sampler *sp,
                              const irllrec_hook *h, const lgcn_ckpt_loop *loop, char *err,
                              size_t errcap);

/** The largest checkpoint file lgcn_ckpt_load() reads for a model of
 *  @p nd = n_nodes x dim floats (its max_bytes): the host state is 16 * nd
 *  bytes (E(0), the best E(0), Adam's two moments); four times that plus
 *  256 MiB leaves room for the hook's sections and the metadata. A larger
 *  file is refused (IRLLREC_E_NOMEM, naming max_bytes) before it is read. */
#define LGCN_CKPT_MAX_BYTES(nd) ((uint64_t)64 * (uint64_t)(nd) + ((uint64_t)256 << 20))

/** Read a checkpoint and restore everything. Shapes, configuration and
 *  values are checked before the host state changes; the hook is imported
 *  transactionally first.
 *  @return IRLLREC_OK or the library's error (IRLLREC_E_SHAPE / _FORMAT for a
 *          checkpoint of another configuration); a message goes to @p err */
irllrec_status lgcn_ckpt_load(irllrec_ctx *ctx, const char *path, const lgcn_ckpt_cfg *cfg,
                              lgcn *m, lgcn_opt *o, irllrec_x_sampler *sp, irllrec_hook *h,
                              lgcn_ckpt_loop *loop, char *err, size_t errcap);

#ifdef __cplusplus
}
#endif
#endif /* LGCN_CHECKPOINT_H */
