/* lightgcn_train's command line (train.c), a function of its own so that
 * tests/fuzz/fuzz_train_args.c can drive it without training. */
#ifndef LGCN_TRAIN_ARGS_H
#define LGCN_TRAIN_ARGS_H

#include <stdint.h>
#include <stdio.h>
#include "hosts.h"

typedef struct opts {
    const char *data, *out;
    int32_t dim, layers, batch, epochs, eval_step, patience, threads, quiet, lib_log;
    double lr, reg, keep;
    uint64_t seed;
    int32_t reg_set, keep_set, layers_set;
    /* --model (enum lgcn_model) and its settings; --dataset-config picks the
     * authors' per-dataset defaults of SGL and SimGCL (enum lgcn_dataset_cfg).
     * cl_weight, cl_tau, eps, view_keep: NAN until given, then resolved. */
    int32_t model, dataset_cfg;
    double cl_weight, cl_tau, eps, view_keep;
    int32_t cl_precision; /* --cl-precision: enum irllrec_align_precision (0: fp32) */
    /* IRLLRec (--irllrec): text paths (NULL = DATA/<name>.npy if present) and
     * the hook settings (NAN / -1 = the hook's preset default). */
    int32_t irllrec;
    const char *text[4];
    lgcn_irl_cfg hc;
    const char *resume;  /* --resume FILE */
    int32_t save_every;  /* --save-every N: OUT/checkpoint.irlm every N epochs (0: never) */
    int32_t overwrite;   /* --overwrite: an earlier run's checkpoint in OUT may be replaced */
    /* Data-parallel training under mpirun (lightgcn_train_mpi, train_dist.h):
     * --mpi, --mpi-ranks P (0: any), --mpi-timeout S (0: libirllrec-mpi's 300). */
    int32_t mpi, mpi_ranks;
    double mpi_timeout;
    /* --mpi-shard: the hook node-sharded instead (irllrec_hook_create_sharded):
     * every rank trains the whole global batch, holds a block of the text rows */
    int32_t mpi_shard;
} opts;

extern const char *const LGCN_TEXT_FLAG[4];

/** --dataset-config values. */
enum lgcn_dataset_cfg { LGCN_DS_AMAZON_BOOK = 0, LGCN_DS_YELP = 1, LGCN_DS_AMAZON_MOVIE = 2 };
extern const char *const LGCN_DATASET_CFG_NAME[3];

/** Parse argv into @p o (defaults first). Messages ("lightgcn_train: ...")
 *  go to @p err. --mpi is refused unless this file is compiled with
 *  LGCN_WITH_MPI (the lightgcn_train_mpi executable).
 *  @return 0 parsed; 1 --help (usage printed to @p out); 2 refused */
int lgcn_train_parse_args(int argc, char **argv, opts *o, FILE *out, FILE *err);


#endif /* LGCN_TRAIN_ARGS_H */
