/* IRLLRec hook steps over MPI (libirllrec-mpi), data-parallel or node-sharded:
 * step time, communicated bytes per step and peak RSS per rank, for
 * docs/distributed.md; and a 20-step equivalence check against one process.
 *
 *   mpirun -n P mpi_bench_dist [--threads T] [--text-dim 256] [--reps 5] [--batch 4096]
 *                              [--shard 1] [--trace FILE] [--compare FILE]
 *
 * --shard 1: irllrec_hook_create_sharded; every rank runs the whole global
 * batch, holds only its block of text rows (given in chunks with
 * irllrec_hook_set_text_rows, so no rank ever builds the whole text), and
 * the host gradient needs no reduction. --trace FILE: rank 0 writes every
 * step's six losses and the final hook blocks; --compare FILE: rank 0 reads
 * such a file (e.g. of a 1-process run) and prints the largest relative
 * difference. Every step, the warm-up included, uses the same batches for
 * any P.
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

/* Text row j of text w: its own stream, so any chunking gives the same values. */
static void text_row(int w, int64_t j, int dt, float *out)
{
    uint64_t r = 0x9E3779B97F4A7C15ULL * (uint64_t)(w * 1000003 + j + 1);
    for (int k = 0; k < dt; k++) out[k] = bu_unif(&r);
}

/* The held rows of each text, in chunks of 1024 rows. */
static void set_texts(irllrec_hook *h, irllrec_ctx *ctx, int dt, int rank)
{
    enum { CH = 1024 };
    int64_t lo = 0, n = 0;
    irllrec_hook_shard_rows(h, &lo, &n);
    float *buf = malloc((size_t)CH * (size_t)dt * sizeof *buf);
    if (buf == NULL) die(rank, "text", "out of memory");
    for (int w = 0; w < 4; w++) {
        const int64_t rows = w % 2 ? I : U, node0 = w % 2 ? U : 0;
        for (int64_t r0 = 0; r0 < rows; r0 += CH) {
            const int64_t m = rows - r0 < CH ? rows - r0 : CH;
            if (node0 + r0 + m <= lo || node0 + r0 >= lo + n) continue;  /* not held here */
            for (int64_t j = 0; j < m; j++) text_row(w, r0 + j, dt, buf + j * dt);
            if (irllrec_hook_set_text_rows(h, w, r0, irllrec_cmat_dense(buf, m, dt)) != IRLLREC_OK)
                die(rank, "text", irllrec_ctx_errmsg(ctx));
        }
    }
    free(buf);
}

/* The same random graph, text and embeddings on every rank (seeded);
 * node-sharded over c when c is not NULL. */
static irllrec_hook *make_hook(irllrec_ctx *ctx, int dt, int batch, uint64_t *rng, int rank,
                               const irllrec_collective *c)
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
    const irllrec_status st =
        c ? irllrec_hook_create_sharded(ctx, &s, c, &h) : irllrec_hook_create(ctx, &s, &h);
    if (st != IRLLREC_OK || irllrec_hook_set_graph(h, &adj) != IRLLREC_OK)
        die(rank, "hook", irllrec_ctx_errmsg(ctx));
    irllrec_graph_free(g);
    free(ip);
    free(ix);
    set_texts(h, ctx, dt, rank);
    return h;
}

typedef struct args {
    int threads, dt, reps, batch, shard;
    const char *trace, *compare;
} args;

static void parse(int argc, char **argv, args *a)
{
    a->threads = 1;
    a->dt = 256;
    a->reps = 5;
    a->batch = 4096;
    a->shard = 0;
    a->trace = a->compare = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        const int v = atoi(argv[i + 1]);
        if (strcmp(argv[i], "--trace") == 0) {
            a->trace = argv[i + 1];
            continue;
        }
        if (strcmp(argv[i], "--compare") == 0) {
            a->compare = argv[i + 1];
            continue;
        }
        if (strcmp(argv[i], "--shard") == 0) {
            a->shard = v;
            continue;
        }
        if (strcmp(argv[i], "--threads") == 0) a->threads = v;
        else if (strcmp(argv[i], "--text-dim") == 0) a->dt = v;
        else if (strcmp(argv[i], "--reps") == 0) a->reps = v;
        else if (strcmp(argv[i], "--batch") == 0) a->batch = v;
        else die(-1, "usage", "mpi_bench_dist [--threads T] [--text-dim D] [--reps R] [--batch B] "
                              "[--shard 0|1] [--trace FILE] [--compare FILE]");
    }
    if (a->threads < 1 || a->dt < 1 || a->reps < 0 || a->reps > MAXREP || a->batch < 1)
        die(-1, "usage", "--threads, --text-dim, --batch >= 1, --reps in 0..50 (0: the warm-up step only)");
}

typedef struct rep {
    double step, comm;
    int64_t bytes;
} rep;

/* One global step; returns this rank's wall time, comm time and bytes sent. */
static rep one_step(irllrec_hook *h, irllrec_ctx *ctx, const irllrec_collective *c, timed *t,
                    irllrec_mpi *m, const float *ef, const float *lay, float *gf,
                    const int32_t *bu, const int32_t *bp, const int32_t *bn, int64_t nb, int rank,
                    int shard, double *losses)
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
    irllrec_hook_losses hl;
    hl.struct_size = sizeof hl;
    if (irllrec_hook_step(h, &b, &in, &g, &hl) != IRLLREC_OK)
        die(rank, "step", irllrec_ctx_errmsg(ctx));
    /* sharded, the host's gradient is already whole on every rank */
    if (!shard && irllrec_collective_allreduce_f32(ctx, c, gf, gf, (int64_t)N * D) != IRLLREC_OK)
        die(rank, "host gradient", irllrec_ctx_errmsg(ctx));
    const double v[6] = {hl.total, hl.kd, hl.pair, hl.tran, hl.itm, hl.reg};
    memcpy(losses, v, sizeof v);
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

/* The hook's blocks then the last compute's gradients of the trainable ones
 * (zeros for the teacher), concatenated: 2 x *n floats, *n per half. */
static float *all_blocks(irllrec_hook *h, int64_t *n)
{
    *n = 0;
    for (int i = 0; i < irllrec_hook_block_count(h); i++) {
        irllrec_hook_block b;
        b.struct_size = sizeof b;
        irllrec_hook_get_block(h, i, &b);
        *n += b.rows * b.cols;
    }
    float *out = calloc(2 * (size_t)*n, sizeof *out), *o = out;
    for (int i = 0; out != NULL && i < irllrec_hook_block_count(h); i++) {
        irllrec_hook_block b;
        b.struct_size = sizeof b;
        irllrec_hook_get_block(h, i, &b);
        const int64_t m = b.rows * b.cols;
        memcpy(o, b.data, (size_t)m * sizeof *o);
        if (b.grad != NULL) memcpy(o + *n, b.grad, (size_t)m * sizeof *o);
        o += m;
    }
    return out;
}

/* --trace: [steps][6] doubles, then the block floats. */
static void write_trace(const char *path, const double (*loss)[6], int steps, irllrec_hook *h)
{
    int64_t n = 0;
    float *p = all_blocks(h, &n);
    FILE *f = fopen(path, "wb");
    if (f == NULL || p == NULL || fwrite(&steps, sizeof steps, 1, f) != 1 ||
        fwrite(loss, sizeof loss[0], (size_t)steps, f) != (size_t)steps ||
        fwrite(&n, sizeof n, 1, f) != 1 || fwrite(p, sizeof *p, 2 * (size_t)n, f) != 2 * (size_t)n)
        fprintf(stderr, "mpi_bench_dist: cannot write %s\n", path);
    if (f != NULL) fclose(f);
    free(p);
}

static double reld(double a, double b, double scale)
{
    const double e = a > b ? a - b : b - a;
    return scale > 0.0 ? e / scale : e;
}

/* The largest |x[j]| (0 for none): what compare_trace's differences are
 * relative to. */
static double max_abs(const float *x, int64_t n)
{
    double m = 0.0;
    for (int64_t j = 0; j < n; j++) m = x[j] > m ? x[j] : -x[j] > m ? -x[j] : m;
    return m;
}

/* The same over column k of a trace's steps x 6 losses. */
static double max_abs_col(const double (*x)[6], int steps, int k)
{
    double m = 0.0;
    for (int t = 0; t < steps; t++) m = x[t][k] > m ? x[t][k] : -x[t][k] > m ? -x[t][k] : m;
    return m;
}

/* --compare: the largest relative difference of the losses (per term, over
 * the steps) and of the blocks (max |a - b| / max |b|) from the file's. */
static void compare_trace(const char *path, const double (*loss)[6], int steps, irllrec_hook *h)
{
    int fs = 0;
    int64_t fn = 0, n = 0;
    double fl[MAXREP + 1][6];
    float *p = all_blocks(h, &n), *q = NULL;
    FILE *f = fopen(path, "rb");
    int ok = f != NULL && fread(&fs, sizeof fs, 1, f) == 1 && fs == steps &&
             fread(fl, sizeof fl[0], (size_t)fs, f) == (size_t)fs && fread(&fn, sizeof fn, 1, f) == 1 &&
             fn == n && (q = malloc(2 * (size_t)n * sizeof *q)) != NULL &&
             fread(q, sizeof *q, 2 * (size_t)n, f) == 2 * (size_t)n;
    if (f != NULL) fclose(f);
    if (!ok || p == NULL) {
        printf("compare: %s is not a trace of %d steps and %lld floats\n", path, steps, (long long)n);
    } else {
        double wl = 0.0, wp = 0.0;
        for (int k = 0; k < 6; k++) {
            const double sc = max_abs_col((const double(*)[6])fl, steps, k);
            for (int t = 0; t < steps; t++) {
                const double e = reld(loss[t][k], fl[t][k], sc);
                wl = e > wl ? e : wl;
            }
        }
        const double sp = max_abs(q, n);
        int64_t over = 0, off = 0;
        for (int64_t j = 0; j < n; j++) {
            const double e = reld(p[j], q[j], sp);
            wp = e > wp ? e : wp;
            over += e > 1e-5;
        }
        /* per block, parameters and the last gradients: where the differences
         * sit (Adam turns a rounding-level change of a near-zero gradient
         * into an lr-sized step) */
        for (int i = 0; i < irllrec_hook_block_count(h); i++) {
            irllrec_hook_block b;
            b.struct_size = sizeof b;
            irllrec_hook_get_block(h, i, &b);
            const int64_t m = b.rows * b.cols;
            double w[2] = {0.0, 0.0};
            for (int half = 0; half < 2; half++) {
                const float *pp = p + half * n + off, *qq = q + half * n + off;
                const double bs = max_abs(qq, m);
                for (int64_t j = 0; j < m; j++) {
                    const double e = reld(pp[j], qq[j], bs);
                    w[half] = e > w[half] ? e : w[half];
                }
            }
            printf("  block %-14s %8lld floats: largest difference of its own max |value|: "
                   "parameters %.3g, last gradient %.3g\n", b.name, (long long)m, w[0], w[1]);
            off += m;
        }
        printf("  floats more than 1e-5 (of the global max |value|) apart: %lld of %lld\n",
               (long long)over, (long long)n);
        printf("compare with %s: %d steps, largest relative difference: losses %.3g, hook "
               "parameters %.3g (%lld floats); loss %.6f -> %.6f here, %.6f -> %.6f there\n",
               path, steps, wl, wp, (long long)n, loss[0][0], loss[steps - 1][0], fl[0][0],
               fl[steps - 1][0]);
    }
    free(p);
    free(q);
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
    irllrec_hook *h = make_hook(ctx, a.dt, a.shard ? a.batch : (a.batch + size - 1) / size, &rng,
                                rank, a.shard ? &c : NULL);
    if (!a.shard && irllrec_hook_set_collective(h, &c) != IRLLREC_OK)
        die(rank, "attach", irllrec_ctx_errmsg(ctx));
    float *ef = malloc((size_t)N * D * sizeof *ef), *gf = malloc((size_t)N * D * sizeof *gf);
    float *lay = malloc((size_t)L * N * D * sizeof *lay);
    int32_t *bu = malloc((size_t)a.batch * 3 * sizeof *bu), *bp = bu + a.batch, *bn = bp + a.batch;
    if (!ef || !gf || !lay || !bu) die(rank, "buffers", "out of memory");
    for (int64_t j = 0; j < (int64_t)N * D; j++) ef[j] = 0.2f * bu_unif(&rng);
    for (int64_t j = 0; j < (int64_t)L * N * D; j++) lay[j] = 0.2f * bu_unif(&rng);
    const int64_t lo = a.shard ? 0 : (int64_t)a.batch * rank / size,
                  hi = a.shard ? a.batch : (int64_t)a.batch * (rank + 1) / size;
    double st[MAXREP], cm[MAXREP], loss[MAXREP + 1][6];
    int64_t bytes = 0;
    for (int r = -1; r < a.reps; r++) {  /* r = -1: warm-up */
        for (int j = 0; j < a.batch; j++) {  /* the global batch, the same on every rank */
            bu[j] = (int32_t)((bu_unif(&rng) + 0.5) * U) % U;
            bp[j] = (int32_t)((bu_unif(&rng) + 0.5) * I) % I;
            bn[j] = (int32_t)((bu_unif(&rng) + 0.5) * I) % I;
        }
        rep x = one_step(h, ctx, &c, &t, m, ef, lay, gf, bu + lo, bp + lo, bn + lo, hi - lo, rank,
                         a.shard, loss[r + 1]);
        double mine[2] = {x.step, x.comm}, worst[2];
        MPI_Allreduce(mine, worst, 2, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        if (r >= 0) {
            st[r] = worst[0];
            cm[r] = worst[1];
            bytes = x.bytes;
        }
    }
    double rss = bu_peak_rss_mib(), rss_max = 0.0;
    MPI_Allreduce(&rss, &rss_max, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    if (rank == 0 && a.trace) write_trace(a.trace, (const double(*)[6])loss, a.reps + 1, h);
    if (rank == 0 && a.compare) compare_trace(a.compare, (const double(*)[6])loss, a.reps + 1, h);
    if (rank == 0) {
        bu_print_cpu();
        bu_print_blas();
        int64_t e1 = 0, es = 0;
        irllrec_hook_spec sp;
        irllrec_hook_spec_init(&sp, sizeof sp);
        sp.n_users = U;
        sp.n_items = I;
        sp.dim = D;
        sp.n_intents = K;
        sp.n_layers = L;
        sp.max_batch = a.batch;
        sp.profile_dim = sp.intent_dim = a.dt;
        irllrec_hook_memory_estimate(&sp, a.threads, 0, &e1);
        irllrec_hook_memory_estimate_sharded(&sp, a.threads, 0, size, 0, &es);
        printf("%s; peak RSS of the largest rank %.1f MiB; text matrices per rank %.1f MiB "
               "(one process: %.1f MiB); hook estimate rank 0 %.1f MiB (one process %.1f MiB)\n",
               a.shard ? "node-sharded" : "data-parallel", rss_max,
               (a.shard ? (double)(N * (rank + 1) / size - N * rank / size) : (double)N) * 2.0 *
                   a.dt * 4.0 / 1048576.0,
               (double)N * 2.0 * a.dt * 4.0 / 1048576.0, (a.shard ? es : e1) / 1048576.0,
               e1 / 1048576.0);
        const int32_t np = trainable_floats(h);
        printf("ranks %d x threads %d (OPENBLAS_NUM_THREADS=%s); U %d, I %d, d %d, K %d, L %d, "
               "text dims %d/%d, global batch %d (%lld per rank); %d reps\n",
               size, a.threads, getenv("OPENBLAS_NUM_THREADS") ? getenv("OPENBLAS_NUM_THREADS")
                                                               : "(unset)",
               U, I, D, K, L, a.dt, a.dt, a.batch, (long long)(hi - lo), a.reps);
        if (a.reps > 0)
            printf("step median %.4f s (slowest rank), of which in collectives %.4f s\n",
                   bu_median(st, (size_t)a.reps), bu_median(cm, (size_t)a.reps));
        printf("bytes sent per rank per step %lld (data-parallel: hook parameters %d floats = %lld "
               "B, losses 48 B, host gradient N x d = %lld B); received per rank %lld\n",
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
