/* Blocked softmax cross-entropy over cosine logits: the engine behind the
 * alignment losses (lib/align/align.c). Never installed.
 *
 * Rows x_i and columns y_j are already L2-normalised (ld = d). The logits
 * t_ij = inv_tau * <x_i, y_j> are produced block by block with sgemm and never
 * held for more than block_rows x block_cols at a time. Every row i has one
 * target column tgt(i). Per row the engine forms
 *   den_i = sum_j exp(t_ij - M_i)           (double)
 * where M_i is a shift that is >= every t_ij up to rounding (see engine.c)
 * (with column multiplicities c_j every term is c_j exp(t_ij - M_i)),
 * then a "head" turns (t_i,tgt(i), M_i, den_i) into the row's loss and the
 * two coefficients of its logit gradient
 *   dL/dx-logit:  dC_ij = alpha_i * exp(t_ij - M_i) - beta_i * [j == tgt(i)]
 * (with row weights w_i the row's s is s * w_i)
 * (already multiplied by inv_tau, i.e. taken w.r.t. the cosine), and the
 * backward sweep accumulates dxn = dC yn and dyn = dC^T xn. */
#ifndef IRLLREC_ALIGN_ENGINE_H
#define IRLLREC_ALIGN_ENGINE_H

#include "../internal.h"

enum irllrec__xent_kind {
    IRLLREC__XENT_INFONCE = 1, /* loss_i = s * (logsumexp_j t_ij - t_i,tgt) */
    IRLLREC__XENT_TRAN = 2     /* loss_i = -s * log(e^t_ii / (sum_j e^t_ij + 1e-8) + 1e-8) */
};

typedef struct irllrec__xent {
    /* problem */
    const float *xn;        /* n_rows x d, ld = d */
    const float *yn;        /* n_cols x d, ld = d */
    int64_t n_rows, n_cols;
    int32_t d;
    int32_t kind;           /* enum irllrec__xent_kind */
    const int32_t *target;  /* n_rows column ids; NULL: row i targets column i */
    float inv_tau;          /* > 0 */
    double scale;           /* s above */
    const float *row_weight; /* n_rows factors of s, finite and >= 0 (NULL: all 1) */
    const float *col_weight; /* n_cols multiplicities c_j > 0 of the columns in every
                              * row's sum (INFONCE only; NULL: all 1): den_i =
                              * sum_j c_j exp(t_ij - M_i). */
    int32_t need_grad;      /* 0: loss only (no backward sweep; dxn, dyn untouched) */
    /* blocking: fixed at create, never derived from the thread count */
    int64_t block_rows, block_cols;
    int32_t n_slices;       /* row slices, each with its own dyn partial */
    int32_t n_threads;
    /* workspace, owned by the caller of the engine */
    float *blk;             /* n_threads * irllrec__xent_thread_floats(...) */
    double *row_loss;       /* n_rows: loss of each row (already scaled) */
    double *row_aux;        /* 5 * n_rows: shift M, den, target logit, alpha, beta */
    float *dxn;             /* n_rows x d: overwritten with dL/dxn */
    float *dyn;             /* n_slices x n_cols x d: slice 0 ends holding dL/dyn */
    /* Chunked (cuts != NULL): the slices are the rows [cuts[g], cuts[g+1]) of
     * the n_cuts chunks; thread t forms each of its chunks' fp32 partial in
     * dyn + t * n_cols * d and adds it into dyd + t * n_cols * d (double);
     * dyd[0] ends holding the sum over every chunk in double and dyn is left
     * to the caller. n_threads <= n_slices then. */
    const int64_t *cuts;
    int64_t n_cuts;
    double *dyd;            /* n_threads x n_cols x d */
    float *ypack;           /* irllrec__xent_pack_floats(n_cols, d, n_threads) floats for the
                             * fused path (xent_fused.h); NULL: reference path only */
    int64_t keep_rows;      /* fused path: rows whose exponentials are kept between the
                             * sweeps; 0: irllrec__xent_keep_rows(n_cols), < 0: none
                             * (recomputed); capped at that count. Bits never depend on it. */
    int32_t bf16;           /* fused AVX-512 path on a CPU with AVX512-BF16 (else ignored),
                             * an irllrec_align_precision: 1 the logits of the sums from
                             * bf16-rounded rows and columns (products exact, sums fp32;
                             * target logits, backward and outputs fp32); 2 also the
                             * backward's products (G, rows and columns in bf16, sums
                             * fp32). Needs xpairs. */
    uint32_t *xpairs;       /* n_threads * irllrec__xent_pair_words(d) words, or NULL */
} irllrec__xent;

/* Forward and backward in one call: fills row_loss, and with need_grad dxn and
 * dyn[0 .. n_cols*d). Runs the fused kernels (xent_fused.h) of the best
 * instruction set where that is AVX2 or AVX-512 (BLAS builds), else the
 * reference path below; the environment variable IRLLREC_XENT overrides: "reference",
 * "fused" (the best the CPU runs), "avx512", "avx2", "c" (capped at what the
 * CPU runs). Jobs the fused path declines run the reference
 * (docs/math-align.md). */
void irllrec__xent_run(irllrec_ctx *ctx, irllrec__xent *job);

/* The path irllrec__xent_run takes now: -1 reference, else an
 * irllrec__xent_isa (for jobs the fused path accepts). Reads IRLLREC_XENT. */
int irllrec__xent_path(void);

/* The reference path: sgemm blocks of logits (below).
 * Row blocks are spread over job->n_threads threads by whole slices, so the
 * bits of every output depend on the blocking and n_slices but not on the
 * thread count (given a deterministic sgemm). Never fails, never allocates. */
void irllrec__xent_run_reference(irllrec_ctx *ctx, irllrec__xent *job);

/* Pieces both paths share (engine.c). rows_init: target logits, shifts
 * (inv_tau if fixed, else -inf) and zero sums of rows [r0, r0+rr); head: the
 * rows' loss, alpha and beta from their sums; target_fixup: the -beta [j =
 * tgt] part of dC into dxn (after dxn *= alpha if scale_dx) and into the
 * slice partial dyp; reduce_slices: dyn[0] += the other slices' partials. */
int irllrec__xent_fixed_shift(const irllrec__xent *jb);
void irllrec__xent_rows_init(const irllrec__xent *jb, int64_t r0, int64_t rr, int fixed);
void irllrec__xent_head(const irllrec__xent *jb, int64_t r0, int64_t rr);
void irllrec__xent_target_fixup(const irllrec__xent *jb, int64_t r0, int64_t rr, float *dyp,
                                int scale_dx);
void irllrec__xent_reduce_slices(irllrec_ctx *ctx, irllrec__xent *job);
/* Slice g of thread t: its rows [*lo, *hi) and the partial it adds into
 * (zeroed here); slice_end adds a chunked slice's partial into dyd. */
float *irllrec__xent_slice_begin(const irllrec__xent *jb, int32_t t, int64_t g, int64_t *lo,
                                 int64_t *hi);
void irllrec__xent_slice_end(const irllrec__xent *jb, int32_t t, float *dyp);
/* The slices thread t of nt runs. */
void irllrec__xent_slices_of(const irllrec__xent *jb, int32_t t, int32_t nt, int64_t *g0,
                             int64_t *g1);

/* Scratch floats one thread needs (block of logits plus a scaled row copy). */
int64_t irllrec__xent_thread_floats(int64_t block_rows, int64_t block_cols, int64_t d);

/* exp(x[j] - shift) for j < n, in place, for x[j] - shift <= ~0; values
 * below -87 give 0. Relative error ~1.3e-7 (1-2 ulp). Returns the sum in
 * double. Exposed for the tests. */
double irllrec__xent_exp_sum(float *x, int64_t n, float shift);

#endif /* IRLLREC_ALIGN_ENGINE_H */
