/* Interaction-text matching with a momentum (EMA) teacher. */
#include <math.h>
#include <string.h>
#include "tower.h"
#include "../ops/ops.h"

/* Mixed into the teacher's seed so a teacher re-initialised with the same
 * seed value as its student still gets different weights. */
#define ITM_TEACHER_SEED_MIX 0x5bd1e9955bd1e995ull

struct irllrec_itm {
    irllrec_ctx *ctx;
    irllrec_itm_spec spec;
    irllrec_mlp *student;      /* borrowed */
    irllrec_mlp *teacher;      /* owned, no gradients */
    int64_t d, max_rows;
    float *q;                  /* max_rows x d: teacher output, then softmax(Xm) */
    float *p;                  /* max_rows x d: softmax(X) */
    size_t buf_bytes;
    int64_t fwd_rows;          /* rows of the last successful forward; 0 = none */
    int64_t q_rows;            /* rows of teacher logits in q (0 = none) */
};

void irllrec_itm_spec_init(irllrec_itm_spec *spec, uint32_t struct_size)
{
    static const irllrec_itm_spec d = {
        .init_equal = 1,
        .momentum = 0.999,
        .alpha = 0.6};
    irllrec__spec_init(spec, struct_size, &d, sizeof d);
}

static int in_unit(double v) { return isfinite(v) && v >= 0.0 && v <= 1.0; }

static void copy_params(irllrec_mlp *dst, irllrec_mlp *src)
{
    irllrec__param *bd, *bs;
    int nd, ns;
    irllrec__mlp_params(dst, &bd, &nd);
    irllrec__mlp_params(src, &bs, &ns);
    for (int i = 0; i < nd; i++)
        memcpy(bd[i].data, bs[i].data, (size_t)(bs[i].rows * bs[i].cols) * sizeof(float));
}

void irllrec_itm_free(irllrec_itm *itm)
{
    if (itm == NULL) return;
    irllrec_mlp_free(itm->teacher);
    irllrec__free(itm->ctx, itm->q, itm->buf_bytes);
    irllrec__free(itm->ctx, itm->p, itm->buf_bytes);
    irllrec__free(itm->ctx, itm, sizeof *itm);
}

int64_t irllrec__itm_bytes(const irllrec_mlp_spec *student)
{
    const int64_t teacher = irllrec__mlp_bytes(student, 0);
    const int64_t buf = student->max_rows * (int64_t)student->out_dim * (int64_t)sizeof(float);
    return teacher < 0 ? -1 : (int64_t)sizeof(irllrec_itm) + teacher + 2 * buf;
}

irllrec_status irllrec_itm_create(irllrec_ctx *ctx, const irllrec_itm_spec *spec,
                                  irllrec_mlp *student, irllrec_itm **out)
{
    irllrec_itm_spec s;
    irllrec_mlp_spec ms;
    irllrec_itm *itm;
    irllrec_status st;
    if (out == NULL) return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, __func__, "out is NULL");
    *out = NULL;
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(ctx, spec != NULL && student != NULL, IRLLREC_E_INVALID_ARG,
              "spec or student is NULL");
    IRL_CHECK(ctx, irllrec__mlp_ctx(student) == ctx, IRLLREC_E_INVALID_ARG,
              "the student was created from another ctx");
    IRL_TRY(irllrec__copy_spec(ctx, __func__, &s, sizeof s, spec));
    IRL_CHECK(ctx, s.init_equal == 0 || s.init_equal == 1, IRLLREC_E_INVALID_ARG,
              "init_equal = %d must be 0 or 1", (int)s.init_equal);
    IRL_CHECK(ctx, in_unit(s.momentum), IRLLREC_E_INVALID_ARG, "momentum = %.17g is not in [0, 1]",
              s.momentum);
    IRL_CHECK(ctx, in_unit(s.alpha), IRLLREC_E_INVALID_ARG, "alpha = %.17g is not in [0, 1]", s.alpha);
    irllrec__mlp_get_spec(student, &ms);
    itm = (irllrec_itm *)irllrec__calloc_fn(ctx, "irllrec_itm_create", 1, sizeof *itm);
    if (itm == NULL) return IRLLREC_E_NOMEM;
    itm->ctx = ctx;
    itm->spec = s;
    itm->student = student;
    itm->d = ms.out_dim;
    itm->max_rows = ms.max_rows;
    itm->buf_bytes = (size_t)ms.max_rows * (size_t)ms.out_dim * sizeof(float);
    ms.seed = s.seed ^ ITM_TEACHER_SEED_MIX;
    st = irllrec__mlp_create(ctx, &ms, 0, &itm->teacher);
    itm->q = (float *)irllrec__alloc_fn(ctx, "irllrec_itm_create", itm->buf_bytes);
    itm->p = (float *)irllrec__alloc_fn(ctx, "irllrec_itm_create", itm->buf_bytes);
    if (st != IRLLREC_OK || itm->q == NULL || itm->p == NULL) {
        irllrec_itm_free(itm);
        return st != IRLLREC_OK ? st : IRLLREC_E_NOMEM;
    }
    irllrec__mlp_set_name(itm->teacher, "mlp_m");
    /* init_equal == 0 keeps the teacher's own initialisation: the released
     * code copies the student and then re-initialises the teacher. */
    if (s.init_equal) copy_params(itm->teacher, student);
    *out = itm;
    return IRLLREC_OK;
}

/* theta_m <- m theta_m + (1 - m) theta, in double per element so a momentum
 * close to 1 does not lose the student's small share to float rounding. */
irllrec_status irllrec_itm_update_teacher(irllrec_itm *itm)
{
    irllrec__param *bt, *bs;
    int nt, ns;
    double m, om;
    if (itm == NULL) return IRLLREC_E_INVALID_ARG;
    m = itm->spec.momentum;
    om = 1.0 - m;
    irllrec__mlp_params(itm->teacher, &bt, &nt);
    irllrec__mlp_params(itm->student, &bs, &ns);
    for (int b = 0; b < nt; b++) {
        float *restrict t = bt[b].data;
        const float *restrict s = bs[b].data;
        const int64_t n = bt[b].rows * bt[b].cols;
        for (int64_t i = 0; i < n; i++) t[i] = (float)(m * (double)t[i] + om * (double)s[i]);
    }
    return IRLLREC_OK;
}

/* CE_n = -sum_c q_c log_softmax(x)_c = -sum_c q_c (x_c - lse(x)), max-subtracted. */
static double row_ce(int64_t d, const float *x, const float *q)
{
    float mx = x[0];
    double s = 0.0, lse, ce = 0.0;
    for (int64_t c = 1; c < d; c++) mx = x[c] > mx ? x[c] : mx;
    for (int64_t c = 0; c < d; c++) s += exp((double)x[c] - (double)mx);
    lse = (double)mx + log(s);
    for (int64_t c = 0; c < d; c++) ce -= (double)q[c] * ((double)x[c] - lse);
    return ce;
}

double irllrec__itm_ce_fwd(int64_t rows, int64_t d, const float *x, int64_t ldx, float *q,
                           float *p)
{
    double total = 0.0;
    irllrec__softmax_rows_fwd(rows, d, q, d, q, d);
    irllrec__softmax_rows_fwd(rows, d, x, ldx, p, d);
    for (int64_t n = 0; n < rows; n++) total += row_ce(d, x + n * ldx, q + n * d);
    return total / (double)rows;
}

void irllrec__itm_ce_bwd(int64_t rows, int64_t d, const float *p, const float *q, double scale,
                         int64_t mean_rows, float *dx, int64_t lddx)
{
    const float k = (float)(scale / (double)mean_rows);
    for (int64_t n = 0; n < rows; n++) {
        float *restrict g = dx + n * lddx;
        const float *restrict pn = p + n * d, *restrict qn = q + n * d;
        for (int64_t c = 0; c < d; c++) g[c] += k * (pn[c] - qn[c]);
    }
}

irllrec_status irllrec_itm_teacher_forward(irllrec_itm *itm, irllrec_cmat text_in)
{
    if (itm == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_TRY(irllrec__check_cmat(itm->ctx, __func__, "text_in", text_in));
    IRL_CHECK(itm->ctx, text_in.rows <= itm->max_rows, IRLLREC_E_SHAPE,
              "text_in.rows = %lld > max_rows = %lld", (long long)text_in.rows,
              (long long)itm->max_rows);
    IRL_TRY(irllrec_mlp_forward_at(itm->teacher, text_in, 0,
                                   irllrec_mat_dense(itm->q, text_in.rows, itm->d)));
    itm->fwd_rows = 0;  /* q no longer matches p */
    itm->q_rows = text_in.rows;
    return IRLLREC_OK;
}

/* Nothing runs the teacher's backward, so with bf16 text (where memory is
 * the point) its forward goes in blocks of this many rows through a teacher
 * sized for one block instead of keeping an N x hidden activation cache.
 * The fp32 teacher keeps its one full-size forward (its bits stay). */
#define ITM_BF16_BLOCK 4096

static void bf16_teacher_spec(const irllrec_mlp_spec *student, irllrec_mlp_spec *ms)
{
    *ms = *student;
    if (ms->max_rows > ITM_BF16_BLOCK) ms->max_rows = ITM_BF16_BLOCK;
}

int64_t irllrec__itm_bf16_extra_bytes(const irllrec_mlp_spec *student)
{
    irllrec_mlp_spec ms;
    bf16_teacher_spec(student, &ms);
    return irllrec__mlp_bytes(&ms, 0) + irllrec__mlp_bf16_bytes(&ms, 0) -
           irllrec__mlp_bytes(student, 0);
}

irllrec_status irllrec__itm_enable_bf16(irllrec_itm *itm)
{
    irllrec_mlp_spec ms, cur;
    irllrec__mlp_get_spec(itm->teacher, &cur);
    bf16_teacher_spec(&cur, &ms);
    if (ms.max_rows < cur.max_rows) {
        irllrec_mlp *t = NULL;
        IRL_TRY(irllrec__mlp_create(itm->ctx, &ms, 0, &t));
        irllrec__mlp_set_name(t, "mlp_m");
        copy_params(t, itm->teacher);
        irllrec_mlp_free(itm->teacher);
        itm->teacher = t;
    }
    return irllrec__mlp_enable_bf16(itm->teacher);
}

/* irllrec_itm_teacher_forward over bf16 text (the hook's bf16 path), in
 * row blocks (see ITM_BF16_BLOCK); rows are independent, so the blocks give
 * the same values as one call. */
irllrec_status irllrec__itm_teacher_forward_bf16(irllrec_itm *itm, const uint16_t *x, int64_t ldx,
                                                 int64_t rows)
{
    IRL_CHECK(itm->ctx, rows <= itm->max_rows, IRLLREC_E_SHAPE, "rows = %lld > max_rows = %lld",
              (long long)rows, (long long)itm->max_rows);
    irllrec_mlp_spec ts;
    irllrec__mlp_get_spec(itm->teacher, &ts);
    for (int64_t r0 = 0; r0 < rows; r0 += ts.max_rows) {
        const int64_t nr = rows - r0 < ts.max_rows ? rows - r0 : ts.max_rows;
        IRL_TRY(irllrec__mlp_forward_bf16_at(itm->teacher, x + r0 * ldx, ldx, nr, 0,
                                             irllrec_mat_dense(itm->q + r0 * itm->d, nr, itm->d)));
    }
    itm->fwd_rows = 0;
    itm->q_rows = rows;
    return IRLLREC_OK;
}

irllrec_status irllrec_itm_loss(irllrec_itm *itm, irllrec_cmat student_out, double *ce)
{
    if (itm == NULL) return IRLLREC_E_INVALID_ARG;
    const int64_t rows = itm->q_rows, d = itm->d;
    IRL_CHECK(itm->ctx, rows > 0, IRLLREC_E_STATE,
              "no teacher forward since the last loss (irllrec_itm_teacher_forward)");
    IRL_TRY(irllrec__check_cmat(itm->ctx, __func__, "student_out", student_out));
    IRL_CHECK(itm->ctx, student_out.rows == rows && student_out.cols == d, IRLLREC_E_SHAPE,
              "student_out is %lld x %lld, expected %lld x %lld (the teacher forward's rows)",
              (long long)student_out.rows, (long long)student_out.cols, (long long)rows,
              (long long)d);
    itm->q_rows = 0;  /* q becomes softmax(q) */
    const double total =
        irllrec__itm_ce_fwd(rows, d, student_out.data, student_out.ld, itm->q, itm->p);
    IRL_CHECK(itm->ctx, isfinite(total), IRLLREC_E_NUMERIC, "CE is not finite (%g)", total);
    itm->fwd_rows = rows;
    if (ce != NULL) *ce = total;
    return IRLLREC_OK;
}

irllrec_status irllrec_itm_forward(irllrec_itm *itm, irllrec_mat text_in, irllrec_mat student_out,
                                   double *ce)
{
    if (itm == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(itm->ctx, student_out.rows == text_in.rows, IRLLREC_E_SHAPE,
              "student_out has %lld rows, text_in %lld", (long long)student_out.rows,
              (long long)text_in.rows);
    IRL_TRY(irllrec_itm_teacher_forward(itm, irllrec_mat_const(text_in)));
    return irllrec_itm_loss(itm, irllrec_mat_const(student_out), ce);
}

/* dCE/dx_c = -(1/rows) (q_c - softmax(x)_c sum_c' q_c') = (p_c - q_c) / rows,
 * since the teacher's softmax q sums to 1 and d log_softmax(x)_c' / dx_c =
 * delta_cc' - p_c. */
irllrec_status irllrec__itm_backward_mean(irllrec_itm *itm, double scale, int64_t mean_rows,
                                          irllrec_mat dx)
{
    irllrec_ctx *ctx;
    const char *f = "irllrec_itm_backward";
    int64_t rows, d;
    if (itm == NULL) return IRLLREC_E_INVALID_ARG;
    ctx = itm->ctx;
    d = itm->d;
    rows = itm->fwd_rows;
    IRL_CHECK_FN(ctx, f, rows > 0, IRLLREC_E_STATE, "no successful forward");
    IRL_CHECK_FN(ctx, f, isfinite(scale), IRLLREC_E_INVALID_ARG, "scale is not finite");
    IRL_TRY(irllrec__check_mat(ctx, f, "dx", dx));
    IRL_CHECK_FN(ctx, f, dx.rows == rows && dx.cols == d, IRLLREC_E_SHAPE,
                 "dx is %lld x %lld, expected %lld x %lld", (long long)dx.rows,
                 (long long)dx.cols, (long long)rows, (long long)d);
    irllrec__itm_ce_bwd(rows, d, itm->p, itm->q, scale, mean_rows > 0 ? mean_rows : rows, dx.data,
                        dx.ld);
    return IRLLREC_OK;
}

irllrec_status irllrec_itm_backward(irllrec_itm *itm, double scale, irllrec_mat dx)
{
    return irllrec__itm_backward_mean(itm, scale, 0, dx);
}

irllrec_mlp *irllrec_itm_teacher(irllrec_itm *itm) { return itm == NULL ? NULL : itm->teacher; }

irllrec_status irllrec_itm_set_momentum(irllrec_itm *itm, double momentum)
{
    if (itm == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(itm->ctx, in_unit(momentum), IRLLREC_E_INVALID_ARG, "momentum = %.17g is not in [0, 1]",
              momentum);
    itm->spec.momentum = momentum;
    return IRLLREC_OK;
}

double irllrec_itm_momentum(const irllrec_itm *itm)
{
    return itm == NULL ? -1.0 : itm->spec.momentum;
}

double irllrec_itm_alpha(const irllrec_itm *itm) { return itm == NULL ? -1.0 : itm->spec.alpha; }

void irllrec__itm_teacher_params(irllrec_itm *itm, irllrec__param **blocks, int *n)
{
    irllrec__mlp_params(itm->teacher, blocks, n);
}
