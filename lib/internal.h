/* libirllrec internal declarations. Never installed.
 *
 * Every non-static function of the library is declared here (or in another
 * lib/ header) and starts with irllrec__ so the static archive exports no
 * symbol outside the library's namespace. */
#ifndef IRLLREC_INTERNAL_H
#define IRLLREC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include "irllrec/irllrec.h"

#define IRLLREC__ERRMSG_CAP 512

struct irllrec_ctx {
    irllrec_alloc_fn alloc;
    irllrec_free_fn free;
    void *alloc_ud;
    irllrec_log_fn log;
    void *log_ud;
    int32_t log_level;
    int32_t n_threads;
    /* Ranking kernel overrides for tests and benchmarks (lib/rank/kernel.h,
     * irllrec__ctx_set_rank_path): 0, 0 = the best path, fused scoring. */
    int32_t rank_isa_cap, rank_scorer;
    irllrec_status last_status;
    char errmsg[IRLLREC__ERRMSG_CAP];
};

/* ---- errors ---------------------------------------------------------- */

#if defined(__GNUC__) || defined(__clang__)
#define IRLLREC__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define IRLLREC__PRINTF(a, b)
#endif

/* Elementwise loops built for the x86-64 baseline also get copies for the
 * listed instruction sets (gcc on glibc/x86-64), picked at load time by an
 * ifunc. A loop may use it only when every copy does the same operations in
 * the same order (no FMA contraction in ISO C mode, fixed summation lanes),
 * so the copies give the same bits. Not under sanitizers: the ifunc resolver
 * runs during relocation, before a sanitizer runtime is up (TSan crashes). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__) && \
    !defined(__SANITIZE_THREAD__) && !defined(__SANITIZE_ADDRESS__) &&                       \
    !defined(IRLLREC_NO_TARGET_CLONES)
#define IRLLREC__CLONES(...) __attribute__((target_clones(__VA_ARGS__)))
#else
#define IRLLREC__CLONES(...)
#endif

/* Record "<func>: <message>" in ctx (may be NULL), log it, return st. */
irllrec_status irllrec__fail(irllrec_ctx *ctx, irllrec_status st, const char *func,
                             const char *fmt, ...) IRLLREC__PRINTF(4, 5);

/* Send a message to the log callback when level is enabled. */
void irllrec__log(irllrec_ctx *ctx, int32_t level, const char *fmt, ...) IRLLREC__PRINTF(3, 4);

/* The one error-macro family. Messages always start with the PUBLIC
 * function's name, never an internal helper's.
 *
 * IRL_CHECK: in the body of a public function; reports as __func__. */
#define IRL_CHECK(ctx, cond, st, ...)                                  \
    do {                                                               \
        if (!(cond)) return irllrec__fail((ctx), (st), __func__, __VA_ARGS__); \
    } while (0)

/* IRL_CHECK_FN: in a static helper that reports on behalf of the public
 * function fn (a const char *, usually passed down as `func`). */
#define IRL_CHECK_FN(ctx, fn, cond, st, ...)                           \
    do {                                                               \
        if (!(cond)) return irllrec__fail((ctx), (st), (fn), __VA_ARGS__); \
    } while (0)

/* IRL_TRY: propagate a failed status (the message is already recorded). */
#define IRL_TRY(expr)                                                  \
    do {                                                               \
        irllrec_status irl_st_ = (expr);                               \
        if (irl_st_ != IRLLREC_OK) return irl_st_;                     \
    } while (0)

/* The body of every *_spec_init: write the library's defaults over the
 * first min(struct_size, lib_size) bytes, zero any tail the library does not
 * know (a caller compiled against a newer header), and store the caller's
 * struct_size. Create then sees that size, so a newer caller who sets a
 * field this library lacks gets IRLLREC_E_VERSION instead of having it
 * silently ignored. Does nothing when struct_size < 4. */
void irllrec__spec_init(void *spec, uint32_t struct_size, const void *defaults, size_t lib_size);

/* Copy a caller's spec of size src->struct_size into dst (library size
 * dst_size) with the zero-extend / zero-tail rule. The first field of every
 * spec is uint32_t struct_size. */
irllrec_status irllrec__copy_spec(irllrec_ctx *ctx, const char *func, void *dst, size_t dst_size,
                                  const void *src);

/* The opening every *_create shares: refuse a NULL out (out_is_null), ctx or
 * spec, then irllrec__copy_spec. The caller sets *out = NULL first. */
irllrec_status irllrec__begin_create(irllrec_ctx *ctx, const char *func, int out_is_null,
                                     const void *spec, void *dst, size_t dst_size);

/* ---- memory ---------------------------------------------------------- */

/* 64-byte aligned allocation through the ctx allocator; NULL on failure or
 * n == 0. On failure records E_NOMEM as "<func>: allocation of N bytes
 * failed", func being the PUBLIC function the allocation serves. */
void *irllrec__alloc_fn(irllrec_ctx *ctx, const char *func, size_t n);
/* As irllrec__alloc_fn, zero-filled; count * size overflowing is E_NOMEM. */
void *irllrec__calloc_fn(irllrec_ctx *ctx, const char *func, size_t count, size_t size);
/* Release memory from irllrec__alloc_fn; p may be NULL. n must be the allocated size. */
void irllrec__free(irllrec_ctx *ctx, void *p, size_t n);

/* a*b into *out; returns 1 on overflow. */
int irllrec__mul_overflow(size_t a, size_t b, size_t *out);

/* ---- argument validation (lib/core/check.c) --------------------------
 * One owner, one mapping from defect to status (docs/error-handling.md):
 * NULL view or array, negative count, malformed CSR offsets, an index or id
 * out of range -> IRLLREC_E_INVALID_ARG; dimensions that disagree or
 * overflow -> IRLLREC_E_SHAPE; non-finite values -> IRLLREC_E_NUMERIC.
 * func is the PUBLIC function the message is reported for, name the
 * argument: "<func>: <name>...". */

/* Validate a matrix view: data non-NULL, rows/cols > 0 (rows may be 0 when
 * allow_empty), ld >= cols, rows*ld fits in size_t. */
irllrec_status irllrec__check_mat(irllrec_ctx *ctx, const char *func, const char *name,
                                  irllrec_mat m);

/* The library reads through irllrec_cmat and never writes it; internally a
 * read-only view is handled as a plain one, so every check has one form. */
static inline irllrec_mat irllrec__mat_of(irllrec_cmat c)
{
    irllrec_mat m;
    m.data = (float *)(uintptr_t)c.data;
    m.rows = c.rows;
    m.cols = c.cols;
    m.ld = c.ld;
    return m;
}
#define irllrec__check_cmat(ctx, func, name, c) irllrec__check_mat((ctx), (func), (name), irllrec__mat_of(c))

/* 1 when every element of x[0..n) / of the view is finite. Branch-free
 * over the elements, so the loop vectorises. */
int irllrec__all_finite(const float *x, int64_t n);
int irllrec__all_finite_d(const double *x, int64_t n);
int irllrec__all_finite_mat(irllrec_mat m);
/* IRLLREC_OK, or IRLLREC_E_NUMERIC recorded as "<func>: <name>[r][c] is not
 * finite" for the first non-finite element in row-major order. */
irllrec_status irllrec__check_finite_mat(irllrec_ctx *ctx, const char *func, const char *name,
                                         irllrec_mat m);

/* Validate a CSR view against its expected shape n_rows x n_cols:
 *   m NULL, nnz < 0, indptr NULL, indices NULL with nnz > 0   -> E_INVALID_ARG
 *   m->n_rows != n_rows or m->n_cols != n_cols                 -> E_SHAPE
 *   indptr[0] != 0, indptr decreasing, indptr[n_rows] != nnz   -> E_INVALID_ARG
 *   an index outside [0, n_cols)                               -> E_INVALID_ARG
 * e.g. "irllrec_evaluator_run: truth.indptr decreases at row 17".
 * Sorting within rows is not required. */
irllrec_status irllrec__check_csr(irllrec_ctx *ctx, const char *func, const char *name,
                                  const irllrec_csr *m, int64_t n_rows, int64_t n_cols);
/* irllrec__check_csr for a caller that reads only some rows: shape, nnz,
 * pointers and every offset as above, the indices of rows[0..n) only (rows
 * already checked in [0, n_rows); repeats allowed). rows == NULL checks
 * every row. The messages are irllrec__check_csr's. O(n_rows + the listed
 * rows' entries), so a one-user call does not scan a whole TRAIN split. */
irllrec_status irllrec__check_csr_rows(irllrec_ctx *ctx, const char *func, const char *name,
                                       const irllrec_csr *m, int64_t n_rows, int64_t n_cols,
                                       const int32_t *rows, int64_t n);
/* irllrec__check_csr, and every row strictly ascending (no duplicates), for
 * callers that binary-search rows; unsorted -> E_INVALID_ARG. */
irllrec_status irllrec__check_csr_sorted(irllrec_ctx *ctx, const char *func, const char *name,
                                         const irllrec_csr *m, int64_t n_rows, int64_t n_cols);

/* Validate n ids against [0, bound): n < 0, ids NULL with n > 0, or an id
 * out of range -> E_INVALID_ARG, e.g. "irllrec_hook_step: users[3] = 12 not
 * in [0, 10)" or "...: users is NULL". n == 0 accepts ids == NULL. */
irllrec_status irllrec__check_ids(irllrec_ctx *ctx, const char *func, const char *name,
                                  const int32_t *ids, int64_t n, int64_t bound);

/* ---- parameter blocks ----------------------------------------------- */

/* Every trainable module publishes its parameters as a list of blocks. The
 * hook's optimizer, the EMA teacher and the model file all walk such lists
 * and never special-case a module. data and grad are owned by the module;
 * name is a stable identifier such as "mlp.0.weight" (it becomes a section
 * name in model files, so at most 47 bytes). */
typedef struct irllrec__param {
    char name[48];
    float *data;
    float *grad;   /* NULL for parameters that never receive gradients (EMA teacher) */
    int64_t rows;
    int64_t cols;  /* element count = rows * cols */
} irllrec__param;

/* ---- random numbers (xoshiro256**) ---------------------------------- */

typedef struct irllrec__rng {
    uint64_t s[4];
} irllrec__rng;

void irllrec__rng_seed(irllrec__rng *r, uint64_t seed, uint64_t stream);
uint64_t irllrec__rng_next(irllrec__rng *r);
uint64_t irllrec__rng_below(irllrec__rng *r, uint64_t n);
double irllrec__rng_uniform(irllrec__rng *r);
double irllrec__rng_normal(irllrec__rng *r);
/* Box-Muller from the two uniforms irllrec__rng_normal draws, in its order:
 * u1 = 1 - uniform (so log's argument is in (0, 1]), then u2 = uniform. The
 * one formula, so a caller that draws the uniforms first and transforms them
 * later (in parallel) gets irllrec__rng_normal's bits. */
double irllrec__normal_from(double u1, double u2);

/* The one rule for an RNG state from outside (a caller or a file): 1 unless
 * state is NULL or all zero (the all-zero state is a fixed point of
 * xoshiro256**; no seeded generator reaches it). Readers of files report a
 * failure as E_FORMAT themselves; arguments use the two calls below. */
int irllrec__rng_state_valid(const uint64_t state[4]);
/* E_INVALID_ARG "<func>: state is NULL" / "<func>: state is all zero (...)". */
irllrec_status irllrec__rng_check_state(irllrec_ctx *ctx, const char *func,
                                        const uint64_t state[4]);
/* irllrec__rng_check_state, then copy state into *r; *r unchanged on failure. */
irllrec_status irllrec__rng_set_state(irllrec_ctx *ctx, const char *func, irllrec__rng *r,
                                      const uint64_t state[4]);
/* Stream ids for irllrec__rng_seed: lib/core/streams.h. */

/* ---- dense products -------------------------------------------------- */

/* Row-major C = alpha * op(A) * op(B) + beta * C, op(X) = X or X^T.
 * C is m x n, op(A) m x k, op(B) k x n. CBLAS or the reference loop. */
void irllrec__sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                    const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                    float *c, int64_t ldc);

/* ---- small helpers ------------------------------------------------------ */

/* Monotonic seconds (CLOCK_MONOTONIC, lib/core/clock.c): the library's one
 * clock, for timing laps. Only differences mean anything; 0.0 if the clock
 * is unavailable. */
double irllrec__now(void);

/* 1 if v is in the ascending array row[0..n), by binary search. */
int irllrec__sorted_contains(const int32_t *row, int64_t n, int32_t v);

/* ---- threads ------------------------------------------------------------ */

/* Run fn(ud, t, n_threads) for t = 0..n_threads-1, t = 0 on the calling
 * thread. A thread that cannot start has its share run on the calling thread
 * (with a warning in the log), so the work is always done exactly once and
 * the call returns IRLLREC_OK. */
typedef void (*irllrec__task_fn)(void *ud, int32_t t, int32_t n_threads);
irllrec_status irllrec__parallel(irllrec_ctx *ctx, int32_t n_threads, irllrec__task_fn fn,
                                 void *ud);

/* Static contiguous share [*lo, *hi) of n items for thread t of nt. */
void irllrec__share(int64_t n, int32_t t, int32_t nt, int64_t *lo, int64_t *hi);

/* ---- sizes before create ------------------------------------------------ */

/* Bytes a handle takes from the allocator, computed from its spec alone by
 * the same rules its create uses (the hook's memory estimate adds them up;
 * tests/test_hook_api.c holds them to a counting allocator). */
int64_t irllrec__align_bytes(const irllrec_align_spec *spec, int32_t n_threads);
/* Exact translation by reduction chunks (lib/hook/reduce.c): rows row0 ..
 * of the N rows of y in x, chunk g = x's rows [cuts[g], cuts[g+1]); every
 * chunk's fp32 dY partial is added in double into dyd, which holds
 * min(threads, n_slices) x N x d doubles (the sum ends in its first N x d).
 * dy.data NULL: dY waits for irllrec__align_translation_finish(h, dyd, dy),
 * called after the caller's own sums of dyd (another rank's chunks). */
irllrec_status irllrec__align_translation_chunked(irllrec_align *h, irllrec_mat x, int64_t row0,
                                                 irllrec_mat y, const int64_t *cuts,
                                                 int64_t n_cuts, double *dyd, irllrec_mat dx,
                                                 irllrec_mat dy, double *loss);
irllrec_status irllrec__align_translation_finish(irllrec_align *h, const double *dyd,
                                                irllrec_mat dy);
int64_t irllrec__adam_bytes(int32_t n_blocks, int64_t total_floats);

#endif /* IRLLREC_INTERNAL_H */
