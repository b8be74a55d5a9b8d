/* Translation alignment (DESIGN.md section 4(d)): the exact N x N loss, the
 * loss with caller-given noise, the sampled approximation, and one row block
 * of the exact loss (for a rank that owns those rows, docs/distributed.md).
 * Every variant draws its noise here, so they all see the same numbers for
 * the same generator state. */
#include <math.h>
#include <string.h>
#include "align_impl.h"

typedef struct noise_job {
    const double *u; /* 2 n uniforms, (u1, u2) per normal */
    float *out;
    int64_t n;
} noise_job;

static void noise_task(void *ud, int32_t t, int32_t nt)
{
    const noise_job *j = (const noise_job *)ud;
    int64_t lo, hi;
    irllrec__share(j->n, t, nt, &lo, &hi);
    for (int64_t i = lo; i < hi; i++)
        j->out[i] = (float)irllrec__normal_from(j->u[2 * i], j->u[2 * i + 1]);
}

/* count normals into out, exactly irllrec__rng_normal's sequence: the
 * uniforms of a chunk in order here, their log, cos and sqrt (nine tenths of
 * the cost) on every thread. */
static void draw_normals(irllrec_align *h, int64_t count, float *out)
{
    for (int64_t k0 = 0; k0 < count; k0 += ALIGN_NOISE_CHUNK) {
        noise_job j = {h->unif, out + k0, count - k0};
        if (j.n > ALIGN_NOISE_CHUNK) j.n = ALIGN_NOISE_CHUNK;
        for (int64_t i = 0; i < j.n; i++) {
            h->unif[2 * i] = 1.0 - irllrec__rng_uniform(&h->rng);
            h->unif[2 * i + 1] = irllrec__rng_uniform(&h->rng);
        }
        /* a short chunk (a few rows' noise, the hook's sampled calls) costs
         * less inline than the threads' start would */
        if (h->n_threads > 1 && j.n >= ALIGN_NOISE_CHUNK / 8)
            (void)irllrec__parallel(h->ctx, h->n_threads, noise_task, &j);
        else
            noise_task(&j, 0, 1);
    }
}

static void draw_noise(irllrec_align *h, int64_t count, float *eps1, float *eps2)
{
    draw_normals(h, count, eps1);
    draw_normals(h, count, eps2);
}


/* Shared validation of the two N x dim inputs and outputs. */
static irllrec_status check_pair(irllrec_align *h, const char *func, irllrec_mat x, irllrec_mat y,
                                 irllrec_mat dx, irllrec_mat dy)
{
    IRL_TRY(irllrec__align_check_input(h, func, "x", x, h->spec.max_rows));
    IRL_TRY(irllrec__align_check_input(h, func, "y", y, h->spec.max_cols));
    if (x.rows != y.rows)
        return irllrec__fail(h->ctx, IRLLREC_E_SHAPE, func, "x has %lld rows, y has %lld",
                             (long long)x.rows, (long long)y.rows);
    IRL_TRY(irllrec__align_check_output(h, func, "dx", dx, x.rows));
    IRL_TRY(irllrec__align_check_output(h, func, "dy", dy, y.rows));
    return IRLLREC_OK;
}

/* The same for a row block: x holds rows row0 .. of the N rows of y. */
static irllrec_status check_block(irllrec_align *h, const char *func, irllrec_mat x, int64_t row0,
                                  irllrec_mat y, irllrec_mat dx, irllrec_mat dy)
{
    const int64_t n = y.rows;
    IRL_TRY(irllrec__align_check_input(h, func, "y", y, h->spec.max_cols));
    IRL_TRY(irllrec__align_check_input(h, func, "x", x, h->spec.max_rows));
    IRL_CHECK_FN(h->ctx, func, n <= h->spec.max_rows, IRLLREC_E_SHAPE,
                 "y has N = %lld rows > max_rows = %lld (the noise of all N rows is drawn)",
                 (long long)n, (long long)h->spec.max_rows);
    IRL_CHECK_FN(h->ctx, func, row0 >= 0 && x.rows >= 1 && row0 <= n - x.rows, IRLLREC_E_SHAPE,
                 "rows %lld .. %lld of x are not within the N = %lld rows of y",
                 (long long)row0, (long long)(row0 + x.rows - 1), (long long)n);
    IRL_TRY(irllrec__align_check_output(h, func, "dx", dx, x.rows));
    IRL_TRY(irllrec__align_check_output(h, func, "dy", dy, n));
    return IRLLREC_OK;
}

/* Noise for n rows (node ids[i], or i) into h->ex / h->ey per the handle's
 * mode or callback; returns whether any. */
static int make_noise(irllrec_align *h, int64_t n, const int32_t *ids)
{
    if (h->noise_fn != NULL) {
        h->noise_fn(h->noise_ud, n, h->spec.dim, ids, h->ex, h->ey);
        return 1;
    }
    if (h->noise == IRLLREC_ALIGN_NOISE_OFF) return 0;
    draw_noise(h, n * h->spec.dim, h->ex, h->ey);
    return 1;
}

/* The rows a call takes: all N, a sample of them, or a block of x's. */
enum { TRAN_ALL, TRAN_SAMPLE, TRAN_BLOCK };

/* What one entry point hands tran_run beyond the function name: the
 * operands, and how the rows and the noise are chosen. */
typedef struct tran_args {
    irllrec_mat x, y, dx, dy;
    double *loss;
    int form;                 /* TRAN_ALL, TRAN_SAMPLE or TRAN_BLOCK */
    const int32_t *ids;       /* TRAN_SAMPLE: the caller's sample, or NULL to draw one */
    int64_t n_ids;            /* TRAN_SAMPLE: its size */
    int64_t row0;             /* TRAN_BLOCK: x holds rows row0 .. row0 + x.rows - 1; else 0 */
    const irllrec_mat *eps;   /* the caller's eps_x, eps_y, or NULL: make_noise */
    const int64_t *cuts;      /* chunked (TRAN_BLOCK): engine.h; else NULL */
    int64_t n_cuts;
    double *dyd;
} tran_args;

/* The loss over n rows of y (ids[i], or i) and the matching rows of x, or,
 * for a block, x's rows row0 .. against all n rows of y: block row i's
 * positive is column row0 + i, given to the engine in h->ids. */
static irllrec_status translation_core(irllrec_align *h, const char *func, const tran_args *a,
                                       const int32_t *ids, int64_t n, int have_noise)
{
    irllrec__align_call c;
    const int32_t d = h->spec.dim;
    const int block = a->form == TRAN_BLOCK;
    const int64_t nr = block ? a->x.rows : n;
    const float *ex = have_noise ? h->ex + a->row0 * d : NULL;
    const float *ey = have_noise ? h->ey : NULL;
    if (block)
        for (int64_t i = 0; i < nr; i++) h->ids[i] = (int32_t)(a->row0 + i);
    irllrec__align_norm_rows(nr, d, a->x.data, a->x.ld, ids, ex, h->xn, h->rx);
    irllrec__align_norm_rows(n, d, a->y.data, a->y.ld, ids, ey, h->yn, h->ry);
    memset(&c, 0, sizeof c);
    c.nr = nr;
    c.nc = n;
    c.target = block ? h->ids : NULL;
    c.kind = IRLLREC__XENT_TRAN;
    c.inv_tau = 1.0f;
    c.scale = 1.0 / (double)n;
    c.ids_x = ids;
    c.ids_y = ids;
    c.eps_x = ex;
    c.eps_y = ey;
    c.cuts = a->cuts;
    c.n_cuts = a->n_cuts;
    c.dyd = a->dyd;
    return irllrec__align_run(h, func, &c, a->dx, a->dy, a->loss);
}

/* Everything after the entry point's own argument checks: finiteness, the
 * sample and the noise, the core; a failed call leaves the generator as it
 * found it, so a retry draws the same numbers. func names the public call
 * for the messages. */
static irllrec_status tran_run(irllrec_align *h, const char *func, const tran_args *a)
{
    const int32_t d = h->spec.dim;
    const int32_t *ids = NULL;
    int64_t n = a->y.rows;
    int noisy = 1;
    IRL_TRY(irllrec__align_check_finite(h, func, "x", a->x));
    IRL_TRY(irllrec__align_check_finite(h, func, "y", a->y));
    if (a->eps != NULL) {
        IRL_TRY(irllrec__align_check_finite(h, func, "eps_x", a->eps[0]));
        IRL_TRY(irllrec__align_check_finite(h, func, "eps_y", a->eps[1]));
    }
    const irllrec__rng saved = h->rng;
    if (a->form == TRAN_SAMPLE) {
        if (a->ids)
            memcpy(h->ids, a->ids, (size_t)a->n_ids * sizeof(int32_t));
        else
            irllrec__align_draw_sample(&h->rng, a->y.rows, a->n_ids, h->ids);
        ids = h->ids;
        n = a->n_ids;
    }
    if (a->eps != NULL) {
        /* Copied, so outputs may overlap the noise. */
        for (int64_t i = 0; i < n; i++) {
            memcpy(h->ex + i * d, a->eps[0].data + i * a->eps[0].ld, (size_t)d * sizeof(float));
            memcpy(h->ey + i * d, a->eps[1].data + i * a->eps[1].ld, (size_t)d * sizeof(float));
        }
    } else {
        noisy = make_noise(h, n, ids);
    }
    const irllrec_status st = translation_core(h, func, a, ids, n, noisy);
    if (st != IRLLREC_OK) h->rng = saved;
    return st;
}

irllrec_status irllrec_align_translation(irllrec_align *h, irllrec_mat x, irllrec_mat y,
                                         irllrec_mat dx, irllrec_mat dy, double *loss)
{
    static const char fn[] = "irllrec_align_translation";
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_TRY(check_pair(h, fn, x, y, dx, dy));
    const tran_args a = {.x = x, .y = y, .dx = dx, .dy = dy, .loss = loss, .form = TRAN_ALL};
    return tran_run(h, fn, &a);
}

irllrec_status irllrec_align_translation_noise(irllrec_align *h, irllrec_mat x, irllrec_mat y,
                                               irllrec_mat eps_x, irllrec_mat eps_y,
                                               irllrec_mat dx, irllrec_mat dy, double *loss)
{
    static const char fn[] = "irllrec_align_translation_noise";
    const int32_t d = h ? h->spec.dim : 0;
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_TRY(check_pair(h, fn, x, y, dx, dy));
    IRL_TRY(irllrec__check_mat(h->ctx, fn, "eps_x", eps_x));
    IRL_TRY(irllrec__check_mat(h->ctx, fn, "eps_y", eps_y));
    IRL_CHECK(h->ctx, eps_x.rows == x.rows && eps_x.cols == d && eps_y.rows == x.rows &&
                          eps_y.cols == d,
              IRLLREC_E_SHAPE, "eps_x is %lld x %lld, eps_y %lld x %lld, expected %lld x %d",
              (long long)eps_x.rows, (long long)eps_x.cols, (long long)eps_y.rows,
              (long long)eps_y.cols, (long long)x.rows, (int)d);
    const irllrec_mat eps[2] = {eps_x, eps_y};
    const tran_args a = {.x = x, .y = y, .dx = dx, .dy = dy, .loss = loss, .form = TRAN_ALL,
                         .eps = eps};
    return tran_run(h, fn, &a);
}

irllrec_status irllrec_align_translation_sampled(irllrec_align *h, irllrec_mat x, irllrec_mat y,
                                                 const int32_t *ids, int64_t n_ids,
                                                 irllrec_mat dx, irllrec_mat dy, double *loss)
{
    static const char fn[] = "irllrec_align_translation_sampled";
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_TRY(check_pair(h, fn, x, y, dx, dy));
    IRL_CHECK(h->ctx, n_ids >= 1 && n_ids <= x.rows, IRLLREC_E_SHAPE,
              "n_ids = %lld must be in [1, N = %lld]", (long long)n_ids, (long long)x.rows);
    if (ids) IRL_TRY(irllrec__align_check_ids(h, fn, "ids", ids, n_ids, x.rows));
    const tran_args a = {.x = x, .y = y, .dx = dx, .dy = dy, .loss = loss,
                         .form = TRAN_SAMPLE, .ids = ids, .n_ids = n_ids};
    return tran_run(h, fn, &a);
}

/* One row block of the exact loss: rows row0 .. row0+rows-1 of X against all
 * N rows of Y. The noise of all N rows is drawn, exactly as the full call
 * draws it, so that P ranks holding P blocks of one generator state see the
 * noise one process sees; the blocks' losses and dY then add up to the
 * full call's (up to the order of the sums). */
irllrec_status irllrec_align_translation_rows(irllrec_align *h, irllrec_mat x, int64_t row0,
                                              irllrec_mat y, irllrec_mat dx, irllrec_mat dy,
                                              double *loss)
{
    static const char fn[] = "irllrec_align_translation_rows";
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_TRY(check_block(h, fn, x, row0, y, dx, dy));
    const tran_args a = {.x = x, .y = y, .dx = dx, .dy = dy, .loss = loss,
                         .form = TRAN_BLOCK, .row0 = row0};
    return tran_run(h, fn, &a);
}

irllrec_status irllrec__align_translation_chunked(irllrec_align *h, irllrec_mat x, int64_t row0,
                                                 irllrec_mat y, const int64_t *cuts,
                                                 int64_t n_cuts, double *dyd, irllrec_mat dx,
                                                 irllrec_mat dy, double *loss)
{
    static const char fn[] = "irllrec_align_translation_rows";
    IRL_TRY(check_block(h, fn, x, row0, y, dx, dy));
    IRL_CHECK_FN(h->ctx, fn, n_cuts >= 1 && cuts[0] == 0 && cuts[n_cuts] == x.rows,
                 IRLLREC_E_SHAPE, "the chunks do not cover the %lld rows of x",
                 (long long)x.rows);
    const tran_args a = {.x = x, .y = y, .dx = dx, .dy = dy, .loss = loss, .form = TRAN_BLOCK,
                         .row0 = row0, .cuts = cuts, .n_cuts = n_cuts, .dyd = dyd};
    return tran_run(h, fn, &a);
}
