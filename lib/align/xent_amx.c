/* The AMX driver of the fused cross-entropy's bf16 levels (xent_fused.h,
 * docs/math-align.md §2d): the same contract as the AVX512-BF16 kernels
 * (bf16 rows and columns in the sums' logits, products exact, sums fp32;
 * level 2 also G = bf(alpha_i e_ij) times bf16 rows and columns), with
 * every product a tile product: TDPBF16PS multiplies 16 x 32 by 32 x 16 in
 * one instruction, where VDPBF16PS needs 32 for the same work.
 *
 * Blocking: a row block of AX_ROWS rows sweeps column blocks of ~64 KiB of
 * fp32 dy; a group of 32 rows (two A tiles) meets a panel of 32 columns
 * (two B tiles) in four C tiles. Nothing is kept between the sweeps: the
 * backward recomputes each 32 x 32 tile of logits (four tile products) and
 * its exponentials, so the row blocks stay tall and dy's traffic small.
 * Level 2 then rounds G to bf16 in the two layouts the products need (rows
 * for dx = G Y, row pairs for dy^T = X^T G) and pushes it with eight tile
 * products; dy^T accumulates in the slice's partial as d x 16 blocks, one
 * per 16 columns (the memory of those columns' rows), turned back into rows
 * at the slice's end. Level 1 pushes the recomputed tile through the fp32
 * AVX-512 set's bwdk, as the AVX512-BF16 set does.
 *
 * Same slices, same row blocks and groups for any thread count: the bits
 * depend on the slicing alone (and differ from the AVX512-BF16 kernels',
 * whose sums run in another order). Runs only when irllrec__xent_amx_fits. */
#include <string.h>
#include "xent_fused.h"
#include "../ops/ops.h"

#define AX_ROWS 256         /* rows per row block */
#define AX_G 32             /* rows per group */
#define AX_P 32             /* columns per panel */
#define AX_MAX_D 128        /* the per-thread scratch holds 64 d floats */
#define AX_COL_FLOATS 16384 /* floats of dy per column block */

int irllrec__xent_amx_fits(const irllrec__xent *jb)
{
    return jb->bf16 > 0 && jb->d % 32 == 0 && jb->d <= AX_MAX_D && jb->xpairs != NULL &&
           jb->ypack != NULL && irllrec__xent_fixed_shift(jb);
}

#if defined(IRLLREC__XENT_X86) && defined(__linux__)
/* Everything below runs only after irllrec__amx_ok. */
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512bf16,amx-tile,amx-bf16")
#include <immintrin.h>
#include "xent_exp512.h"

typedef struct ajob {
    irllrec__xent *jb;
    irllrec__xent_kern k; /* the fp32 AVX-512 set: level 1's push */
    int64_t ncb;          /* columns per column block, a multiple of AX_P */
    int64_t nkc;          /* d / 32: tile steps over d */
    uint32_t *yb;         /* forward B tiles: panel, half, step: 16 pair rows x 16 columns */
    uint32_t *yj;         /* dx's B tiles: panel, column pair m: d words */
} ajob;

/* Panel p's 32 columns: forward tiles (word c of row r of step s = column
 * 16h + c's bf16 pair 16s + r) and column pairs (word k of pair m =
 * columns 2m, 2m + 1 at k); zeros past n_cols. */
static void pack_task(void *ud, int32_t t, int32_t nt)
{
    const ajob *a = (const ajob *)ud;
    const irllrec__xent *jb = a->jb;
    const int64_t d = jb->d, n = jb->n_cols, np = (n + AX_P - 1) / AX_P;
    uint32_t w[AX_MAX_D / 2];
    int64_t p0, p1;
    irllrec__share(np, t, nt, &p0, &p1);
    for (int64_t p = p0; p < p1; p++) {
        for (int64_t l = 0; l < AX_P; l++) {
            const int64_t j = p * AX_P + l;
            uint32_t *dst = a->yb + (p * 2 + l / 16) * a->nkc * 256 + l % 16;
            if (j < n)
                irllrec__f32_to_bf16_pairs(jb->yn + j * d, d, w);
            else
                memset(w, 0, (size_t)(d / 2) * sizeof w[0]);
            for (int64_t q = 0; q < d / 2; q++) dst[(q / 16) * 256 + (q % 16) * 16] = w[q];
        }
        for (int64_t m = 0; m < AX_P / 2; m++) {
            const int64_t j = p * AX_P + 2 * m;
            uint32_t *dst = a->yj + (p * (AX_P / 2) + m) * d;
            if (j < n)
                irllrec__bf16_pair_rows(jb->yn + j * d, j + 1 < n ? jb->yn + (j + 1) * d : NULL, d,
                                        dst);
            else
                memset(dst, 0, (size_t)d * sizeof *dst);
        }
    }
}

/* The row block's rows as bf16 (xa: rows of d, A of the logits) and
 * transposed (xt: d rows of AX_ROWS, A of dy^T), zeros up to the last
 * group's end: a zero G times a NaN left there would be NaN. */
static void pack_rows(const irllrec__xent *jb, int64_t r0, int64_t r1, uint32_t *xa, uint32_t *xt)
{
    const int64_t d = jb->d, rr = r1 - r0, end = (rr + AX_G - 1) / AX_G * AX_G;
    for (int64_t r = 0; r < rr; r++) irllrec__f32_to_bf16_pairs(jb->xn + (r0 + r) * d, d, xa + r * d / 2);
    memset(xa + rr * d / 2, 0, (size_t)((end - rr) * d / 2) * sizeof *xa);
    if (!jb->need_grad || jb->bf16 < 2) return;
    uint16_t *t = (uint16_t *)(void *)xt;
    irllrec__f32_to_bf16_t(rr, d, jb->xn + r0 * d, d, t, AX_ROWS);
    for (int64_t k = 0; k < d; k++) memset(t + k * AX_ROWS + rr, 0, (size_t)(end - rr) * sizeof *t);
}

/* lt (32 x 32, row-major) = the group's logits against panel p, cosines. */
static inline void logits(const ajob *a, const uint32_t *xg, int64_t p, float *lt)
{
    const int64_t d = a->jb->d, nkc = a->nkc;
    const uint32_t *b = a->yb + p * 2 * nkc * 256;
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    for (int64_t s = 0; s < nkc; s++) {
        _tile_loadd(4, xg + s * 16, d * 2);
        _tile_loadd(5, xg + 16 * (d / 2) + s * 16, d * 2);
        _tile_loadd(6, b + s * 256, 64);
        _tile_loadd(7, b + (nkc + s) * 256, 64);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
    _tile_stored(0, lt, 128);
    _tile_stored(1, lt + 16, 128);
    _tile_stored(2, lt + 16 * 32, 128);
    _tile_stored(3, lt + 16 * 32 + 16, 128);
}

/* In place: lt_ij = c_j exp(it lt_ij - it), 0 for columns j >= nj; with
 * vsum, row i's terms also go into its 16 lanes. The same bits in both
 * sweeps. */
static inline void exps(float *lt, int32_t nj, const float *cw, float it, float *vsum)
{
    const __m512 itv = _mm512_set1_ps(it), nitv = _mm512_set1_ps(-it);
    const __mmask16 m0 = lanes_below(nj), m1 = lanes_below(nj - 16);
    const __m512 c0 = cw ? _mm512_maskz_loadu_ps(m0, cw) : _mm512_setzero_ps();
    const __m512 c1 = cw ? _mm512_maskz_loadu_ps(m1, cw + 16) : _mm512_setzero_ps();
    for (int i = 0; i < AX_G; i++) {
        __m512 e0 = _mm512_maskz_mov_ps(m0, exp_np(_mm512_fmadd_ps(_mm512_loadu_ps(lt + i * 32), itv, nitv)));
        __m512 e1 = _mm512_maskz_mov_ps(m1, exp_np(_mm512_fmadd_ps(_mm512_loadu_ps(lt + i * 32 + 16), itv, nitv)));
        if (cw) {
            e0 = _mm512_mul_ps(e0, c0);
            e1 = _mm512_mul_ps(e1, c1);
        }
        _mm512_storeu_ps(lt + i * 32, e0);
        _mm512_storeu_ps(lt + i * 32 + 16, e1);
        if (vsum)
            _mm512_storeu_ps(vsum + i * 16, _mm512_add_ps(_mm512_loadu_ps(vsum + i * 16),
                                                          _mm512_add_ps(e0, e1)));
    }
}

/* G = bf16(alpha_i e_ij) as rows (gr: 32 rows of 32, A of dx) and row
 * pairs (gp: 16 rows of 32 words, word j of row q = (G_2q,j, G_2q+1,j), B
 * of dy^T). */
static inline void g_bf16(const float *e, const float *al, uint16_t *gr, uint32_t *gp)
{
    const __m512i i0 = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
    const __m512i i1 = _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29,
                                         30, 31);
    for (int i = 0; i < AX_G; i++) {
        const __m512 s = _mm512_set1_ps(al[i]);
        const __m512 lo = _mm512_mul_ps(s, _mm512_loadu_ps(e + i * 32));
        const __m512 hi = _mm512_mul_ps(s, _mm512_loadu_ps(e + i * 32 + 16));
        _mm512_storeu_si512((void *)(gr + i * 32), (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
    }
    /* unpack interleaves rows 2q, 2q+1 within 128-bit lanes; the permutes
     * restore the column order */
    for (int q = 0; q < AX_G / 2; q++) {
        const __m512i a = _mm512_loadu_si512((const void *)(gr + 2 * q * 32));
        const __m512i b = _mm512_loadu_si512((const void *)(gr + (2 * q + 1) * 32));
        const __m512i lo = _mm512_unpacklo_epi16(a, b), hi = _mm512_unpackhi_epi16(a, b);
        _mm512_storeu_si512((void *)(gp + q * 32), _mm512_permutex2var_epi32(lo, i0, hi));
        _mm512_storeu_si512((void *)(gp + q * 32 + 16), _mm512_permutex2var_epi32(lo, i1, hi));
    }
}

/* dx (the group's 32 rows, ld d) += G Y over panel p's 32 columns. */
static inline void push_dx(const ajob *a, const uint16_t *gr, int64_t p, float *dx)
{
    const int64_t d = a->jb->d;
    const uint32_t *y = a->yj + p * (AX_P / 2) * d;
    _tile_loadd(4, gr, 64);
    _tile_loadd(5, gr + 16 * 32, 64);
    for (int64_t k = 0; k < d; k += 32) {
        _tile_loadd(0, dx + k, d * 4);
        _tile_loadd(1, dx + k + 16, d * 4);
        _tile_loadd(2, dx + 16 * d + k, d * 4);
        _tile_loadd(3, dx + 16 * d + k + 16, d * 4);
        _tile_loadd(6, y + k, d * 4);
        _tile_loadd(7, y + k + 16, d * 4);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
        _tile_stored(0, dx + k, d * 4);
        _tile_stored(1, dx + k + 16, d * 4);
        _tile_stored(2, dx + 16 * d + k, d * 4);
        _tile_stored(3, dx + 16 * d + k + 16, d * 4);
    }
}

/* dy^T blocks t0, t1 (d x 16 each: panel p's two halves) += X^T G; xt
 * starts at the group's first row. */
static inline void push_dy(const ajob *a, const uint32_t *gp, const uint16_t *xt, float *t0,
                                float *t1)
{
    const int64_t d = a->jb->d;
    _tile_loadd(6, gp, 128);
    _tile_loadd(7, gp + 16, 128);
    for (int64_t k = 0; k < d; k += 32) {
        _tile_loadd(4, xt + k * AX_ROWS, AX_ROWS * 2);
        _tile_loadd(5, xt + (k + 16) * AX_ROWS, AX_ROWS * 2);
        _tile_loadd(0, t0 + k * 16, 64);
        _tile_loadd(1, t1 + k * 16, 64);
        _tile_loadd(2, t0 + (k + 16) * 16, 64);
        _tile_loadd(3, t1 + (k + 16) * 16, 64);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
        _tile_stored(0, t0 + k * 16, 64);
        _tile_stored(1, t1 + k * 16, 64);
        _tile_stored(2, t0 + (k + 16) * 16, 64);
        _tile_stored(3, t1 + (k + 16) * 16, 64);
    }
}

/* Per-thread scratch: dx of a group past the slice's end (32 x d), the
 * dy^T block of the columns past the last whole 16 (d x 16), and one for
 * a block wholly past n_cols (d x 16, written, never read: its G is 0, but
 * it must not share the tail's memory, whose sums the same call updates). */
typedef struct scratch {
    float *dx, *tail, *junk;
    uint32_t *xa, *xt;
} scratch;

/* Where dy^T's block of columns 16b .. 16b + 15 lives. */
static float *dyt_block(const irllrec__xent *jb, float *dyp, const scratch *s, int64_t b)
{
    return (b + 1) * 16 <= jb->n_cols ? dyp + b * 16 * jb->d
           : b * 16 < jb->n_cols      ? s->tail
                                      : s->junk;
}

static const float *cols_at(const irllrec__xent *jb, int64_t c)
{
    return jb->col_weight != NULL ? jb->col_weight + c : NULL;
}

static void forward_rows(const ajob *a, int64_t r0, int64_t r1, const scratch *s)
{
    const irllrec__xent *jb = a->jb;
    const int64_t d = jb->d;
    double *den = jb->row_aux + jb->n_rows;
    float lt[AX_G * AX_P] __attribute__((aligned(64)));
    float vsum[AX_G * 16] __attribute__((aligned(64)));
    for (int64_t c0 = 0; c0 < jb->n_cols; c0 += a->ncb) {
        const int64_t c1 = c0 + a->ncb < jb->n_cols ? c0 + a->ncb : jb->n_cols;
        for (int64_t g = r0; g < r1; g += AX_G) {
            const int64_t n = r1 - g < AX_G ? r1 - g : AX_G;
            memset(vsum, 0, sizeof vsum);
            for (int64_t c = c0; c < c1; c += AX_P) {
                logits(a, s->xa + (g - r0) * d / 2, c / AX_P, lt);
                exps(lt, c1 - c < AX_P ? (int32_t)(c1 - c) : AX_P, cols_at(jb, c), jb->inv_tau,
                     vsum);
            }
            /* lanes in a fixed order, into the row's double sum */
            for (int64_t i = 0; i < n; i++) {
                double sum = 0.0;
                for (int l = 0; l < 16; l++) sum += (double)vsum[i * 16 + l];
                den[g + i] += sum;
            }
        }
    }
}

/* Level 1: the recomputed exponentials through the fp32 push, 8 rows a call. */
static void push_fp32(const ajob *a, const float *e, int64_t g, int64_t n, const float *al,
                      int64_t c, int32_t nj, float *dyp, const scratch *s)
{
    const irllrec__xent *jb = a->jb;
    const int64_t d = jb->d;
    for (int64_t q = 0; q < AX_G; q += 8) {
        const float *xr[8];
        float *dxr[8];
        if (q >= n) break;
        for (int64_t i = 0; i < 8; i++) {
            const int64_t r = q + i < n ? q + i : n - 1;
            xr[i] = jb->xn + (g + r) * d;
            dxr[i] = q + i < n ? jb->dxn + (g + q + i) * d : s->dx + (q + i) * d;
        }
        a->k.bwdk(e + q * AX_P, AX_P, xr, jb->yn + c * d, d, nj, al + q, dxr, dyp + c * d);
    }
}

static void backward_rows(const ajob *a, int64_t r0, int64_t r1, float *dyp,
                               const scratch *s)
{
    const irllrec__xent *jb = a->jb;
    const int64_t d = jb->d;
    const double *alpha = jb->row_aux + 3 * jb->n_rows;
    float lt[AX_G * AX_P] __attribute__((aligned(64)));
    uint16_t gr[AX_G * AX_P] __attribute__((aligned(64)));
    uint32_t gp[AX_G / 2 * AX_P] __attribute__((aligned(64)));
    memset(jb->dxn + r0 * d, 0, (size_t)((r1 - r0) * d) * sizeof(float));
    memset(s->dx, 0, (size_t)(AX_G * d) * sizeof(float));
    for (int64_t c0 = 0; c0 < jb->n_cols; c0 += a->ncb) {
        const int64_t c1 = c0 + a->ncb < jb->n_cols ? c0 + a->ncb : jb->n_cols;
        for (int64_t g = r0; g < r1; g += AX_G) {
            const int64_t n = r1 - g < AX_G ? r1 - g : AX_G;
            float al[AX_G];
            float *dx = n == AX_G ? jb->dxn + g * d : s->dx;
            for (int64_t i = 0; i < AX_G; i++) al[i] = i < n ? (float)alpha[g + i] : 0.0f;
            for (int64_t c = c0; c < c1; c += AX_P) {
                const int32_t nj = c1 - c < AX_P ? (int32_t)(c1 - c) : AX_P;
                logits(a, s->xa + (g - r0) * d / 2, c / AX_P, lt);
                exps(lt, nj, cols_at(jb, c), jb->inv_tau, NULL);
                if (jb->bf16 < 2) {
                    push_fp32(a, lt, g, n, al, c, nj, dyp, s);
                    continue;
                }
                g_bf16(lt, al, gr, gp);
                push_dx(a, gr, c / AX_P, dx);
                push_dy(a, gp, (const uint16_t *)(const void *)s->xt + (g - r0),
                        dyt_block(jb, dyp, s, c / 16), dyt_block(jb, dyp, s, c / 16 + 1));
            }
        }
    }
    /* a group past the slice's end gathered its rows' dx in the scratch */
    const int64_t g_last = r0 + (r1 - r0 - 1) / AX_G * AX_G;
    if (jb->bf16 >= 2 && r1 - g_last < AX_G)
        memcpy(jb->dxn + g_last * d, s->dx, (size_t)((r1 - g_last) * d) * sizeof(float));
}

/* Level 2's dy^T blocks back into rows of dyp (the tail's valid columns
 * from the scratch). */
static void untranspose(const irllrec__xent *jb, float *dyp, const scratch *s)
{
    const int64_t d = jb->d, nb = jb->n_cols / 16, rest = jb->n_cols % 16;
    float t[16 * AX_MAX_D];
    for (int64_t b = 0; b < nb; b++) {
        float *blk = dyp + b * 16 * d;
        memcpy(t, blk, (size_t)(16 * d) * sizeof(float));
        for (int64_t j = 0; j < 16; j++)
            for (int64_t k = 0; k < d; k++) blk[j * d + k] = t[k * 16 + j];
    }
    for (int64_t j = 0; j < rest; j++)
        for (int64_t k = 0; k < d; k++) dyp[(nb * 16 + j) * d + k] = s->tail[k * 16 + j];
}

static void slice_task(void *ud, int32_t t, int32_t nt)
{
    const ajob *a = (const ajob *)ud;
    const irllrec__xent *jb = a->jb;
    const int64_t d = jb->d;
    scratch s;
    int64_t g0, g1;
    s.dx = irllrec__xent_thread_area(jb, t);
    s.tail = s.dx + AX_G * d;
    s.junk = s.tail + 16 * d;
    s.xa = jb->xpairs + (int64_t)t * irllrec__xent_pair_words(d);
    s.xt = s.xa + AX_ROWS * d / 2;
    irllrec__xent_slices_of(jb, t, nt, &g0, &g1);
    irllrec__amx_tiles_on();
    for (int64_t g = g0; g < g1; g++) {
        int64_t lo, hi;
        float *dyp = irllrec__xent_slice_begin(jb, t, g, &lo, &hi);
        memset(s.tail, 0, (size_t)(16 * d) * sizeof(float));
        for (int64_t r0 = lo; r0 < hi; r0 += AX_ROWS) {
            const int64_t r1 = hi - r0 < AX_ROWS ? hi : r0 + AX_ROWS;
            pack_rows(jb, r0, r1, s.xa, s.xt);
            irllrec__xent_rows_init(jb, r0, r1 - r0, 1);
            forward_rows(a, r0, r1, &s);
            irllrec__xent_head(jb, r0, r1 - r0);
            if (jb->need_grad) backward_rows(a, r0, r1, dyp, &s);
        }
        if (jb->need_grad) {
            if (jb->bf16 >= 2) untranspose(jb, dyp, &s);
            irllrec__xent_target_fixup(jb, lo, hi - lo, dyp, 0);
        }
        irllrec__xent_slice_end(jb, t, dyp);
    }
    irllrec__amx_tiles_off();
}

int irllrec__xent_amx_run(irllrec_ctx *ctx, irllrec__xent *job)
{
    ajob a;
    if (!irllrec__xent_amx_fits(job) || !irllrec__amx_ok()) return 0;
    a.jb = job;
    irllrec__xent_kern_avx512(&a.k);
    a.nkc = job->d / 32;
    a.ncb = AX_COL_FLOATS / job->d / AX_P * AX_P;
    if (a.ncb < AX_P) a.ncb = AX_P;
    a.yb = (uint32_t *)(void *)job->ypack;
    a.yj = a.yb + (job->n_cols + AX_P - 1) / AX_P * AX_P * job->d / 2;
    (void)irllrec__parallel(ctx, job->n_threads, pack_task, &a);
    (void)irllrec__parallel(ctx, job->n_threads, slice_task, &a);
    irllrec__xent_reduce_slices(ctx, job);
    return 1;
}

#pragma GCC pop_options

#else /* no AMX here */

int irllrec__xent_amx_run(irllrec_ctx *ctx, irllrec__xent *job)
{
    (void)ctx;
    (void)job;
    return 0;
}

#endif
