/* Driver of the fused cross-entropy kernels (xent_fused.h): run-time choice
 * of the instruction set, packing of the columns, blocking and slicing.
 *
 * Same slicing as the reference path (engine.c): slice g owns the rows
 * share(n_rows, g, n_slices) and the partial dyn + g * n_cols * d, and a
 * thread runs whole slices, so every floating-point operation happens in an
 * order fixed by the slicing and the kernel set, never by the thread count.
 * Within a slice, row blocks of XF_ROWS rows sweep column blocks of about
 * XF_COL_FLOATS / d columns: the block's packed columns (and in the backward
 * sweep its dyn rows) stay in L2 while every MR-row group of the row block
 * passes over them; a group's rows and dxn stay in L1.
 *
 * When a row block's exponentials fit XF_KEEP_FLOATS per thread (row blocks
 * of irllrec__xent_keep_rows rows then), the forward sweep leaves them in a
 * strip that stays in L2/L3 and the backward reads them back: the 2d FLOP
 * and the exp of recomputing each logit were ~a quarter of the work. The
 * strip holds what the recomputation would give bit for bit, and the order
 * of every sum is the same for any row-block height (groups start at
 * lo + k*mr, columns go in order, the target terms go into dyp once per
 * slice), so the bits do not depend on it. */
#include <stdlib.h>
#include <string.h>
#include "xent_fused.h"
#include "../ops/ops.h"

#define XF_ROWS 256
#define XF_COL_FLOATS 16384 /* 64 KiB of packed columns per column block */
#define XF_MAX_MR 8         /* largest mr of any kernel set */
#define XF_MAX_NR 32        /* largest nr */
#define XF_MAX_VL 16
#define XF_KEEP_FLOATS (1 << 20) /* 4 MiB of kept exponentials per thread */
#define XF_PAIR_STACK 256        /* pair words converted at a time when packing */

int irllrec__xent_isa_best(void)
{
#ifdef IRLLREC__XENT_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return IRLLREC__XENT_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return IRLLREC__XENT_ISA_AVX2;
#endif
    return IRLLREC__XENT_ISA_C;
}

int irllrec__xent_bf16_cpu(void)
{
#ifdef IRLLREC__XENT_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16");
#else
    return 0;
#endif
}

const char *irllrec__xent_isa_name(int isa)
{
    return isa == IRLLREC__XENT_ISA_AMX      ? "amx"
           : isa == IRLLREC__XENT_ISA_BF16   ? "avx512-bf16"
           : isa == IRLLREC__XENT_ISA_AVX512 ? "avx512"
           : isa == IRLLREC__XENT_ISA_AVX2   ? "avx2"
                                             : "c";
}

/* The fused kernels are the default where the CPU has AVX2 or AVX-512: with
 * the exponentials kept between the sweeps they measured faster than the
 * sgemm engine on every term (Zen 4, 2 threads: translation 0.49 vs 0.64 s,
 * docs/benchmarks.md). The one-lane C kernels are not: without AVX2 the
 * default is the reference, and IRLLREC_XENT=reference asks for it anywhere.
 * The plain-C GEMM build (no IRLLREC_USE_CBLAS) keeps the reference as its
 * default: its point is the same bits on every CPU, and the fused kernel
 * sets differ from each other. An unrecognised value means the default. */
int irllrec__xent_default_path(int best)
{
#ifdef IRLLREC_USE_CBLAS
    return best >= IRLLREC__XENT_ISA_AVX2 ? best : -1;
#else
    (void)best;
    return -1;
#endif
}

int irllrec__xent_path(void)
{
    const char *e = getenv("IRLLREC_XENT");
    const int best = irllrec__xent_isa_best();
    int want = irllrec__xent_default_path(best);
    if (e != NULL) {
        if (strcmp(e, "reference") == 0) want = -1;
        if (strcmp(e, "c") == 0) want = IRLLREC__XENT_ISA_C;
        if (strcmp(e, "avx2") == 0) want = IRLLREC__XENT_ISA_AVX2;
        if (strcmp(e, "avx512") == 0 || strcmp(e, "fused") == 0) want = IRLLREC__XENT_ISA_AVX512;
    }
    return want < best ? want : best;
}

const char *irllrec_align_kernel(void)
{
    const int path = irllrec__xent_path();
    return path < 0 ? "reference"
                    : path == IRLLREC__XENT_ISA_AVX512 ? "fused-avx512"
                    : path == IRLLREC__XENT_ISA_AVX2 ? "fused-avx2" : "fused-c";
}

static void get_kern(int isa, irllrec__xent_kern *k)
{
#ifdef IRLLREC__XENT_X86
    if (isa == IRLLREC__XENT_ISA_BF16) {
        irllrec__xent_kern_bf16(k);
        return;
    }
    if (isa == IRLLREC__XENT_ISA_AVX512) {
        irllrec__xent_kern_avx512(k);
        return;
    }
    if (isa == IRLLREC__XENT_ISA_AVX2) {
        irllrec__xent_kern_avx2(k);
        return;
    }
#endif
    (void)isa;
    irllrec__xent_kern_c(k);
}

/* fp32 panels, or bf16 pairs over k and (bf16 products) column pairs:
 * (C + 31)(d + 1)/2 + (C + 31) d/2 words at most. */
static int64_t panels_floats(int64_t n_cols, int64_t d)
{
    return (n_cols + XF_MAX_NR) * (d + 1);
}

/* Floats of a kept row of exponentials: n_cols padded to any kernel's nr. */
static int64_t keep_ld(int64_t n_cols)
{
    return (n_cols + XF_MAX_NR - 1) / XF_MAX_NR * XF_MAX_NR;
}

int64_t irllrec__xent_pair_words(int64_t d)
{
    return XF_ROWS * ((d + 1) / 2) + XF_ROWS / 2 * d;
}

int64_t irllrec__xent_keep_rows(int64_t n_cols)
{
    int64_t r = XF_KEEP_FLOATS / keep_ld(n_cols) / XF_MAX_MR * XF_MAX_MR;
    return r > XF_ROWS ? XF_ROWS : r;
}

/* Per-thread floats for kept exponentials. Non-decreasing in n_cols, so a
 * workspace sized for the largest job holds every smaller one; at least
 * keep_rows(n_cols) * keep_ld(n_cols). */
static int64_t keep_stride(int64_t n_cols)
{
    const int64_t most = XF_ROWS * keep_ld(n_cols);
    return most < XF_KEEP_FLOATS ? most : XF_KEEP_FLOATS;
}

int64_t irllrec__xent_pack_floats(int64_t n_cols, int64_t d, int32_t n_threads)
{
    /* packed panels, then per thread XF_MAX_MR scratch rows of d for the dxn
     * of a group's rows past the end of the slice, then per thread the kept
     * exponentials */
    return panels_floats(n_cols, d) + (int64_t)n_threads * (XF_MAX_MR * d + keep_stride(n_cols));
}

float *irllrec__xent_thread_area(const irllrec__xent *jb, int32_t t)
{
    return jb->ypack + panels_floats(jb->n_cols, jb->d) +
           (int64_t)t * (XF_MAX_MR * jb->d + keep_stride(jb->n_cols));
}

typedef struct fjob {
    irllrec__xent *jb;
    irllrec__xent_kern k;
    int64_t ncb;  /* columns per column block, a multiple of k.nr */
    int64_t rows; /* rows per row block, a multiple of k.mr */
    int64_t lde;  /* floats per kept row; 0: nothing kept */
    int64_t np;   /* bf16 kernels (k.pairs): words per row of pairs, (d + 1) / 2 */
    int bwp;      /* bf16 backward products (k.bwdp) */
    uint32_t *yj; /* with bwp: the column pairs, 16 x d words per panel */
} fjob;

/* Where the kernels read column c's panel: fp32 panels are d x nr floats,
 * bf16 ones np x nr pair words. */
static const float *panel_at(const fjob *f, int64_t c)
{
    const irllrec__xent *jb = f->jb;
    if (f->k.pairs) return (const float *)(const void *)((const uint32_t *)(const void *)jb->ypack + c * f->np);
    return jb->ypack + c * jb->d;
}

/* Row blocks: the kept height (job->keep_rows caps it), else XF_ROWS. */
static void plan_rows(fjob *f)
{
    const irllrec__xent *jb = f->jb;
    const int64_t most = irllrec__xent_keep_rows(jb->n_cols);
    int64_t r = jb->keep_rows == 0 || jb->keep_rows > most ? most : jb->keep_rows;
    r = r / f->k.mr * f->k.mr;
    f->rows = r > 0 ? r : XF_ROWS;
    f->lde = r > 0 ? keep_ld(jb->n_cols) : 0;
}

/* bf16 panels p0..p1: np rows of nr pair words (zeros past n_cols). */
static void pack_pairs(const fjob *f, int64_t p0, int64_t p1)
{
    const irllrec__xent *jb = f->jb;
    const int64_t nr = f->k.nr, d = jb->d;
    uint32_t w[XF_PAIR_STACK];
    for (int64_t p = p0; p < p1; p++) {
        uint32_t *restrict dst = (uint32_t *)(void *)jb->ypack + p * nr * f->np;
        for (int64_t l = 0; l < nr; l++) {
            const int64_t j = p * nr + l;
            for (int64_t k0 = 0; k0 < f->np; k0 += XF_PAIR_STACK) {
                const int64_t kn = f->np - k0 < XF_PAIR_STACK ? f->np - k0 : XF_PAIR_STACK;
                if (j < jb->n_cols) {
                    const int64_t e0 = 2 * k0, en = d - e0 < 2 * kn ? d - e0 : 2 * kn;
                    irllrec__f32_to_bf16_pairs(jb->yn + j * d + e0, en, w);
                } else {
                    memset(w, 0, (size_t)kn * sizeof w[0]);
                }
                for (int64_t k = 0; k < kn; k++) dst[(k0 + k) * nr + l] = w[k];
            }
        }
    }
}

/* Column pairs of panels p0..p1 (bf16 products): pair m of panel p is
 * columns p*nr + 2m and + 1, interleaved over k (zeros past n_cols). */
static void pack_col_pairs(const fjob *f, int64_t p0, int64_t p1)
{
    const irllrec__xent *jb = f->jb;
    const int64_t nr = f->k.nr, d = jb->d, n = jb->n_cols;
    for (int64_t p = p0; p < p1; p++)
        for (int64_t m = 0; m < nr / 2; m++) {
            const int64_t j = p * nr + 2 * m;
            uint32_t *w = f->yj + (p * nr / 2 + m) * d;
            if (j < n)
                irllrec__bf16_pair_rows(jb->yn + j * d, j + 1 < n ? jb->yn + (j + 1) * d : NULL,
                                        d, w);
            else
                memset(w, 0, (size_t)d * sizeof *w);
        }
}

/* Panel p holds columns [p*nr, p*nr + nr) as d rows of nr floats (zeros past
 * n_cols). Panels are split over the threads. */
static void pack_task(void *ud, int32_t t, int32_t nt)
{
    const fjob *f = (const fjob *)ud;
    const irllrec__xent *jb = f->jb;
    const int64_t nr = f->k.nr, d = jb->d, np = (jb->n_cols + nr - 1) / nr;
    int64_t p0, p1;
    irllrec__share(np, t, nt, &p0, &p1);
    if (f->k.pairs) {
        pack_pairs(f, p0, p1);
        if (f->bwp) pack_col_pairs(f, p0, p1);
        return;
    }
    for (int64_t p = p0; p < p1; p++) {
        float *restrict dst = jb->ypack + p * nr * d;
        for (int64_t l = 0; l < nr; l++) {
            const int64_t j = p * nr + l;
            const float *restrict src = jb->yn + j * d;
            if (j < jb->n_cols)
                for (int64_t k = 0; k < d; k++) dst[k * nr + l] = src[k];
            else
                for (int64_t k = 0; k < d; k++) dst[k * nr + l] = 0.0f;
        }
    }
}

/* Row pointers of the group starting at row g (rows past hi repeat row hi-1,
 * whose contributions are then zeroed by alpha = 0 or dropped). */
static int32_t group_rows(const fjob *f, int64_t g, int64_t hi, const float **xr)
{
    const irllrec__xent *jb = f->jb;
    const int32_t n = hi - g < f->k.mr ? (int32_t)(hi - g) : f->k.mr;
    for (int32_t i = 0; i < f->k.mr; i++) xr[i] = jb->xn + (g + (i < n ? i : n - 1)) * jb->d;
    return n;
}

/* The same rows as bf16 pairs: row r of the row block starting at r0 is at
 * xw + (r - r0) * np. */
static void group_pairs(const fjob *f, int64_t g, int64_t r0, int32_t n, const uint32_t *xw,
                        const float **xb)
{
    for (int32_t i = 0; i < f->k.mr; i++)
        xb[i] = (const float *)(const void *)(xw + (g - r0 + (i < n ? i : n - 1)) * f->np);
}

static const float *cols_at(const irllrec__xent *jb, int64_t c)
{
    return jb->col_weight != NULL ? jb->col_weight + c : NULL;
}

/* keep: the row block's kept exponentials (NULL: none); xw: its rows as
 * bf16 pairs (bf16 kernels). */
static void forward_rows(const fjob *f, int64_t r0, int64_t r1, float *keep, const uint32_t *xw)
{
    const irllrec__xent *jb = f->jb;
    const int64_t d = jb->d, nr = f->k.nr, vl = f->k.vl;
    double *den = jb->row_aux + jb->n_rows;
    for (int64_t c0 = 0; c0 < jb->n_cols; c0 += f->ncb) {
        const int64_t c1 = c0 + f->ncb < jb->n_cols ? c0 + f->ncb : jb->n_cols;
        for (int64_t g = r0; g < r1; g += f->k.mr) {
            const float *xr[XF_MAX_MR];
            float vsum[XF_MAX_MR * XF_MAX_VL] __attribute__((aligned(64)));
            const int32_t n = group_rows(f, g, r1, xr);
            float *e = keep != NULL ? keep + (g - r0) * f->lde : NULL;
            if (f->k.pairs) group_pairs(f, g, r0, n, xw, xr);
            memset(vsum, 0, sizeof vsum);
            for (int64_t c = c0; c < c1; c += nr) {
                const int32_t nj = c1 - c < nr ? (int32_t)(c1 - c) : (int32_t)nr;
                f->k.fwd(xr, panel_at(f, c), d, jb->inv_tau, nj, cols_at(jb, c), vsum,
                         e ? e + c : NULL, f->lde);
            }
            /* lanes in a fixed order, into the row's double sum */
            for (int32_t i = 0; i < n; i++) {
                double s = 0.0;
                for (int64_t l = 0; l < vl; l++) s += (double)vsum[i * vl + l];
                den[g + i] += s;
            }
        }
    }
}

/* The backward of one tile when nothing is kept: recompute it (fp32 set),
 * or let the bf16 forward write its exponentials to the stack and push them
 * as a kept tile (bf16 set: the same terms the kept path reads). */
static void recompute_tile(const fjob *f, const float *const *xr, const float *const *xb,
                           const uint32_t *xi, int64_t c, int32_t nj, const float *al,
                           float *const *dxr, float *dyp)
{
    const irllrec__xent *jb = f->jb;
    const int64_t d = jb->d;
    float et[XF_MAX_MR * XF_MAX_NR] __attribute__((aligned(64)));
    float vs[XF_MAX_MR * XF_MAX_VL] __attribute__((aligned(64)));
    if (!f->k.pairs) {
        f->k.bwd(xr, jb->ypack + c * d, jb->yn + c * d, d, jb->inv_tau, nj, cols_at(jb, c), al,
                 dxr, dyp + c * d);
        return;
    }
    memset(vs, 0, sizeof vs);
    f->k.fwd(xb, panel_at(f, c), d, jb->inv_tau, nj, cols_at(jb, c), vs, et, f->k.nr);
    if (f->bwp)
        f->k.bwdp(et, f->k.nr, xi, f->yj + c * d / 2, d, nj, al, dxr, dyp + c * d);
    else
        f->k.bwdk(et, f->k.nr, xr, jb->yn + c * d, d, nj, al, dxr, dyp + c * d);
}

static void backward_rows(const fjob *f, int64_t r0, int64_t r1, float *dyp, float *scratch,
                          const float *keep, const uint32_t *xw)
{
    const irllrec__xent *jb = f->jb;
    const int64_t d = jb->d, nr = f->k.nr;
    const double *alpha = jb->row_aux + 3 * jb->n_rows;
    memset(jb->dxn + r0 * d, 0, (size_t)((r1 - r0) * d) * sizeof(float));
    for (int64_t c0 = 0; c0 < jb->n_cols; c0 += f->ncb) {
        const int64_t c1 = c0 + f->ncb < jb->n_cols ? c0 + f->ncb : jb->n_cols;
        for (int64_t g = r0; g < r1; g += f->k.mr) {
            const float *xr[XF_MAX_MR], *xb[XF_MAX_MR];
            float *dxr[XF_MAX_MR], al[XF_MAX_MR];
            const int32_t n = group_rows(f, g, r1, xr);
            /* the group's row pairs (bf16 products), after the k pairs */
            const uint32_t *xi = f->bwp ? xw + XF_ROWS * f->np + (g - r0) / 2 * d : NULL;
            if (f->k.pairs && keep == NULL) group_pairs(f, g, r0, n, xw, xb);
            for (int32_t i = 0; i < f->k.mr; i++) {
                dxr[i] = i < n ? jb->dxn + (g + i) * d : scratch + i * d;
                al[i] = i < n ? (float)alpha[g + i] : 0.0f;
            }
            for (int64_t c = c0; c < c1; c += nr) {
                const int32_t nj = c1 - c < nr ? (int32_t)(c1 - c) : (int32_t)nr;
                const float *e = keep != NULL ? keep + (g - r0) * f->lde + c : NULL;
                if (e != NULL && f->bwp)
                    f->k.bwdp(e, f->lde, xi, f->yj + c * d / 2, d, nj, al, dxr, dyp + c * d);
                else if (e != NULL)
                    f->k.bwdk(e, f->lde, xr, jb->yn + c * d, d, nj, al, dxr, dyp + c * d);
                else
                    recompute_tile(f, xr, xb, xi, c, nj, al, dxr, dyp);
            }
        }
    }
}

/* The row block's rows as bf16 pairs over k (the forward), then with bf16
 * products its row pairs (r0 + 2q, r0 + 2q + 1) up to the last group's end:
 * rows past r1 are zeros, not whatever the buffer held, since their zero G
 * times a NaN left there would still be NaN. */
static void to_pairs(const fjob *f, int64_t r0, int64_t r1, uint32_t *xw)
{
    const irllrec__xent *jb = f->jb;
    const int64_t d = jb->d, mr = f->k.mr;
    const int64_t end = r0 + (r1 - r0 + mr - 1) / mr * mr;
    for (int64_t r = r0; r < r1; r++)
        irllrec__f32_to_bf16_pairs(jb->xn + r * d, d, xw + (r - r0) * f->np);
    if (!f->bwp) return;
    for (int64_t r = r0; r < end; r += 2) {
        uint32_t *w = xw + XF_ROWS * f->np + (r - r0) / 2 * d;
        if (r < r1)
            irllrec__bf16_pair_rows(jb->xn + r * d, r + 1 < r1 ? jb->xn + (r + 1) * d : NULL, d,
                                    w);
        else
            memset(w, 0, (size_t)d * sizeof *w);
    }
}

static void slice_task(void *ud, int32_t t, int32_t nt)
{
    const fjob *f = (const fjob *)ud;
    const irllrec__xent *jb = f->jb;
    const int64_t d = jb->d;
    float *scratch = jb->ypack + panels_floats(jb->n_cols, d) + (int64_t)t * XF_MAX_MR * d;
    float *keep = f->lde == 0 ? NULL
                              : jb->ypack + panels_floats(jb->n_cols, d) +
                                    (int64_t)jb->n_threads * XF_MAX_MR * d +
                                    (int64_t)t * keep_stride(jb->n_cols);
    uint32_t *xw = f->k.pairs ? jb->xpairs + (int64_t)t * irllrec__xent_pair_words(d) : NULL;
    int64_t g0, g1;
    memset(scratch, 0, (size_t)(XF_MAX_MR * d) * sizeof(float));
    irllrec__xent_slices_of(jb, t, nt, &g0, &g1);
    for (int64_t g = g0; g < g1; g++) {
        int64_t lo, hi;
        float *dyp = irllrec__xent_slice_begin(jb, t, g, &lo, &hi);
        for (int64_t r0 = lo; r0 < hi; r0 += f->rows) {
            const int64_t r1 = hi - r0 < f->rows ? hi : r0 + f->rows;
            float *kb = jb->need_grad ? keep : NULL;
            if (xw != NULL) to_pairs(f, r0, r1, xw);
            irllrec__xent_rows_init(jb, r0, r1 - r0, 1);
            forward_rows(f, r0, r1, kb, xw);
            irllrec__xent_head(jb, r0, r1 - r0);
            if (jb->need_grad) backward_rows(f, r0, r1, dyp, scratch, kb, xw);
        }
        /* once per slice, not per row block: the order of dyp's sums then
         * does not depend on the row-block height */
        if (jb->need_grad) irllrec__xent_target_fixup(jb, lo, hi - lo, dyp, 0);
        irllrec__xent_slice_end(jb, t, dyp);
    }
}

/* Whether IRLLREC_XENT lets bf16 jobs onto the tiles: unset, "fused". */
static int amx_allowed(void)
{
    const char *e = getenv("IRLLREC_XENT");
    return e == NULL || strcmp(e, "fused") == 0;
}

int irllrec__xent_bf16_isa(const irllrec__xent *job, int isa)
{
    if (job->bf16 <= 0 || job->xpairs == NULL || isa < IRLLREC__XENT_ISA_AVX512 ||
        !irllrec__xent_bf16_cpu())
        return isa > IRLLREC__XENT_ISA_AVX512 ? IRLLREC__XENT_ISA_AVX512 : isa;
    if ((isa == IRLLREC__XENT_ISA_AMX || (isa == IRLLREC__XENT_ISA_AVX512 && amx_allowed())) &&
        irllrec__xent_amx_fits(job) && irllrec__amx_ok())
        return IRLLREC__XENT_ISA_AMX;
    return IRLLREC__XENT_ISA_BF16;
}

int irllrec__xent_fused_run(irllrec_ctx *ctx, irllrec__xent *job, int isa)
{
    fjob f;
    if (job->ypack == NULL || !irllrec__xent_fixed_shift(job)) return 0;
    isa = irllrec__xent_bf16_isa(job, isa);
    if (isa == IRLLREC__XENT_ISA_AMX && irllrec__xent_amx_run(ctx, job)) return 1;
    if (isa == IRLLREC__XENT_ISA_AMX) isa = IRLLREC__XENT_ISA_BF16;
    f.jb = job;
    f.np = (job->d + 1) / 2;
    get_kern(isa, &f.k);
    f.bwp = isa == IRLLREC__XENT_ISA_BF16 && job->bf16 >= 2;
    if (f.bwp) irllrec__xent_kern_bf16p(&f.k);
    f.yj = (uint32_t *)(void *)job->ypack + ((job->n_cols + f.k.nr - 1) / f.k.nr) * f.k.nr * f.np;
    f.ncb = (XF_COL_FLOATS / job->d) / f.k.nr * f.k.nr;
    if (f.ncb < f.k.nr) f.ncb = f.k.nr;
    plan_rows(&f);
    (void)irllrec__parallel(ctx, job->n_threads, pack_task, &f);
    (void)irllrec__parallel(ctx, job->n_threads, slice_task, &f);
    irllrec__xent_reduce_slices(ctx, job);
    return 1;
}
