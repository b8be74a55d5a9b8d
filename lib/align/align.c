/* Alignment losses: the API layer over the blocked engine (engine.c).
 *
 * A call validates everything, copies the inputs into normalised internal
 * rows (so outputs may overlap inputs), runs the engine, pulls the gradients
 * back through the normalisation and the noise into internal buffers, checks
 * that loss and gradients are finite, and only then adds them into the
 * caller's buffers. A failed call writes nothing and leaves the generator
 * where it was. */
#include <math.h>
#include <string.h>
#include "engine.h"
#include "xent_fused.h"
#include "../core/streams.h"
#include "../ops/ops.h"

/* Stream id of this component in the seeding scheme (spec.seed ^ component). */
#define ALIGN_BLOCK_ROWS 32
#define ALIGN_BLOCK_FLOATS ((int64_t)1 << 20) /* 4 MiB of logits per thread */
#define ALIGN_MAX_SLICES 256

struct irllrec_align {
    irllrec_ctx *ctx;
    irllrec_align_spec spec;
    int32_t n_threads;
    int32_t noise;
    irllrec_noise_fn noise_fn; /* caller's noise, or NULL */
    void *noise_ud;
    irllrec__rng rng;
    int64_t block_rows, block_cols;
    int32_t n_slices;
    /* one allocation, carved below */
    void *mem;
    size_t mem_bytes;
    float *xn, *yn;     /* normalised (noisy) rows: max_rows x d, max_cols x d */
    double *rx, *ry;    /* their norms sqrt(1e-8 + |v|^2) */
    float *ex, *ey;     /* noise of the current call */
    float *blk;         /* n_threads x block_rows x block_cols */
    double *row_loss;   /* max_rows */
    double *row_aux;    /* 5 x max_rows */
    float *dxn;         /* max_rows x d */
    float *dyn;         /* n_slices x max_cols x d */
    int32_t *ids;       /* max_rows: sampled node ids / permutation scratch */
    float *ypack;       /* the fused engine's packed columns and scratch rows */
};

/* ---- normalisation n(v) = v / sqrt(1e-8 + |v|^2) (lib/ops) -------------- */

/* out row i = n(src row i (+ src * eps)); r[i] = sqrt(1e-8 + |v|^2). */
static void l2norm_fwd_rows(int64_t n, int32_t d, const float *src, int64_t ld, const int32_t *ids,
                            const float *eps, float *restrict out, double *restrict r)
{
    for (int64_t i = 0; i < n; i++) {
        const float *restrict s = src + (ids ? (int64_t)ids[i] : i) * ld;
        float *restrict o = out + i * d;
        if (eps) {
            const float *restrict e = eps + i * d;
            /* X + X*eps, in the reference's order of operations. */
            for (int32_t k = 0; k < d; k++) o[k] = s[k] + s[k] * e[k];
        } else {
            for (int32_t k = 0; k < d; k++) o[k] = s[k];
        }
    }
    irllrec__l2norm_fwd(n, d, out, d, out, d, r);
}

/* ---- small helpers ------------------------------------------------------ */

/* dst rows (ids[i] or i) += g row i * (1 + eps row i when eps). */
static void add_rows(irllrec_mat dst, int64_t n, int32_t d, const int32_t *ids, const float *g,
                     const float *eps)
{
    for (int64_t i = 0; i < n; i++) {
        float *restrict o = dst.data + (ids ? (int64_t)ids[i] : i) * dst.ld;
        const float *restrict gi = g + i * d;
        if (eps) {
            const float *restrict e = eps + i * d;
            for (int32_t k = 0; k < d; k++) o[k] += gi[k] * (1.0f + e[k]);
        } else {
            for (int32_t k = 0; k < d; k++) o[k] += gi[k];
        }
    }
}

static void draw_noise(irllrec__rng *rng, int64_t count, float *eps1, float *eps2)
{
    for (int64_t k = 0; k < count; k++) eps1[k] = (float)irllrec__rng_normal(rng);
    for (int64_t k = 0; k < count; k++) eps2[k] = (float)irllrec__rng_normal(rng);
}

static void draw_sample(irllrec__rng *rng, int64_t n_all, int64_t n, int32_t *ids)
{
    for (int64_t i = 0; i < n_all; i++) ids[i] = (int32_t)i;
    for (int64_t i = 0; i < n; i++) {
        const int64_t j = i + (int64_t)irllrec__rng_below(rng, (uint64_t)(n_all - i));
        const int32_t t = ids[i];
        ids[i] = ids[j];
        ids[j] = t;
    }
}

static void carve(unsigned char **p, void *field, size_t bytes)
{
    *(void **)field = *p;
    *p += (bytes + 63) & ~(size_t)63;
}

/* ---- lifecycle ---------------------------------------------------------- */

void irllrec_align_spec_init(irllrec_align_spec *spec, uint32_t struct_size)
{
    static const irllrec_align_spec d = {
        .dim = 32,
        .max_rows = 4096,
        .max_cols = 4096};
    irllrec__spec_init(spec, struct_size, &d, sizeof d);
}

/* Byte sizes of every carved buffer, in carving order; returns the total or 0 on overflow. */
static size_t layout(const irllrec_align *h, size_t sz[13])
{
    const uint64_t d = (uint64_t)h->spec.dim, r = (uint64_t)h->spec.max_rows,
                   c = (uint64_t)h->spec.max_cols;
    const uint64_t lim = (uint64_t)1 << 46; /* far beyond any machine; keeps products exact */
    uint64_t total = 0;
    if (r * d > lim || c * d > lim || c * d * (uint64_t)h->n_slices > lim ||
        (uint64_t)h->block_rows * (uint64_t)h->block_cols > lim)
        return 0;
    sz[0] = (size_t)(r * d * 4);                           /* xn */
    sz[1] = (size_t)(c * d * 4);                           /* yn */
    sz[2] = (size_t)(r * 8);                               /* rx */
    sz[3] = (size_t)(c * 8);                               /* ry */
    sz[4] = sz[0];                                         /* ex */
    sz[5] = sz[1];                                         /* ey */
    sz[6] = (size_t)((uint64_t)h->n_threads *
                     (uint64_t)irllrec__xent_thread_floats(h->block_rows, h->block_cols,
                                                           h->spec.dim) * 4); /* blk */
    sz[7] = (size_t)(r * 8);                               /* row_loss */
    sz[8] = (size_t)(r * 8 * 5);                           /* row_aux */
    sz[9] = sz[0];                                         /* dxn */
    sz[10] = (size_t)(c * d * (uint64_t)h->n_slices * 4);  /* dyn */
    sz[11] = (size_t)(r * 4);                              /* ids */
    sz[12] = (size_t)((uint64_t)irllrec__xent_pack_floats((int64_t)c, (int64_t)d,
                                                          h->n_threads) * 4); /* ypack */
    for (int i = 0; i < 13; i++) total += ((uint64_t)sz[i] + 63) & ~(uint64_t)63;
    return total > ((uint64_t)1 << 50) ? 0 : (size_t)total;
}

/* Blocking depends only on the spec, never on the thread count; the
 * default slice count is the smallest multiple of the thread count >= 4, so
 * every thread gets the same number of slices (1, 2, 4 threads: 4; 3: 6). */
static void resolve_blocking(irllrec_align *h)
{
    const irllrec_align_spec *s = &h->spec;
    h->block_rows = s->block_rows ? s->block_rows : ALIGN_BLOCK_ROWS;
    if (h->block_rows > s->max_rows) h->block_rows = (int32_t)s->max_rows;
    if (s->block_cols) {
        h->block_cols = s->block_cols;
    } else {
        h->block_cols = ALIGN_BLOCK_FLOATS / h->block_rows;
        if (h->block_cols < 64) h->block_cols = 64;
    }
    if (h->block_cols > s->max_cols) h->block_cols = (int32_t)s->max_cols;
    h->n_slices = s->n_slices ? s->n_slices
                              : ((4 + h->n_threads - 1) / h->n_threads) * h->n_threads;
}

int64_t irllrec__align_bytes(const irllrec_align_spec *spec, int32_t n_threads)
{
    irllrec_align h;
    size_t sz[13];
    memset(&h, 0, sizeof h);
    h.spec = *spec;
    h.n_threads = n_threads;
    resolve_blocking(&h);
    return (int64_t)(sizeof h + layout(&h, sz));
}

irllrec_status irllrec_align_create(irllrec_ctx *ctx, const irllrec_align_spec *spec,
                                    irllrec_align **out)
{
    irllrec_align_spec s;
    irllrec_align *h;
    size_t sz[13], total;
    unsigned char *p;
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(ctx, out != NULL, IRLLREC_E_INVALID_ARG, "out is NULL");
    *out = NULL;
    IRL_CHECK(ctx, spec != NULL, IRLLREC_E_INVALID_ARG, "spec is NULL");
    IRL_TRY(irllrec__copy_spec(ctx, __func__, &s, sizeof s, spec));
    IRL_CHECK(ctx, s.dim > 0, IRLLREC_E_SHAPE, "dim = %d must be > 0", (int)s.dim);
    IRL_CHECK(ctx, s.max_rows > 0 && s.max_cols > 0, IRLLREC_E_SHAPE,
              "max_rows = %lld, max_cols = %lld: both must be > 0", (long long)s.max_rows,
              (long long)s.max_cols);
    IRL_CHECK(ctx, s.max_rows <= INT32_MAX && s.max_cols <= INT32_MAX, IRLLREC_E_SHAPE,
              "max_rows/max_cols above 2^31-1 (ids are int32)");
    IRL_CHECK(ctx, s.block_rows >= 0 && s.block_cols >= 0, IRLLREC_E_INVALID_ARG,
              "block_rows = %d, block_cols = %d must be >= 0", (int)s.block_rows,
              (int)s.block_cols);
    IRL_CHECK(ctx, s.n_slices >= 0 && s.n_slices <= ALIGN_MAX_SLICES, IRLLREC_E_INVALID_ARG,
              "n_slices = %d must be in [0, %d]", (int)s.n_slices, ALIGN_MAX_SLICES);
    IRL_CHECK(ctx, s.reserved0 == 0, IRLLREC_E_INVALID_ARG, "reserved0 must be zero");

    h = (irllrec_align *)irllrec__calloc_fn(ctx, "irllrec_align_create", 1, sizeof *h);
    if (h == NULL) return IRLLREC_E_NOMEM;
    h->ctx = ctx;
    h->spec = s;
    h->n_threads = irllrec_ctx_n_threads(ctx);
    h->noise = IRLLREC_ALIGN_NOISE_GAUSSIAN;
    irllrec__rng_seed(&h->rng, s.seed, IRLLREC__STREAM_ALIGN);
    resolve_blocking(h);

    total = layout(h, sz);
    if (total == 0) {
        irllrec__free(ctx, h, sizeof *h);
        return irllrec__fail(ctx, IRLLREC_E_SHAPE, __func__, "workspace size overflows");
    }
    h->mem = irllrec__alloc_fn(ctx, "irllrec_align_create", total);
    if (h->mem == NULL) {
        irllrec__free(ctx, h, sizeof *h);
        return IRLLREC_E_NOMEM;
    }
    h->mem_bytes = total;
    p = (unsigned char *)h->mem;
    carve(&p, &h->xn, sz[0]);
    carve(&p, &h->yn, sz[1]);
    carve(&p, &h->rx, sz[2]);
    carve(&p, &h->ry, sz[3]);
    carve(&p, &h->ex, sz[4]);
    carve(&p, &h->ey, sz[5]);
    carve(&p, &h->blk, sz[6]);
    carve(&p, &h->row_loss, sz[7]);
    carve(&p, &h->row_aux, sz[8]);
    carve(&p, &h->dxn, sz[9]);
    carve(&p, &h->dyn, sz[10]);
    carve(&p, &h->ids, sz[11]);
    carve(&p, &h->ypack, sz[12]);
    *out = h;
    return IRLLREC_OK;
}

void irllrec_align_free(irllrec_align *h)
{
    irllrec_ctx *ctx;
    if (h == NULL) return;
    ctx = h->ctx;
    irllrec__free(ctx, h->mem, h->mem_bytes);
    irllrec__free(ctx, h, sizeof *h);
}

int64_t irllrec_align_workspace_bytes(const irllrec_align *h)
{
    return h ? (int64_t)(h->mem_bytes + sizeof *h) : 0;
}

irllrec_status irllrec_align_set_noise(irllrec_align *h, int32_t mode)
{
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(h->ctx, mode == IRLLREC_ALIGN_NOISE_GAUSSIAN || mode == IRLLREC_ALIGN_NOISE_OFF,
              IRLLREC_E_INVALID_ARG, "unknown noise mode %d", (int)mode);
    h->noise = mode;
    return IRLLREC_OK;
}

irllrec_status irllrec_align_set_noise_fn(irllrec_align *h, irllrec_noise_fn fn, void *ud)
{
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    h->noise_fn = fn;
    h->noise_ud = fn != NULL ? ud : NULL;
    return IRLLREC_OK;
}

irllrec_status irllrec_align_sample_ids(irllrec_align *h, int64_t n_all, int64_t n, int32_t *ids)
{
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(h->ctx, ids != NULL, IRLLREC_E_INVALID_ARG, "ids is NULL");
    IRL_CHECK(h->ctx, n_all >= 1 && n_all <= h->spec.max_rows && n >= 1 && n <= n_all,
              IRLLREC_E_SHAPE, "n_all = %lld, n = %lld: need 1 <= n <= n_all <= max_rows = %lld",
              (long long)n_all, (long long)n, (long long)h->spec.max_rows);
    draw_sample(&h->rng, n_all, n, h->ids);
    memcpy(ids, h->ids, (size_t)n * sizeof(int32_t));
    return IRLLREC_OK;
}

irllrec_status irllrec_align_get_rng_state(const irllrec_align *h, uint64_t state[4])
{
    if (h == NULL || state == NULL) return IRLLREC_E_INVALID_ARG;
    memcpy(state, h->rng.s, sizeof h->rng.s);
    return IRLLREC_OK;
}

irllrec_status irllrec_align_set_rng_state(irllrec_align *h, const uint64_t state[4])
{
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    return irllrec__rng_set_state(h->ctx, __func__, &h->rng, state);
}

/* ---- validation --------------------------------------------------------- */

static irllrec_status check_input(irllrec_align *h, const char *func, const char *name,
                                  irllrec_mat m, int64_t max_rows)
{
    IRL_TRY(irllrec__check_mat(h->ctx, func, name, m));
    if (m.cols != h->spec.dim)
        return irllrec__fail(h->ctx, IRLLREC_E_SHAPE, func, "%s has %lld columns, dim is %d", name,
                             (long long)m.cols, (int)h->spec.dim);
    if (m.rows > max_rows)
        return irllrec__fail(h->ctx, IRLLREC_E_SHAPE, func, "%s has %lld rows > %lld (spec)",
                             name, (long long)m.rows, (long long)max_rows);
    return IRLLREC_OK;
}

/* An output is optional (data == NULL); when given it must match rows x dim. */
static irllrec_status check_output(irllrec_align *h, const char *func, const char *name,
                                   irllrec_mat m, int64_t rows)
{
    if (m.data == NULL) return IRLLREC_OK;
    IRL_TRY(irllrec__check_mat(h->ctx, func, name, m));
    if (m.rows != rows || m.cols != h->spec.dim)
        return irllrec__fail(h->ctx, IRLLREC_E_SHAPE, func, "%s is %lld x %lld, expected %lld x %d",
                             name, (long long)m.rows, (long long)m.cols, (long long)rows,
                             (int)h->spec.dim);
    return IRLLREC_OK;
}

static irllrec_status check_finite(irllrec_align *h, const char *func, const char *name,
                                   irllrec_mat m)
{
    if (!irllrec__all_finite_mat(m))
        return irllrec__fail(h->ctx, IRLLREC_E_NUMERIC, func, "%s has a non-finite entry", name);
    return IRLLREC_OK;
}

static irllrec_status check_ids(irllrec_align *h, const char *func, const char *name,
                                const int32_t *ids, int64_t n, int64_t bound)
{
    for (int64_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= bound)
            return irllrec__fail(h->ctx, IRLLREC_E_INVALID_ARG, func,
                                 "%s[%lld] = %d is outside [0, %lld)", name, (long long)i,
                                 (int)ids[i], (long long)bound);
    return IRLLREC_OK;
}

/* ---- the shared tail: engine, backward through n(.), checks, outputs ---- */

typedef struct call {
    int64_t nr, nc;            /* rows of xn / yn in use */
    const int32_t *target;     /* engine target, NULL = diagonal */
    int32_t kind;
    float inv_tau;
    double scale;
    const float *row_weight;   /* InfoNCE row weights (NULL: 1) */
    const int32_t *ids_x, *ids_y; /* output row of internal row i (NULL: i) */
    const float *eps_x, *eps_y;   /* noise used (NULL: none) */
} call;

static irllrec_status run_and_emit(irllrec_align *h, const char *func, const call *c,
                                   irllrec_mat dx, irllrec_mat dy, double *loss)
{
    irllrec__xent jb;
    const int32_t d = h->spec.dim;
    double total = 0.0;
    memset(&jb, 0, sizeof jb);
    jb.xn = h->xn;
    jb.yn = h->yn;
    jb.n_rows = c->nr;
    jb.n_cols = c->nc;
    jb.d = d;
    jb.kind = c->kind;
    jb.target = c->target;
    jb.inv_tau = c->inv_tau;
    jb.scale = c->scale;
    jb.row_weight = c->row_weight;
    jb.need_grad = dx.data != NULL || dy.data != NULL;
    jb.block_rows = h->block_rows;
    jb.block_cols = h->block_cols;
    jb.n_slices = h->n_slices;
    jb.n_threads = h->n_threads;
    jb.blk = h->blk;
    jb.row_loss = h->row_loss;
    jb.row_aux = h->row_aux;
    jb.dxn = h->dxn;
    jb.dyn = h->dyn;
    jb.ypack = h->ypack;
    irllrec__xent_run(h->ctx, &jb);

    for (int64_t i = 0; i < c->nr; i++) total += h->row_loss[i];
    if (jb.need_grad) {
        irllrec__l2norm_bwd_inplace(c->nr, d, h->xn, d, h->rx, h->dxn, d);
        irllrec__l2norm_bwd_inplace(c->nc, d, h->yn, d, h->ry, h->dyn, d);
    }
    if (!isfinite(total) || (jb.need_grad && (!irllrec__all_finite(h->dxn, c->nr * d) ||
                                              !irllrec__all_finite(h->dyn, c->nc * d))))
        return irllrec__fail(h->ctx, IRLLREC_E_NUMERIC, func,
                             "non-finite loss or gradient (loss = %g)", total);
    if (dx.data) add_rows(dx, c->nr, d, c->ids_x, h->dxn, c->eps_x);
    if (dy.data) add_rows(dy, c->nc, d, c->ids_y, h->dyn, c->eps_y);
    if (loss) *loss = total;
    return IRLLREC_OK;
}

/* ---- InfoNCE ------------------------------------------------------------ */

static irllrec_status infonce(irllrec_align *h, const char *fn, irllrec_mat x, irllrec_mat y,
                              const int32_t *pos, const float *weight, double tau, double scale,
                              irllrec_mat dx, irllrec_mat dy, double *loss)
{
    call c;
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_TRY(check_input(h, fn, "x", x, h->spec.max_rows));
    IRL_TRY(check_input(h, fn, "y", y, h->spec.max_cols));
    IRL_TRY(check_output(h, fn, "dx", dx, x.rows));
    IRL_TRY(check_output(h, fn, "dy", dy, y.rows));
    IRL_CHECK(h->ctx, isfinite(tau) && tau >= IRLLREC_ALIGN_TAU_MIN, IRLLREC_E_INVALID_ARG,
              "tau = %.17g must be finite and >= %g", tau, IRLLREC_ALIGN_TAU_MIN);
    IRL_CHECK(h->ctx, isfinite(scale), IRLLREC_E_INVALID_ARG, "scale = %.17g must be finite", scale);
    if (pos) {
        IRL_TRY(check_ids(h, fn, "pos", pos, x.rows, y.rows));
    } else {
        IRL_CHECK(h->ctx, x.rows <= y.rows, IRLLREC_E_SHAPE,
                  "pos is NULL (pos[b] = b) but B = %lld > M = %lld", (long long)x.rows,
                  (long long)y.rows);
    }
    for (int64_t b = 0; weight != NULL && b < x.rows; b++)
        if (!(isfinite(weight[b]) && weight[b] >= 0.0f))
            return irllrec__fail(h->ctx, IRLLREC_E_INVALID_ARG, fn,
                                 "weight[%lld] = %g must be finite and >= 0", (long long)b,
                                 (double)weight[b]);
    IRL_TRY(check_finite(h, fn, "x", x));
    IRL_TRY(check_finite(h, fn, "y", y));

    l2norm_fwd_rows(x.rows, h->spec.dim, x.data, x.ld, NULL, NULL, h->xn, h->rx);
    l2norm_fwd_rows(y.rows, h->spec.dim, y.data, y.ld, NULL, NULL, h->yn, h->ry);
    memset(&c, 0, sizeof c);
    c.nr = x.rows;
    c.nc = y.rows;
    c.target = pos;
    c.kind = IRLLREC__XENT_INFONCE;
    c.inv_tau = (float)(1.0 / tau);
    c.scale = scale;
    c.row_weight = weight;
    return run_and_emit(h, fn, &c, dx, dy, loss);
}

irllrec_status irllrec_align_infonce(irllrec_align *h, irllrec_mat x, irllrec_mat y,
                                     const int32_t *pos, double tau, double scale,
                                     irllrec_mat dx, irllrec_mat dy, double *loss)
{
    return infonce(h, "irllrec_align_infonce", x, y, pos, NULL, tau, scale, dx, dy, loss);
}

irllrec_status irllrec_align_infonce_weighted(irllrec_align *h, irllrec_mat x, irllrec_mat y,
                                              const int32_t *pos, const float *weight,
                                              double tau, double scale, irllrec_mat dx,
                                              irllrec_mat dy, double *loss)
{
    return infonce(h, "irllrec_align_infonce_weighted", x, y, pos, weight, tau, scale, dx, dy,
                   loss);
}

/* ---- translation -------------------------------------------------------- */

/* Shared validation of the two N x dim inputs and outputs. */
static irllrec_status check_pair(irllrec_align *h, const char *func, irllrec_mat x, irllrec_mat y,
                                 irllrec_mat dx, irllrec_mat dy)
{
    IRL_TRY(check_input(h, func, "x", x, h->spec.max_rows));
    IRL_TRY(check_input(h, func, "y", y, h->spec.max_cols));
    if (x.rows != y.rows)
        return irllrec__fail(h->ctx, IRLLREC_E_SHAPE, func, "x has %lld rows, y has %lld",
                             (long long)x.rows, (long long)y.rows);
    IRL_TRY(check_output(h, func, "dx", dx, x.rows));
    IRL_TRY(check_output(h, func, "dy", dy, y.rows));
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
    draw_noise(&h->rng, n * h->spec.dim, h->ex, h->ey);
    return 1;
}

static irllrec_status translation_core(irllrec_align *h, const char *func, irllrec_mat x,
                                       irllrec_mat y, const int32_t *ids, int64_t n,
                                       int have_noise, irllrec_mat dx, irllrec_mat dy,
                                       double *loss)
{
    call c;
    const float *ex = have_noise ? h->ex : NULL, *ey = have_noise ? h->ey : NULL;
    l2norm_fwd_rows(n, h->spec.dim, x.data, x.ld, ids, ex, h->xn, h->rx);
    l2norm_fwd_rows(n, h->spec.dim, y.data, y.ld, ids, ey, h->yn, h->ry);
    memset(&c, 0, sizeof c);
    c.nr = n;
    c.nc = n;
    c.kind = IRLLREC__XENT_TRAN;
    c.inv_tau = 1.0f;
    c.scale = 1.0 / (double)n;
    c.ids_x = ids;
    c.ids_y = ids;
    c.eps_x = ex;
    c.eps_y = ey;
    return run_and_emit(h, func, &c, dx, dy, loss);
}

irllrec_status irllrec_align_translation(irllrec_align *h, irllrec_mat x, irllrec_mat y,
                                         irllrec_mat dx, irllrec_mat dy, double *loss)
{
    static const char fn[] = "irllrec_align_translation";
    irllrec__rng saved;
    irllrec_status st;
    int noisy;
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_TRY(check_pair(h, fn, x, y, dx, dy));
    IRL_TRY(check_finite(h, fn, "x", x));
    IRL_TRY(check_finite(h, fn, "y", y));
    saved = h->rng;
    noisy = make_noise(h, x.rows, NULL);
    st = translation_core(h, fn, x, y, NULL, x.rows, noisy, dx, dy, loss);
    if (st != IRLLREC_OK) h->rng = saved;
    return st;
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
    IRL_TRY(check_finite(h, fn, "x", x));
    IRL_TRY(check_finite(h, fn, "y", y));
    IRL_TRY(check_finite(h, fn, "eps_x", eps_x));
    IRL_TRY(check_finite(h, fn, "eps_y", eps_y));
    /* Copied, so outputs may overlap the noise. */
    for (int64_t i = 0; i < x.rows; i++) {
        memcpy(h->ex + i * d, eps_x.data + i * eps_x.ld, (size_t)d * sizeof(float));
        memcpy(h->ey + i * d, eps_y.data + i * eps_y.ld, (size_t)d * sizeof(float));
    }
    return translation_core(h, fn, x, y, NULL, x.rows, 1, dx, dy, loss);
}

irllrec_status irllrec_align_translation_sampled(irllrec_align *h, irllrec_mat x, irllrec_mat y,
                                                 const int32_t *ids, int64_t n_ids,
                                                 irllrec_mat dx, irllrec_mat dy, double *loss)
{
    static const char fn[] = "irllrec_align_translation_sampled";
    irllrec__rng saved;
    irllrec_status st;
    int noisy;
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_TRY(check_pair(h, fn, x, y, dx, dy));
    IRL_CHECK(h->ctx, n_ids >= 1 && n_ids <= x.rows, IRLLREC_E_SHAPE,
              "n_ids = %lld must be in [1, N = %lld]", (long long)n_ids, (long long)x.rows);
    if (ids) IRL_TRY(check_ids(h, fn, "ids", ids, n_ids, x.rows));
    IRL_TRY(check_finite(h, fn, "x", x));
    IRL_TRY(check_finite(h, fn, "y", y));
    saved = h->rng;
    if (ids) {
        memcpy(h->ids, ids, (size_t)n_ids * sizeof(int32_t));
    } else {
        draw_sample(&h->rng, x.rows, n_ids, h->ids);
    }
    noisy = make_noise(h, n_ids, h->ids);
    st = translation_core(h, fn, x, y, h->ids, n_ids, noisy, dx, dy, loss);
    if (st != IRLLREC_OK) h->rng = saved;
    return st;
}
