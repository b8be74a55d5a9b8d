/* The collective layer's boundary: what the host's table must look like,
 * the checked calls through it, and the one-process layer. Every call into
 * the host's functions goes through here, so a failure always becomes
 * IRLLREC_E_COMM with the operation's name, whoever asked for it (the hook
 * or the host reducing its own gradients). */
#include <string.h>
#include "dist.h"

void irllrec_collective_init(irllrec_collective *c, uint32_t struct_size)
{
    static const irllrec_collective zero;
    irllrec__spec_init(c, struct_size, &zero, sizeof zero);
}

/* ---- the one-process layer: every reduction is a copy ---- */

static int32_t one_rank(void *u) { (void)u; return 0; }
static int32_t one_size(void *u) { (void)u; return 1; }

static int32_t one_sum_f32(void *u, const float *s, float *r, int64_t n)
{
    (void)u;
    if (s != r && n > 0) memmove(r, s, (size_t)n * sizeof *r);
    return 0;
}

static int32_t one_sum_f64(void *u, const double *s, double *r, int64_t n)
{
    (void)u;
    if (s != r && n > 0) memmove(r, s, (size_t)n * sizeof *r);
    return 0;
}

static int32_t one_gather(void *u, const void *s, int64_t n, void *r, const int64_t *rb,
                          const int64_t *dp)
{
    (void)u; (void)rb;
    if (n > 0) memmove((char *)r + dp[0], s, (size_t)n);
    return 0;
}

static int32_t one_rs(void *u, const float *s, float *r, const int64_t *counts)
{
    return one_sum_f32(u, s, r, counts[0]);
}

static int32_t one_bcast(void *u, void *b, int64_t n, int32_t root)
{
    (void)u; (void)b; (void)n; (void)root;
    return 0;
}

static int32_t one_barrier(void *u) { (void)u; return 0; }

void irllrec_collective_single(irllrec_collective *c, uint32_t struct_size)
{
    irllrec_collective one;
    memset(&one, 0, sizeof one);
    one.struct_size = (uint32_t)sizeof one;
    one.rank = one_rank;
    one.size = one_size;
    one.allreduce_f32 = one_sum_f32;
    one.allreduce_f64 = one_sum_f64;
    one.allgatherv = one_gather;
    one.reduce_scatter_f32 = one_rs;
    one.broadcast = one_bcast;
    one.barrier = one_barrier;
    irllrec__spec_init(c, struct_size, &one, sizeof one);
}

/* ---- validation ---- */

irllrec_status irllrec__coll_copy(irllrec_ctx *ctx, const char *func, const irllrec_collective *c,
                                  irllrec_collective *out)
{
    IRL_CHECK_FN(ctx, func, c != NULL, IRLLREC_E_INVALID_ARG, "the collective layer is NULL");
    IRL_CHECK_FN(ctx, func, c->struct_size >= 8, IRLLREC_E_VERSION,
                 "collective struct_size = %u is too small (set it with "
                 "irllrec_collective_init)", (unsigned)c->struct_size);
    IRL_TRY(irllrec__copy_spec(ctx, func, out, sizeof *out, c));
    IRL_CHECK_FN(ctx, func, out->reserved0 == 0, IRLLREC_E_INVALID_ARG,
                 "collective reserved0 = %d must be zero", (int)out->reserved0);
    const struct { const void *fn; const char *name; } fns[] = {
        {(const void *)(uintptr_t)out->rank, "rank"},
        {(const void *)(uintptr_t)out->size, "size"},
        {(const void *)(uintptr_t)out->allreduce_f32, "allreduce_f32"},
        {(const void *)(uintptr_t)out->allreduce_f64, "allreduce_f64"},
        {(const void *)(uintptr_t)out->allgatherv, "allgatherv"},
        {(const void *)(uintptr_t)out->reduce_scatter_f32, "reduce_scatter_f32"},
        {(const void *)(uintptr_t)out->broadcast, "broadcast"},
        {(const void *)(uintptr_t)out->barrier, "barrier"},
    };
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        IRL_CHECK_FN(ctx, func, fns[i].fn != NULL, IRLLREC_E_INVALID_ARG,
                     "the collective layer's %s function is NULL", fns[i].name);
    return IRLLREC_OK;
}

irllrec_status irllrec__coll_rank_size(irllrec_ctx *ctx, const char *func,
                                       const irllrec_collective *c, int32_t *rank, int32_t *size)
{
    const int32_t p = c->size(c->user), r = c->rank(c->user);
    IRL_CHECK_FN(ctx, func, p >= 1, IRLLREC_E_INVALID_ARG,
                 "the collective layer reports size %d (must be >= 1)", (int)p);
    IRL_CHECK_FN(ctx, func, r >= 0 && r < p, IRLLREC_E_INVALID_ARG,
                 "the collective layer reports rank %d outside [0, %d)", (int)r, (int)p);
    *rank = r;
    *size = p;
    return IRLLREC_OK;
}

irllrec_status irllrec_collective_rank_size(irllrec_ctx *ctx, const irllrec_collective *c,
                                            int32_t *rank, int32_t *size)
{
    irllrec_collective cc;
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(ctx, rank != NULL && size != NULL, IRLLREC_E_INVALID_ARG,
              "rank and size must not be NULL");
    IRL_TRY(irllrec__coll_copy(ctx, __func__, c, &cc));
    return irllrec__coll_rank_size(ctx, __func__, &cc, rank, size);
}

/* Every rank's (rank, size) gathered: each rank number exactly once, one size. */
irllrec_status irllrec__coll_agree(irllrec_ctx *ctx, const char *func,
                                   const irllrec_collective *c, int32_t rank, int32_t size)
{
    const size_t n = (size_t)size;
    const size_t nb = n * (2 * sizeof(int32_t) + 2 * sizeof(int64_t));
    char *buf = irllrec__alloc_fn(ctx, func, nb);
    if (buf == NULL) return IRLLREC_E_NOMEM;
    int32_t *seen = (int32_t *)(void *)buf;
    int64_t *bytes = (int64_t *)(void *)(buf + n * 2 * sizeof(int32_t));
    int64_t *displs = bytes + n;
    for (size_t i = 0; i < n; i++) {
        bytes[i] = 2 * (int64_t)sizeof(int32_t);
        displs[i] = (int64_t)i * bytes[i];
    }
    const int32_t mine[2] = {rank, size};
    irllrec_status st = irllrec__coll_gatherv(ctx, func, c, mine, bytes[0], seen, bytes, displs);
    for (int32_t i = 0; i < size && st == IRLLREC_OK; i++) {
        if (seen[2 * i + 1] != size)
            st = irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, func,
                               "rank %d reports %d ranks but rank %d reports %d: the processes "
                               "do not form one group", (int)i, (int)seen[2 * i + 1], (int)rank,
                               (int)size);
        else if (seen[2 * i] != i)
            st = irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, func,
                               "slot %d of the group holds rank %d (this process: rank %d of %d):"
                               " the ranks must be 0 .. %d once each (did every process start "
                               "as rank 0?)", (int)i, (int)seen[2 * i], (int)rank, (int)size,
                               (int)size - 1);
    }
    irllrec__free(ctx, buf, nb);
    return st;
}

irllrec_status irllrec_collective_check(irllrec_ctx *ctx, const irllrec_collective *c)
{
    irllrec_collective cc;
    int32_t r = 0, p = 0;
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_TRY(irllrec__coll_copy(ctx, __func__, c, &cc));
    IRL_TRY(irllrec__coll_rank_size(ctx, __func__, &cc, &r, &p));
    return irllrec__coll_agree(ctx, __func__, &cc, r, p);
}
