/* lightgcn_train under mpirun: see train_dist.h and docs/distributed.md.
 * Without LGCN_WITH_MPI (the plain lightgcn_train) every function is that
 * of one process and nothing here touches MPI. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "train_dist.h"
#include "checkpoint.h"
#ifdef LGCN_WITH_MPI
#include <mpi.h>
#include "irllrec/collective_mpi.h"
#endif

int lt_dist_env_rank(void)
{
    static const char *const VARS[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"};
    for (size_t k = 0; k < sizeof VARS / sizeof VARS[0]; k++) {
        const char *v = getenv(VARS[k]);
        if (v != NULL && v[0] >= '0' && v[0] <= '9') return atoi(v);
    }
    return -1;
}

const irllrec_collective *lt_dist_layer(const lt_dist *d) { return d->on ? &d->layer : NULL; }

#ifdef LGCN_WITH_MPI

static const char *why(const lt_dist *d)
{
    const char *m = irllrec_mpi_errmsg((const irllrec_mpi *)d->handle);
    return m != NULL && m[0] ? m : "no message";
}

/* A failed collective leaves the group unusable (collective.h): the ranks
 * may be out of step, so every rank is ended. */
static int comm_failed(const lt_dist *d, const char *what, int32_t rc)
{
    fprintf(stderr, "lightgcn_train: rank %d of %d: %s failed (code %d): %s\n", (int)d->rank,
            (int)d->size, what, (int)rc, why(d));
    lt_dist_abort(d, 1);
    return -1;
}

int lt_dist_start(lt_dist *d, const opts *o, int *argc, char ***argv)
{
    irllrec_mpi_spec sp;
    irllrec_mpi *h = NULL;
    char msg[512] = "";
    int provided = 0, world = 0, wsize = 0;
    memset(d, 0, sizeof d[0]);
    d->size = 1;
    if (!o->mpi) return 0;
    d->shard = o->mpi_shard;
    if (lt_dist_env_rank() < 0) {
        fprintf(stderr, "lightgcn_train: --mpi: this process was not started by mpirun / "
                        "mpiexec (none of OMPI_COMM_WORLD_RANK, PMIX_RANK, PMI_RANK is set): "
                        "run  mpirun -n P %s --mpi ...  (or drop --mpi for one process)\n",
                (*argv)[0]);
        return 2;
    }
    /* Worker threads compute; only this thread calls MPI. */
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "lightgcn_train: --mpi: MPI_Init_thread failed\n");
        return 1;
    }
    d->mpi_inited = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &world);
    MPI_Comm_size(MPI_COMM_WORLD, &wsize);
    if (o->mpi_ranks != 0 && o->mpi_ranks != wsize) {
        if (world == 0)
            fprintf(stderr, "lightgcn_train: --mpi-ranks %d, but mpirun started %d rank%s: "
                            "refusing to start (run mpirun -n %d, or change --mpi-ranks)\n",
                    (int)o->mpi_ranks, wsize, wsize == 1 ? "" : "s", (int)o->mpi_ranks);
        return 2;
    }
    irllrec_mpi_spec_init(&sp, sizeof sp);
    sp.expect_size = o->mpi_ranks;
    if (o->mpi_timeout > 0.0) sp.timeout_s = o->mpi_timeout;
    if (irllrec_mpi_create(MPI_COMM_WORLD, &sp, &h, msg, sizeof msg) != IRLLREC_OK) {
        fprintf(stderr, "lightgcn_train: rank %d of %d: --mpi: %s\n", world, wsize, msg);
        return 2;
    }
    d->handle = h;
    irllrec_mpi_layer(h, &d->layer);
    d->rank = d->layer.rank(d->layer.user);
    d->size = d->layer.size(d->layer.user);
    d->on = 1;
    (void)provided;
    return 0;
}

void lt_dist_finish(lt_dist *d)
{
    if (d->handle != NULL) irllrec_mpi_free((irllrec_mpi *)d->handle);
    d->handle = NULL;
    d->on = 0;
    if (d->mpi_inited) {
        int fin = 0;
        MPI_Finalized(&fin);
        if (!fin) MPI_Finalize();
    }
    d->mpi_inited = 0;
}

void lt_dist_abort(const lt_dist *d, int code)
{
    if (!d->mpi_inited) return;
    fprintf(stderr, "lightgcn_train: rank %d of %d: ending every rank (MPI_Abort)\n",
            (int)d->rank, (int)d->size);
    fflush(stderr);
    fflush(stdout);
    MPI_Abort(MPI_COMM_WORLD, code);
}

int lt_dist_agree(const lt_dist *d, int failed)
{
    double v = failed ? 1.0 : 0.0;
    int32_t rc;
    if (!d->on) return failed ? 1 : 0;
    rc = d->layer.allreduce_f64(d->layer.user, &v, &v, 1);
    if (rc != 0) return comm_failed(d, "the agreement of the ranks", rc);
    return (int)v;
}

int lt_dist_bcast_i64(const lt_dist *d, int64_t *v, int n)
{
    int32_t rc;
    if (!d->on) return 0;
    rc = d->layer.broadcast(d->layer.user, v, (int64_t)n * (int64_t)sizeof v[0], 0);
    return rc != 0 ? comm_failed(d, "a broadcast from rank 0", rc) : 0;
}

int lt_dist_sum_f64(const lt_dist *d, double *v, int n)
{
    int32_t rc;
    if (!d->on) return 0;
    rc = d->layer.allreduce_f64(d->layer.user, v, v, n);
    return rc != 0 ? comm_failed(d, "a sum over the ranks", rc) : 0;
}

int lt_dist_tmpdir(char *buf, size_t cap)
{
    const char *t = getenv("TMPDIR");
    int n = snprintf(buf, cap, "%s/lightgcn_train-synth-XXXXXX", t != NULL && t[0] ? t : "/tmp");
    if (n < 0 || (size_t)n >= cap || mkdtemp(buf) == NULL) {
        fprintf(stderr, "lightgcn_train: cannot make a scratch folder for the synthetic data "
                        "(%s)\n", buf);
        return -1;
    }
    return 0;
}

#else /* one process */

int lt_dist_start(lt_dist *d, const opts *o, int *argc, char ***argv)
{
    (void)o;
    (void)argc;
    (void)argv;
    memset(d, 0, sizeof d[0]);
    d->size = 1;
    return 0;
}

void lt_dist_finish(lt_dist *d) { (void)d; }
void lt_dist_abort(const lt_dist *d, int code)
{
    (void)d;
    (void)code;
}
int lt_dist_agree(const lt_dist *d, int failed)
{
    (void)d;
    return failed ? 1 : 0;
}
int lt_dist_bcast_i64(const lt_dist *d, int64_t *v, int n)
{
    (void)d;
    (void)v;
    (void)n;
    return 0;
}
int lt_dist_sum_f64(const lt_dist *d, double *v, int n)
{
    (void)d;
    (void)v;
    (void)n;
    return 0;
}
int lt_dist_tmpdir(char *buf, size_t cap)
{
    (void)buf;
    (void)cap;
    return -1;
}

#endif /* LGCN_WITH_MPI */

int lt_dist_same(const lt_dist *d, uint64_t mine, const char *what)
{
    int64_t root = (int64_t)mine;
    int bad;
    if (!d->on) return 0;
    if (lt_dist_bcast_i64(d, &root, 1) != 0) return -1;
    if ((uint64_t)root != mine)
        fprintf(stderr, "lightgcn_train: rank %d of %d: %s differs from rank 0's (FNV-1a "
                        "%016llx, rank 0 %016llx)\n", (int)d->rank, (int)d->size, what,
                (unsigned long long)mine, (unsigned long long)(uint64_t)root);
    bad = lt_dist_agree(d, (uint64_t)root != mine);
    if (bad == 0) return 0;
    if (d->rank == 0 && bad > 0)
        fprintf(stderr, "lightgcn_train: %d of %d ranks hold another %s than rank 0: the ranks "
                        "are not training one model; stopping\n", bad, (int)d->size, what);
    return -1;
}

void lt_dist_slice(const lt_dist *d, int64_t s, int64_t b, int64_t *lo, int64_t *hi)
{
    const int32_t r = d->shard ? 0 : d->rank, p = d->shard ? 1 : d->size;
    *lo = s + b * r / p;
    *hi = s + b * (r + 1) / p;
}

int lt_dist_check_batches(const lt_dist *d, int64_t n_pairs, int32_t batch)
{
    int64_t last = n_pairs % batch;
    if (d->shard || (batch >= d->size && (last == 0 || last >= d->size))) return 0;
    if (d->rank == 0) {
        if (batch < d->size)
            fprintf(stderr, "lightgcn_train: --batch %d is smaller than the %d ranks: every rank "
                            "needs at least one triple of each batch\n", (int)batch,
                    (int)d->size);
        else
            fprintf(stderr, "lightgcn_train: the epoch's %lld train pairs leave a last batch of "
                            "%lld triples for %d ranks: every rank needs at least one (choose "
                            "another --batch or rank count)\n", (long long)n_pairs,
                    (long long)last, (int)d->size);
    }
    return 2;
}

/* Every rank's hook blocks (parameters and teacher) and step count against
 * rank 0's, through one hash. */
static int same_hook_blocks(const lt_dist *d, irllrec_hook *h, const char *when)
{
    int64_t steps = irllrec_hook_steps(h);
    uint64_t x = lgcn_ckpt_fnv1a(LGCN_FNV1A_INIT, &steps, sizeof steps);
    char what[96];
    for (int32_t i = 0; i < irllrec_hook_block_count(h); i++) {
        irllrec_hook_block b;
        b.struct_size = sizeof b;
        if (irllrec_hook_get_block(h, i, &b) != IRLLREC_OK) return -1;
        x = lgcn_ckpt_fnv1a(x, b.data, (size_t)(b.rows * b.cols) * sizeof(float));
    }
    snprintf(what, sizeof what, "node-sharded hook (parameters or step count) %s", when);
    return lt_dist_same(d, x, what);
}

int lt_dist_check_state(const lt_dist *d, irllrec_ctx *ctx, lgcn *m, const lgcn_opt *opt,
                        lt_irl_state *irl, const char *when)
{
    char what[256];
    int64_t nd = lgcn_n_nodes(m) * (int64_t)lgcn_dim(m);
    uint64_t h = lgcn_ckpt_fnv1a(LGCN_FNV1A_INIT, lgcn_params(m), (size_t)nd * sizeof(float));
    int64_t steps = lgcn_steps(m);
    if (!d->on) return 0;
    h = lgcn_ckpt_fnv1a(h, &steps, sizeof steps);
    snprintf(what, sizeof what, "E(0) or step count %s", when);
    if (lt_dist_same(d, h, what) != 0) return -1;
    if (opt != NULL) {
        float *buf = (float *)malloc((size_t)(2 * nd) * sizeof(float));
        int64_t t = 0;
        int fail = buf == NULL || lgcn_opt_get_state(opt, &t, buf, buf + nd) != IRLLREC_OK;
        if (lt_dist_agree(d, fail) != 0) {
            if (fail) fprintf(stderr, "lightgcn_train: rank %d of %d: cannot read the Adam "
                                      "state\n", (int)d->rank, (int)d->size);
            free(buf);
            return -1;
        }
        h = lgcn_ckpt_fnv1a(LGCN_FNV1A_INIT, buf, (size_t)(2 * nd) * sizeof(float));
        h = lgcn_ckpt_fnv1a(h, &t, sizeof t);
        free(buf);
        snprintf(what, sizeof what, "Adam state of E(0) %s", when);
        if (lt_dist_same(d, h, what) != 0) return -1;
    }
    /* The hook compares every rank's parameters, settings, shapes and step
     * count with rank 0's when a layer is attached (again); a node-sharded
     * hook keeps the layer of its create, so its blocks and step count are
     * compared here. */
    if (irl->x != NULL && d->shard) return same_hook_blocks(d, lgcn_irl_hook(irl->x), when);
    if (irl->x != NULL &&
        irllrec_hook_set_collective(lgcn_irl_hook(irl->x), &d->layer) != IRLLREC_OK) {
        fprintf(stderr, "lightgcn_train: rank %d of %d: the hook %s: %s\n", (int)d->rank,
                (int)d->size, when, irllrec_ctx_errmsg(ctx));
        return -1;
    }
    return 0;
}

int lt_dist_verdict(const lt_dist *d, int *verdict)
{
    int64_t v = *verdict;
    if (!d->on) return 0;
    if (lt_dist_bcast_i64(d, &v, 1) != 0) return -1;
    *verdict = (int)v;
    return 0;
}
