/* Block scoring and its dispatch: the candidates packed once per call, the
 * query rows of a block gathered, and one pass that scores the block and
 * feeds each query's selection (kernel.h). The evaluator and the ranking
 * functions both call irllrec__rank_block, so a query's scores and list are
 * the same in either. */
#include <math.h>
#include <string.h>
#include "kernel.h"

/* 4.5 MiB of scores per block: smaller blocks keep the scores in L2 but make
 * the sgemm calls too small to run well (docs/evaluation.md). The fused
 * scorer writes no score block; the same budget bounds its selection
 * buffers instead. */
#define SCORE_BLOCK_BYTES (4608u * 1024u)
#define BLOCK_MIN 16
#define BLOCK_MAX 1024

/* Candidates per chunk: the fused scorer sweeps one chunk for every query
 * tile of the block before it moves on. 32 KiB of panels (256 candidates at
 * d = 32) stays in L1 beside a block's queries; on the AMX Xeon that ran
 * ~5% faster than 256 KiB chunks read from L2 (docs/benchmarks.md). */
#define CHUNK_BYTES (32u * 1024u)

int64_t irllrec__score_block_rows(int64_t n_cand, int32_t cap)
{
    const int64_t per = n_cand > 0 ? n_cand : 1, sel = (int64_t)cap * 8;
    int64_t b = (int64_t)(SCORE_BLOCK_BYTES / sizeof(float)) / per;
    if (sel > 0 && (int64_t)SCORE_BLOCK_BYTES / sel < b) b = (int64_t)SCORE_BLOCK_BYTES / sel;
    if (b < BLOCK_MIN) b = BLOCK_MIN;
    if (b > BLOCK_MAX) b = BLOCK_MAX;
    return b;
}

/* Per panel row: d fp32 columns, then the bf16 pairs of d rounded up to
 * whole 32-wide chunks (amx.c), two to a float. */
int64_t irllrec__pack_width(int64_t d)
{
    return d + (d + 31) / 32 * 16;
}

size_t irllrec__pack_floats(int64_t n, int64_t d)
{
    const size_t panels = (size_t)((n + IRLLREC__PANEL - 1) / IRLLREC__PANEL);
    return panels * (size_t)irllrec__pack_width(d) * IRLLREC__PANEL;
}

static void pack_f32(const float *src, int64_t ld, int64_t n, int64_t d, float *panels)
{
    const int64_t np = (n + IRLLREC__PANEL - 1) / IRLLREC__PANEL;
    for (int64_t p = 0; p < np; p++) {
        float *dst = panels + (size_t)p * (size_t)d * IRLLREC__PANEL;
        for (int64_t j = 0; j < IRLLREC__PANEL; j++) {
            const int64_t i = p * IRLLREC__PANEL + j;
            const float *row = src + (size_t)i * (size_t)ld;
            for (int64_t k = 0; k < d; k++) dst[k * IRLLREC__PANEL + j] = i < n ? row[k] : 0.0f;
        }
    }
}

void irllrec__pack_cands(irllrec__cands *c, const float *src, int64_t ld, int64_t n, int64_t d,
                         float *buf, int32_t isa)
{
    const size_t f32 = (size_t)((n + IRLLREC__PANEL - 1) / IRLLREC__PANEL) * (size_t)d *
                       IRLLREC__PANEL;
    memset(c, 0, sizeof *c);
    pack_f32(src, ld, n, d, buf);
    c->panels = buf;
    c->raw = src;
    c->ldr = ld;
    c->n = n;
    c->d = d;
    if (isa == IRLLREC__ISA_AMX) {
        c->bpanels = (const uint32_t *)(buf + f32);
        c->vmax = irllrec__pack_bf16(buf, n, d, (uint32_t *)(buf + f32));
    }
}

void irllrec__gather_rows(const float *src, int64_t ld, const int64_t *rows, int64_t nb,
                          int64_t d, float *packed)
{
    const int64_t nr = (nb + IRLLREC__TILE_Q - 1) / IRLLREC__TILE_Q * IRLLREC__TILE_Q;
    for (int64_t r = 0; r < nb; r++)
        memcpy(packed + (size_t)r * (size_t)d, src + (size_t)rows[r] * (size_t)ld,
               (size_t)d * sizeof(float));
    if (nr > nb) memset(packed + (size_t)nb * (size_t)d, 0, (size_t)(nr - nb) * (size_t)d * sizeof(float));
}

/* ---- dispatch ----------------------------------------------------------- */

typedef void (*tile_fn)(const float *, const float *, const float *, int64_t, float *);
typedef void (*filter_fn)(irllrec__sel *, int64_t, const float *, int64_t, int64_t, uint32_t,
                          const uint32_t *);

static tile_fn tile_of(int32_t isa)
{
    return isa >= IRLLREC__ISA_AVX512 ? irllrec__tile_avx512
           : isa == IRLLREC__ISA_AVX2 ? irllrec__tile_avx2
                                      : irllrec__tile_c;
}

static filter_fn filter_of(int32_t isa)
{
    return isa >= IRLLREC__ISA_AVX512 ? irllrec__filter_avx512
           : isa == IRLLREC__ISA_AVX2 ? irllrec__filter_avx2
                                      : irllrec__filter_c;
}

void irllrec__rank_row(irllrec__sel *q, const float *s, int64_t n, const uint32_t *xbits,
                       int32_t isa)
{
    const filter_fn filter = filter_of(isa);
    q->vec = isa >= IRLLREC__ISA_AVX512;
    for (int64_t a = 0; a < n; a += 32) filter(q, 1, s + a, 0, a, irllrec__valid_lanes(a, n), xbits);
}

/* SGEMM scorer: the block's scores through irllrec__sgemm, then the filter
 * over each row, 32 candidates at a time. */
static void block_sgemm(const irllrec__cands *c, const float *packed, int64_t nb,
                        irllrec__sel *sel, int32_t isa, float *scores)
{
    irllrec__sgemm(0, 1, nb, c->n, c->d, 1.0f, packed, c->d, c->raw, c->ldr, 0.0f, scores, c->n);
    for (int64_t r = 0; r < nb; r++)
        irllrec__rank_row(sel + r, scores + (size_t)r * (size_t)c->n, c->n, c->xbits, isa);
}

/* FUSED scorer: for each chunk of candidates, every tile of queries
 * sweeps it; each 8 x 32 tile of scores goes from the kernel to the filter
 * through a 1 KiB L1 buffer and never to memory. */
void irllrec__block_fused(const irllrec__cands *c, const float *packed, int64_t nb,
                          irllrec__sel *sel, int32_t isa)
{
    const tile_fn tile = tile_of(isa);
    const filter_fn filter = filter_of(isa);
    const int both = isa >= IRLLREC__ISA_AVX512;
    const size_t pstride = (size_t)c->d * IRLLREC__PANEL;
    const int64_t np = (c->n + IRLLREC__PANEL - 1) / IRLLREC__PANEL;
    int64_t chunk = (int64_t)(CHUNK_BYTES / (pstride * sizeof(float))) & ~(int64_t)1;
    float tbuf[IRLLREC__TILE_Q * IRLLREC__TILE_C];
    if (chunk < 2) chunk = 2;
    for (int64_t p0 = 0; p0 < np; p0 += chunk) {
        const int64_t p1 = p0 + chunk < np ? p0 + chunk : np;
        for (int64_t r = 0; r < nb; r += IRLLREC__TILE_Q) {
            const int64_t nr = nb - r < IRLLREC__TILE_Q ? nb - r : IRLLREC__TILE_Q;
            const float *u = packed + (size_t)r * (size_t)c->d;
            for (int64_t p = p0; p < p1; p += 2) {
                const float *a = c->panels + (size_t)p * pstride;
                const float *b = p + 1 < np ? a + pstride : NULL;
                const int64_t first = p * IRLLREC__PANEL;
                if (both && b != NULL && c->n - first >= IRLLREC__TILE_C) {
                    irllrec__tilef_avx512(u, a, b, c->d, sel + r, first, c->xbits);
                    continue;
                }
                tile(u, a, b, c->d, tbuf);
                filter(sel + r, nr, tbuf, IRLLREC__TILE_C, first, irllrec__valid_lanes(first, c->n),
                       c->xbits);
            }
        }
    }
}

size_t irllrec__rank_scratch_floats(int32_t isa, int32_t scorer, int64_t block, int64_t n_cand)
{
    if (scorer == IRLLREC__SCORE_SGEMM) return (size_t)block * (size_t)n_cand;
    return isa == IRLLREC__ISA_AMX ? irllrec__amx_scratch_floats(n_cand) : 0;
}

void irllrec__rank_block(const irllrec__cands *c, const float *packed, int64_t nb,
                         irllrec__sel *sel, int32_t isa, int32_t scorer, float *scores)
{
    for (int64_t r = 0; r < nb; r++) sel[r].vec = isa >= IRLLREC__ISA_AVX512;
    for (int64_t r = nb; r % IRLLREC__TILE_Q != 0; r++) {
        irllrec__sel_init(sel + r, NULL, 0, NULL, 0);
        sel[r].pass_all = 0;
        sel[r].thr = INFINITY;
    }
    if (scorer == IRLLREC__SCORE_SGEMM)
        block_sgemm(c, packed, nb, sel, isa, scores);
    else if (isa == IRLLREC__ISA_AMX)
        irllrec__block_amx(c, packed, nb, sel, scores);
    else
        irllrec__block_fused(c, packed, nb, sel, isa);
}
