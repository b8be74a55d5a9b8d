/* Finite-difference gradient checker shared by every test that checks a
 * hand-written backward (STYLE.md section 6).
 *
 * Usage:
 *   1. Run the forward and backward of the code under test once and keep the
 *      analytic gradients in buffers the loss closure will NOT overwrite
 *      (copy them out if the module accumulates into its own grad buffers and
 *      the closure re-runs backward).
 *   2. Write a closure `double loss(void *ud)` that re-runs the forward from
 *      the CURRENT contents of the parameter/input buffers and returns a
 *      scalar (e.g. sum_ij w_ij * out_ij with fixed random weights w, whose
 *      analytic gradient w.r.t. out is w itself).
 *   3. Describe each differentiated buffer as a gc_block {name, x, grad, n}
 *      and call gc_check().
 *
 * For each sampled coordinate x_j of a block the checker
 *   - sets h = rel_step * max(1, |x_j|) (rel_step default 1e-3),
 *   - evaluates L+ = loss at (float)(x_j + h), then L- = loss at (float)(x_j - h),
 *   - restores x_j bit-exactly,
 *   - calls the optional skip predicate (see gc_skip_fn): a skipped coordinate
 *     is counted but not compared,
 *   - g_num = (L+ - L-) / ((float)(x_j + h) - (float)(x_j - h)): the step that
 *     was actually representable in float32, not 2h,
 *   - err = |g_num - g_ana| / max(1e-12, |g_num| + |g_ana|); the coordinate
 *     passes when err < tol OR |g_num - g_ana| < abs_floor (gradients that are
 *     ~0 analytically cannot be checked relatively against float32 noise).
 * Blocks with n <= max_coords are checked completely; larger ones at
 * max_coords distinct-or-not indices drawn from a seeded generator, so a
 * failing run is reproducible.
 *
 * The result reports the worst relative error among compared coordinates
 * that FAILED the floor test (or the worst overall when none failed) with its
 * block, index, numeric and analytic values, ready for a ck_assert message. */
#ifndef IRLLREC_TEST_GRADCHECK_H
#define IRLLREC_TEST_GRADCHECK_H

#include <stdint.h>

/* Scalar loss evaluated at the current buffer contents. */
typedef double (*gc_loss_fn)(void *ud);

/* Optional skip predicate, called after L+ and L- were evaluated for
 * coordinate `index` of block `block` (x already restored). Return non-zero
 * to skip the coordinate, e.g. when the closure recorded that a LeakyReLU
 * pre-activation changed sign between the two evaluations (a kink lies
 * inside [x-h, x+h], so the central difference is meaningless there). */
typedef int (*gc_skip_fn)(void *ud, int block, int64_t index);

typedef struct gc_block {
    const char *name;     /* for messages */
    float *x;             /* perturbed in place, restored exactly */
    const float *grad;    /* analytic dL/dx, n entries (dense, same indexing as x) */
    int64_t n;            /* number of entries */
} gc_block;

typedef struct gc_opts {
    double tol;           /* relative tolerance (default 1e-2) */
    double abs_floor;     /* absolute pass floor (default 1e-5) */
    double rel_step;      /* h = rel_step * max(1,|x|) (default 1e-3) */
    int64_t max_coords;   /* coordinates per block (default 2000) */
    uint64_t seed;        /* sampling seed (default 1) */
    gc_skip_fn skip;      /* NULL: never skip */
    void *skip_ud;        /* passed to skip (often the loss ud) */
} gc_opts;

typedef struct gc_result {
    int ok;               /* 1 when every compared coordinate passed */
    double worst_err;     /* worst relative error (see above) */
    int worst_block;      /* -1 when nothing was compared */
    int64_t worst_index;
    double worst_num, worst_ana;
    int64_t n_checked;    /* compared coordinates */
    int64_t n_skipped;    /* skipped by the predicate */
    int64_t n_failed;
    char msg[256];        /* "block W1[17]: num 0.1 ana 0.2 err 0.33 (3 of 400 failed)" */
} gc_result;

/* Defaults as documented in gc_opts. */
void gc_opts_default(gc_opts *o);

/* Check every block; opts may be NULL (defaults). Returns res->ok. */
int gc_check(gc_loss_fn loss, void *ud, const gc_block *blocks, int n_blocks,
             const gc_opts *opts, gc_result *res);

#endif
