/** @file
 * libirllrec: the collective layer, a transport the host fills in so that
 * several processes ("ranks") train one IRLLREC hook together.
 *
 * The core library links no MPI and no socket library: a host hands it a
 * table of function pointers and a user pointer (irllrec_collective). The
 * optional companion library libirllrec-mpi (irllrec/collective_mpi.h) fills
 * the table over an MPI communicator; irllrec_collective_single() fills it
 * for one process; a host with its own transport (Gloo, NCCL, sockets)
 * fills it itself, as LightGBM's LGBM_NetworkInitWithFunctions lets hosts do.
 *
 * Contract of every function the host supplies:
 *  - It is collective: every rank of the group calls it, in the same order,
 *    with the same counts (allgatherv: the same recv_counts).
 *  - It returns 0 on success, anything else on failure; the library turns a
 *    failure into IRLLREC_E_COMM with a message naming the operation. A
 *    failed collective leaves the group unusable: the host tears it down.
 *  - It must not block for ever: a rank that dies must make the others'
 *    calls fail within a timeout of the host's choosing (libirllrec-mpi has
 *    one, irllrec_mpi_spec.timeout_s).
 *  - The reductions sum in rank order (rank 0 + rank 1 + ...), so every rank
 *    gets the same bits and a run repeats bit for bit for a given rank count.
 *  - send may equal recv (in place) for allreduce; buffers otherwise do not
 *    overlap.
 * See docs/distributed.md. */
#ifndef IRLLREC_COLLECTIVE_H
#define IRLLREC_COLLECTIVE_H

#include <stdint.h>
#include "export.h"
#include "status.h"
#include "ctx.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The transport table. Initialise with irllrec_collective_init() (all NULL)
 *  or irllrec_collective_single(); fields are only appended. Every function
 *  pointer is required. */
typedef struct irllrec_collective {
    uint32_t struct_size;  /**< sizeof(irllrec_collective) as the caller compiled it */
    int32_t reserved0;     /**< must be zero */
    void *user;            /**< passed as the first argument of every function */
    /** This process's rank, in [0, size). */
    int32_t (*rank)(void *user);
    /** Number of ranks (>= 1). */
    int32_t (*size)(void *user);
    /** recv[i] = sum over ranks r (in rank order) of rank r's send[i], i < count. */
    int32_t (*allreduce_f32)(void *user, const float *send, float *recv, int64_t count);
    /** The same in double. */
    int32_t (*allreduce_f64)(void *user, const double *send, double *recv, int64_t count);
    /** Rank r's send_bytes (== recv_bytes[r]) bytes land at recv + displs[r]
     *  on every rank; recv_bytes and displs have size entries. */
    int32_t (*allgatherv)(void *user, const void *send, int64_t send_bytes, void *recv,
                          const int64_t *recv_bytes, const int64_t *displs);
    /** send holds sum(counts) floats on every rank; this rank receives
     *  counts[rank] floats: its block (blocks in rank order) summed over the
     *  ranks in rank order. counts has size entries. */
    int32_t (*reduce_scatter_f32)(void *user, const float *send, float *recv,
                                  const int64_t *counts);
    /** Root's bytes bytes of buf are copied into every rank's buf. */
    int32_t (*broadcast)(void *user, void *buf, int64_t bytes, int32_t root);
    /** Returns once every rank has called it. */
    int32_t (*barrier)(void *user);
} irllrec_collective;

/** Zero @p c (every function NULL) and set struct_size.
 *  @param c            caller-owned; NULL does nothing
 *  @param struct_size  sizeof(irllrec_collective) as the caller compiled it
 *  @note Thread-safe; does not allocate. */
IRLLREC_API void irllrec_collective_init(irllrec_collective *c, uint32_t struct_size);

/** Fill @p c with the one-process layer: rank 0 of 1, every reduction a
 *  copy. A hook with it attached computes exactly what it does without one.
 *  @param c            caller-owned; NULL does nothing
 *  @param struct_size  sizeof(irllrec_collective) as the caller compiled it
 *  @note Thread-safe; does not allocate; user is NULL. */
IRLLREC_API void irllrec_collective_single(irllrec_collective *c, uint32_t struct_size);

/** Check a layer, locally and then across the ranks: struct_size, reserved0,
 *  no NULL function, size >= 1, rank in [0, size); then one allgatherv of
 *  every rank's (rank, size) shows that the ranks are 0 .. size-1 each once
 *  and agree on size (a group where every process believes it is rank 0 is
 *  refused, loudly). Collective: every rank must call it.
 *  @param ctx  context for the message (not NULL)
 *  @param c    the layer (not NULL)
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL, a NULL function, bad
 *          rank or size, the ranks disagree), IRLLREC_E_VERSION
 *          (struct_size), IRLLREC_E_COMM (the allgatherv failed) */
IRLLREC_API irllrec_status irllrec_collective_check(irllrec_ctx *ctx, const irllrec_collective *c);

/** The layer's rank and size through its functions, range-checked.
 *  @param ctx  context for the message (not NULL)
 *  @param c    the layer (not NULL)
 *  @param[out] rank  c->rank(c->user)
 *  @param[out] size  c->size(c->user)
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (as irllrec_collective_check's
 *          local part), IRLLREC_E_VERSION */
IRLLREC_API irllrec_status irllrec_collective_rank_size(irllrec_ctx *ctx,
                                                        const irllrec_collective *c,
                                                        int32_t *rank, int32_t *size);

/* The checked calls of the layer's functions, for hosts that reduce their
 * own buffers (e.g. the gradients of their embeddings) through the same
 * layer the hook uses. Each checks the table as irllrec_collective_rank_size
 * does, refuses NULL buffers and negative counts, and turns a failure of the
 * host's function into IRLLREC_E_COMM with a message naming the operation
 * and the code it returned. All are collective. */

/** Sum @p count floats over the ranks, in rank order.
 *  @param ctx    context for the message (not NULL)
 *  @param c      the layer (not NULL)
 *  @param send   this rank's values (may equal @p recv)
 *  @param recv   the sums, on every rank
 *  @param count  elements (>= 0; buffers may be NULL when 0)
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_VERSION, IRLLREC_E_COMM */
IRLLREC_API irllrec_status irllrec_collective_allreduce_f32(irllrec_ctx *ctx,
                                                            const irllrec_collective *c,
                                                            const float *send, float *recv,
                                                            int64_t count);
/** Sum @p count doubles over the ranks, in rank order.
 *  @param ctx    context for the message (not NULL)
 *  @param c      the layer (not NULL)
 *  @param send   this rank's values (may equal @p recv)
 *  @param recv   the sums, on every rank
 *  @param count  elements (>= 0)
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_VERSION, IRLLREC_E_COMM */
IRLLREC_API irllrec_status irllrec_collective_allreduce_f64(irllrec_ctx *ctx,
                                                            const irllrec_collective *c,
                                                            const double *send, double *recv,
                                                            int64_t count);
/** Gather every rank's bytes on every rank.
 *  @param ctx         context for the message (not NULL)
 *  @param c           the layer (not NULL)
 *  @param send        this rank's block
 *  @param send_bytes  its size; must equal recv_bytes[rank]
 *  @param recv        receives rank r's block at recv + displs[r] (not NULL)
 *  @param recv_bytes  size entries >= 0
 *  @param displs      size entries >= 0; blocks inside recv, not overlapping
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_VERSION, IRLLREC_E_COMM */
IRLLREC_API irllrec_status irllrec_collective_allgatherv(irllrec_ctx *ctx,
                                                         const irllrec_collective *c,
                                                         const void *send, int64_t send_bytes,
                                                         void *recv, const int64_t *recv_bytes,
                                                         const int64_t *displs);
/** Sum blocks over the ranks and leave block r on rank r.
 *  @param ctx     context for the message (not NULL)
 *  @param c       the layer (not NULL)
 *  @param send    sum(counts) floats: the blocks in rank order
 *  @param recv    counts[rank] floats: this rank's block summed in rank order
 *  @param counts  size entries >= 0, the same on every rank
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_VERSION, IRLLREC_E_COMM */
IRLLREC_API irllrec_status irllrec_collective_reduce_scatter_f32(irllrec_ctx *ctx,
                                                                 const irllrec_collective *c,
                                                                 const float *send, float *recv,
                                                                 const int64_t *counts);
/** Copy @p bytes of the root's @p buf into every rank's.
 *  @param ctx    context for the message (not NULL)
 *  @param c      the layer (not NULL)
 *  @param buf    the bytes (read on the root, written elsewhere)
 *  @param bytes  >= 0
 *  @param root   in [0, size)
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_VERSION, IRLLREC_E_COMM */
IRLLREC_API irllrec_status irllrec_collective_broadcast(irllrec_ctx *ctx,
                                                        const irllrec_collective *c, void *buf,
                                                        int64_t bytes, int32_t root);
/** Return once every rank has called it.
 *  @param ctx  context for the message (not NULL)
 *  @param c    the layer (not NULL)
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_VERSION, IRLLREC_E_COMM */
IRLLREC_API irllrec_status irllrec_collective_barrier(irllrec_ctx *ctx,
                                                      const irllrec_collective *c);

#ifdef __cplusplus
}
#endif
#endif /* IRLLREC_COLLECTIVE_H */
