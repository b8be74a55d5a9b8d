/** @file
 * libirllrec-mpi: the collective layer (irllrec/collective.h) over an MPI
 * communicator. An optional companion of libirllrec, built against one MPI
 * implementation (Open MPI by default; MPICH too): MPI_Comm is not the same
 * type in the two, so a program links the libirllrec-mpi built against the
 * MPI it uses. The core library links no MPI.
 *
 * No call blocks for ever: every operation is a nonblocking MPI collective
 * on a private duplicate of the caller's communicator (errors returned,
 * MPI_ERRORS_RETURN), polled until it completes or until the handle's
 * timeout passes; then the operation fails with IRLLREC_MPI_E_TIMEOUT and the
 * handle refuses every later operation (the group is broken: the host tears
 * the job down, e.g. MPI_Abort). Results go through the handle's own
 * buffers, so an operation MPI finishes after a timeout cannot write into
 * the caller's memory. Reductions sum in rank order (an allgather, then the
 * sum), so every rank gets the same bits. See docs/distributed.md. */
#ifndef IRLLREC_COLLECTIVE_MPI_H
#define IRLLREC_COLLECTIVE_MPI_H

#include <stddef.h>
#include <stdint.h>
#include <mpi.h>
#include "irllrec/collective.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#  define IRLLREC_MPI_API __attribute__((visibility("default")))
#else
#  define IRLLREC_MPI_API
#endif

/** Opaque handle: a duplicate of a communicator and the layer's buffers. */
typedef struct irllrec_mpi irllrec_mpi;

/** Creation parameters; initialise with irllrec_mpi_spec_init(). Fields are
 *  only appended. */
typedef struct irllrec_mpi_spec {
    uint32_t struct_size;  /**< sizeof(irllrec_mpi_spec) as the caller compiled it */
    int32_t expect_size;   /**< 0, or the rank count the host expects (e.g. its
                                --ranks flag): create fails loudly on any other */
    double timeout_s;      /**< seconds an operation may take, (0, 1e6]; default 300 */
} irllrec_mpi_spec;

/** Failure codes of the layer's functions (what irllrec_collective's
 *  functions return; positive values are MPI error classes). */
enum irllrec_mpi_error {
    IRLLREC_MPI_E_TIMEOUT = -1, /**< not complete within timeout_s */
    IRLLREC_MPI_E_NOMEM   = -2, /**< a buffer could not be grown */
    IRLLREC_MPI_E_BROKEN  = -3, /**< an earlier operation failed: the group is unusable */
    IRLLREC_MPI_E_RANGE   = -4  /**< a count does not fit MPI's int */
};

/** Defaults: expect_size 0, timeout_s 300. NULL does nothing. */
IRLLREC_MPI_API void irllrec_mpi_spec_init(irllrec_mpi_spec *spec, uint32_t struct_size);

/** Duplicate @p comm and check it: MPI initialised, rank and size valid,
 *  size == expect_size when set, and every rank of the duplicate calling
 *  (one allgather of the ranks' world ranks and sizes). Collective over comm.
 *  @param comm  the communicator (not MPI_COMM_NULL); not kept: it is duplicated
 *  @param spec  NULL for the defaults
 *  @param[out] out  the handle, or NULL on failure; free with irllrec_mpi_free()
 *  @param msg      NULL, or a buffer for the reason of a failure
 *  @param msg_cap  its size
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (out NULL, bad spec, size differs
 *          from expect_size), IRLLREC_E_VERSION (struct_size), IRLLREC_E_STATE
 *          (MPI not initialised or finalised), IRLLREC_E_NOMEM, IRLLREC_E_COMM
 *          (an MPI call failed or timed out) */
IRLLREC_MPI_API irllrec_status irllrec_mpi_create(MPI_Comm comm, const irllrec_mpi_spec *spec,
                                                  irllrec_mpi **out, char *msg, size_t msg_cap);

/** Free the handle and its duplicate communicator. After a timeout the
 *  buffers an unfinished operation may still write are not released (MPI
 *  cannot cancel a collective); the process is expected to end.
 *  @param m  handle, or NULL */
IRLLREC_MPI_API void irllrec_mpi_free(irllrec_mpi *m);

/** Fill @p c with this handle's functions (c->user = m; m must outlive
 *  every use of c).
 *  @return IRLLREC_OK or IRLLREC_E_INVALID_ARG (NULL) */
IRLLREC_MPI_API irllrec_status irllrec_mpi_layer(irllrec_mpi *m, irllrec_collective *c);

/** The reason of the handle's last failure ("" if none); valid until the
 *  next call on @p m. */
IRLLREC_MPI_API const char *irllrec_mpi_errmsg(const irllrec_mpi *m);

/** Bytes this rank sent into collectives through @p m since create (the
 *  payload it contributed, not MPI's internal traffic). */
IRLLREC_MPI_API int64_t irllrec_mpi_bytes_sent(const irllrec_mpi *m);

#ifdef __cplusplus
}
#endif
#endif /* IRLLREC_COLLECTIVE_MPI_H */
