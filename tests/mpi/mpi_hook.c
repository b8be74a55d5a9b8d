/* The hook trained by P MPI processes through libirllrec-mpi, against the
 * one-process reference of tests/helpers/dist_fixture.h. Run under
 * `mpirun -n P` (tests/mpi/run.sh):
 *   mpi_hook match P   20 steps twice: every rank the same bits as rank 0,
 *                      a repeat the same bits, within 1e-5 of one process
 *   mpi_hook stall P   the last rank stops calling after 3 steps: every
 *                      other rank must get IRLLREC_E_COMM within the 2 s
 *                      timeout; it prints so and leaves without MPI_Finalize
 *   mpi_hook kill P    the last rank kills itself (SIGKILL) after 3 steps
 *   mpi_hook shard P   match for a node-sharded hook (irllrec_hook_create_sharded)
 *                      on the global batches, against df_reference_global:
 *                      parameters, gradients and host gradients bit for bit
 *   mpi_hook shard-kill P  kill for a node-sharded hook
 * Exit status 0 = pass. Every rank prints one line "rank r: ...". */
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "irllrec/irllrec.h"
#include "irllrec/collective_mpi.h"
#include "../helpers/dist_fixture.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* One run of DF_STEPS steps on this rank; stop_after >= 0: the last rank
 * leaves the group after that many steps (how, says how). */
typedef struct run {
    irllrec_status st;
    int steps_done;
    double fail_after_s;
    char msg[512];
} run;

static void train(const df_world *w, const irllrec_collective *c, int stop_after, int how,
                  int sharded, df_trace *t, float *gf, run *out)
{
    int32_t rank = 0, size = 1;
    irllrec_ctx *ctx = NULL;
    irllrec_ctx_spec cs;
    irllrec_ctx_spec_init(&cs, sizeof cs);
    memset(out, 0, sizeof *out);
    out->st = irllrec_ctx_create(&cs, &ctx);
    if (out->st != IRLLREC_OK) return;
    irllrec_hook *h = sharded ? df_make_hook_sharded(ctx, w, 7, c) : df_make_hook(ctx, w, 7);
    out->st = h == NULL ? IRLLREC_E_NOMEM : sharded ? IRLLREC_OK : irllrec_hook_set_collective(h, c);
    if (out->st == IRLLREC_OK) out->st = irllrec_hook_collective_info(h, &rank, &size);
    irllrec_hook_losses lv;
    for (int s = 0; s < DF_STEPS && out->st == IRLLREC_OK; s++) {
        if (s == stop_after && rank == size - 1) {
            if (how == 'k') raise(SIGKILL);
            sleep(30);  /* stalled: never calls again; mpirun ends it */
            _exit(3);
        }
        const double t0 = now_s();
        out->st = df_step(h, w, s, sharded ? 0 : rank, gf, &lv);
        out->fail_after_s = now_s() - t0;
        if (out->st == IRLLREC_OK) {
            df_take_losses(t, s, &lv);
            out->steps_done++;
        }
    }
    snprintf(out->msg, sizeof out->msg, "%s", out->st ? irllrec_ctx_errmsg(ctx) : "ok");
    if (out->st == IRLLREC_OK && df_take_blocks(t, h) != 0) out->st = IRLLREC_E_NOMEM;
    irllrec_hook_free(h);
    irllrec_ctx_free(ctx);
}

/* FNV-1a of a trace: one number to compare across ranks. */
static uint64_t trace_hash(const df_trace *t)
{
    uint64_t x = 1469598103934665603ULL;
    const unsigned char *b = (const unsigned char *)t->loss;
    for (size_t i = 0; i < sizeof t->loss; i++) x = (x ^ b[i]) * 1099511628211ULL;
    for (int k = 0; k < t->nb; k++) {
        b = (const unsigned char *)t->blk[k];
        for (size_t i = 0; i < (size_t)t->n[k] * 4; i++) x = (x ^ b[i]) * 1099511628211ULL;
    }
    return x;
}

/* max |a - b| / max |b| over the host's N x d gradient */
static double gf_rel(const float *a, const float *b)
{
    double worst = 0.0, scale = 0.0;
    for (int i = 0; i < DF_N * DF_D; i++) {
        const double e = (double)a[i] - (double)b[i];
        worst = e > worst ? e : -e > worst ? -e : worst;
        scale = b[i] > scale ? b[i] : -b[i] > scale ? -b[i] : scale;
    }
    return scale > 0.0 ? worst / scale : worst;
}

static int match(const df_world *w, const irllrec_collective *c, int rank, int size, int sharded)
{
    df_trace a, b, ref;
    static float ga[DF_N * DF_D], gb[DF_N * DF_D], gr[DF_N * DF_D];
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    memset(&ref, 0, sizeof ref);
    run ra, rb;
    train(w, c, -1, 0, sharded, &a, ga, &ra);
    train(w, c, -1, 0, sharded, &b, gb, &rb);
    if (ra.st != IRLLREC_OK || rb.st != IRLLREC_OK) {
        printf("rank %d: FAIL: %s\n", rank, ra.st ? ra.msg : rb.msg);
        return 1;
    }
    /* every rank's hash, gathered: all equal to rank 0's */
    uint64_t mine = trace_hash(&a), *all = calloc((size_t)size, sizeof mine);
    int64_t *nb = calloc(2 * (size_t)size, sizeof(int64_t));
    for (int q = 0; q < size; q++) {
        nb[q] = sizeof mine;
        nb[size + q] = q * (int64_t)sizeof mine;
    }
    irllrec_ctx *ctx = NULL;
    irllrec_ctx_create(NULL, &ctx);
    int bad = irllrec_collective_allgatherv(ctx, c, &mine, sizeof mine, all, nb, nb + size) != 0;
    for (int q = 1; q < size && !bad; q++) bad = all[q] != all[0];
    const int repeat_ok = df_same_bits(&a, &b) && memcmp(ga, gb, sizeof ga) == 0;
    double rd = -1, rg = 0.0;
    const irllrec_status rs =
        sharded ? df_reference_global(w, &ref, gr) : df_reference(w, size, &ref);
    if (rs == IRLLREC_OK) rd = df_rel_diff(&a, &ref);
    if (rs == IRLLREC_OK && sharded) rg = gf_rel(ga, gr);
    const int moved = ref.loss[0][0] != ref.loss[DF_STEPS - 1][0];
    /* node-sharded: one process's parameters, gradients and host gradient
     * bit for bit (reduction chunks, lib/hook/reduce.c), the losses' double
     * sums within 1e-12 */
    const int exact = !sharded || (rs == IRLLREC_OK && df_same_params_grads(&a, &ref) &&
                                   memcmp(ga, gr, sizeof ga) == 0 && rd <= 1e-12);
    const int pass = !bad && repeat_ok && rd >= 0 && rd <= 1e-5 && rg <= 1e-5 && moved && exact;
    printf("rank %d: %s: %d ranks%s, every rank rank 0's bits: %s, repeat bitwise: %s, relative "
           "difference from one process %.3g (host gradient %.3g)%s, loss %.6f -> %.6f\n", rank,
           pass ? "PASS" : "FAIL", size, sharded ? " (node-sharded)" : "", bad ? "no" : "yes",
           repeat_ok ? "yes" : "no", rd, rg,
           sharded ? (exact ? ", parameters bit for bit" : ", parameters NOT bit for bit") : "", a.loss[0][0], a.loss[DF_STEPS - 1][0]);
    free(all);
    free(nb);
    irllrec_ctx_free(ctx);
    df_trace_free(&a);
    df_trace_free(&b);
    df_trace_free(&ref);
    return !pass;
}

/* The surviving ranks: an E_COMM within the timeout, after 3 good steps. */
static int survive(const df_world *w, const irllrec_collective *c, int rank, int how,
                   int sharded, double timeout)
{
    df_trace t;
    static float gf[DF_N * DF_D];
    memset(&t, 0, sizeof t);
    run r;
    train(w, c, 3, how, sharded, &t, gf, &r);
    const int pass = r.st == IRLLREC_E_COMM && r.steps_done == 3 &&
                     r.fail_after_s < timeout + 2.0;
    printf("rank %d: %s: status %d after %d steps, the failing step took %.2f s (timeout %.1f s):"
           " %s\n", rank, pass ? "PASS" : "FAIL", (int)r.st, r.steps_done, r.fail_after_s,
           timeout, r.msg);
    fflush(stdout);
    df_trace_free(&t);
    return !pass;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: mpi_hook match|stall|kill|shard|shard-kill P\n");
        return 2;
    }
    MPI_Init(&argc, &argv);
    const int sharded = strncmp(argv[1], "shard", 5) == 0;
    const int matching = strcmp(argv[1], "match") == 0 || strcmp(argv[1], "shard") == 0;
    const double timeout = matching ? 60.0 : 2.0;
    irllrec_mpi_spec sp;
    irllrec_mpi_spec_init(&sp, sizeof sp);
    sp.expect_size = atoi(argv[2]);
    sp.timeout_s = timeout;
    irllrec_mpi *m = NULL;
    char why[256];
    if (irllrec_mpi_create(MPI_COMM_WORLD, &sp, &m, why, sizeof why) != IRLLREC_OK) {
        printf("FAIL: %s\n", why);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    irllrec_collective c;
    irllrec_mpi_layer(m, &c);
    int32_t rank = 0, size = 1;
    irllrec_ctx *ctx = NULL;
    irllrec_ctx_create(NULL, &ctx);
    irllrec_collective_rank_size(ctx, &c, &rank, &size);
    irllrec_ctx_free(ctx);
    static df_world w;
    df_make_world(&w);
    int rc;
    if (matching) {
        rc = match(&w, &c, rank, size, sharded);
    } else {
        rc = survive(&w, &c, rank, sharded ? 'k' : argv[1][0], sharded, timeout);
        _exit(rc);  /* the group is broken: MPI_Finalize could wait for the dead rank */
    }
    irllrec_mpi_free(m);
    MPI_Finalize();
    return rc;
}
