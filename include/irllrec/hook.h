/** @file
 * libirllrec: the IRLLRec hook, a training-time plug-in for any recommender.
 *
 * A host recommender keeps its own embeddings, its own loss (BPR, ...) and its
 * own optimizer. Each training step it passes the hook a batch of
 * (user, positive item, negative item) ids (irllrec_hook_batch) and read-only
 * views of its final user/item embeddings, in whatever row layout it keeps
 * them (and, when it has a graph, the per-layer node embeddings E(l)):
 * irllrec_hook_inputs. irllrec_hook_compute() returns the IRLLRec loss terms
 * (docs/hook.md, "What one step computes"; derivations in docs/math.md) and
 * ADDS their gradients for the host's embeddings where irllrec_hook_grads
 * says: into dense buffers, or kept as touched rows. irllrec_hook_apply()
 * then steps the hook's own parameters (the text MLPs, the intent
 * prototypes) with its Adam and moves the momentum teacher; a host that runs
 * its own optimizer updates the blocks of irllrec_hook_get_block() instead.
 * irllrec_hook_step() is compute and apply together. Scoring keeps using the
 * host's embeddings: the hook is not needed at inference time.
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
 * set_text and set_graph (irllrec_hook_memory_estimate() says how much
 * beforehand); compute, apply and step allocate nothing. */
#ifndef IRLLREC_HOOK_H
#define IRLLREC_HOOK_H

#include <stdint.h>
#include "export.h"
#include "status.h"
#include "ctx.h"
#include "tensor.h"
#include "model.h"
#include "align.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque hook handle. */
typedef struct irllrec_hook irllrec_hook;

/** Presets, pinned. A preset chooses the defaults of the options where the
 *  authors' released code and the paper differ (docs/hook.md, "Where the
 *  released code and the paper differ") and of w_tran/w_itm; every choice can
 *  still be changed. */
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
    int32_t text_precision; /**< enum irllrec_hook_text_precision (default 0 = FP32);
                                 was reserved0, so older callers' zeros mean fp32 */
    uint64_t seed;         /**< seeds weights, teacher and noise (default 2025) */
    int32_t reduce_rows;   /**< C, rows per reduction chunk (0 = default 512; 1..2^30):
                                users and items are each cut every C rows, every sum
                                over rows adds per-chunk partials in double, and a
                                sharded hook's blocks are whole chunks, so that P ranks
                                give one process's bits (docs/distributed.md); added
                                since the 0.2.0 release: older structs end before it */
    int32_t align_precision; /**< enum irllrec_align_precision of the alignment terms
                                  (L_kd, L_pair, translation, ITM's): 0 = FP32
                                  (default); was reserved1, so older callers' zeros
                                  mean fp32; irllrec_hook_get_align_precision() says
                                  what create granted */
} irllrec_hook_spec;

/** How the hook stores the frozen text and multiplies it in the text
 *  towers (docs/hook.md, "bf16 text towers"). The spec field asks; the hook
 *  decides at create, on this CPU: irllrec_hook_get_text_precision() says what
 *  it took. */
typedef enum irllrec_hook_text_precision {
    IRLLREC_HOOK_TEXT_FP32 = 0, /**< fp32 text, fp32 products (default, the reference) */
    IRLLREC_HOOK_TEXT_BF16 = 1  /**< bf16 text (half the memory) and bf16 products of
                                     text x first-layer weights with fp32 accumulation,
                                     weights kept in fp32, when
                                     irllrec_text_bf16_backend() names a backend;
                                     otherwise exactly the FP32 path */
} irllrec_hook_text_precision;

/** Runtime parameters, pinned (hook range 300..399). Each also has a stable
 *  name string (irllrec_hook_param_name(), irllrec_hook_set_param_by_name()),
 *  which is also its checkpoint key "hook.param.<name>". */
typedef enum irllrec_hook_param {
    IRLLREC_HOOK_W_KD      = 300, /**< "w_kd": weight of L_kd, [0, 1e6], default 1e-2 */
    IRLLREC_HOOK_TAU_KD    = 301, /**< "tau_kd": temperature of L_kd, [1e-3, 1e3], default 0.2 */
    IRLLREC_HOOK_W_PAIR    = 302, /**< "w_pair": weight of L_pair, [0, 1e6], default 2e-2 */
    IRLLREC_HOOK_TAU_PAIR  = 303, /**< "tau_pair": temperature of L_pair, [1e-3, 1e3], default 0.2 */
    IRLLREC_HOOK_W_TRAN    = 304, /**< "w_tran": weight of L_tran, [0, 1e6], default 5e-4 (released 1e-7) */
    IRLLREC_HOOK_W_ITM     = 305, /**< "w_itm": weight of L_itm, [0, 1e6], default 1e-4 (released 1e-7) */
    IRLLREC_HOOK_ITM_ALPHA = 306, /**< "itm_alpha": alpha of L_itm, [0, 1], default 0.6 */
    IRLLREC_HOOK_MOMENTUM  = 307, /**< "momentum": teacher EMA momentum m, [0, 1], default 0.999 */
    IRLLREC_HOOK_LR        = 308, /**< "lr": Adam learning rate of the hook's parameters,
                                       [1e-12, 10], default 1e-3 */
    IRLLREC_HOOK_REG       = 309, /**< "reg": L2 weight on the hook's parameters, [0, 1e6], default 1e-7 */
    IRLLREC_HOOK_TRAN_MODE = 310, /**< "tran_mode": 0 = exact over all N nodes (default), 1 = sampled */
    IRLLREC_HOOK_TRAN_SAMPLES = 311, /**< "tran_samples": nodes per step in sampled mode,
                                          [2, 2^31-1], default 4096 (capped at N) */
    IRLLREC_HOOK_TRAN_IN_ITM  = 312, /**< "tran_in_itm": 1: L_itm also holds (1-alpha) w_tran
                                          L_tran (released); 0: not (paper, default) */
    IRLLREC_HOOK_REG_TEACHER  = 313, /**< "reg_teacher": 1: reg also sums the teacher (value
                                          only; released); 0: not (default) */
    IRLLREC_HOOK_TRAN_ITM_NEED_GRAPH = 314, /**< "tran_itm_need_graph": 1 (default, both
                                          presets): L_tran and ITM only when n_layers > 0 (the
                                          released code has them only in its LightGCN
                                          variant); 0: always */
    IRLLREC_HOOK_BETA1     = 315, /**< "beta1": Adam first-moment decay, [0, 0.9999999], default 0.9 */
    IRLLREC_HOOK_BETA2     = 316, /**< "beta2": Adam second-moment decay, [0, 0.9999999], default 0.999 */
    IRLLREC_HOOK_EPS       = 317, /**< "eps": Adam denominator guard, [1e-30, 1], default 1e-8 */
    IRLLREC_HOOK_WEIGHT_DECAY = 318 /**< "weight_decay": decoupled (AdamW) weight decay,
                                          [0, 10], default 0 */
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

/** Number of runtime parameters (for enumerating them with irllrec_hook_param_at()).
 *  @return the count (19 in this release)
 *  @note Thread-safe; needs no hook. */
IRLLREC_API int32_t irllrec_hook_param_count(void);

/** The i-th runtime parameter, in the order of the enum.
 *  @param i  0 .. irllrec_hook_param_count() - 1
 *  @param[out] out  its id
 *  @return IRLLREC_OK or IRLLREC_E_INVALID_ARG (i out of range, out NULL) */
IRLLREC_API irllrec_status irllrec_hook_param_at(int32_t i, irllrec_hook_param *out);

/** The stable name of a parameter ("w_kd", "lr", "beta1", ...: see irllrec_hook_param).
 *  @param p  which parameter
 *  @return a static string, or NULL for an unknown id. Thread-safe. */
IRLLREC_API const char *irllrec_hook_param_name(irllrec_hook_param p);

/** The id of a parameter named @p name (exact, case-sensitive match).
 *  @param name  a name from irllrec_hook_param_name()
 *  @param[out] out  its id
 *  @return IRLLREC_OK or IRLLREC_E_INVALID_ARG (NULL, unknown name). Thread-safe. */
IRLLREC_API irllrec_status irllrec_hook_param_id(const char *name, irllrec_hook_param *out);

/** irllrec_hook_set_param() by name: for FFI and configuration files.
 *  @param h     hook (not NULL)
 *  @param name  the parameter's name
 *  @param v     new value
 *  @return IRLLREC_OK or IRLLREC_E_INVALID_ARG (unknown name, bad value; the
 *          message names both; nothing changes) */
IRLLREC_API irllrec_status irllrec_hook_set_param_by_name(irllrec_hook *h, const char *name,
                                                          double v);

/** irllrec_hook_get_param() by name.
 *  @param h     hook (not NULL)
 *  @param name  the parameter's name
 *  @param[out] v  its current value
 *  @return IRLLREC_OK or IRLLREC_E_INVALID_ARG */
IRLLREC_API irllrec_status irllrec_hook_get_param_by_name(const irllrec_hook *h, const char *name,
                                                          double *v);

/** Bytes irllrec_hook_create() would take from the allocator for @p spec on
 *  a context with @p n_threads worker threads, text and graph included
 *  (set_graph adds the graph's edges: pass its nnz, or 0 for a graph-free
 *  hook). Allocates nothing; the test suite checks it against a counting
 *  allocator.
 *  @param spec       as for irllrec_hook_create()
 *  @param n_threads  the context's thread count (>= 1)
 *  @param graph_nnz  edges of the N x N pattern given to set_graph (>= 0)
 *  @param[out] bytes the estimate
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (the spec would be refused by
 *          create; no message: there is no context), IRLLREC_E_VERSION */
IRLLREC_API irllrec_status irllrec_hook_memory_estimate(const irllrec_hook_spec *spec,
                                                        int32_t n_threads, int64_t graph_nnz,
                                                        int64_t *bytes);

/** Copy a frozen text-embedding matrix. Rows must equal U or I, cols
 *  profile_dim or intent_dim; values must be finite. May be called again to
 *  replace the text.
 *  @param h      hook (not NULL)
 *  @param which  enum irllrec_hook_text
 *  @param m      the embeddings; borrowed for this call only (copied)
 *  Rows that are all zero (what a failed embedding job leaves) are accepted
 *  and reported through the context's log at IRLLREC_LOG_WARN, with their count.
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_SHAPE, IRLLREC_E_STATE
 *          (that text is absent in the spec), IRLLREC_E_NUMERIC; unchanged on failure */
IRLLREC_API irllrec_status irllrec_hook_set_text(irllrec_hook *h, int32_t which, irllrec_cmat m);

/** The text precision this hook took at create (spec.text_precision asks;
 *  BF16 is granted only where irllrec_text_bf16_backend() names a backend).
 *  With BF16, set_text rounds the text to bf16 (nearest even) as it copies.
 *  @param h    hook (not NULL)
 *  @param[out] precision  enum irllrec_hook_text_precision
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL) */
IRLLREC_API irllrec_status irllrec_hook_get_text_precision(const irllrec_hook *h, int32_t *precision);

/** The precision this hook's alignment terms took at create
 *  (spec.align_precision asks; the bf16 levels are granted as
 *  irllrec_align_get_precision() grants them: fused AVX-512 kernels on a CPU
 *  with AVX512-BF16, else fp32). docs/math-align.md §2c.
 *  @param h    hook (not NULL)
 *  @param[out] precision  enum irllrec_align_precision
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL) */
IRLLREC_API irllrec_status irllrec_hook_get_align_precision(const irllrec_hook *h,
                                                            int32_t *precision);

/** Set rows [row0, row0 + m.rows) of one text matrix (row indices within its
 *  side: user ids or item ids), e.g. in chunks, so that the caller never
 *  holds the whole matrix. Rows this hook does not hold (a sharded hook's
 *  other ranks' rows) are skipped; a text counts as set once every row the
 *  hook holds of it has been given. Values, warnings and precision as
 *  irllrec_hook_set_text().
 *  @param h      hook
 *  @param which  enum irllrec_hook_text
 *  @param row0   first row, 0 <= row0 <= side rows - m.rows
 *  @param m      rows x dim of that text, finite; read only, copied
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_STATE (text absent in
 *          the spec), IRLLREC_E_SHAPE, IRLLREC_E_NUMERIC (non-finite value) */
IRLLREC_API irllrec_status irllrec_hook_set_text_rows(irllrec_hook *h, int32_t which,
                                                      int64_t row0, irllrec_cmat m);

/** Copy the graph of the interaction tower: an N x N pattern (N = U + I,
 *  users first), holding both directions of every interaction (what
 *  irllrec_graph_create() builds from a user -> items CSR). Only the pattern
 *  is used: the tower learns its own edge weights.
 *  @param h    hook (not NULL) created with n_layers > 0
 *  @param adj  the pattern; borrowed for this call only (copied)
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL, bad offsets or ids),
 *          IRLLREC_E_SHAPE, IRLLREC_E_STATE (graph-free hook), IRLLREC_E_NOMEM;
 *          unchanged on failure */
IRLLREC_API irllrec_status irllrec_hook_set_graph(irllrec_hook *h, const irllrec_csr *adj);

/** A training batch: @p count (user, positive item, negative item) triples.
 *  Frozen plain struct: its layout never changes. */
typedef struct irllrec_hook_batch {
    int64_t count;         /**< B, 1 .. max_batch */
    const int32_t *users;  /**< B user ids in [0, U) */
    const int32_t *pos;    /**< B positive item ids in [0, I) */
    const int32_t *neg;    /**< B negative item ids in [0, I) */
} irllrec_hook_batch;

/** What the hook reads of the host: its final embeddings and, for a graph
 *  hook, the per-layer node embeddings E(l). Any row layout: each view has
 *  its own leading dimension. Frozen plain struct. */
typedef struct irllrec_hook_inputs {
    irllrec_cmat user_final;      /**< U x d */
    irllrec_cmat item_final;      /**< I x d */
    const irllrec_cmat *layers;   /**< n_layers views, N x d each (users, then items),
                                       or NULL for a graph-free hook */
} irllrec_hook_inputs;

/** How the gradients for the host's embeddings are delivered, pinned. */
enum irllrec_hook_grad_mode {
    /** ADD into the host's dense U x d and I x d buffers (user_grad, item_grad). */
    IRLLREC_HOOK_GRAD_DENSE = 0,
    /** Keep them in the hook as touched rows (ids plus a rows x d block), read
     *  with irllrec_hook_grad_rows(): the terms that touch a subset (L_kd and
     *  a graph-free L_pair touch the batch's rows, sampled L_tran its sample)
     *  then cost the host O(rows), not O(N). user_grad and item_grad must be
     *  empty views ({0}). */
    IRLLREC_HOOK_GRAD_ROWS = 1
};

/** Where irllrec_hook_compute() puts the host's gradients. */
typedef struct irllrec_hook_grads {
    uint32_t struct_size;          /**< sizeof(irllrec_hook_grads) as the caller compiled it */
    int32_t mode;                  /**< enum irllrec_hook_grad_mode */
    irllrec_mat user_grad;         /**< DENSE: U x d, receives += dL/d user_final */
    irllrec_mat item_grad;         /**< DENSE: I x d, receives += dL/d item_final */
    const irllrec_mat *layer_grads; /**< n_layers N x d buffers receiving += dL/dE(l) (both
                                        modes), or NULL to drop the per-layer gradients */
} irllrec_hook_grads;

/** The touched rows of the last compute in IRLLREC_HOOK_GRAD_ROWS mode.
 *  Borrowed from the hook: valid until its next compute, step or free. */
typedef struct irllrec_hook_rows {
    int64_t n_users;           /**< user rows with a gradient */
    const int32_t *user_ids;   /**< n_users distinct ids, in the order first touched
                                    (ascending when every row is touched) */
    irllrec_cmat user_grad;    /**< n_users x d: row k is dL/d user_final[user_ids[k]] */
    int64_t n_items;           /**< item rows with a gradient */
    const int32_t *item_ids;   /**< n_items distinct ids */
    irllrec_cmat item_grad;    /**< n_items x d */
} irllrec_hook_rows;

/** Flags of irllrec_hook_compute(), pinned. */
enum irllrec_hook_compute_flags {
    /** Only the loss values: no gradient is written (grads may be NULL) and
     *  no apply may follow. */
    IRLLREC_HOOK_LOSS_ONLY = 1
};

/** Flags of irllrec_hook_apply(), pinned. */
enum irllrec_hook_apply_flags {
    /** The host updates the trainable blocks itself (irllrec_hook_get_block):
     *  apply commits the teacher's EMA, the noise generator and the step
     *  count, and does not run the hook's Adam. */
    IRLLREC_HOOK_APPLY_EXTERNAL_OPTIM = 1
};

/** Compute every loss term of one batch and, unless LOSS_ONLY, every
 *  gradient: the host's are ADDED where @p grads says, the hook's own
 *  parameters' are kept for irllrec_hook_apply(). Changes none of the
 *  hook's state that a later compute reads (parameters, Adam, teacher,
 *  noise generator), so two computes on the same inputs give the same bits.
 *  @param h      hook; must not be used concurrently
 *  @param batch  the triples (not NULL)
 *  @param in     the host's embeddings (not NULL; read only)
 *  @param grads  where the host's gradients go; NULL only with LOSS_ONLY
 *  @param flags  0 or IRLLREC_HOOK_LOSS_ONLY
 *  @param[out] out  loss values, or NULL; its struct_size must be set
 *  @return IRLLREC_OK; IRLLREC_E_INVALID_ARG (NULL, bad id, unknown flag or
 *          mode, a gradient buffer overlapping an input or another gradient
 *          buffer; the message names the argument); IRLLREC_E_VERSION
 *          (a struct_size < 8); IRLLREC_E_SHAPE; IRLLREC_E_STATE (text
 *          announced in the spec but not set, graph not set);
 *          IRLLREC_E_NUMERIC (non-finite input, loss or gradient). On any
 *          failure nothing changes: not the caller's buffers, not the hook.
 *  @note Does not allocate. Gradients are written only once the loss and
 *        every gradient are known to be finite. */
IRLLREC_API irllrec_status irllrec_hook_compute(irllrec_hook *h, const irllrec_hook_batch *batch,
                                                const irllrec_hook_inputs *in,
                                                const irllrec_hook_grads *grads, uint32_t flags,
                                                irllrec_hook_losses *out);

/** Commit the last compute: one Adam step of the trainable blocks over the
 *  gradients it left (unless EXTERNAL_OPTIM), the teacher's EMA from the
 *  student as it was at that compute, the noise generator, the step count.
 *  @param h      hook
 *  @param flags  0 or IRLLREC_HOOK_APPLY_EXTERNAL_OPTIM
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL, unknown flag),
 *          IRLLREC_E_STATE (no successful gradient compute since the last
 *          apply, or the parameters changed shape). Nothing changes on failure.
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_hook_apply(irllrec_hook *h, uint32_t flags);

/** irllrec_hook_compute() (flags 0) then irllrec_hook_apply() (flags 0):
 *  one whole training step. On failure nothing changes.
 *  @param h      hook; must not be used concurrently
 *  @param batch  the triples
 *  @param in     the host's embeddings (read only)
 *  @param grads  where the host's gradients go (not NULL)
 *  @param[out] out  loss values, or NULL
 *  @return as irllrec_hook_compute() (messages name irllrec_hook_compute) */
IRLLREC_API irllrec_status irllrec_hook_step(irllrec_hook *h, const irllrec_hook_batch *batch,
                                             const irllrec_hook_inputs *in,
                                             const irllrec_hook_grads *grads,
                                             irllrec_hook_losses *out);

/** The touched rows of the last successful compute in ROWS mode.
 *  @param h  hook (not NULL)
 *  @param[out] out  the rows (borrowed pointers into the hook)
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_STATE (the last
 *          compute was not a successful ROWS-mode one) */
IRLLREC_API irllrec_status irllrec_hook_grad_rows(const irllrec_hook *h, irllrec_hook_rows *out);

/** One parameter block of the hook, for hosts that run their own optimizer
 *  or inspect the model. */
typedef struct irllrec_hook_block {
    uint32_t struct_size;  /**< set by the caller: sizeof(irllrec_hook_block) */
    int32_t trainable;     /**< 1: has a gradient and is stepped by apply; 0: the ITM
                                teacher (moved by its EMA only: do not write it) */
    const char *name;      /**< stable name, e.g. "prf.w1", "proto.user", "teacher.w1"
                                (its checkpoint section is "hook.<name>") */
    float *data;           /**< rows x cols, row-major, the hook's own memory: a host
                                optimizer may update a trainable block in place between
                                a compute and the next compute */
    const float *grad;     /**< gradient of the last compute (NULL for the teacher) */
    int64_t rows;          /**< rows */
    int64_t cols;          /**< columns */
} irllrec_hook_block;

/** Number of parameter blocks: the trainable ones first, then the teacher's.
 *  @param h  hook, or NULL
 *  @return the count, or -1 for NULL */
IRLLREC_API int32_t irllrec_hook_block_count(const irllrec_hook *h);

/** Describe block @p i.
 *  @param h  hook (not NULL)
 *  @param i  0 .. irllrec_hook_block_count() - 1
 *  @param[out] out  its struct_size must be set (>= 8); a shorter struct gets a prefix
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL, i out of range), IRLLREC_E_VERSION */
IRLLREC_API irllrec_status irllrec_hook_get_block(irllrec_hook *h, int32_t i,
                                                  irllrec_hook_block *out);

/** Draw the translation noise from @p fn instead of the alignment handle's generator
 *  (reproducing another implementation's noise, golden tests), or go back to
 *  the generator with NULL. The generator does not advance while fn is set.
 *  @param h   hook (not NULL) with intent text
 *  @param fn  the callback, or NULL
 *  @param ud  passed to fn
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_STATE (no intent text) */
IRLLREC_API irllrec_status irllrec_hook_set_noise_fn(irllrec_hook *h, irllrec_noise_fn fn,
                                                     void *ud);

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
 *  and moments (OPTIM, "hook.adam.t", "hook.adam.state"), the alignment
 *  handle's generator (RNG, "hook.align.rng": translation noise and samples),
 *  and as metadata the step counter ("hook.steps"), every runtime parameter
 *  ("hook.param.<name>", the names of irllrec_hook_param_name()), the spec
 *  ("hook.spec.<field>") and the library version ("hook.lib_version"). A
 *  checkpoint without the Adam settings (beta1, beta2, eps, weight_decay:
 *  written since 0.2) keeps the hook's values. Every section is flagged
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

/* The hook across ranks: sharded hooks and data-parallel training. */
#include "hook_dist.h"

#endif /* IRLLREC_HOOK_H */
