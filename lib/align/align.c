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
#include "align_impl.h"
#include "xent_fused.h"
#include "../core/streams.h"
#include "../ops/ops.h"

/* Stream id of this component in the seeding scheme (spec.seed ^ component). */
#define ALIGN_BLOCK_ROWS 32
#define ALIGN_BLOCK_FLOATS ((int64_t)1 << 20) /* 4 MiB of logits per thread */
#define ALIGN_MAX_SLICES 256


/* ---- normalisation n(v) = v / sqrt(1e-8 + |v|^2) (lib/ops) -------------- */

/* out row i = n(src row i (+ src * eps)); r[i] = sqrt(1e-8 + |v|^2). */
void irllrec__align_norm_rows(int64_t n, int32_t d, const float *src, int64_t ld, const int32_t *ids,
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
void irllrec__align_add_rows(irllrec_mat dst, int64_t n, int32_t d, const int32_t *ids, const float *g,
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

void irllrec__align_draw_sample(irllrec__rng *rng, int64_t n_all, int64_t n, int32_t *ids)
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
static size_t layout(const irllrec_align *h, size_t sz[15])
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
    sz[13] = h->bf16 ? (size_t)((uint64_t)h->n_threads *
                                (uint64_t)irllrec__xent_pair_words((int64_t)d) * 4)
                     : 0;                                  /* xpairs */
    sz[14] = (size_t)(2 * ALIGN_NOISE_CHUNK * 8);          /* unif */
    for (int i = 0; i < 15; i++) total += ((uint64_t)sz[i] + 63) & ~(uint64_t)63;
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
    size_t sz[15];
    memset(&h, 0, sizeof h);
    h.spec = *spec;
    h.bf16 = spec->precision; /* an upper bound: create may decline */
    h.n_threads = n_threads;
    resolve_blocking(&h);
    return (int64_t)(sizeof h + layout(&h, sz));
}

irllrec_status irllrec_align_create(irllrec_ctx *ctx, const irllrec_align_spec *spec,
                                    irllrec_align **out)
{
    irllrec_align_spec s;
    irllrec_align *h;
    size_t sz[15], total;
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
    IRL_CHECK(ctx, s.precision >= IRLLREC_ALIGN_FP32 && s.precision <= IRLLREC_ALIGN_BF16,
              IRLLREC_E_INVALID_ARG, "precision = %d is not an irllrec_align_precision",
              (int)s.precision);

    h = (irllrec_align *)irllrec__calloc_fn(ctx, "irllrec_align_create", 1, sizeof *h);
    if (h == NULL) return IRLLREC_E_NOMEM;
    h->ctx = ctx;
    h->spec = s;
    h->n_threads = irllrec_ctx_n_threads(ctx);
    h->noise = IRLLREC_ALIGN_NOISE_GAUSSIAN;
    irllrec__rng_seed(&h->rng, s.seed, IRLLREC__STREAM_ALIGN);
    h->bf16 = irllrec__xent_bf16_cpu() && irllrec__xent_path() == IRLLREC__XENT_ISA_AVX512
                  ? s.precision
                  : IRLLREC_ALIGN_FP32;
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
    if (h->bf16) carve(&p, &h->xpairs, sz[13]);
    carve(&p, &h->unif, sz[14]);
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

irllrec_status irllrec_align_get_precision(const irllrec_align *h, int32_t *precision)
{
    if (h == NULL || precision == NULL) return IRLLREC_E_INVALID_ARG;
    *precision = h->bf16;
    return IRLLREC_OK;
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
    irllrec__align_draw_sample(&h->rng, n_all, n, h->ids);
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

irllrec_status irllrec__align_check_input(irllrec_align *h, const char *func, const char *name,
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
irllrec_status irllrec__align_check_output(irllrec_align *h, const char *func, const char *name,
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

irllrec_status irllrec__align_check_finite(irllrec_align *h, const char *func, const char *name,
                                   irllrec_mat m)
{
    if (!irllrec__all_finite_mat(m))
        return irllrec__fail(h->ctx, IRLLREC_E_NUMERIC, func, "%s has a non-finite entry", name);
    return IRLLREC_OK;
}

irllrec_status irllrec__align_check_ids(irllrec_align *h, const char *func, const char *name,
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


irllrec_status irllrec__align_run(irllrec_align *h, const char *func, const irllrec__align_call *c,
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
    jb.col_weight = c->col_weight;
    jb.need_grad = dx.data != NULL || dy.data != NULL;
    jb.block_rows = h->block_rows;
    jb.block_cols = h->block_cols;
    jb.n_slices = h->n_slices;
    jb.n_threads = h->n_threads;
    jb.cuts = c->cuts;
    jb.n_cuts = c->n_cuts;
    jb.dyd = c->dyd;
    if (c->cuts && jb.n_threads > h->n_slices) jb.n_threads = h->n_slices;  /* dyn's partials */
    jb.blk = h->blk;
    jb.row_loss = h->row_loss;
    jb.row_aux = h->row_aux;
    jb.dxn = h->dxn;
    jb.dyn = h->dyn;
    jb.ypack = h->ypack;
    jb.bf16 = h->bf16;
    jb.xpairs = h->xpairs;
    irllrec__xent_run(h->ctx, &jb);

    for (int64_t i = 0; i < c->nr; i++) total += h->row_loss[i];
    if (jb.need_grad) irllrec__l2norm_bwd_inplace(c->nr, d, h->xn, d, h->rx, h->dxn, d);
    const int defer = c->cuts && dy.data == NULL && jb.need_grad;
    if (c->cuts && jb.need_grad && !defer) irllrec__vnarrow(h->dyn, c->dyd, c->nc * d);
    if (jb.need_grad && !defer) irllrec__l2norm_bwd_inplace(c->nc, d, h->yn, d, h->ry, h->dyn, d);
    if (!isfinite(total) || (jb.need_grad && (!irllrec__all_finite(h->dxn, c->nr * d) ||
                                              (defer ? !irllrec__all_finite_d(c->dyd, c->nc * d)
                                                     : !irllrec__all_finite(h->dyn, c->nc * d))))) {
        /* a waiting dY is summed with other ranks' next: this one adds zeros */
        if (defer) memset(c->dyd, 0, (size_t)(c->nc * d) * sizeof(double));
        return irllrec__fail(h->ctx, IRLLREC_E_NUMERIC, func,
                             "non-finite loss or gradient (loss = %g)", total);
    }
    if (dx.data) irllrec__align_add_rows(dx, c->nr, d, c->ids_x, h->dxn, c->eps_x);
    if (dy.data) irllrec__align_add_rows(dy, c->nc, d, c->ids_y, h->dyn, c->eps_y);
    h->pend_nc = defer ? c->nc : 0;
    h->pend_eps = c->eps_y != NULL;
    if (loss) *loss = total;
    return IRLLREC_OK;
}

irllrec_status irllrec__align_translation_finish(irllrec_align *h, const double *dyd,
                                                irllrec_mat dy)
{
    static const char fn[] = "irllrec_align_translation_rows";
    const int32_t d = h->spec.dim;
    const int64_t nc = h->pend_nc;
    IRL_CHECK_FN(h->ctx, fn, nc > 0, IRLLREC_E_STATE, "no chunked translation awaits its dY");
    h->pend_nc = 0;
    irllrec__vnarrow(h->dyn, dyd, nc * d);
    irllrec__l2norm_bwd_inplace(nc, d, h->yn, d, h->ry, h->dyn, d);
    IRL_CHECK_FN(h->ctx, fn, irllrec__all_finite(h->dyn, nc * d), IRLLREC_E_NUMERIC,
                 "non-finite gradient of y");
    irllrec__align_add_rows(dy, nc, d, NULL, h->dyn, h->pend_eps ? h->ey : NULL);
    return IRLLREC_OK;
}

/* ---- InfoNCE ------------------------------------------------------------ */

/* Weights are finite and >= 0 (rows; 0 drops a row) or > 0 (columns: a
 * multiplicity of 0 would leave a target outside its own sum). */
static irllrec_status check_weights(irllrec_align *h, const char *fn, const char *name,
                                    const float *w, int64_t n, int zero_ok)
{
    for (int64_t b = 0; w != NULL && b < n; b++)
        if (!(isfinite(w[b]) && (w[b] > 0.0f || (zero_ok && w[b] == 0.0f))))
            return irllrec__fail(h->ctx, IRLLREC_E_INVALID_ARG, fn, "%s[%lld] = %g must be finite and %s 0",
                                 name, (long long)b, (double)w[b], zero_ok ? ">=" : ">");
    return IRLLREC_OK;
}

static irllrec_status infonce(irllrec_align *h, const char *fn, irllrec_mat x, irllrec_mat y,
                              const int32_t *pos, const float *weight, const float *col,
                              double tau, double scale, irllrec_mat dx, irllrec_mat dy,
                              double *loss)
{
    irllrec__align_call c;
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_TRY(irllrec__align_check_input(h, fn, "x", x, h->spec.max_rows));
    IRL_TRY(irllrec__align_check_input(h, fn, "y", y, h->spec.max_cols));
    IRL_TRY(irllrec__align_check_output(h, fn, "dx", dx, x.rows));
    IRL_TRY(irllrec__align_check_output(h, fn, "dy", dy, y.rows));
    IRL_CHECK(h->ctx, isfinite(tau) && tau >= IRLLREC_ALIGN_TAU_MIN, IRLLREC_E_INVALID_ARG,
              "tau = %.17g must be finite and >= %g", tau, IRLLREC_ALIGN_TAU_MIN);
    IRL_CHECK(h->ctx, isfinite(scale), IRLLREC_E_INVALID_ARG, "scale = %.17g must be finite", scale);
    if (pos) {
        IRL_TRY(irllrec__align_check_ids(h, fn, "pos", pos, x.rows, y.rows));
    } else {
        IRL_CHECK(h->ctx, x.rows <= y.rows, IRLLREC_E_SHAPE,
                  "pos is NULL (pos[b] = b) but B = %lld > M = %lld", (long long)x.rows,
                  (long long)y.rows);
    }
    IRL_TRY(check_weights(h, fn, "weight", weight, x.rows, 1));
    IRL_TRY(check_weights(h, fn, "col_count", col, y.rows, 0));
    IRL_TRY(irllrec__align_check_finite(h, fn, "x", x));
    IRL_TRY(irllrec__align_check_finite(h, fn, "y", y));

    irllrec__align_norm_rows(x.rows, h->spec.dim, x.data, x.ld, NULL, NULL, h->xn, h->rx);
    irllrec__align_norm_rows(y.rows, h->spec.dim, y.data, y.ld, NULL, NULL, h->yn, h->ry);
    memset(&c, 0, sizeof c);
    c.nr = x.rows;
    c.nc = y.rows;
    c.target = pos;
    c.kind = IRLLREC__XENT_INFONCE;
    c.inv_tau = (float)(1.0 / tau);
    c.scale = scale;
    c.row_weight = weight;
    c.col_weight = col;
    return irllrec__align_run(h, fn, &c, dx, dy, loss);
}

irllrec_status irllrec_align_infonce(irllrec_align *h, irllrec_mat x, irllrec_mat y,
                                     const int32_t *pos, double tau, double scale,
                                     irllrec_mat dx, irllrec_mat dy, double *loss)
{
    return infonce(h, "irllrec_align_infonce", x, y, pos, NULL, NULL, tau, scale, dx, dy, loss);
}

irllrec_status irllrec_align_infonce_weighted(irllrec_align *h, irllrec_mat x, irllrec_mat y,
                                              const int32_t *pos, const float *weight,
                                              double tau, double scale, irllrec_mat dx,
                                              irllrec_mat dy, double *loss)
{
    return infonce(h, "irllrec_align_infonce_weighted", x, y, pos, weight, NULL, tau, scale, dx,
                   dy, loss);
}

irllrec_status irllrec_align_infonce_counts(irllrec_align *h, irllrec_mat x, irllrec_mat y,
                                            const int32_t *pos, const float *weight,
                                            const float *col_count, double tau, double scale,
                                            irllrec_mat dx, irllrec_mat dy, double *loss)
{
    return infonce(h, "irllrec_align_infonce_counts", x, y, pos, weight, col_count, tau, scale,
                   dx, dy, loss);
}

