/* The collective layer inside the library: checked calls that name the
 * public function they serve, for the hook and for collective.c. Never
 * installed. */
#ifndef IRLLREC_DIST_H
#define IRLLREC_DIST_H

#include "../internal.h"
#include "irllrec/collective.h"

/* Copy a caller's table (struct_size rule) and refuse a NULL function. */
irllrec_status irllrec__coll_copy(irllrec_ctx *ctx, const char *func, const irllrec_collective *c,
                                  irllrec_collective *out);
/* The table's rank and size, range-checked. */
irllrec_status irllrec__coll_rank_size(irllrec_ctx *ctx, const char *func,
                                       const irllrec_collective *c, int32_t *rank, int32_t *size);
/* One allgatherv showing that the ranks are 0 .. size-1 once each and agree
 * on size. Allocates size * 24 bytes for the call. */
irllrec_status irllrec__coll_agree(irllrec_ctx *ctx, const char *func,
                                   const irllrec_collective *c, int32_t rank, int32_t size);

/* The host's functions, their failure turned into E_COMM naming func and the
 * operation. No argument checks: callers inside the library pass valid ones. */
irllrec_status irllrec__coll_sum_f32(irllrec_ctx *ctx, const char *func,
                                     const irllrec_collective *c, const float *send, float *recv,
                                     int64_t count);
irllrec_status irllrec__coll_sum_f64(irllrec_ctx *ctx, const char *func,
                                     const irllrec_collective *c, const double *send,
                                     double *recv, int64_t count);
irllrec_status irllrec__coll_gatherv(irllrec_ctx *ctx, const char *func,
                                     const irllrec_collective *c, const void *send,
                                     int64_t send_bytes, void *recv, const int64_t *recv_bytes,
                                     const int64_t *displs);
irllrec_status irllrec__coll_bcast(irllrec_ctx *ctx, const char *func,
                                   const irllrec_collective *c, void *buf, int64_t bytes,
                                   int32_t root);

#endif
