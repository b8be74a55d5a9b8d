/** @file
 * libirllrec: a synthetic dataset with planted intents.
 *
 * SYNTHETIC DATA. Users and items each draw a mixture over a few latent
 * intents; a user interacts with an item with probability rising with the
 * affinity of their mixtures and with the item's popularity. The "text
 * embeddings" are noisy random projections of the mixtures into a larger
 * space, and a chosen fraction of rows is deliberately misleading (projected
 * from another entity's mixture), as real LLM text sometimes is. It exists so
 * that the demo and the fast tests run with no external data. */
#ifndef IRLLREC_SYNTH_H
#define IRLLREC_SYNTH_H

#ifndef IRLLREC_EXPERIMENTAL_H
#error "include irllrec/experimental.h (with IRLLREC_EXPERIMENTAL_API defined), not this header"
#endif

#include <stdint.h>
#include "export.h"
#include "status.h"
#include "ctx.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Generator parameters. Initialise with irllrec_x_synth_spec_init(). */
typedef struct irllrec_x_synth_spec {
    uint32_t struct_size;      /**< sizeof(irllrec_x_synth_spec) as the caller compiled it */
    int32_t n_users;           /**< users (> 0; default 1000) */
    int32_t n_items;           /**< items (> 0; default 800) */
    int32_t n_intents;         /**< latent intents (> 0; default 8) */
    int32_t profile_dim;       /**< profile embedding width (> 0; default 64) */
    int32_t intent_dim;        /**< intent embedding width (> 0; default 96) */
    double mean_degree;        /**< mean interactions per user (> 0; default 25) */
    double popularity_skew;    /**< Zipf-like exponent of item popularity (>= 0; default 0.8) */
    double text_noise;         /**< noise scale of the text projections (>= 0; default 0.5) */
    double misleading_frac;    /**< fraction of text rows taken from another entity (default 0.1) */
    double val_frac;           /**< per-user share held out for validation (default 0.2) */
    double test_frac;          /**< per-user share held out for test (default 0.2) */
    uint64_t seed;             /**< default 2025 */
    /* Fields below were added after the first layout. For each of them 0
     * means "the default", so a caller compiled against the shorter struct
     * (whose tail the library zero-fills) gets the defaults. */
    int32_t min_degree;        /**< minimum interactions per user, capped at n_items (0: default 3) */
    int32_t max_dominant;      /**< most dominant intents per user or item, 1..64 (0: default 3) */
} irllrec_x_synth_spec;

/** Write defaults into the first @p struct_size bytes of @p spec and set
 *  spec->struct_size = @p struct_size. The size is kept, not capped: bytes past
 *  this library's struct are zeroed, and irllrec_x_synth_write() refuses a
 *  field it does not know (IRLLREC_E_VERSION).
 *  @param spec         caller-owned; NULL does nothing
 *  @param struct_size  sizeof(irllrec_x_synth_spec) as the caller sees it; below 4, nothing is written
 *  @note Thread-safe, never fails, does not allocate. */
IRLLREC_API void irllrec_x_synth_spec_init(irllrec_x_synth_spec *spec, uint32_t struct_size);

/** Generate into folder @p dir (which must exist): train.txt, val.txt,
 *  test.txt, stats.json (with "synthetic": true), and the four float32 .npy
 *  text-embedding stand-ins usr_prf.npy, itm_prf.npy (profile_dim wide) and
 *  usr_int.npy, itm_int.npy (intent_dim wide). Every user has at least one
 *  train interaction. Same spec -> same bytes, whatever the context's thread
 *  count. The model is described in docs/synthetic-data.md.
 *
 *  Validation: n_users and n_items in 1..2^28; n_intents in 1..min(n_items, 65536);
 *  profile_dim and intent_dim in 1..65536; 0 < mean_degree < n_items;
 *  popularity_skew in [0, 10]; text_noise in [0, 100]; misleading_frac in [0, 1];
 *  val_frac, test_frac in [0, 1) with val_frac + test_frac < 1; min_degree >= 0;
 *  max_dominant in 0..64.
 *
 *  Files are first written under temporary names ("<name>.tmp.<pid>.<hex>")
 *  in @p dir and flushed to disk; they are renamed into place only once all eight are
 *  complete (stats.json last). On failure the temporary files are removed;
 *  files from an earlier run keep their old contents unless a rename itself
 *  failed part-way. Allocates through the context: a few tens of bytes per
 *  user, item and interaction, the n_intents x dim projections and a 4 MiB
 *  row buffer; the embedding matrices are streamed, never held whole.
 *  @param ctx   context (not NULL); its thread count is used for the embeddings
 *  @param spec  borrowed for this call; older (shorter) structs are accepted
 *  @param dir   existing folder; borrowed
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (bad spec, message names the field),
 *          IRLLREC_E_VERSION (struct_size), IRLLREC_E_IO (message names the path),
 *          IRLLREC_E_NOMEM */
IRLLREC_API irllrec_status irllrec_x_synth_write(irllrec_ctx *ctx, const irllrec_x_synth_spec *spec,
                                               const char *dir);

#ifdef __cplusplus
}
#endif
#endif /* IRLLREC_SYNTH_H */
