/* The AVX-512 and AVX2 paths of the fused kernel (kernel.h). Compiled with
 * per-function target attributes, so the rest of the library stays at the
 * x86-64 baseline; irllrec__rank_isa calls them only on a CPU that reports
 * the feature. Intrinsics, not loops left to the vectoriser: the tile must
 * keep its 16 accumulators in registers across the d loop, and the filter
 * turns comparisons into lane masks, neither of which gcc -O3 does from
 * plain C without -ffast-math.
 *
 * Both tiles compute acc = fma(q[k], c[k], acc) for k = 0..d-1 from 0, one
 * rounding per step, the order irllrec__tile_c follows with fmaf: the three
 * paths give the same bits. Partial groups of candidates (the last of a
 * row) go to the portable filter. Elsewhere (another CPU family or
 * compiler) the entry points fall back to the portable path. */
#include "kernel.h"

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#include <immintrin.h>

#define T512 __attribute__((target("avx512f")))
#define T256 __attribute__((target("avx2,fma")))

/* 8 queries x 16 candidates of one panel; p1 == NULL case of the tile. */
T512 static void tile512_one(const float *u, const float *p0, int64_t d, float *out)
{
    __m512 c[IRLLREC__TILE_Q];
    for (int r = 0; r < IRLLREC__TILE_Q; r++) c[r] = _mm512_setzero_ps();
    for (int64_t k = 0; k < d; k++) {
        const __m512 a = _mm512_loadu_ps(p0 + k * IRLLREC__PANEL);
        for (int r = 0; r < IRLLREC__TILE_Q; r++)
            c[r] = _mm512_fmadd_ps(_mm512_set1_ps(u[r * d + k]), a, c[r]);
    }
    for (int r = 0; r < IRLLREC__TILE_Q; r++) {
        _mm512_storeu_ps(out + r * IRLLREC__TILE_C, c[r]);
        _mm512_storeu_ps(out + r * IRLLREC__TILE_C + 16, _mm512_setzero_ps());
    }
}

T512 void irllrec__tile_avx512(const float *u, const float *p0, const float *p1, int64_t d,
                               float *out)
{
    __m512 c0[IRLLREC__TILE_Q], c1[IRLLREC__TILE_Q];
    if (p1 == NULL) {
        tile512_one(u, p0, d, out);
        return;
    }
    for (int r = 0; r < IRLLREC__TILE_Q; r++) {
        c0[r] = _mm512_setzero_ps();
        c1[r] = _mm512_setzero_ps();
    }
    for (int64_t k = 0; k < d; k++) {
        const __m512 a = _mm512_loadu_ps(p0 + k * IRLLREC__PANEL);
        const __m512 b = _mm512_loadu_ps(p1 + k * IRLLREC__PANEL);
        for (int r = 0; r < IRLLREC__TILE_Q; r++) {
            const __m512 q = _mm512_set1_ps(u[r * d + k]);
            c0[r] = _mm512_fmadd_ps(q, a, c0[r]);
            c1[r] = _mm512_fmadd_ps(q, b, c1[r]);
        }
    }
    for (int r = 0; r < IRLLREC__TILE_Q; r++) {
        _mm512_storeu_ps(out + r * IRLLREC__TILE_C, c0[r]);
        _mm512_storeu_ps(out + r * IRLLREC__TILE_C + 16, c1[r]);
    }
}

/* The tile and its filter in one: the 16 accumulators are compared with
 * each query's bar while still in registers, and a row goes to memory only
 * when one of its lanes passes (a few hundred of the ~290 x 8 rows a block
 * of 8 queries produces over Amazon-book's items). Only for two full
 * panels; block_fused sends the rest through tile + filter. */
T512 void irllrec__tilef_avx512(const float *u, const float *p0, const float *p1, int64_t d,
                                irllrec__sel *sel, int64_t a, const uint32_t *xbits)
{
    __m512 c0[IRLLREC__TILE_Q], c1[IRLLREC__TILE_Q];
    const uint32_t keep = ~irllrec__xword(xbits, a);
    float row[IRLLREC__TILE_C];
    /* k = 0 peeled (d >= 1): assigning rather than accumulating spares the
     * compiler zeroing the arrays in memory for a d = 0 that never comes;
     * fma with 0 keeps the bits of the other paths (a -0 product gives +0) */
    {
        const __m512 x = _mm512_loadu_ps(p0), y = _mm512_loadu_ps(p1), z = _mm512_setzero_ps();
        for (int r = 0; r < IRLLREC__TILE_Q; r++) {
            const __m512 q = _mm512_set1_ps(u[r * d]);
            c0[r] = _mm512_fmadd_ps(q, x, z);
            c1[r] = _mm512_fmadd_ps(q, y, z);
        }
    }
    for (int64_t k = 1; k < d; k++) {
        const __m512 x = _mm512_loadu_ps(p0 + k * IRLLREC__PANEL);
        const __m512 y = _mm512_loadu_ps(p1 + k * IRLLREC__PANEL);
        for (int r = 0; r < IRLLREC__TILE_Q; r++) {
            const __m512 q = _mm512_set1_ps(u[r * d + k]);
            c0[r] = _mm512_fmadd_ps(q, x, c0[r]);
            c1[r] = _mm512_fmadd_ps(q, y, c1[r]);
        }
    }
    /* all TILE_Q rows: a padding row's selection never passes (its bar is
     * +inf), and a loop of fixed length keeps the accumulators in registers */
    for (int r = 0; r < IRLLREC__TILE_Q; r++) {
        const __m512 t = _mm512_set1_ps(sel[r].thr);
        uint32_t m = (uint32_t)_mm512_cmp_ps_mask(c0[r], t, _CMP_GT_OQ) |
            (uint32_t)_mm512_cmp_ps_mask(c1[r], t, _CMP_GT_OQ) << 16;
        m = (m | sel[r].pass_all) & keep;
        if (m == 0) continue;
        _mm512_storeu_ps(row, c0[r]);
        _mm512_storeu_ps(row + 16, c1[r]);
        irllrec__sel_take(sel + r, row, m, a);
    }
}

T512 void irllrec__filter_avx512(irllrec__sel *sel, int64_t nr, const float *x, int64_t ldx,
                                 int64_t a, uint32_t valid, const uint32_t *xbits)
{
    uint32_t keep;
    if (valid != 0xFFFFFFFFu) {
        irllrec__filter_c(sel, nr, x, ldx, a, valid, xbits);
        return;
    }
    keep = ~irllrec__xword(xbits, a);
    for (int64_t r = 0; r < nr; r++) {
        const float *row = x + r * ldx;
        const __m512 t = _mm512_set1_ps(sel[r].thr);
        const uint32_t lo = _mm512_cmp_ps_mask(_mm512_loadu_ps(row), t, _CMP_GT_OQ);
        const uint32_t hi = _mm512_cmp_ps_mask(_mm512_loadu_ps(row + 16), t, _CMP_GT_OQ);
        const uint32_t m = (lo | hi << 16 | sel[r].pass_all) & keep;
        if (m != 0) irllrec__sel_take(sel + r, row, m, a);
    }
}

/* The selection's sorted insert (kernel.h): lane i of the result is
 * s[i + 1] when that is below x, else x when s[i] is, else s[i]. The
 * slots past n hold all ones, which no key reaches, so whole vectors are
 * loaded and stored: a masked store would keep the next insert's loads from
 * forwarding. Returns the new s[0] from the register, not from memory. */
T512 static __m512i replace_lanes(__m512i cur, __m512i nxt, __m512i vx)
{
    const __m512i up = _mm512_alignr_epi64(nxt, cur, 1);
    const __m512i r = _mm512_mask_blend_epi64(_mm512_cmplt_epu64_mask(cur, vx), cur, vx);
    return _mm512_mask_blend_epi64(_mm512_cmplt_epu64_mask(up, vx), r, up);
}

T512 uint64_t irllrec__sorted_replace_avx512(uint64_t *s, int32_t n, uint64_t x)
{
    const __m512i top = _mm512_set1_epi64(-1), vx = _mm512_set1_epi64((long long)x);
    const __m512i v0 = _mm512_loadu_si512(s);
    const __m512i v1 = n > 8 ? _mm512_loadu_si512(s + 8) : top;
    const __m512i v2 = n > 16 ? _mm512_loadu_si512(s + 16) : top;
    const __m512i v3 = n > 24 ? _mm512_loadu_si512(s + 24) : top;
    const __m512i r0 = replace_lanes(v0, v1, vx);
    _mm512_storeu_si512(s, r0);
    if (n > 8) _mm512_storeu_si512(s + 8, replace_lanes(v1, v2, vx));
    if (n > 16) _mm512_storeu_si512(s + 16, replace_lanes(v2, v3, vx));
    if (n > 24) _mm512_storeu_si512(s + 24, replace_lanes(v3, top, vx));
    return (uint64_t)_mm_cvtsi128_si64(_mm512_castsi512_si128(r0));
}

/* 4 queries x 16 candidates (two vectors of 8) of one panel: 8
 * accumulators, the most AVX2's 16 registers hold beside the loads. */
T256 static void tile256_part(const float *u, const float *p, int64_t d, float *out)
{
    __m256 c0[4], c1[4];
    for (int r = 0; r < 4; r++) c0[r] = c1[r] = _mm256_setzero_ps();
    for (int64_t k = 0; k < d; k++) {
        const __m256 a = _mm256_loadu_ps(p + k * IRLLREC__PANEL);
        const __m256 b = _mm256_loadu_ps(p + k * IRLLREC__PANEL + 8);
        for (int r = 0; r < 4; r++) {
            const __m256 q = _mm256_set1_ps(u[r * d + k]);
            c0[r] = _mm256_fmadd_ps(q, a, c0[r]);
            c1[r] = _mm256_fmadd_ps(q, b, c1[r]);
        }
    }
    for (int r = 0; r < 4; r++) {
        _mm256_storeu_ps(out + r * IRLLREC__TILE_C, c0[r]);
        _mm256_storeu_ps(out + r * IRLLREC__TILE_C + 8, c1[r]);
    }
}

T256 void irllrec__tile_avx2(const float *u, const float *p0, const float *p1, int64_t d,
                             float *out)
{
    for (int h = 0; h < IRLLREC__TILE_Q; h += 4) {
        tile256_part(u + h * d, p0, d, out + h * IRLLREC__TILE_C);
        if (p1 != NULL) {
            tile256_part(u + h * d, p1, d, out + h * IRLLREC__TILE_C + 16);
        } else {
            for (int r = h; r < h + 4; r++)
                for (int j = 16; j < IRLLREC__TILE_C; j++) out[r * IRLLREC__TILE_C + j] = 0.0f;
        }
    }
}

T256 void irllrec__filter_avx2(irllrec__sel *sel, int64_t nr, const float *x, int64_t ldx,
                               int64_t a, uint32_t valid, const uint32_t *xbits)
{
    uint32_t keep;
    if (valid != 0xFFFFFFFFu) {
        irllrec__filter_c(sel, nr, x, ldx, a, valid, xbits);
        return;
    }
    keep = ~irllrec__xword(xbits, a);
    for (int64_t r = 0; r < nr; r++) {
        const float *row = x + r * ldx;
        const __m256 t = _mm256_set1_ps(sel[r].thr);
        uint32_t m = 0;
        for (int g = 0; g < 4; g++)
            m |= (uint32_t)_mm256_movemask_ps(
                     _mm256_cmp_ps(_mm256_loadu_ps(row + 8 * g), t, _CMP_GT_OQ))
                 << (8 * g);
        m = (m | sel[r].pass_all) & keep;
        if (m != 0) irllrec__sel_take(sel + r, row, m, a);
    }
}

#else /* not x86-64 with gcc or clang: irllrec__rank_isa never picks these */

uint64_t irllrec__sorted_replace_avx512(uint64_t *s, int32_t n, uint64_t x)
{
    int32_t i = 0;
    for (; i + 1 < n && s[i + 1] < x; i++) s[i] = s[i + 1];
    s[i] = x;
    return s[0];
}

void irllrec__tile_avx512(const float *u, const float *p0, const float *p1, int64_t d,
                          float *out)
{
    irllrec__tile_c(u, p0, p1, d, out);
}
void irllrec__tile_avx2(const float *u, const float *p0, const float *p1, int64_t d, float *out)
{
    irllrec__tile_c(u, p0, p1, d, out);
}
void irllrec__filter_avx512(irllrec__sel *sel, int64_t nr, const float *x, int64_t ldx,
                            int64_t a, uint32_t valid, const uint32_t *xbits)
{
    irllrec__filter_c(sel, nr, x, ldx, a, valid, xbits);
}
void irllrec__tilef_avx512(const float *u, const float *p0, const float *p1, int64_t d,
                           irllrec__sel *sel, int64_t a, const uint32_t *xbits)
{
    float out[IRLLREC__TILE_Q * IRLLREC__TILE_C];
    irllrec__tile_c(u, p0, p1, d, out);
    irllrec__filter_c(sel, IRLLREC__TILE_Q, out, IRLLREC__TILE_C, a, 0xFFFFFFFFu, xbits);
}
void irllrec__filter_avx2(irllrec__sel *sel, int64_t nr, const float *x, int64_t ldx, int64_t a,
                          uint32_t valid, const uint32_t *xbits)
{
    irllrec__filter_c(sel, nr, x, ldx, a, valid, xbits);
}

#endif
