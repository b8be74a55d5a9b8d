/* The checked calls through a host's collective table: the public ones
 * check their arguments first, the internal ones (the hook's) only turn a
 * failure of the host's function into IRLLREC_E_COMM. */
#include "dist.h"

static irllrec_status comm_failed(irllrec_ctx *ctx, const char *func, const char *op,
                                  int32_t code, int64_t n)
{
    return irllrec__fail(ctx, IRLLREC_E_COMM, func,
                         "the collective layer's %s (%lld elements) failed with code %d: a rank "
                         "may have died or timed out; the group cannot be used any more",
                         op, (long long)n, (int)code);
}

irllrec_status irllrec__coll_sum_f32(irllrec_ctx *ctx, const char *func,
                                     const irllrec_collective *c, const float *send, float *recv,
                                     int64_t count)
{
    const int32_t rc = c->allreduce_f32(c->user, send, recv, count);
    return rc == 0 ? IRLLREC_OK : comm_failed(ctx, func, "allreduce_f32", rc, count);
}

irllrec_status irllrec__coll_sum_f64(irllrec_ctx *ctx, const char *func,
                                     const irllrec_collective *c, const double *send,
                                     double *recv, int64_t count)
{
    const int32_t rc = c->allreduce_f64(c->user, send, recv, count);
    return rc == 0 ? IRLLREC_OK : comm_failed(ctx, func, "allreduce_f64", rc, count);
}

irllrec_status irllrec__coll_gatherv(irllrec_ctx *ctx, const char *func,
                                     const irllrec_collective *c, const void *send,
                                     int64_t send_bytes, void *recv, const int64_t *recv_bytes,
                                     const int64_t *displs)
{
    const int32_t rc = c->allgatherv(c->user, send, send_bytes, recv, recv_bytes, displs);
    return rc == 0 ? IRLLREC_OK : comm_failed(ctx, func, "allgatherv", rc, send_bytes);
}

irllrec_status irllrec__coll_bcast(irllrec_ctx *ctx, const char *func,
                                   const irllrec_collective *c, void *buf, int64_t bytes,
                                   int32_t root)
{
    const int32_t rc = c->broadcast(c->user, buf, bytes, root);
    return rc == 0 ? IRLLREC_OK : comm_failed(ctx, func, "broadcast", rc, bytes);
}

/* The opening of every public call: a valid table, its rank and size. */
static irllrec_status open_call(irllrec_ctx *ctx, const char *func, const irllrec_collective *c,
                                irllrec_collective *cc, int32_t *rank, int32_t *size)
{
    IRL_TRY(irllrec__coll_copy(ctx, func, c, cc));
    return irllrec__coll_rank_size(ctx, func, cc, rank, size);
}

#define OPEN_CALL(cc, r, p)                                                \
    irllrec_collective cc;                                                 \
    int32_t r = 0, p = 0;                                                  \
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;                         \
    IRL_TRY(open_call(ctx, __func__, c, &cc, &r, &p));                     \
    (void)r; (void)p

irllrec_status irllrec_collective_allreduce_f32(irllrec_ctx *ctx, const irllrec_collective *c,
                                                const float *send, float *recv, int64_t count)
{
    OPEN_CALL(cc, r, p);
    IRL_CHECK(ctx, count >= 0, IRLLREC_E_INVALID_ARG, "count = %lld is negative",
              (long long)count);
    IRL_CHECK(ctx, count == 0 || (send != NULL && recv != NULL), IRLLREC_E_INVALID_ARG,
              "send or recv is NULL with count = %lld", (long long)count);
    return irllrec__coll_sum_f32(ctx, __func__, &cc, send, recv, count);
}

irllrec_status irllrec_collective_allreduce_f64(irllrec_ctx *ctx, const irllrec_collective *c,
                                                const double *send, double *recv, int64_t count)
{
    OPEN_CALL(cc, r, p);
    IRL_CHECK(ctx, count >= 0, IRLLREC_E_INVALID_ARG, "count = %lld is negative",
              (long long)count);
    IRL_CHECK(ctx, count == 0 || (send != NULL && recv != NULL), IRLLREC_E_INVALID_ARG,
              "send or recv is NULL with count = %lld", (long long)count);
    return irllrec__coll_sum_f64(ctx, __func__, &cc, send, recv, count);
}

/* recv_bytes/displs: p entries >= 0, ours equal to send_bytes. */
static irllrec_status check_blocks(irllrec_ctx *ctx, const char *func, const int64_t *bytes,
                                   const int64_t *displs, int32_t p)
{
    for (int32_t i = 0; i < p; i++) {
        IRL_CHECK_FN(ctx, func, bytes[i] >= 0 && (displs == NULL || displs[i] >= 0),
                     IRLLREC_E_INVALID_ARG, "block %d of the receive buffer has a negative "
                     "size or offset", (int)i);
    }
    return IRLLREC_OK;
}

irllrec_status irllrec_collective_allgatherv(irllrec_ctx *ctx, const irllrec_collective *c,
                                             const void *send, int64_t send_bytes, void *recv,
                                             const int64_t *recv_bytes, const int64_t *displs)
{
    OPEN_CALL(cc, r, p);
    IRL_CHECK(ctx, recv != NULL && recv_bytes != NULL && displs != NULL, IRLLREC_E_INVALID_ARG,
              "recv, recv_bytes and displs must not be NULL");
    IRL_CHECK(ctx, send != NULL || send_bytes == 0, IRLLREC_E_INVALID_ARG,
              "send is NULL with send_bytes = %lld", (long long)send_bytes);
    IRL_TRY(check_blocks(ctx, __func__, recv_bytes, displs, p));
    IRL_CHECK(ctx, recv_bytes[r] == send_bytes, IRLLREC_E_INVALID_ARG,
              "send_bytes = %lld but recv_bytes[%d] = %lld (this rank's block)",
              (long long)send_bytes, (int)r, (long long)recv_bytes[r]);
    return irllrec__coll_gatherv(ctx, __func__, &cc, send, send_bytes, recv, recv_bytes, displs);
}

irllrec_status irllrec_collective_reduce_scatter_f32(irllrec_ctx *ctx,
                                                     const irllrec_collective *c,
                                                     const float *send, float *recv,
                                                     const int64_t *counts)
{
    OPEN_CALL(cc, r, p);
    IRL_CHECK(ctx, send != NULL && recv != NULL && counts != NULL, IRLLREC_E_INVALID_ARG,
              "send, recv and counts must not be NULL");
    IRL_TRY(check_blocks(ctx, __func__, counts, NULL, p));
    const int32_t rc = cc.reduce_scatter_f32(cc.user, send, recv, counts);
    return rc == 0 ? IRLLREC_OK : comm_failed(ctx, __func__, "reduce_scatter_f32", rc, counts[r]);
}

irllrec_status irllrec_collective_broadcast(irllrec_ctx *ctx, const irllrec_collective *c,
                                            void *buf, int64_t bytes, int32_t root)
{
    OPEN_CALL(cc, r, p);
    IRL_CHECK(ctx, bytes >= 0 && (buf != NULL || bytes == 0), IRLLREC_E_INVALID_ARG,
              "buf = %p with bytes = %lld", buf, (long long)bytes);
    IRL_CHECK(ctx, root >= 0 && root < p, IRLLREC_E_INVALID_ARG, "root = %d outside [0, %d)",
              (int)root, (int)p);
    return irllrec__coll_bcast(ctx, __func__, &cc, buf, bytes, root);
}

irllrec_status irllrec_collective_barrier(irllrec_ctx *ctx, const irllrec_collective *c)
{
    OPEN_CALL(cc, r, p);
    const int32_t rc = cc.barrier(cc.user);
    return rc == 0 ? IRLLREC_OK : comm_failed(ctx, __func__, "barrier", rc, 0);
}
