/* Blocked, fused softmax cross-entropy over cosine logits (see engine.h).
 *
 * One row block at a time: sweep 1 forms the logits of each column block with
 * sgemm, exponentiates them in place and adds up the row sums; the head turns
 * the sums into the loss and gradient coefficients; sweep 2 scales the
 * exponentials into dL/dlogit and pushes them through two more sgemms. When a
 * row block spans all columns in one block (the usual case: the buffer is
 * block_rows x n_cols), sweep 2 reuses sweep 1's exponentials, so every logit
 * is exponentiated once; otherwise sweep 2 recomputes the block. */
#include <math.h>
#include <string.h>
#include "engine.h"
#include "xent_exp.h"
#include "../ops/ops.h"
#include "xent_fused.h"

/* When every logit lies in [-inv_tau, inv_tau] (normalised rows, |cos| <= 1)
 * the constant shift M = inv_tau is a max: exp(t - M) <= ~1 never overflows,
 * and if the range 2*inv_tau is below this bound nothing underflows to zero
 * either (e^-80 ~ 1.8e-35 is a normal float), so no per-row max pass is
 * needed. Larger ranges (tau < 0.025) fall back to a streaming row max. */
#define XENT_FIXED_SHIFT_RANGE 80.0f

/* The exponential pass is a fifth to a third of the work: besides the
 * x86-64 baseline (SSE2, 4 lanes) it gets an AVX2 copy (8 lanes), the same
 * bits (IRLLREC__CLONES, lib/internal.h). */
#define XENT_CLONES IRLLREC__CLONES("avx2", "default")

#if defined(__GNUC__)
#define XENT_INLINE static inline __attribute__((always_inline))
#else
#define XENT_INLINE static inline
#endif

static float max_f(const float *x, int64_t n)
{
    float m = x[0];
    for (int64_t j = 1; j < n; j++) m = x[j] > m ? x[j] : m;
    return m;
}

/* The sum runs in double over eight fixed lanes, fused with the exponential:
 * an in-order double reduction would not vectorise (no reassociation without
 * -ffast-math) and would be latency-bound; fixed lanes keep it deterministic.
 * With column multiplicities c, x_j becomes c_j exp(x_j - shift), the term
 * both the sum and the backward sweep (dC = alpha * x) need, so a repeated
 * column costs one logit instead of c_j. Inlined twice below so that the
 * c == NULL loop carries no multiply and no branch. */
XENT_INLINE double exp_sum_body(float *restrict x, int64_t n, float shift,
                                const float *restrict c)
{
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0}, tail = 0.0;
    int64_t j = 0;
    for (; j + 8 <= n; j += 8)
        for (int l = 0; l < 8; l++) {
            float e = irllrec__exp_nonpos(x[j + l] - shift);
            if (c) e *= c[j + l];
            x[j + l] = e;
            acc[l] += (double)e;
        }
    for (; j < n; j++) {
        float e = irllrec__exp_nonpos(x[j] - shift);
        if (c) e *= c[j];
        x[j] = e;
        tail += (double)e;
    }
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) +
           tail;
}

/* static, because gcc gives the ifunc resolver of a non-static clone default
 * visibility, which would leak an internal symbol from the shared object. */
XENT_CLONES static double xent_exp_sum(float *restrict x, int64_t n, float shift,
                                       const float *restrict c)
{
    return c ? exp_sum_body(x, n, shift, c) : exp_sum_body(x, n, shift, NULL);
}

double irllrec__xent_exp_sum(float *x, int64_t n, float shift)
{
    return xent_exp_sum(x, n, shift, NULL);
}

int64_t irllrec__xent_thread_floats(int64_t block_rows, int64_t block_cols, int64_t d)
{
    /* the logit block, then alpha-scaled rows of xn; rounded to 64 bytes */
    return (block_rows * block_cols + block_rows * d + 15) & ~(int64_t)15;
}

static int64_t target_of(const irllrec__xent *jb, int64_t row)
{
    return jb->target ? (int64_t)jb->target[row] : row;
}

int irllrec__xent_fixed_shift(const irllrec__xent *jb)
{
    return 2.0f * jb->inv_tau <= XENT_FIXED_SHIFT_RANGE;
}

/* Width of the column tiles every sgemm call works on: rows * width * d stays
 * at or below 2^18, the size up to which OpenBLAS runs a product on the
 * calling thread (interface/gemm.c: MNK <= SMP_THRESHOLD_MIN *
 * GEMM_MULTITHREAD_THRESHOLD = 65536 * 4). The context's threads then never
 * stack on top of a BLAS thread pool (measured ~10x slower when they do), the
 * library still never touches the BLAS thread setting, and a tile of fresh
 * logits (32 x 256 floats) is still in L1/L2 when it is exponentiated. */
#define XENT_TILE_MNK 262144

static int64_t tile_width(const irllrec__xent *jb)
{
    int64_t w = XENT_TILE_MNK / (jb->block_rows * (int64_t)jb->d);
    w &= ~(int64_t)15;
    return w < 64 ? 64 : w;
}

/* One tile: logits of rows [r0, r0+rr) x columns [c, c+w) into tile (ld ld),
 * then exponentials in place. With add_sums (sweep 1) the row sums are
 * accumulated (and the streaming max kept); otherwise (recomputing in sweep
 * 2) the final shifts are used. */
static void tile_fwd(const irllrec__xent *jb, int64_t r0, int64_t rr, int64_t c, int64_t w,
                     float *tile, int64_t ld, int add_sums)
{
    const int64_t d = jb->d;
    double *shift = jb->row_aux, *den = shift + jb->n_rows;
    const int fixed = irllrec__xent_fixed_shift(jb);
    irllrec__sgemm(0, 1, rr, w, d, jb->inv_tau, jb->xn + r0 * d, d, jb->yn + c * d, d, 0.0f, tile,
                   ld);
    for (int64_t i = 0; i < rr; i++) {
        float *row = tile + i * ld;
        const int64_t g = r0 + i;
        double sum;
        if (add_sums && !fixed) {
            /* Streaming max: rescale the partial sum when the max grows. */
            const double bm = (double)max_f(row, w);
            if (bm > shift[g]) {
                den[g] *= exp(shift[g] - bm);
                shift[g] = bm;
            }
        }
        sum = xent_exp_sum(row, w, (float)shift[g], jb->col_weight ? jb->col_weight + c : NULL);
        if (add_sums) den[g] += sum;
    }
}

void irllrec__xent_rows_init(const irllrec__xent *jb, int64_t r0, int64_t rr, int fixed)
{
    double *shift = jb->row_aux, *den = shift + jb->n_rows, *tlog = den + jb->n_rows;
    const int64_t d = jb->d;
    for (int64_t i = r0; i < r0 + rr; i++) {
        /* The target logit in double: it enters the loss directly, and the
         * float rounding of a GEMM's or a tile's dot would dominate the
         * loss's noise. */
        const float *xi = jb->xn + i * d, *yt = jb->yn + target_of(jb, i) * d;
        double dot = 0.0;
        for (int64_t k = 0; k < d; k++) dot += (double)xi[k] * (double)yt[k];
        tlog[i] = (double)jb->inv_tau * dot;
        shift[i] = fixed ? (double)jb->inv_tau : -HUGE_VAL;
        den[i] = 0.0;
    }
}

/* Sweep 1: shift M_i, den_i = sum_j exp(t_ij - M_i) and the target logit. */
static void forward_block(const irllrec__xent *jb, int64_t r0, int64_t rr, float *blk)
{
    const int fixed = irllrec__xent_fixed_shift(jb);
    const int64_t tw = tile_width(jb);
    irllrec__xent_rows_init(jb, r0, rr, fixed);
    for (int64_t c0 = 0; c0 < jb->n_cols; c0 += jb->block_cols) {
        const int64_t cc = jb->n_cols - c0 < jb->block_cols ? jb->n_cols - c0 : jb->block_cols;
        for (int64_t c = c0; c < c0 + cc; c += tw) {
            const int64_t w = c0 + cc - c < tw ? c0 + cc - c : tw;
            tile_fwd(jb, r0, rr, c, w, blk + (c - c0), cc, 1);
        }
    }
}

/* Per-row loss and the coefficients of dC_ij = alpha_i e'_ij - beta_i [j = tgt],
 * e'_ij = exp(t_ij - M_i), taken w.r.t. the cosine (hence the inv_tau). The
 * derivations are in docs/math-align.md. */
void irllrec__xent_head(const irllrec__xent *jb, int64_t r0, int64_t rr)
{
    const int64_t n = jb->n_rows;
    const double *shift = jb->row_aux, *den = shift + n, *tlog = den + n;
    double *alpha = jb->row_aux + 3 * n, *beta = alpha + n;
    const double it = (double)jb->inv_tau;
    const double eps = 1e-8, log_eps = log(1e-8);
    for (int64_t g = r0; g < r0 + rr; g++) {
        const double s = jb->row_weight ? jb->scale * (double)jb->row_weight[g] : jb->scale;
        if (jb->kind == IRLLREC__XENT_INFONCE) {
            /* L_i = s (M + log den - t_tgt);  dL/dt_ij = s (e'_ij/den - [j = tgt]) */
            jb->row_loss[g] = s * (shift[g] + log(den[g]) - tlog[g]);
            alpha[g] = s * it / den[g];
            beta[g] = s * it;
        } else {
            /* Denominator sum_j e^t_ij + eps = e^(M + D), D = log(den + eps e^-M),
             * formed as a log-add so e^-M cannot overflow; den >= ~e^-80 here.
             * q = e^(t_ii - M - D);  L_i = -s log(q + eps);
             * dL/dt_ij = s w (e'_ij e^-D - [j = i]),  w = q / (q + eps). */
            const double a = log(den[g]), b = log_eps - shift[g];
            const double hi = a > b ? a : b, lo = a > b ? b : a;
            const double dd = hi + log1p(exp(lo - hi));
            const double q = exp(tlog[g] - shift[g] - dd);
            const double w = q / (q + eps);
            jb->row_loss[g] = -s * log(q + eps);
            beta[g] = s * it * w;
            alpha[g] = beta[g] * exp(-dd);
        }
    }
}

/* Sweep 2: dxn[rows] = dC yn, dyp += dC^T xn[rows]. With dC = diag(alpha) E -
 * beta [target], the row scale alpha is applied to the small operands (the
 * R x d result and a scaled copy of xn[rows]) instead of to the R x cols
 * block: one pass less over the largest buffer. */
static void backward_block(const irllrec__xent *jb, int64_t r0, int64_t rr, float *blk,
                           float *xs, float *dyp)
{
    const int64_t n = jb->n_rows, d = jb->d, tw = tile_width(jb);
    const double *alpha = jb->row_aux + 3 * n;
    const int recompute = jb->n_cols > jb->block_cols;
    for (int64_t i = 0; i < rr; i++)
        for (int64_t k = 0; k < d; k++)
            xs[i * d + k] = (float)alpha[r0 + i] * jb->xn[(r0 + i) * d + k];
    for (int64_t c0 = 0; c0 < jb->n_cols; c0 += jb->block_cols) {
        const int64_t cc = jb->n_cols - c0 < jb->block_cols ? jb->n_cols - c0 : jb->block_cols;
        for (int64_t c = c0; c < c0 + cc; c += tw) {
            const int64_t w = c0 + cc - c < tw ? c0 + cc - c : tw;
            float *tile = blk + (c - c0);
            if (recompute) tile_fwd(jb, r0, rr, c, w, tile, cc, 0);
            irllrec__sgemm(0, 0, rr, d, w, 1.0f, tile, cc, jb->yn + c * d, d,
                           c == 0 ? 0.0f : 1.0f, jb->dxn + r0 * d, d);
            irllrec__sgemm(1, 0, w, d, rr, 1.0f, tile, cc, xs, d, 1.0f, dyp + c * d, d);
        }
    }
    irllrec__xent_target_fixup(jb, r0, rr, dyp, 1);
}

void irllrec__xent_target_fixup(const irllrec__xent *jb, int64_t r0, int64_t rr, float *dyp,
                                int scale_dx)
{
    const int64_t n = jb->n_rows, d = jb->d;
    const double *alpha = jb->row_aux + 3 * n, *beta = alpha + n;
    for (int64_t g = r0; g < r0 + rr; g++) {
        const int64_t t = target_of(jb, g);
        const float a = scale_dx ? (float)alpha[g] : 1.0f, b = (float)beta[g];
        float *restrict dx = jb->dxn + g * d, *restrict dy = dyp + t * d;
        const float *restrict xr = jb->xn + g * d, *restrict yr = jb->yn + t * d;
        for (int64_t k = 0; k < d; k++) dx[k] = a * dx[k] - b * yr[k];
        for (int64_t k = 0; k < d; k++) dy[k] -= b * xr[k];
    }
}

void irllrec__xent_slices_of(const irllrec__xent *jb, int32_t t, int32_t nt, int64_t *g0,
                             int64_t *g1)
{
    irllrec__share(jb->cuts ? jb->n_cuts : jb->n_slices, t, nt, g0, g1);
}

float *irllrec__xent_slice_begin(const irllrec__xent *jb, int32_t t, int64_t g, int64_t *lo,
                                 int64_t *hi)
{
    const int64_t stride = jb->n_cols * jb->d;
    float *dyp = jb->dyn + (jb->cuts ? t : g) * stride;
    if (jb->cuts) {
        *lo = jb->cuts[g];
        *hi = jb->cuts[g + 1];
    } else {
        irllrec__share(jb->n_rows, (int32_t)g, jb->n_slices, lo, hi);
    }
    if (jb->need_grad) memset(dyp, 0, (size_t)stride * sizeof(float));
    return dyp;
}

void irllrec__xent_slice_end(const irllrec__xent *jb, int32_t t, float *dyp)
{
    const int64_t stride = jb->n_cols * jb->d;
    if (jb->cuts && jb->need_grad) irllrec__vadd_d(jb->dyd + t * stride, dyp, stride);
}

/* Thread t runs whole slices; slice g owns rows share(n_rows, g, n_slices)
 * (or chunk g's) and its own partial, so the order of every floating-point
 * operation is fixed by the slicing, never by the thread count. */
static void slice_task(void *ud, int32_t t, int32_t nt)
{
    const irllrec__xent *jb = (const irllrec__xent *)ud;
    float *blk = jb->blk + (int64_t)t * irllrec__xent_thread_floats(jb->block_rows, jb->block_cols, jb->d);
    float *xs = blk + jb->block_rows * jb->block_cols;
    int64_t g0, g1;
    irllrec__xent_slices_of(jb, t, nt, &g0, &g1);
    for (int64_t g = g0; g < g1; g++) {
        int64_t lo, hi;
        float *dyp = irllrec__xent_slice_begin(jb, t, g, &lo, &hi);
        for (int64_t r0 = lo; r0 < hi; r0 += jb->block_rows) {
            const int64_t rr = hi - r0 < jb->block_rows ? hi - r0 : jb->block_rows;
            forward_block(jb, r0, rr, blk);
            irllrec__xent_head(jb, r0, rr);
            if (jb->need_grad) backward_block(jb, r0, rr, blk, xs, dyp);
        }
        irllrec__xent_slice_end(jb, t, dyp);
    }
}

/* dyn[0] += dyn[1] + ... in slice order (chunked: dyd[0] += dyd[1] + ...
 * in thread order, in double), columns split over threads. */
static void reduce_task(void *ud, int32_t t, int32_t nt)
{
    const irllrec__xent *jb = (const irllrec__xent *)ud;
    const int64_t stride = jb->n_cols * jb->d;
    int64_t lo, hi;
    irllrec__share(stride, t, nt, &lo, &hi);
    if (jb->cuts) {
        for (int32_t g = 1; g < jb->n_threads; g++) {
            double *restrict acc = jb->dyd;
            const double *restrict part = jb->dyd + g * stride;
            for (int64_t k = lo; k < hi; k++) acc[k] += part[k];
        }
        return;
    }
    for (int32_t g = 1; g < jb->n_slices; g++) {
        float *restrict acc = jb->dyn;
        const float *restrict part = jb->dyn + g * stride;
        for (int64_t k = lo; k < hi; k++) acc[k] += part[k];
    }
}

void irllrec__xent_run(irllrec_ctx *ctx, irllrec__xent *job)
{
    if (job->cuts && job->need_grad)
        memset(job->dyd, 0, (size_t)(job->n_threads * job->n_cols * job->d) * sizeof(double));
    const int path = irllrec__xent_path();
    if (path >= 0 && irllrec__xent_fused_run(ctx, job, path)) return;
    irllrec__xent_run_reference(ctx, job);
}

void irllrec__xent_run_reference(irllrec_ctx *ctx, irllrec__xent *job)
{
    (void)irllrec__parallel(ctx, job->n_threads, slice_task, job);
    irllrec__xent_reduce_slices(ctx, job);
}

void irllrec__xent_reduce_slices(irllrec_ctx *ctx, irllrec__xent *job)
{
    if (job->need_grad && (job->cuts ? job->n_threads : job->n_slices) > 1)
        (void)irllrec__parallel(ctx, job->n_threads, reduce_task, job);
}
