/** @file
 * libirllrec: the IRLLRec hook, a training-time plug-in for any recommender.
 *
 * A host recommender keeps its own embeddings, its own loss (BPR, ...) and its
 * own optimizer. Each training step it passes the hook a batch of
 * (user, positive item, negative item) ids and its final user/item
 * embeddings (and, when it has a graph, the per-layer node embeddings E(l)).
 * The hook returns the IRLLRec loss terms of DESIGN.md section 4, ADDS their
 * gradients into the host's gradient buffers and steps its own parameters
 * (the text MLPs, the intent prototypes, the momentum teacher) with its own
 * Adam. Scoring keeps using the host's embeddings: the hook is not needed at
 * inference time.
 *
 * Terms (every weight is a runtime parameter, see irllrec_hook_param):
 *   L_kd   profile InfoNCE (E_final rows vs profile MLP rows), tau_kd
 *   L_pair intent InfoNCE (interaction tower rows vs intent MLP rows), tau_pair
 *   L_tran translation alignment over all N nodes (intent MLP vs E_final)
 *   CE     ITM cross-entropy, momentum teacher vs student intent MLP
 *   reg    reg * sum of squared hook parameters
 *   total = w_kd L_kd + w_pair L_pair + w_tran L_tran + L_itm + reg, with
 *     L_itm = w_itm (alpha CE + [TRAN_IN_ITM] (1 - alpha) w_tran L_tran).
 * A term whose text is absent (profile_dim or intent_dim 0) or whose weight
 * is 0 is not computed and reports 0. See docs/hook.md and docs/math.md.
 *
 * Threading: a hook must not be used concurrently; it may move between
 * threads between calls. Memory: everything is allocated by create,
 * set_text and set_graph; irllrec_hook_step allocates nothing. */
#ifndef IRLLREC_HOOK_H
#define IRLLREC_HOOK_H

#include <stdint.h>
#include "export.h"
#include "status.h"
#include "ctx.h"
#include "tensor.h"
#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque hook handle. */
typedef struct irllrec_hook irllrec_hook;

/** Presets, pinned. A preset chooses the defaults of the DESIGN.md section 5
 *  options and of w_tran/w_itm; every choice can still be changed. */
enum irllrec_hook_preset {
    /** The paper's method (default): teacher starts equal to the student,
     *  L_tran counted once, reg over trainable parameters only,
     *  w_tran 5e-4, w_itm 1e-4 (the earlier release's values). */
    IRLLREC_HOOK_PRESET_PAPER = 0,
    /** The authors' released code's arithmetic: teacher re-initialised after
     *  the copy, L_tran also inside L_itm, reg includes the frozen teacher,
     *  w_tran = w_itm = 1e-7. */
    IRLLREC_HOOK_PRESET_RELEASED = 1
};

/** Teacher initialisation (spec.teacher_init), pinned. */
enum irllrec_hook_teacher_init {
    IRLLREC_HOOK_TEACHER_DEFAULT = 0, /**< as the preset says */
    IRLLREC_HOOK_TEACHER_COPY    = 1, /**< teacher = student at create (ALBEF, the paper) */
    IRLLREC_HOOK_TEACHER_REINIT  = 2  /**< teacher drawn independently (released code) */
};

/** Creation parameters: shapes and seeds. Initialise with irllrec_hook_spec_init();
 *  fields are only appended. */
typedef struct irllrec_hook_spec {
    uint32_t struct_size;  /**< sizeof(irllrec_hook_spec) as the caller compiled it */
    int32_t preset;        /**< enum irllrec_hook_preset (default PAPER) */
    int64_t n_users;       /**< U > 0 */
    int64_t n_items;       /**< I > 0 */
    int32_t dim;           /**< d, the host's embedding size (> 0; default 32) */
    int32_t n_intents;     /**< K prototypes per side (> 0; default 128) */
    int32_t n_layers;      /**< per-layer inputs of the interaction tower (L >= 0;
                                0 = graph-free: the tower reads E_final, no graph) */
    int32_t max_batch;     /**< largest batch passed to a step (> 0; default 4096) */
    int32_t profile_dim;   /**< D_p of the profile embeddings; 0 = absent (no L_kd) */
    int32_t intent_dim;    /**< D_t of the intent embeddings; 0 = absent (no L_pair,
                                L_tran, ITM, no prototypes) */
    int32_t teacher_init;  /**< enum irllrec_hook_teacher_init (default 0) */
    int32_t reserved0;     /**< must be zero */
    uint64_t seed;         /**< seeds weights, teacher and noise (default 2025) */
} irllrec_hook_spec;

/** Runtime parameters of irllrec_hook_set_param(), pinned (hook range 300..399). */
typedef enum irllrec_hook_param {
    IRLLREC_HOOK_W_KD      = 300, /**< weight of L_kd, [0, 1e6], default 1e-2 */
    IRLLREC_HOOK_TAU_KD    = 301, /**< temperature of L_kd, [1e-3, 1e3], default 0.2 */
    IRLLREC_HOOK_W_PAIR    = 302, /**< weight of L_pair, [0, 1e6], default 2e-2 */
    IRLLREC_HOOK_TAU_PAIR  = 303, /**< temperature of L_pair, [1e-3, 1e3], default 0.2 */
    IRLLREC_HOOK_W_TRAN    = 304, /**< weight of L_tran, [0, 1e6], default 5e-4 (released 1e-7) */
    IRLLREC_HOOK_W_ITM     = 305, /**< weight of L_itm, [0, 1e6], default 1e-4 (released 1e-7) */
    IRLLREC_HOOK_ITM_ALPHA = 306, /**< alpha of L_itm, [0, 1], default 0.6 */
    IRLLREC_HOOK_MOMENTUM  = 307, /**< teacher EMA momentum m, [0, 1], default 0.999 */
    IRLLREC_HOOK_LR        = 308, /**< Adam learning rate of the hook's parameters, [1e-12, 10], default 1e-3 */
    IRLLREC_HOOK_REG       = 309, /**< L2 weight on the hook's parameters, [0, 1e6], default 1e-7 */
    IRLLREC_HOOK_TRAN_MODE = 310, /**< 0 = exact over all N nodes (default), 1 = sampled */
    IRLLREC_HOOK_TRAN_SAMPLES = 311, /**< nodes per step in sampled mode, [2, 2^31-1], default 4096
                                          (capped at N) */
    IRLLREC_HOOK_TRAN_IN_ITM  = 312, /**< 1: L_itm also holds (1-alpha) w_tran L_tran
                                          (released); 0: not (paper, default) */
    IRLLREC_HOOK_REG_TEACHER  = 313, /**< 1: reg also sums the teacher (value only;
                                          released); 0: not (default) */
    IRLLREC_HOOK_TRAN_ITM_NEED_GRAPH = 314 /**< 1 (default, both presets): L_tran and ITM
                                          only when n_layers > 0 (the released code has
                                          them only in its LightGCN variant); 0: always */
} irllrec_hook_param;

/** Which text matrix irllrec_hook_set_text() sets, pinned. */
enum irllrec_hook_text {
    IRLLREC_HOOK_USER_PROFILE = 0, /**< U x profile_dim */
    IRLLREC_HOOK_ITEM_PROFILE = 1, /**< I x profile_dim */
    IRLLREC_HOOK_USER_INTENT  = 2, /**< U x intent_dim */
    IRLLREC_HOOK_ITEM_INTENT  = 3  /**< I x intent_dim */
};

/** Loss values of one step. total is the weighted sum described at the top of
 *  this header; the terms are unweighted (reg is already multiplied by its
 *  weight). Terms that are off report 0. */
typedef struct irllrec_hook_losses {
    uint32_t struct_size;  /**< set by the caller: sizeof(irllrec_hook_losses) */
    int32_t reserved0;     /**< written as 0 */
    double total;          /**< what the hook adds to the host's loss */
    double kd;             /**< L_kd (profile InfoNCE, averaged over the batch) */
    double pair;           /**< L_pair (intent InfoNCE, averaged over the batch) */
    double tran;           /**< L_tran (mean over the contrasted nodes) */
    double itm;            /**< CE of the ITM pair (mean over N nodes) */
    double reg;            /**< reg * sum of squares (weighted) */
} irllrec_hook_losses;

/** Write defaults (PAPER preset, d 32, K 128, L 0, max_batch 4096, seed 2025;
 *  n_users, n_items, profile_dim and intent_dim 0) and set struct_size.
 *  @param spec         caller-owned; NULL does nothing
 *  @param struct_size  sizeof(irllrec_hook_spec) as the caller compiled it
 *  @note Thread-safe; does not allocate. */
IRLLREC_API void irllrec_hook_spec_init(irllrec_hook_spec *spec, uint32_t struct_size);

/** Create a hook. Allocates parameters (Xavier-uniform weights, zero
 *  biases), Adam moments, the teacher and every workspace a step needs.
 *  @param ctx   context that owns the hook; must outlive it
 *  @param spec  shapes and seeds (copied); see irllrec_hook_spec
 *  @param[out] out  new hook, or NULL on failure; free with irllrec_hook_free()
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_VERSION, IRLLREC_E_SHAPE
 *          (sizes overflow), IRLLREC_E_NOMEM */
IRLLREC_API irllrec_status irllrec_hook_create(irllrec_ctx *ctx, const irllrec_hook_spec *spec,
                                               irllrec_hook **out);

/** Free a hook and everything it allocated.
 *  @param h  hook, or NULL (nothing happens) */
IRLLREC_API void irllrec_hook_free(irllrec_hook *h);

/** Set a runtime parameter (takes effect at the next step).
 *  @param h  hook (not NULL)
 *  @param p  which parameter
 *  @param v  new value, within irllrec_hook_param_bounds()
 *  @return IRLLREC_OK or IRLLREC_E_INVALID_ARG (unknown parameter, value out of
 *          bounds or not finite; nothing changes) */
IRLLREC_API irllrec_status irllrec_hook_set_param(irllrec_hook *h, irllrec_hook_param p, double v);

/** Read a runtime parameter.
 *  @param h  hook (not NULL)
 *  @param p  which parameter
 *  @param[out] v  its current value
 *  @return IRLLREC_OK or IRLLREC_E_INVALID_ARG */
IRLLREC_API irllrec_status irllrec_hook_get_param(const irllrec_hook *h, irllrec_hook_param p,
                                                  double *v);

/** Bounds of a parameter (inclusive). Thread-safe; needs no hook.
 *  @param p  which parameter
 *  @param[out] lo  smallest accepted value
 *  @param[out] hi  largest accepted value
 *  @return IRLLREC_OK or IRLLREC_E_INVALID_ARG */
IRLLREC_API irllrec_status irllrec_hook_param_bounds(irllrec_hook_param p, double *lo, double *hi);

/** Copy a frozen text-embedding matrix. Rows must equal U or I, cols
 *  profile_dim or intent_dim; values must be finite. May be called again to
 *  replace the text.
 *  @param h      hook (not NULL)
 *  @param which  enum irllrec_hook_text
 *  @param m      the embeddings; borrowed for this call only (copied)
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_SHAPE, IRLLREC_E_STATE
 *          (that text is absent in the spec), IRLLREC_E_NUMERIC; unchanged on failure */
IRLLREC_API irllrec_status irllrec_hook_set_text(irllrec_hook *h, int32_t which, irllrec_mat m);

/** Copy the graph of the interaction tower: an N x N pattern (N = U + I,
 *  users first), holding both directions of every interaction. Only the
 *  pattern is used: the tower learns its own edge weights.
 *  @param h    hook (not NULL) created with n_layers > 0
 *  @param adj  the pattern; borrowed for this call only (copied)
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (bad offsets or ids),
 *          IRLLREC_E_SHAPE, IRLLREC_E_STATE (graph-free hook), IRLLREC_E_NOMEM;
 *          unchanged on failure */
IRLLREC_API irllrec_status irllrec_hook_set_graph(irllrec_hook *h, const irllrec_csr *adj);

/** One training step.
 *  @param h              hook; must not be used concurrently
 *  @param users,pos,neg  @p batch ids each (users in [0,U), items in [0,I))
 *  @param batch          1 .. max_batch
 *  @param user_final     U x d, the host's final user embeddings (read only)
 *  @param item_final     I x d, final item embeddings (read only)
 *  @param layers         n_layers matrices E(l), N x d, users then items, or
 *                        NULL for a graph-free hook (read only)
 *  @param user_grad      U x d; the hook ADDS dL/d user_final (+=). Any row
 *                        may receive a (possibly zero) contribution.
 *  @param item_grad      I x d; += dL/d item_final
 *  @param layer_grads    n_layers matrices N x d receiving += dL/dE(l), or NULL
 *                        to drop the per-layer gradients
 *  @param[out] out       loss values, or NULL; its struct_size must be set
 *  @return IRLLREC_OK; IRLLREC_E_INVALID_ARG (NULL, bad id, a gradient buffer
 *          overlapping an input or another gradient buffer); IRLLREC_E_VERSION
 *          (out->struct_size < 8);
 *          IRLLREC_E_SHAPE; IRLLREC_E_STATE (text announced in the spec but not
 *          set, graph not set); IRLLREC_E_NUMERIC (non-finite input, loss or
 *          gradient). On any failure nothing changes: not the caller's
 *          buffers, not the parameters, Adam moments, teacher or RNG.
 *  @note Does not allocate. Gradients and the hook's own update are applied
 *        only once the loss and every gradient are known to be finite. */
IRLLREC_API irllrec_status irllrec_hook_step(irllrec_hook *h, const int32_t *users,
                                             const int32_t *pos, const int32_t *neg,
                                             int64_t batch, irllrec_mat user_final,
                                             irllrec_mat item_final, const irllrec_mat *layers,
                                             irllrec_mat user_grad, irllrec_mat item_grad,
                                             const irllrec_mat *layer_grads,
                                             irllrec_hook_losses *out);

/** Wall-clock seconds spent in each part of the last successful step, for
 *  profiling (C11 timespec_get; the parts do not overlap). */
typedef struct irllrec_hook_timings {
    uint32_t struct_size;  /**< set by the caller: sizeof(irllrec_hook_timings) */
    int32_t reserved0;     /**< written as 0 */
    double total;          /**< the whole call */
    double validate;       /**< argument checks, finiteness of the inputs, batch dedup */
    double profile_mlp;    /**< profile text tower, forward + backward */
    double intent_mlp;     /**< intent text tower (student), forward + backward */
    double teacher;        /**< teacher snapshot, EMA update, teacher forward */
    double tower;          /**< interaction tower, forward + backward */
    double kd;             /**< the three profile InfoNCE terms */
    double pair;           /**< the three intent InfoNCE terms */
    double tran;           /**< translation alignment (noise, streaming pass, backward) */
    double itm;            /**< ITM cross-entropy */
    double commit;         /**< reg, finiteness of loss and gradients, gradients out, Adam, EMA */
} irllrec_hook_timings;

/** Copy the timings of the last successful step (all 0 before the first).
 *  @param h  hook (not NULL)
 *  @param[out] out  its struct_size must be set; a shorter struct gets a prefix
 *  @return IRLLREC_OK or IRLLREC_E_INVALID_ARG (NULL, struct_size < 8) */
IRLLREC_API irllrec_status irllrec_hook_last_timings(const irllrec_hook *h,
                                                     irllrec_hook_timings *out);

/** Number of successful steps.
 *  @param h  hook, or NULL
 *  @return steps so far, or -1 for NULL */
IRLLREC_API int64_t irllrec_hook_steps(const irllrec_hook *h);

/** Add every piece of state a hook needs to continue bit for bit to @p m,
 *  under the names listed in docs/file-format.md ("Hook checkpoints"):
 *  the trainable blocks (kind TENSOR, "hook.prf.w1" ... "hook.proto.item"),
 *  the momentum teacher (TEACHER, "hook.teacher.w1" ...), the Adam step count
 *  and moments (OPTIM, "hook.adam.t", "hook.adam.state"), the hook's and the
 *  alignment handle's generators (RNG, "hook.rng", "hook.align.rng"), and as
 *  metadata the step counter ("hook.steps"), every runtime parameter
 *  ("hook.param.<id>"), the spec ("hook.spec.<field>") and the library
 *  version ("hook.lib_version"). Every section is flagged
 *  IRLLREC_MODEL_REQUIRED. Text embeddings and the graph are inputs, not
 *  state: they are not exported and must be set again after an import.
 *  @param h  hook (not NULL); not modified
 *  @param m  model to add to (not NULL); other sections it holds are kept,
 *            but none of the names above may exist yet
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL argument, a name already in
 *          @p m), IRLLREC_E_NOMEM. On failure the hook is unchanged and @p m
 *          may hold part of the sections: free it.
 *  @note Allocates a scratch copy of the Adam state from the hook's context
 *        and the sections from the model's context. Not concurrently with any
 *        other call on @p h or @p m. */
IRLLREC_API irllrec_status irllrec_hook_export(const irllrec_hook *h, irllrec_model *m);

/** Restore the state written by irllrec_hook_export() into a hook created
 *  from a spec with the same shapes (n_users, n_items, dim, n_intents,
 *  n_layers, max_batch, profile_dim, intent_dim; preset, teacher_init and
 *  seed may differ: everything they decide is overwritten). The next step
 *  then gives the bits the exporting hook's next step would have given
 *  (same thread count, same text and graph, which the caller sets).
 *  Everything is validated before anything changes.
 *  @param h  hook (not NULL)
 *  @param m  model holding the sections of irllrec_hook_export() (others are ignored)
 *  @return IRLLREC_OK; IRLLREC_E_INVALID_ARG (NULL argument);
 *          IRLLREC_E_FORMAT (a required section or key missing or of the wrong
 *          type, a runtime parameter out of bounds, a negative step count);
 *          IRLLREC_E_SHAPE (a spec field or a section's shape differs from
 *          the hook's); IRLLREC_E_NUMERIC (a non-finite parameter or moment,
 *          a negative second moment); IRLLREC_E_NOMEM.
 *          On failure the hook is unchanged.
 *  @note Allocates one scratch buffer (the size of the parameters and
 *        moments) from the hook's context and frees it before returning. */
IRLLREC_API irllrec_status irllrec_hook_import(irllrec_hook *h, const irllrec_model *m);

#ifdef __cplusplus
}
#endif
#endif /* IRLLREC_HOOK_H */
