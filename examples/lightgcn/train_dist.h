/* lightgcn_train under mpirun (--mpi; docs/distributed.md): the ranks, the
 * collective layer (libirllrec-mpi), and the few collective decisions the
 * trainer takes. Compiled into both trainers: lightgcn_train_mpi defines
 * LGCN_WITH_MPI and links libirllrec-mpi; in lightgcn_train (no MPI) every
 * function here is that of one process (rank 0 of 1) and --mpi is refused
 * by the command line (train_args.c).
 *
 * Data-parallel: every rank loads the same data and text, builds the same
 * model from the same seed and draws the same global batches; rank r trains
 * on slice r of each (lt_dist_slice), the hook and the host average their
 * gradients over the ranks, so every rank takes the same steps. Rank 0
 * evaluates, decides early stopping and writes every file; the other ranks
 * follow its decisions (lt_dist_verdict). */
#ifndef LGCN_TRAIN_DIST_H
#define LGCN_TRAIN_DIST_H

#include <stdint.h>
#include "train_impl.h"

typedef struct lt_dist {
    int on;                   /* --mpi: one of several ranks */
    int shard;                /* --mpi-shard: every rank the whole batch, the hook sharded */
    int32_t rank, size;       /* 0 and 1 without --mpi */
    irllrec_collective layer; /* valid when on */
    void *handle;             /* the irllrec_mpi handle */
    int mpi_inited;
} lt_dist;

/* The rank the launcher (mpirun / mpiexec / srun) gave this process, from
 * its environment, before MPI starts; -1 when there is none. */
int lt_dist_env_rank(void);

/* Start MPI and the layer when o->mpi (else one process). Refused (2, with
 * a message on rank 0): not started by a launcher, a rank count other than
 * --mpi-ranks, a failed start-up check. @return 0 or the exit status. */
int lt_dist_start(lt_dist *d, const opts *o, int *argc, char ***argv);
/* Free the layer and finalise MPI. */
void lt_dist_finish(lt_dist *d);
/* End every rank at once after a failure where the ranks may be out of step
 * (a failed training step): MPI_Abort. Without --mpi: nothing. */
void lt_dist_abort(const lt_dist *d, int code);

/* The layer to give the hook and the host: NULL without --mpi. */
const irllrec_collective *lt_dist_layer(const lt_dist *d);

/* Collective: every rank says whether it failed; returns how many did (the
 * same on every rank), or -1 when the layer itself failed. */
int lt_dist_agree(const lt_dist *d, int failed);
/* Collective: rank 0's @p n values into every rank's @p v. @return 0 or -1 */
int lt_dist_bcast_i64(const lt_dist *d, int64_t *v, int n);
/* Collective: sum @p n doubles over the ranks, in place. @return 0 or -1 */
int lt_dist_sum_f64(const lt_dist *d, double *v, int n);
/* Collective: @p mine against rank 0's; a rank that differs says so, naming
 * @p what; @return 0 when every rank agrees, else -1 on every rank. */
int lt_dist_same(const lt_dist *d, uint64_t mine, const char *what);

/* This rank's slice [*lo, *hi) of the global batch [s, s + b) (node-sharded:
 * the whole batch). */
void lt_dist_slice(const lt_dist *d, int64_t s, int64_t b, int64_t *lo, int64_t *hi);

/* Every global batch must give every rank at least one triple: @p batch and
 * the epoch's last batch (@p n_pairs mod batch) at least the rank count.
 * @return 0, or 2 after a message (rank 0) */
int lt_dist_check_batches(const lt_dist *d, int64_t n_pairs, int32_t batch);

/* Collective: every rank holds rank 0's E(0) and, with the hook, its hook
 * state (re-checked by irllrec_hook_set_collective); with @p opt also the
 * Adam state. A difference fails loudly on every rank. @return 0 or -1 */
int lt_dist_check_state(const lt_dist *d, irllrec_ctx *ctx, lgcn *m, const lgcn_opt *opt,
                        lt_irl_state *irl, const char *when);

/* Rank 0's decision after an epoch, the same on every rank afterwards. */
enum { LT_GO = 0, LT_STOP = 1, LT_FAIL = 2 };
/* Collective: rank 0's @p *verdict to every rank. @return 0 or -1 */
int lt_dist_verdict(const lt_dist *d, int *verdict);

/* Private scratch folder for this rank's copy of the synthetic data (ranks
 * other than 0 write nothing into --out): @p buf gets its path. @return 0 or -1 */
int lt_dist_tmpdir(char *buf, size_t cap);

#endif /* LGCN_TRAIN_DIST_H */
