/* The fused cross-entropy kernels (lib/align/xent_fused.c) against the
 * reference sgemm engine (engine.c) on random problems: every instruction
 * set the CPU runs, several d (1 to 37, not only multiples of 16), n_rows !=
 * n_cols across row and column block edges, random targets, row weights and
 * both kinds; central differences on the fused path; bitwise identity for
 * 1, 2 and 3 threads; the run-time choice of path; and the public loss
 * calls under each IRLLREC_XENT value the CPU runs against the reference.
 *
 * Tolerance against the reference: max|fused - ref| / max|ref| <= 1e-5 for
 * loss, dxn and dyn. Both are fp32 over the same double heads; they differ in
 * FMA contraction, the exponential's rounding (1-2 ulp) and the order of the
 * float partial sums, each ~1e-7 relative per term; the largest seen is
 * 2.8e-6 (dxn at d = 1, where its terms cancel). Central differences (h =
 * 1e-2, double) agree within 2e-4 max|g| (seen: 2e-5). */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "align/engine.h"
#include "align/xent_fused.h"
#include "ops/ops.h"
#include "helpers/testutil.h"

#define XT_TOL 1e-5

typedef struct prob {
    int64_t nr, nc;
    int32_t d, kind, targets, weights, slices;
    int32_t cols;     /* column multiplicities (INFONCE) */
    int64_t keep;     /* the job's keep_rows (fused path) */
    float inv_tau;
    float *x, *y, *w, *c;
    int32_t *tgt;
} prob;

typedef struct outs {
    float *blk, *ypack, *dxn, *dyn;
    double *loss, *aux;
} outs;

/* Unit rows (the engine's contract), random targets and weights. */
static void make(prob *p, uint64_t seed)
{
    uint64_t s = seed * 2654435761u + 1;
    p->x = malloc((size_t)(p->nr * p->d) * sizeof(float));
    p->y = malloc((size_t)(p->nc * p->d) * sizeof(float));
    p->w = malloc((size_t)p->nr * sizeof(float));
    p->tgt = malloc((size_t)p->nr * sizeof(int32_t));
    p->c = malloc((size_t)p->nc * sizeof(float));
    ck_assert(p->x && p->y && p->w && p->tgt && p->c);
    tu_fill(&s, p->x, p->nr * p->d, 2.0f);
    tu_fill(&s, p->y, p->nc * p->d, 2.0f);
    irllrec__l2norm_fwd(p->nr, p->d, p->x, p->d, p->x, p->d, NULL);
    irllrec__l2norm_fwd(p->nc, p->d, p->y, p->d, p->y, p->d, NULL);
    for (int64_t i = 0; i < p->nr; i++) {
        p->w[i] = tu_rnd(&s) + 0.5f;
        p->tgt[i] = (int32_t)((tu_rnd(&s) + 0.5f) * (float)p->nc) % (int32_t)p->nc;
    }
    /* counts 1..4, as the hook's once-per-distinct-node terms give */
    for (int64_t j = 0; j < p->nc; j++) p->c[j] = (float)(1 + (int)((tu_rnd(&s) + 0.5f) * 3.99f));
}

static void unmake(prob *p)
{
    free(p->x);
    free(p->y);
    free(p->w);
    free(p->tgt);
    free(p->c);
}

/* Runs p through path (-1: reference, else an isa) on ctx, into o (allocated
 * here; free with drop). */
static void run(irllrec_ctx *ctx, const prob *p, int path, outs *o)
{
    irllrec__xent jb;
    const int32_t nt = irllrec_ctx_n_threads(ctx);
    const int64_t br = 16, bc = 64; /* small reference blocks: several per row */
    memset(&jb, 0, sizeof jb);
    o->blk = calloc((size_t)(nt * irllrec__xent_thread_floats(br, bc, p->d)), sizeof(float));
    o->ypack = calloc((size_t)irllrec__xent_pack_floats(p->nc, p->d, nt), sizeof(float));
    o->dxn = calloc((size_t)(p->nr * p->d), sizeof(float));
    o->dyn = calloc((size_t)(p->slices * p->nc * p->d), sizeof(float));
    o->loss = calloc((size_t)p->nr, sizeof(double));
    o->aux = calloc((size_t)(5 * p->nr), sizeof(double));
    ck_assert(o->blk && o->ypack && o->dxn && o->dyn && o->loss && o->aux);
    jb.xn = p->x;
    jb.yn = p->y;
    jb.n_rows = p->nr;
    jb.n_cols = p->nc;
    jb.d = p->d;
    jb.kind = p->kind;
    jb.target = p->targets ? p->tgt : NULL;
    jb.inv_tau = p->inv_tau;
    jb.scale = 0.75;
    jb.row_weight = p->weights ? p->w : NULL;
    jb.col_weight = p->cols ? p->c : NULL;
    jb.keep_rows = p->keep;
    jb.need_grad = 1;
    jb.block_rows = br;
    jb.block_cols = bc;
    jb.n_slices = p->slices;
    jb.n_threads = nt;
    jb.blk = o->blk;
    jb.row_loss = o->loss;
    jb.row_aux = o->aux;
    jb.dxn = o->dxn;
    jb.dyn = o->dyn;
    jb.ypack = o->ypack;
    if (path < 0)
        irllrec__xent_run_reference(ctx, &jb);
    else
        ck_assert_int_eq(irllrec__xent_fused_run(ctx, &jb, path), 1);
}

static void drop(outs *o)
{
    free(o->blk);
    free(o->ypack);
    free(o->dxn);
    free(o->dyn);
    free(o->loss);
    free(o->aux);
}

static double rel_err_f(const float *a, const float *b, int64_t n)
{
    double m = 0.0, e = 0.0;
    for (int64_t i = 0; i < n; i++) {
        m = fmax(m, fabs((double)b[i]));
        e = fmax(e, fabs((double)a[i] - (double)b[i]));
    }
    return m > 0.0 ? e / m : e;
}

static double total(const outs *o, int64_t n)
{
    double t = 0.0;
    for (int64_t i = 0; i < n; i++) t += o->loss[i];
    return t;
}

/* Fused (every isa the CPU has) vs reference on one problem. */
static void compare(prob *p, uint64_t seed)
{
    irllrec_ctx *ctx = tu_ctx_threads(2);
    outs r, f;
    make(p, seed);
    run(ctx, p, -1, &r);
    for (int isa = IRLLREC__XENT_ISA_C; isa <= irllrec__xent_isa_best(); isa++) {
        double el, ex, ey;
        run(ctx, p, isa, &f);
        el = fabs(total(&f, p->nr) - total(&r, p->nr)) / fabs(total(&r, p->nr));
        ex = rel_err_f(f.dxn, r.dxn, p->nr * p->d);
        ey = rel_err_f(f.dyn, r.dyn, p->nc * p->d);
        ck_assert_msg(el <= XT_TOL && ex <= XT_TOL && ey <= XT_TOL,
                      "%s, kind %d, %lld x %lld, d %d: loss %.3g dxn %.3g dyn %.3g",
                      irllrec__xent_isa_name(isa), (int)p->kind, (long long)p->nr,
                      (long long)p->nc, (int)p->d, el, ex, ey);
        drop(&f);
    }
    drop(&r);
    unmake(p);
    irllrec_ctx_free(ctx);
}

START_TEST(fused_matches_reference_infonce)
{
    /* d across 1, below, at and past one vector; shapes past the 256-row
     * block, the 32-column tile and (d = 37: 416 columns) the column block */
    static const int32_t ds[] = {1, 5, 16, 32, 37};
    static const int64_t shapes[][2] = {{13, 29}, {300, 45}, {70, 500}};
    for (size_t a = 0; a < sizeof ds / sizeof ds[0]; a++)
        for (size_t b = 0; b < sizeof shapes / sizeof shapes[0]; b++) {
            prob p = {.nr = shapes[b][0], .nc = shapes[b][1], .d = ds[a],
                      .kind = IRLLREC__XENT_INFONCE, .targets = 1, .weights = (int)(b & 1) ^ 1,
                      .cols = (int)((a + b) & 1), .slices = 3, .inv_tau = 5.0f};
            compare(&p, 11 + a * 7 + b);
        }
}
END_TEST

START_TEST(fused_matches_reference_translation)
{
    static const int32_t ds[] = {3, 32, 33};
    static const float itaus[] = {1.0f, 20.0f, 40.0f}; /* 40: the fixed shift's edge */
    for (size_t a = 0; a < sizeof ds / sizeof ds[0]; a++) {
        prob p = {.nr = 290, .nc = 290, .d = ds[a], .kind = IRLLREC__XENT_TRAN,
                  .slices = 4, .inv_tau = itaus[a]};
        compare(&p, 101 + a);
    }
}
END_TEST

/* Loss of the fused path alone (need_grad still on: one code path). */
static double fused_loss(irllrec_ctx *ctx, const prob *p, int isa)
{
    outs o;
    double t;
    run(ctx, p, isa, &o);
    t = total(&o, p->nr);
    drop(&o);
    return t;
}

/* Central differences in double around unit rows: the engine's gradient is
 * w.r.t. xn and yn as given (no renormalisation), so any direction works. */
START_TEST(fused_gradcheck)
{
    irllrec_ctx *ctx = tu_ctx_threads(1);
    for (int kind = IRLLREC__XENT_INFONCE; kind <= IRLLREC__XENT_TRAN; kind++)
        for (int isa = IRLLREC__XENT_ISA_C; isa <= irllrec__xent_isa_best(); isa++) {
            prob p = {.nr = 9, .nc = kind == IRLLREC__XENT_TRAN ? 9 : 35, .d = 19, .kind = kind,
                      .targets = kind == IRLLREC__XENT_INFONCE, .weights = 1,
                      .cols = kind == IRLLREC__XENT_INFONCE, .slices = 2, .inv_tau = 2.0f};
            outs g;
            const float h = 1e-2f;
            double worst = 0.0, gmax = 0.0;
            make(&p, 7 + (uint64_t)kind);
            run(ctx, &p, isa, &g);
            for (int side = 0; side < 2; side++) {
                float *v = side ? p.y : p.x;
                const float *gr = side ? g.dyn : g.dxn;
                const int64_t n = (side ? p.nc : p.nr) * p.d;
                for (int64_t i = 0; i < n; i++) {
                    const float v0 = v[i];
                    double lp, lm;
                    v[i] = v0 + h;
                    lp = fused_loss(ctx, &p, isa);
                    v[i] = v0 - h;
                    lm = fused_loss(ctx, &p, isa);
                    v[i] = v0;
                    const double fd = (lp - lm) / (2.0 * ((double)(v0 + h) - (double)v0));
                    worst = fmax(worst, fabs(fd - (double)gr[i]));
                    gmax = fmax(gmax, fabs((double)gr[i]));
                }
            }
            ck_assert(gmax > 1e-3);
            ck_assert_msg(worst <= 2e-4 * gmax, "%s kind %d: |fd - g| %.3g, max|g| %.3g",
                          irllrec__xent_isa_name(isa), kind, worst, gmax);
            drop(&g);
            unmake(&p);
        }
    irllrec_ctx_free(ctx);
}
END_TEST

static int same_outs(const outs *a, const outs *b, const prob *p)
{
    return memcmp(a->loss, b->loss, (size_t)p->nr * sizeof(double)) == 0 &&
           memcmp(a->dxn, b->dxn, (size_t)(p->nr * p->d) * sizeof(float)) == 0 &&
           memcmp(a->dyn, b->dyn, (size_t)(p->nc * p->d) * sizeof(float)) == 0;
}

START_TEST(fused_bits_do_not_depend_on_threads)
{
    prob p = {.nr = 611, .nc = 1037, .d = 32, .kind = IRLLREC__XENT_INFONCE, .targets = 1,
              .weights = 1, .slices = 6, .inv_tau = 5.0f};
    make(&p, 3);
    for (int isa = IRLLREC__XENT_ISA_C; isa <= irllrec__xent_isa_best(); isa++) {
        outs o[3];
        for (int t = 0; t < 3; t++) {
            irllrec_ctx *ctx = tu_ctx_threads(t + 1);
            run(ctx, &p, isa, &o[t]);
            irllrec_ctx_free(ctx);
        }
        for (int t = 1; t < 3; t++) {
            ck_assert_msg(same_outs(&o[0], &o[t], &p), "%s: bits differ at %d threads",
                          irllrec__xent_isa_name(isa), t + 1);
        }
        for (int t = 0; t < 3; t++) drop(&o[t]);
    }
    unmake(&p);
}
END_TEST

/* Kept exponentials (any row-block height) give the bits of recomputing
 * them: the kept strip is only a cache, never a different sum. */
START_TEST(fused_kept_exps_match_recompute_bits)
{
    static const int64_t keeps[] = {0, 8, 24, 1000};
    prob ps[] = {{.nr = 611, .nc = 1037, .d = 32, .kind = IRLLREC__XENT_INFONCE, .targets = 1,
                  .weights = 1, .cols = 1, .slices = 3, .inv_tau = 5.0f},
                 {.nr = 300, .nc = 300, .d = 33, .kind = IRLLREC__XENT_TRAN, .slices = 2,
                  .inv_tau = 20.0f}};
    irllrec_ctx *ctx = tu_ctx_threads(2);
    ck_assert_int_ge(irllrec__xent_keep_rows(1037), 24);
    /* the align handle sizes one workspace for its widest job */
    for (int64_t n = 2; n < 300000; n += 97)
        ck_assert(irllrec__xent_pack_floats(n, 32, 2) >= irllrec__xent_pack_floats(n - 1, 32, 2));
    for (size_t q = 0; q < sizeof ps / sizeof ps[0]; q++) {
        prob *p = &ps[q];
        make(p, 17 + q);
        for (int isa = IRLLREC__XENT_ISA_C; isa <= irllrec__xent_isa_best(); isa++) {
            outs r, k;
            p->keep = -1;
            run(ctx, p, isa, &r);
            for (size_t a = 0; a < sizeof keeps / sizeof keeps[0]; a++) {
                p->keep = keeps[a];
                run(ctx, p, isa, &k);
                ck_assert_msg(same_outs(&r, &k, p), "%s, kind %d, keep_rows %lld: bits differ",
                              irllrec__xent_isa_name(isa), (int)p->kind, (long long)keeps[a]);
                drop(&k);
            }
            drop(&r);
        }
        unmake(p);
    }
    irllrec_ctx_free(ctx);
}
END_TEST

/* Below tau = 0.025 the fixed shift no longer bounds the range: the fused
 * path declines and the reference's streaming max runs. */
START_TEST(fused_declines_streaming_max)
{
    irllrec__xent jb;
    float ypack[64];
    memset(&jb, 0, sizeof jb);
    jb.d = 1;
    jb.n_cols = 1;
    jb.ypack = ypack;
    jb.inv_tau = 40.5f;
    ck_assert_int_eq(irllrec__xent_fused_run(NULL, &jb, IRLLREC__XENT_ISA_C), 0);
    jb.inv_tau = 5.0f;
    jb.ypack = NULL;
    ck_assert_int_eq(irllrec__xent_fused_run(NULL, &jb, IRLLREC__XENT_ISA_C), 0);
}
END_TEST

START_TEST(path_follows_environment)
{
    const int best = irllrec__xent_isa_best();
    tu_env saved;
    tu_env_save(&saved, "IRLLREC_XENT");
    ck_assert_int_eq(setenv("IRLLREC_XENT", "reference", 1), 0);
    ck_assert_int_eq(irllrec__xent_path(), -1);
    ck_assert_int_eq(setenv("IRLLREC_XENT", "c", 1), 0);
    ck_assert_int_eq(irllrec__xent_path(), IRLLREC__XENT_ISA_C);
    ck_assert_int_eq(setenv("IRLLREC_XENT", "avx2", 1), 0);
    ck_assert_int_eq(irllrec__xent_path(), best < IRLLREC__XENT_ISA_AVX2 ? best : IRLLREC__XENT_ISA_AVX2);
    ck_assert_int_eq(setenv("IRLLREC_XENT", "avx512", 1), 0);
    ck_assert_int_eq(irllrec__xent_path(), best);
    /* unset or unrecognised: with BLAS the fused kernels where the CPU has
     * AVX2 (they keep their exponentials and beat the sgemm engine), else the
     * reference; the plain-C GEMM build keeps the reference (same bits on
     * every CPU) */
#ifdef IRLLREC_USE_CBLAS
    ck_assert_int_eq(irllrec__xent_default_path(IRLLREC__XENT_ISA_AVX512),
                     IRLLREC__XENT_ISA_AVX512);
    ck_assert_int_eq(irllrec__xent_default_path(IRLLREC__XENT_ISA_AVX2), IRLLREC__XENT_ISA_AVX2);
#else
    ck_assert_int_eq(irllrec__xent_default_path(IRLLREC__XENT_ISA_AVX512), -1);
#endif
    ck_assert_int_eq(irllrec__xent_default_path(IRLLREC__XENT_ISA_C), -1);
    ck_assert_int_eq(setenv("IRLLREC_XENT", "no-such-kernel", 1), 0);
    ck_assert_int_eq(irllrec__xent_path(), irllrec__xent_default_path(best));
    ck_assert_int_eq(unsetenv("IRLLREC_XENT"), 0);
    ck_assert_int_eq(irllrec__xent_path(), irllrec__xent_default_path(best));
    tu_env_restore(&saved); /* CK_FORK=no: later suites keep the caller's choice */
}
END_TEST

/* ---- through the public calls, per IRLLREC_XENT value ------------------- */

#define AP_PAD 3            /* floats past each row of every view (ld = d + 3) */
#define AP_SENTINEL 1234.5f /* what the padding holds; no call may change it */

/* One shape: InfoNCE B x M, translation N x N, width d. */
typedef struct ashape {
    int32_t d;
    int64_t b, m, n;
} ashape;

/* Inputs (strided: ld = d + AP_PAD) and what the four calls return. */
typedef struct acase {
    ashape sh;
    int64_t ld;
    float *x, *y, *u, *v, *eu, *ev, *w;
    int32_t *pos, *ids;
    int64_t n_ids;
    /* outputs, one set per call: 0 weighted InfoNCE, 1 diagonal InfoNCE,
     * 2 translation with given noise, 3 sampled translation (noise off) */
    float *dx[4], *dy[4];
    double loss[4];
    int64_t nx[4], ny[4]; /* rows of dx[c] and dy[c] */
} acase;

static float *ap_mat(int64_t rows, int64_t ld, int64_t d, uint64_t *s, float scale)
{
    float *p = malloc((size_t)(rows * ld) * sizeof(float));
    ck_assert_ptr_nonnull(p);
    for (int64_t i = 0; i < rows; i++)
        for (int64_t k = 0; k < ld; k++) p[i * ld + k] = k < d ? scale * tu_rnd(s) : AP_SENTINEL;
    return p;
}

static void ap_make(acase *c, ashape sh, uint64_t seed)
{
    uint64_t s = seed * 2654435761u + 17;
    const int64_t d = sh.d;
    memset(c, 0, sizeof *c);
    c->sh = sh;
    c->ld = d + AP_PAD;
    c->x = ap_mat(sh.b, c->ld, d, &s, 2.0f);
    c->y = ap_mat(sh.m, c->ld, d, &s, 2.0f);
    c->u = ap_mat(sh.n, c->ld, d, &s, 2.0f);
    c->v = ap_mat(sh.n, c->ld, d, &s, 2.0f);
    c->eu = ap_mat(sh.n, c->ld, d, &s, 0.4f);
    c->ev = ap_mat(sh.n, c->ld, d, &s, 0.4f);
    c->w = malloc((size_t)sh.b * sizeof(float));
    c->pos = malloc((size_t)sh.b * sizeof(int32_t));
    c->n_ids = sh.n - sh.n / 3;
    c->ids = malloc((size_t)c->n_ids * sizeof(int32_t));
    ck_assert(c->w && c->pos && c->ids);
    for (int64_t i = 0; i < sh.b; i++) {
        c->w[i] = tu_rnd(&s) + 0.5f;
        c->pos[i] = (int32_t)((tu_rnd(&s) + 0.5f) * (float)sh.m) % (int32_t)sh.m;
    }
    for (int64_t i = 0; i < c->n_ids; i++) /* repeats allowed, some nodes left out */
        c->ids[i] = (int32_t)((tu_rnd(&s) + 0.5f) * (float)sh.n) % (int32_t)sh.n;
    c->nx[0] = c->nx[1] = sh.b;
    c->ny[0] = c->ny[1] = sh.m;
    c->nx[2] = c->ny[2] = c->nx[3] = c->ny[3] = sh.n;
}

static void ap_free_out(acase *c)
{
    for (int k = 0; k < 4; k++) {
        free(c->dx[k]);
        free(c->dy[k]);
        c->dx[k] = c->dy[k] = NULL;
    }
}

static void ap_free(acase *c)
{
    ap_free_out(c);
    free(c->x);
    free(c->y);
    free(c->u);
    free(c->v);
    free(c->eu);
    free(c->ev);
    free(c->w);
    free(c->pos);
    free(c->ids);
}

static irllrec_mat ap_view(float *p, int64_t rows, const acase *c)
{
    irllrec_mat m = {p, rows, c->sh.d, c->ld};
    return m;
}

/* The four calls on a fresh handle (2 threads, automatic blocking, limits
 * above the shapes used) with whatever IRLLREC_XENT says now. */
static void ap_run(acase *c)
{
    const ashape sh = c->sh;
    irllrec_ctx *ctx = tu_ctx_threads(2);
    irllrec_align_spec sp;
    irllrec_align *h = NULL;
    uint64_t s = 99;
    irllrec_align_spec_init(&sp, sizeof sp);
    sp.dim = sh.d;
    sp.max_rows = (sh.b > sh.n ? sh.b : sh.n) + 5;
    sp.max_cols = (sh.m > sh.n ? sh.m : sh.n) + 7;
    sp.seed = 3;
    ck_assert_int_eq(irllrec_align_create(ctx, &sp, &h), IRLLREC_OK);
    ck_assert_int_eq(irllrec_align_set_noise(h, IRLLREC_ALIGN_NOISE_OFF), IRLLREC_OK);
    for (int k = 0; k < 4; k++) { /* += into random values, padding set */
        c->dx[k] = ap_mat(c->nx[k], c->ld, sh.d, &s, 1.0f);
        c->dy[k] = ap_mat(c->ny[k], c->ld, sh.d, &s, 1.0f);
    }
    ck_assert_int_eq(irllrec_align_infonce_weighted(
                         h, ap_view(c->x, sh.b, c), ap_view(c->y, sh.m, c), c->pos, c->w, 0.2,
                         1.0 / (double)sh.b, ap_view(c->dx[0], sh.b, c), ap_view(c->dy[0], sh.m, c),
                         &c->loss[0]), IRLLREC_OK);
    ck_assert_int_eq(irllrec_align_infonce(h, ap_view(c->x, sh.b, c), ap_view(c->y, sh.m, c), NULL,
                                           0.5, 0.75, ap_view(c->dx[1], sh.b, c),
                                           ap_view(c->dy[1], sh.m, c), &c->loss[1]), IRLLREC_OK);
    ck_assert_int_eq(irllrec_align_translation_noise(
                         h, ap_view(c->u, sh.n, c), ap_view(c->v, sh.n, c), ap_view(c->eu, sh.n, c),
                         ap_view(c->ev, sh.n, c), ap_view(c->dx[2], sh.n, c),
                         ap_view(c->dy[2], sh.n, c), &c->loss[2]), IRLLREC_OK);
    ck_assert_int_eq(irllrec_align_translation_sampled(
                         h, ap_view(c->u, sh.n, c), ap_view(c->v, sh.n, c), c->ids, c->n_ids,
                         ap_view(c->dx[3], sh.n, c), ap_view(c->dy[3], sh.n, c), &c->loss[3]),
                     IRLLREC_OK);
    irllrec_align_free(h);
    irllrec_ctx_free(ctx);
}

/* max|a - r| / max|r| over the d used columns of rows x ld; the padding of
 * a must still hold the sentinel. */
static double ap_err(const float *a, const float *r, int64_t rows, const acase *c)
{
    double e = 0.0, m = 0.0;
    for (int64_t i = 0; i < rows; i++)
        for (int64_t k = 0; k < c->ld; k++) {
            const float av = a[i * c->ld + k], rv = r[i * c->ld + k];
            if (k >= c->sh.d) {
                ck_assert_msg(av == AP_SENTINEL, "padding [%lld][%lld] written", (long long)i,
                              (long long)k);
                continue;
            }
            e = fmax(e, fabs((double)av - (double)rv));
            m = fmax(m, fabs((double)rv));
        }
    return m > 0.0 ? e / m : e;
}

/* The public loss calls (align.c's workspace and the IRLLREC_XENT dispatch,
 * not only the engine) under each IRLLREC_XENT value whose kernels this CPU
 * runs ("c"; "avx2", "avx512" where present; "fused"), against
 * IRLLREC_XENT=reference on ragged shapes: d below, at a non-multiple of and
 * past one vector, B and N not multiples of any tile's rows, M and N not
 * multiples of its columns, and (d = 33: column blocks of 480 or 496) past the
 * 256-row block and the column block; strided views whose padding must stay
 * untouched; repeated positives and sampled ids. Bound XT_TOL (seen 1.2e-7
 * in the BLAS and the plain-C GEMM builds). */
START_TEST(env_values_match_reference_through_api)
{
    static const ashape shapes[] = {{1, 3, 5, 7}, {5, 13, 29, 37}, {17, 37, 45, 70}, {33, 300, 530, 290}};
    static const char *vals[] = {"c", "avx2", "avx512", "fused"};
    tu_env saved;
    int ran = 0;
    double worst = 0.0;
    tu_env_save(&saved, "IRLLREC_XENT");
    for (size_t a = 0; a < sizeof shapes / sizeof shapes[0]; a++) {
        acase r, f;
        ap_make(&r, shapes[a], 5 + a);
        ck_assert_int_eq(setenv("IRLLREC_XENT", "reference", 1), 0);
        ck_assert_str_eq(irllrec_align_kernel(), "reference");
        ap_run(&r);
        for (size_t v = 0; v < sizeof vals / sizeof vals[0]; v++) {
            char want[32];
            const char *kern;
            ck_assert_int_eq(setenv("IRLLREC_XENT", vals[v], 1), 0);
            kern = irllrec_align_kernel();
            snprintf(want, sizeof want, "fused-%s", vals[v]);
            /* a value capped by the CPU runs a lower set, covered already */
            if (strcmp(vals[v], "fused") != 0 && strcmp(kern, want) != 0) continue;
            ck_assert_msg(strncmp(kern, "fused-", 6) == 0, "%s: kernel %s", vals[v], kern);
            ap_make(&f, shapes[a], 5 + a);
            ap_run(&f);
            for (int k = 0; k < 4; k++) {
                const double el = fabs(f.loss[k] - r.loss[k]) / fabs(r.loss[k]);
                const double ex = ap_err(f.dx[k], r.dx[k], r.nx[k], &r);
                const double ey = ap_err(f.dy[k], r.dy[k], r.ny[k], &r);
                ck_assert_msg(el <= XT_TOL && ex <= XT_TOL && ey <= XT_TOL,
                              "IRLLREC_XENT=%s (%s), call %d, d %d, B %lld, M %lld, N %lld: "
                              "loss %.3g dx %.3g dy %.3g",
                              vals[v], kern, k, (int)r.sh.d, (long long)r.sh.b, (long long)r.sh.m,
                              (long long)r.sh.n, el, ex, ey);
                worst = fmax(worst, fmax(el, fmax(ex, ey)));
            }
            ap_free(&f);
            ran++;
        }
        ap_free(&r);
    }
    tu_env_restore(&saved);
    if (getenv("IRLLREC_TEST_VERBOSE")) printf("env_values_match_reference_through_api: worst %.3g\n", worst);
    ck_assert_int_ge(ran, 8); /* at least "c" and "fused" on every shape */
}
END_TEST

Suite *xent_suite(void)
{
    Suite *s = suite_create("xent");
    TCase *tc = tcase_create("fused");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, fused_matches_reference_infonce);
    tcase_add_test(tc, fused_matches_reference_translation);
    tcase_add_test(tc, fused_gradcheck);
    tcase_add_test(tc, fused_bits_do_not_depend_on_threads);
    tcase_add_test(tc, fused_kept_exps_match_recompute_bits);
    tcase_add_test(tc, fused_declines_streaming_max);
    tcase_add_test(tc, path_follows_environment);
    tcase_add_test(tc, env_values_match_reference_through_api);
    suite_add_tcase(s, tc);
    return s;
}
