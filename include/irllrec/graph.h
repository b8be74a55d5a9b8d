/** @file
 * libirllrec: the user-item bipartite graph every graph host needs.
 *
 * From a user -> items CSR (U rows, I columns) it builds the N x N adjacency
 * of the bipartite graph, N = U + I, nodes users first (item i is node
 * U + i), holding both directions of every interaction, with the symmetric
 * normalisation LightGCN propagates with: value 1 / sqrt(deg(r) deg(c)).
 * The pattern is what irllrec_hook_set_graph() takes; the values are what a
 * LightGCN-style host multiplies by. Rows are sorted by column id. */
#ifndef IRLLREC_GRAPH_H
#define IRLLREC_GRAPH_H

#include <stdint.h>
#include "export.h"
#include "status.h"
#include "ctx.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque graph handle (immutable once built: any number of threads may read it). */
typedef struct irllrec_graph irllrec_graph;

/** Build the normalised bipartite graph of @p user_items.
 *  @param ctx         owning context; must outlive the graph
 *  @param user_items  U x I pattern; item ids sorted ascending and unique in
 *                     each row; borrowed for this call only (copied)
 *  @param[out] out    new graph, or NULL on failure; free with irllrec_graph_free()
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL; bad offsets, an id out of
 *          range, unsorted or repeated ids: the message names the row),
 *          IRLLREC_E_SHAPE (U + I or 2 nnz beyond 2^31 - 1), IRLLREC_E_NOMEM */
IRLLREC_API irllrec_status irllrec_graph_create(irllrec_ctx *ctx, const irllrec_csr *user_items,
                                                irllrec_graph **out);

/** Free a graph.
 *  @param g  graph, or NULL (nothing happens) */
IRLLREC_API void irllrec_graph_free(irllrec_graph *g);

/** The N x N adjacency pattern (borrowed: valid until irllrec_graph_free()).
 *  User rows come first and list their items in the order of @p user_items;
 *  edge e of user row u is edge e of the input, shifted by nothing: the first
 *  nnz edges mirror the input exactly.
 *  @param g  graph (not NULL)
 *  @param[out] adj  the pattern
 *  @return IRLLREC_OK or IRLLREC_E_INVALID_ARG */
IRLLREC_API irllrec_status irllrec_graph_adjacency(const irllrec_graph *g, irllrec_csr *adj);

/** The normalised edge values, 1 / sqrt(deg(r) deg(c)) rounded from double
 *  to float, one per edge of the pattern (borrowed).
 *  @param g  graph; may be NULL
 *  @return 2 nnz values, or NULL for NULL */
IRLLREC_API const float *irllrec_graph_values(const irllrec_graph *g);

/** Where the reverse of each edge is: for edge e = (r, c), rev[e] is the
 *  position of (c, r) (borrowed). Lets a host transpose a masked graph
 *  without searching.
 *  @param g  graph; may be NULL
 *  @return 2 nnz positions, or NULL for NULL */
IRLLREC_API const int32_t *irllrec_graph_reverse(const irllrec_graph *g);

#ifdef __cplusplus
}
#endif
#endif /* IRLLREC_GRAPH_H */
