/* The AMX path of the fused ranking kernel (kernel.h, IRLLREC__ISA_AMX).
 *
 * On an AMX CPU a bf16 tile product scores 16 x 16 pairs over 32 columns
 * in one instruction, ~16x the fp32 FMA rate, but its scores are not the
 * fp32 bits every other path gives. So they only choose what to rescore: a
 * candidate reaches a query's selection with the score of the chain acc =
 * fma(q[k], c[k], acc), k = 0..d-1, that fused_x86.c and fused.c compute,
 * so the lists are the same bits as the other paths
 * (tests/test_rank_fused.c, which also stresses the margin with near ties).
 *
 * The margin. With u~, v~ the bf16 roundings (8 significand bits: relative
 * error <= 2^-8 each, so 2^-7 + 2^-16 for a product), the tile's fp32
 * accumulation (at most d roundings, denormals flushed) and the reference
 * chain (d roundings),
 *   |s_amx - s_ref| <= S (2^-7 + 2^-16 + 2.04 d 2^-24) + d 2^-125 (|u| + |v| + 2)
 * where S = sum_k |u_k v_k| <= |u| |v| (Cauchy-Schwarz). M_u below bounds
 * that for every candidate (|v| <= vmax) with room for the float
 * arithmetic; norms over 2^30, or a NaN candidate, send the work to the
 * AVX-512 kernel.
 *
 * Two phases per group of 32 queries. Phase 1: for every step of 32
 * candidates (two B tiles against two A tiles, four C tiles) each query's
 * largest tile score over the live lanes, and every lane's tile score
 * rounded to bf16. Phase 2, per query: if m = k + (its excluded ids) steps
 * have a maximum >= t, there are m distinct candidates with an exact score
 * >= t - M_u, at least k of them allowed, so bar = t - M_u is at most the
 * k-th best exact score. Every top-k candidate then has a tile score >=
 * bar - M_u (so its step's maximum is) and a bf16 copy >= bar - M_u less
 * the copy's rounding; only those lanes are rescored (from the caller's
 * rows, eight chains side by side) and offered, in ascending order, when
 * their exact score is >= bar. Amazon-book shapes (bench_eval, counted):
 * 43 of 292 steps and 49 rescored candidates per user, where the one-pass
 * kernels feed 142 entrants per user to the selection. */
#include <math.h>
#include <string.h>
#include "kernel.h"
#include "../ops/ops.h"

#define GROUP 32 /* queries per step: two A tiles */
#define KC 32    /* bf16 columns per tile step */

static int64_t chunks_of(int64_t d) { return (d + KC - 1) / KC; }

size_t irllrec__amx_scratch_floats(int64_t n_cand)
{
    /* maxima (GROUP x steps) and bf16 scores (GROUP x steps x 32): 17 floats
     * per query and step, 2.2 MiB at IRLLREC__AMX_MAX_CAND candidates */
    return 17 * (size_t)GROUP * (size_t)((n_cand + 31) / 32);
}

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__) && defined(__linux__)
#include <immintrin.h>

/* Every feature irllrec__amx_ok requires; T512 for what needs AVX-512F alone. */
#define TAMX __attribute__((target("avx512f,avx512bw,avx512bf16,amx-tile,amx-bf16")))
#define T512 __attribute__((target("avx512f")))

/* The bf16 panels from the fp32 ones (pack_f32's layout, d x 16 per
 * panel): panel p, chunk c holds 16 rows (column pairs) of 16 words, word j
 * of row r = candidate j's bf16 columns 2r, 2r + 1 of the chunk (the VNNI
 * order of a B tile), zeros past d. Returns an upper bound of the largest
 * candidate norm (fp32 sums of squares, enlarged by their rounding). */
TAMX double irllrec__pack_bf16(const float *panels, int64_t n, int64_t d, uint32_t *bp)
{
    const int64_t np = (n + IRLLREC__PANEL - 1) / IRLLREC__PANEL, nc = chunks_of(d);
    const __m512i pair = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9,
                                          24, 8, 23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1,
                                          16, 0);
    __m512 most = _mm512_setzero_ps();
    for (int64_t p = 0; p < np; p++) {
        const float *pan = panels + (size_t)p * (size_t)d * IRLLREC__PANEL;
        __m512 sq = _mm512_setzero_ps();
        for (int64_t k2 = 0; k2 < nc * KC / 2; k2++) {
            const int64_t k = 2 * k2;
            const __m512 a = k < d ? _mm512_loadu_ps(pan + k * IRLLREC__PANEL) : _mm512_setzero_ps();
            const __m512 b =
                k + 1 < d ? _mm512_loadu_ps(pan + (k + 1) * IRLLREC__PANEL) : _mm512_setzero_ps();
            const __m512i w = _mm512_permutexvar_epi16(pair, (__m512i)_mm512_cvtne2ps_pbh(b, a));
            _mm512_storeu_si512(bp + ((size_t)(p * nc) * (KC / 2) + (size_t)k2) * IRLLREC__PANEL, w);
            sq = _mm512_fmadd_ps(a, a, _mm512_fmadd_ps(b, b, sq));
        }
        /* a NaN candidate (the evaluator ranks it as -inf) makes the bound
         * infinite, so the AVX-512 kernel ranks the call */
        if (_mm512_cmp_ps_mask(sq, sq, _CMP_UNORD_Q)) return INFINITY;
        most = _mm512_max_ps(most, sq);
    }
    return sqrt((double)_mm512_reduce_max_ps(most)) * (1.0 + (double)(d + 2) * 0x1p-23);
}

static void tiles_on(void) { irllrec__amx_tiles_on(); }
static void tiles_off(void) { irllrec__amx_tiles_off(); }

/* cbuf[32][32] = the group's bf16 queries (ua: 32 rows of nc * KC) times
 * panels b0, b1 (nc chunks each). */
TAMX static void amx_step(const uint16_t *ua, const uint32_t *b0, const uint32_t *b1,
                          int64_t nc, float *cbuf)
{
    const size_t lda = (size_t)(nc * KC) * 2, chunk = (KC / 2) * IRLLREC__PANEL;
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    for (int64_t c = 0; c < nc; c++) {
        _tile_loadd(4, ua + c * KC, lda);
        _tile_loadd(5, ua + 16 * (size_t)(nc * KC) + (size_t)(c * KC), lda);
        _tile_loadd(6, b0 + (size_t)c * chunk, 64);
        _tile_loadd(7, b1 + (size_t)c * chunk, 64);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
    _tile_stored(0, cbuf, 128);
    _tile_stored(1, cbuf + 16, 128);
    _tile_stored(2, cbuf + 16 * 32, 128);
    _tile_stored(3, cbuf + 16 * 32 + 16, 128);
}

/* A group of nr <= 32 queries: bf16 rows (zero past d and past nr) and
 * each one's margin M_u; 0 when a norm is too large for the margin. */
static int group_setup(const float *u, int64_t nr, int64_t d, int64_t nc, double vmax,
                       uint16_t *ua, float *marg, float *marg2)
{
    const double cst = ldexp(1.0, -7) + ldexp(1.0, -15) + 3.0 * (double)d * ldexp(1.0, -24);
    memset(ua, 0, (size_t)GROUP * (size_t)(nc * KC) * sizeof *ua);
    for (int64_t r = 0; r < nr; r++) {
        const float *q = u + (size_t)r * (size_t)d;
        double nu = 0.0;
        for (int64_t k = 0; k < d; k++) {
            ua[(size_t)r * (size_t)(nc * KC) + (size_t)k] = irllrec__f2bf(q[k]);
            nu += (double)q[k] * (double)q[k];
        }
        nu = sqrt(nu);
        if (!(nu <= 0x1p30 && vmax <= 0x1p30)) return 0;
        marg[r] = (float)((nu * vmax * cst + (double)d * 0x1p-125 * (nu + vmax + 2.0)) *
                          (1.0 + 0x1p-10));
        /* the bf16 copy of a tile score (|s| <= 1.02 |u| vmax) is off by at
         * most 2^-8 of it, or 2^-126 where it flushes to zero */
        marg2[r] = marg[r] + (float)(nu * vmax * 0x1p-7 + 0x1p-120);
    }
    return 1;
}

/* Lanes of the 32 candidates from a that exist and are not excluded. */
static uint32_t live_lanes(const irllrec__cands *c, int64_t a)
{
    return irllrec__valid_lanes(a, c->n) & ~irllrec__xword(c->xbits, a);
}

/* A group's phase-1 record, per query r and step s (candidates 32 s ..
 * 32 s + 31): rmax[r * ns + s] the largest bf16-product score of a live
 * lane (-inf: none), and ab[(r * ns + s) * 32 + j] every lane's score
 * rounded to bf16. */
typedef struct group_rec {
    float *rmax;
    uint16_t *ab;
    int64_t ns;
} group_rec;

/* Phase 1: the bf16 tile products of the group against every step. */
TAMX static void phase1(const irllrec__cands *c, const uint16_t *ua, int64_t nc, int64_t nr,
                         group_rec *g)
{
    const int64_t np = (c->n + IRLLREC__PANEL - 1) / IRLLREC__PANEL, ns = g->ns;
    const size_t bstride = (size_t)nc * (KC / 2) * IRLLREC__PANEL;
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    float cbuf[GROUP * 32] __attribute__((aligned(64)));
    for (int64_t s = 0; s < ns; s++) {
        const uint32_t *b0 = c->bpanels + (size_t)(2 * s) * bstride;
        const uint32_t *b1 = 2 * s + 1 < np ? b0 + bstride : b0;
        const uint32_t live = live_lanes(c, 32 * s);
        amx_step(ua, b0, b1, nc, cbuf);
        for (int64_t r = 0; r < nr; r++) {
            const __m512 x0 = _mm512_load_ps(cbuf + r * 32), x1 = _mm512_load_ps(cbuf + r * 32 + 16);
            const __m512 lo = _mm512_mask_mov_ps(ninf, (__mmask16)live, x0);
            const __m512 hi = _mm512_mask_mov_ps(ninf, (__mmask16)(live >> 16), x1);
            g->rmax[r * ns + s] = _mm512_reduce_max_ps(_mm512_max_ps(lo, hi));
            _mm512_storeu_si512(g->ab + (size_t)(r * ns + s) * 32,
                                (__m512i)_mm512_cvtne2ps_pbh(x1, x0));
        }
    }
}

/* How many of x[0..n) are >= t. */
T512 static int64_t count_ge(const float *x, int64_t n, float t)
{
    const __m512 vt = _mm512_set1_ps(t);
    int64_t c = 0, i = 0;
    for (; i + 16 <= n; i += 16)
        c += __builtin_popcount(_mm512_cmp_ps_mask(_mm512_loadu_ps(x + i), vt, _CMP_GE_OQ));
    for (; i < n; i++) c += x[i] >= t;
    return c;
}

/* The smallest finite and the largest of x[0..n). */
T512 static void finite_range(const float *x, int64_t n, float *lo, float *hi)
{
    __m512 mn = _mm512_set1_ps(INFINITY), mx = _mm512_set1_ps(-INFINITY);
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 v = _mm512_loadu_ps(x + i);
        mx = _mm512_max_ps(mx, v);
        mn = _mm512_mask_min_ps(mn, _mm512_cmp_ps_mask(v, ninf, _CMP_GT_OQ), mn, v);
    }
    *lo = _mm512_reduce_min_ps(mn);
    *hi = _mm512_reduce_max_ps(mx);
    for (; i < n; i++) {
        if (x[i] > -INFINITY && x[i] < *lo) *lo = x[i];
        if (x[i] > *hi) *hi = x[i];
    }
}

/* A t with at least need of x[0..n) >= t, close to the need-th largest
 * (bisection on the values); -inf when fewer than need are finite. */
static float rank_bound(const float *x, int64_t n, int64_t need)
{
    float lo, hi;
    if (need > n) return -INFINITY;
    finite_range(x, n, &lo, &hi);
    if (!(lo <= hi) || count_ge(x, n, lo) < need) return -INFINITY;
    for (int it = 0; it < 20 && lo < hi; it++) {
        const float mid = lo + (hi - lo) * 0.5f;
        if (mid <= lo || mid >= hi) break;
        if (count_ge(x, n, mid) >= need) lo = mid;
        else hi = mid;
    }
    return lo;
}

/* Exact fp32 scores of query u against candidates id[0..n) (n <= 8) from
 * the caller's rows: the chain acc = fma(u[k], v[k], acc) over k from 0 of
 * every other path, one candidate per accumulator. */
T512 static void rescore_ids(const irllrec__cands *c, const float *u, const int64_t *id, int n,
                        float *out)
{
    const float *v[8];
    float acc[8];
    for (int t = 0; t < 8; t++) {
        v[t] = c->raw + (size_t)id[t < n ? t : 0] * (size_t)c->ldr;
        acc[t] = 0.0f;
    }
    for (int64_t k = 0; k < c->d; k++)
        for (int t = 0; t < 8; t++) acc[t] = fmaf(u[k], v[t][k], acc[t]);
    for (int t = 0; t < n; t++) out[t] = acc[t];
}

/* The lanes of a step's 32 bf16 scores at or above cut. */
T512 static uint32_t ab_lanes(const uint16_t *ab, float cut)
{
    const __m512i w = _mm512_loadu_si512(ab);
    const __m512 lo = _mm512_castsi512_ps(
        _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm512_castsi512_si256(w)), 16));
    const __m512 hi = _mm512_castsi512_ps(
        _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(w, 1)), 16));
    const __m512 vc = _mm512_set1_ps(cut);
    return (uint32_t)_mm512_cmp_ps_mask(lo, vc, _CMP_GE_OQ) |
           (uint32_t)_mm512_cmp_ps_mask(hi, vc, _CMP_GE_OQ) << 16;
}

/* Steps of rmax[0..n) at or above cut (all of them when all is set). */
T512 static uint32_t steps16(const float *rmax, int64_t s, int64_t n, float cut, int all)
{
    const int64_t left = n - s;
    const __mmask16 in = left >= 16 ? 0xFFFF : (__mmask16)((1u << left) - 1u);
    if (all) return in;
    return _mm512_mask_cmp_ps_mask(in, _mm512_maskz_loadu_ps(in, rmax + s), _mm512_set1_ps(cut),
                                   _CMP_GE_OQ);
}

typedef struct pend {
    int64_t id[8];
    int n;
} pend;

static void flush(const irllrec__cands *c, const float *u, irllrec__sel *q, pend *p, float bar)
{
    float v[8];
    if (p->n == 0) return;
    rescore_ids(c, u, p->id, p->n, v);
    for (int t = 0; t < p->n; t++)
        if (v[t] >= bar) irllrec__sel_take(q, v + t, 1u, p->id[t]);
    p->n = 0;
}

/* Phase 2 for query r of the group: a bar every top-k candidate clears
 * (bf16 maximum of the (k + excluded)-th best step, less the margin); in
 * the steps whose maximum could hold such a candidate, the lanes whose
 * bf16 score could, rescored exactly and offered in ascending order. */
static void phase2(const irllrec__cands *c, const float *u, irllrec__sel *q, const group_rec *g,
                   int64_t r, float marg, float marg2)
{
    const int64_t ns = g->ns;
    const float *rmax = g->rmax + r * ns;
    const uint16_t *ab = g->ab + (size_t)(r * ns) * 32;
    const float t = rank_bound(rmax, ns, (int64_t)q->k + q->n_mk);
    /* bar <= the k-th best exact score; a candidate above bar has a tile
     * score >= cut and a bf16-rounded one >= cut2 (all rounded down) */
    const float bar = nextafterf(t - marg, -INFINITY), cut = nextafterf(bar - marg, -INFINITY);
    const float cut2 = nextafterf(bar - marg2, -INFINITY);
    const int all = !(t > -INFINITY);
    pend p;
    p.n = 0;
    for (int64_t s0 = 0; s0 < ns; s0 += 16)
        for (uint32_t sm = steps16(rmax, s0, ns, cut, all); sm != 0; sm &= sm - 1) {
            const int64_t s = s0 + __builtin_ctz(sm);
            uint32_t l = live_lanes(c, 32 * s) & (all ? 0xFFFFFFFFu : ab_lanes(ab + s * 32, cut2));
            for (; l != 0; l &= l - 1) {
                p.id[p.n++] = 32 * s + __builtin_ctz(l);
                if (p.n == 8) flush(c, u, q, &p, bar);
            }
        }
    flush(c, u, q, &p, bar);
}

TAMX static void group_amx(const irllrec__cands *c, const float *u, int64_t nr,
                           irllrec__sel *sel, const uint16_t *ua, const float *marg,
                           const float *marg2, float *scratch)
{
    group_rec g;
    g.ns = (c->n + 31) / 32;
    g.rmax = scratch;
    g.ab = (uint16_t *)(scratch + (size_t)GROUP * (size_t)g.ns);
    phase1(c, ua, chunks_of(c->d), nr, &g);
    for (int64_t r = 0; r < nr; r++)
        phase2(c, u + (size_t)r * (size_t)c->d, sel + r, &g, r, marg[r], marg2[r]);
}

void irllrec__block_amx(const irllrec__cands *c, const float *packed, int64_t nb,
                        irllrec__sel *sel, float *scratch)
{
    const int64_t nc = chunks_of(c->d);
    uint16_t ua[GROUP * IRLLREC__AMX_MAX_D] __attribute__((aligned(64)));
    float marg[GROUP], marg2[GROUP];
    tiles_on();
    for (int64_t r = 0; r < nb; r += GROUP) {
        const int64_t nr = nb - r < GROUP ? nb - r : GROUP;
        const float *u = packed + (size_t)r * (size_t)c->d;
        if (group_setup(u, nr, c->d, nc, c->vmax, ua, marg, marg2))
            group_amx(c, u, nr, sel + r, ua, marg, marg2, scratch);
        else
            irllrec__block_fused(c, u, nr, sel + r, IRLLREC__ISA_AVX512);
    }
    tiles_off();
}

#else /* no AMX here: irllrec__rank_isa never picks the path */

double irllrec__pack_bf16(const float *panels, int64_t n, int64_t d, uint32_t *bp)
{
    (void)panels, (void)n, (void)d, (void)bp;
    return 0.0;
}

void irllrec__block_amx(const irllrec__cands *c, const float *packed, int64_t nb,
                        irllrec__sel *sel, float *scratch)
{
    (void)scratch;
    irllrec__block_fused(c, packed, nb, sel, IRLLREC__ISA_C);
}

#endif
