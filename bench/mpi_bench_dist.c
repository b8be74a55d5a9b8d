/* Data-parallel IRLLRec hook steps over MPI (libirllrec-mpi): step time and
 * communicated bytes per step, for docs/distributed.md.
 *
 *   mpirun -n P mpi_bench_dist [--threads T] [--text-dim 256] [--reps 5] [--batch 4096]
 *
 * Shapes: Amazon-book's counts (11,000 users, 9,332 items, ~11 train items
 * per user, a random graph of that shape), d = 32, K = 128, L = 3, profile
 * and intent text of --text-dim RANDOM stand-ins (TIMING ONLY). One global
 * step = each rank's hook step on its batch/P triples (exact translation,
 * every term) + the all-reduce of the host's N x d embedding gradient a host
 * must add (irllrec_collective_allreduce_f32). The host's own forward and
 * backward are not run. Every collective call is timed through a wrapping
 * layer, so the step splits into compute and communication. Prints medians
 * of --reps steps (the slowest rank's time), the CPU model and the load. */
#define _POSIX_C_SOURCE 200809L
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "benchutil.h"
#include "irllrec/irllrec.h"
#include "irllrec/collective_mpi.h"
#undef I

enum { U = 11000, I = 9332, N = U + I, D = 32, K = 128, L = 3, PER = 11, MAXREP = 50 };

/* The wrapping layer: forwards to libirllrec-mpi, times every call. */
typedef struct timed {
    irllrec_collective inner;
    double seconds;
} timed;

#define WRAP(name, args, call)                                        \
    static int32_t t_##name args                                      \
    {                                                                 \
        timed *t = u;                                                 \
        const double t0 = bu_now();                                   \
        const int32_t rc = t->inner.name call;                        \
        t->seconds += bu_now() - t0;                                  \
        return rc;                                                    \
    }
WRAP(allreduce_f32, (void *u, const float *s, float *r, int64_t n), (t->inner.user, s, r, n))
WRAP(allreduce_f64, (void *u, const double *s, double *r, int64_t n), (t->inner.user, s, r, n))
WRAP(allgatherv, (void *u, const void *s, int64_t n, void *r, const int64_t *rb, const int64_t *dp),
     (t->inner.user, s, n, r, rb, dp))
WRAP(reduce_scatter_f32, (void *u, const float *s, float *r, const int64_t *c),
     (t->inner.user, s, r, c))
WRAP(broadcast, (void *u, void *b, int64_t n, int32_t root), (t->inner.user, b, n, root))
WRAP(barrier, (void *u), (t->inner.user))
static int32_t t_rank(void *u) { return ((timed *)u)->inner.rank(((timed *)u)->inner.user); }
static int32_t t_size(void *u) { return ((timed *)u)->inner.size(((timed *)u)->inner.user); }

static void timed_layer(timed *t, irllrec_collective *c)
{
    *c = t->inner;
    c->user = t;
    c->rank = t_rank;
    c->size = t_size;
    c->allreduce_f32 = t_allreduce_f32;
    c->allreduce_f64 = t_allreduce_f64;
    c->allgatherv = t_allgatherv;
    c->reduce_scatter_f32 = t_reduce_scatter_f32;
    c->broadcast = t_broadcast;
    c->barrier = t_barrier;
}

static void die(int rank, const char *what, const char *msg)
{
    fprintf(stderr, "mpi_bench_dist (rank %d): %s: %s\n", rank, what, msg);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

/* The same random graph, text and embeddings on every rank (seeded). */
static irllrec_hook *make_hook(irllrec_ctx *ctx, int dt, int batch, uint64_t *rng, int rank)
{
    int64_t *ip = malloc((U + 1) * sizeof *ip);
    int32_t *ix = malloc((size_t)U * PER * sizeof *ix);
    if (!ip || !ix) die(rank, "graph", "out of memory");
    ip[0] = 0;
    for (int64_t u = 0; u < U; u++) {
        for (int64_t k = 0; k < PER; k++) {
            const int64_t lo = k * I / PER, hi = (k + 1) * I / PER;
            ix[u * PER + k] = (int32_t)(lo + (int64_t)((bu_unif(rng) + 0.5) * (double)(hi - lo)));
        }
        ip[u + 1] = (u + 1) * PER;
    }
    irllrec_csr ui = {U, I, U * PER, ip, ix}, adj;
    irllrec_graph *g = NULL;
    if (irllrec_graph_create(ctx, &ui, &g) != IRLLREC_OK) die(rank, "graph", irllrec_ctx_errmsg(ctx));
    irllrec_graph_adjacency(g, &adj);
    irllrec_hook_spec s;
    irllrec_hook_spec_init(&s, sizeof s);
    s.n_users = U;
    s.n_items = I;
    s.dim = D;
    s.n_intents = K;
    s.n_layers = L;
    s.max_batch = batch;
    s.profile_dim = dt;
    s.intent_dim = dt;
    irllrec_hook *h = NULL;
    if (irllrec_hook_create(ctx, &s, &h) != IRLLREC_OK || irllrec_hook_set_graph(h, &adj) != IRLLREC_OK)
        die(rank, "hook", irllrec_ctx_errmsg(ctx));
    irllrec_graph_free(g);
    free(ip);
    free(ix);
    float *txt = malloc((size_t)U * (size_t)dt * sizeof *txt);
    if (txt == NULL) die(rank, "text", "out of memory");
    for (int w = 0; w < 4; w++) {
        const int64_t rows = w % 2 ? I : U;
        for (int64_t j = 0; j < rows * dt; j++) txt[j] = bu_unif(rng);
        if (irllrec_hook_set_text(h, w, irllrec_cmat_dense(txt, rows, dt)) != IRLLREC_OK)
            die(rank, "text", irllrec_ctx_errmsg(ctx));
    }
    free(txt);
    return h;
}

typedef struct args {
    int threads, dt, reps, batch;
} args;

static void parse(int argc, char **argv, args *a)
{
    a->threads = 1;
    a->dt = 256;
    a->reps = 5;
    a->batch = 4096;
    for (int i = 1; i + 1 < argc; i += 2) {
        const int v = atoi(argv[i + 1]);
        if (strcmp(argv[i], "--threads") == 0) a->threads = v;
        else if (strcmp(argv[i], "--text-dim") == 0) a->dt = v;
        else if (strcmp(argv[i], "--reps") == 0) a->reps = v;
        else if (strcmp(argv[i], "--batch") == 0) a->batch = v;
        else die(-1, "usage", "mpi_bench_dist [--threads T] [--text-dim D] [--reps R] [--batch B]");
    }
    if (a->threads < 1 || a->dt < 1 || a->reps < 1 || a->reps > MAXREP || a->batch < 1)
        die(-1, "usage", "--threads, --text-dim, --batch >= 1, --reps in 1..50");
}

typedef struct rep {
    double step, comm;
    int64_t bytes;
} rep;

/* One global step; returns this rank's wall time, comm time and bytes sent. */
static rep one_step(irllrec_hook *h, irllrec_ctx *ctx, const irllrec_collective *c, timed *t,
                    irllrec_mpi *m, const float *ef, const float *lay, float *gf,
                    const int32_t *bu, const int32_t *bp, const int32_t *bn, int64_t nb, int rank)
{
    irllrec_cmat lv[L];
    for (int l = 0; l < L; l++) lv[l] = irllrec_cmat_dense(lay + (int64_t)l * N * D, N, D);
    irllrec_hook_inputs in = {irllrec_cmat_dense(ef, U, D), irllrec_cmat_dense(ef + U * D, I, D), lv};
    irllrec_hook_grads g;
    memset(&g, 0, sizeof g);
    g.struct_size = sizeof g;
    g.mode = IRLLREC_HOOK_GRAD_DENSE;
    g.user_grad = irllrec_mat_dense(gf, U, D);
    g.item_grad = irllrec_mat_dense(gf + U * D, I, D);
    const irllrec_hook_batch b = {nb, bu, bp, bn};
    MPI_Barrier(MPI_COMM_WORLD);
    const int64_t b0 = irllrec_mpi_bytes_sent(m);
    const double c0 = t->seconds, t0 = bu_now();
    memset(gf, 0, (size_t)N * D * sizeof *gf);
    if (irllrec_hook_step(h, &b, &in, &g, NULL) != IRLLREC_OK ||
        irllrec_collective_allreduce_f32(ctx, c, gf, gf, (int64_t)N * D) != IRLLREC_OK)
        die(rank, "step", irllrec_ctx_errmsg(ctx));
    rep r = {bu_now() - t0, t->seconds - c0, irllrec_mpi_bytes_sent(m) - b0};
    return r;
}

static int32_t trainable_floats(irllrec_hook *h)
{
    int64_t n = 0;
    for (int i = 0; i < irllrec_hook_block_count(h); i++) {
        irllrec_hook_block b;
        b.struct_size = sizeof b;
        irllrec_hook_get_block(h, i, &b);
        if (b.trainable) n += b.rows * b.cols;
    }
    return (int32_t)n;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    args a;
    parse(argc, argv, &a);
    irllrec_mpi *m = NULL;
    char why[256];
    if (irllrec_mpi_create(MPI_COMM_WORLD, NULL, &m, why, sizeof why) != IRLLREC_OK)
        die(rank, "irllrec_mpi_create", why);
    timed t;
    memset(&t, 0, sizeof t);
    irllrec_mpi_layer(m, &t.inner);
    irllrec_collective c;
    timed_layer(&t, &c);
    irllrec_ctx_spec cs;
    irllrec_ctx_spec_init(&cs, sizeof cs);
    cs.n_threads = a.threads;
    irllrec_ctx *ctx = NULL;
    if (irllrec_ctx_create(&cs, &ctx) != IRLLREC_OK) die(rank, "ctx", "cannot create");
    uint64_t rng = 2025;
    irllrec_hook *h = make_hook(ctx, a.dt, (a.batch + size - 1) / size, &rng, rank);
    if (irllrec_hook_set_collective(h, &c) != IRLLREC_OK) die(rank, "attach", irllrec_ctx_errmsg(ctx));
    float *ef = malloc((size_t)N * D * sizeof *ef), *gf = malloc((size_t)N * D * sizeof *gf);
    float *lay = malloc((size_t)L * N * D * sizeof *lay);
    int32_t *bu = malloc((size_t)a.batch * 3 * sizeof *bu), *bp = bu + a.batch, *bn = bp + a.batch;
    if (!ef || !gf || !lay || !bu) die(rank, "buffers", "out of memory");
    for (int64_t j = 0; j < (int64_t)N * D; j++) ef[j] = 0.2f * bu_unif(&rng);
    for (int64_t j = 0; j < (int64_t)L * N * D; j++) lay[j] = 0.2f * bu_unif(&rng);
    const int64_t lo = (int64_t)a.batch * rank / size, hi = (int64_t)a.batch * (rank + 1) / size;
    double st[MAXREP], cm[MAXREP];
    int64_t bytes = 0;
    for (int r = -1; r < a.reps; r++) {  /* r = -1: warm-up */
        for (int j = 0; j < a.batch; j++) {  /* the global batch, the same on every rank */
            bu[j] = (int32_t)((bu_unif(&rng) + 0.5) * U) % U;
            bp[j] = (int32_t)((bu_unif(&rng) + 0.5) * I) % I;
            bn[j] = (int32_t)((bu_unif(&rng) + 0.5) * I) % I;
        }
        rep x = one_step(h, ctx, &c, &t, m, ef, lay, gf, bu + lo, bp + lo, bn + lo, hi - lo, rank);
        double mine[2] = {x.step, x.comm}, worst[2];
        MPI_Allreduce(mine, worst, 2, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        if (r >= 0) {
            st[r] = worst[0];
            cm[r] = worst[1];
            bytes = x.bytes;
        }
    }
    if (rank == 0) {
        bu_print_cpu();
        bu_print_blas();
        const int32_t np = trainable_floats(h);
        printf("ranks %d x threads %d (OPENBLAS_NUM_THREADS=%s); U %d, I %d, d %d, K %d, L %d, "
               "text dims %d/%d, global batch %d (%lld per rank); %d reps\n",
               size, a.threads, getenv("OPENBLAS_NUM_THREADS") ? getenv("OPENBLAS_NUM_THREADS")
                                                               : "(unset)",
               U, I, D, K, L, a.dt, a.dt, a.batch, (long long)(hi - lo), a.reps);
        printf("step median %.4f s (slowest rank), of which in collectives %.4f s\n",
               bu_median(st, (size_t)a.reps), bu_median(cm, (size_t)a.reps));
        printf("bytes sent per rank per step %lld (hook parameters %d floats = %lld B, losses 48 B, "
               "host gradient N x d = %lld B); received per rank %lld\n",
               (long long)bytes, np, (long long)np * 4, (long long)N * D * 4,
               (long long)bytes * (size - 1));
    }
    if (rank == 0) {  /* the last step's parts: which scale with N, which with the batch */
        irllrec_hook_timings tm;
        tm.struct_size = sizeof tm;
        irllrec_hook_last_timings(h, &tm);
        printf("last step, rank 0, hook parts (s): N-wide: profile tower %.4f, intent tower %.4f, "
               "teacher %.4f, translation %.4f, ITM %.4f; batch-wide: interaction tower %.4f, "
               "L_kd %.4f, L_pair %.4f; validate %.4f, commit (incl. reductions) %.4f; total %.4f\n",
               tm.profile_mlp, tm.intent_mlp, tm.teacher, tm.tran, tm.itm, tm.tower, tm.kd, tm.pair,
               tm.validate, tm.commit, tm.total);
    }
    free(ef); free(gf); free(lay); free(bu);
    irllrec_hook_free(h);
    irllrec_ctx_free(ctx);
    irllrec_mpi_free(m);
    MPI_Finalize();
    return 0;
}
