/* The portable path of the fused kernel, and the choice of path.
 *
 * The portable tile computes every score as the AVX paths do, the chain
 * acc = fmaf(q[k], c[k], acc) for k = 0..d-1 from acc = 0, so a CPU without
 * AVX2 ranks with the same bits (fmaf is slower there: a fallback, not a
 * fast path). The choice is made on every call from the CPU's own report
 * (cpuid through __builtin_cpu_supports), never at build time: the library
 * is built for the x86-64 baseline and must run where AVX2 is absent. */
#include <math.h>
#include "kernel.h"

void irllrec__tile_c(const float *u, const float *p0, const float *p1, int64_t d, float *out)
{
    for (int r = 0; r < IRLLREC__TILE_Q; r++) {
        float acc[IRLLREC__TILE_C];
        const float *q = u + (size_t)r * (size_t)d;
        for (int j = 0; j < IRLLREC__TILE_C; j++) acc[j] = 0.0f;
        for (int64_t k = 0; k < d; k++) {
            const float *a = p0 + k * IRLLREC__PANEL;
            for (int j = 0; j < IRLLREC__PANEL; j++) acc[j] = fmaf(q[k], a[j], acc[j]);
            if (p1 != NULL) {
                const float *b = p1 + k * IRLLREC__PANEL;
                for (int j = 0; j < IRLLREC__PANEL; j++)
                    acc[IRLLREC__PANEL + j] = fmaf(q[k], b[j], acc[IRLLREC__PANEL + j]);
            }
        }
        for (int j = 0; j < IRLLREC__TILE_C; j++) out[r * IRLLREC__TILE_C + j] = acc[j];
    }
}

void irllrec__filter_c(irllrec__sel *sel, int64_t nr, const float *x, int64_t ldx, int64_t a,
                       uint32_t valid, const uint32_t *xbits)
{
    const uint32_t keep = valid & ~irllrec__xword(xbits, a);
    for (int64_t r = 0; r < nr; r++) {
        const float *row = x + (size_t)r * (size_t)ldx;
        const float thr = sel[r].thr;
        uint32_t m = sel[r].pass_all & keep;
        for (int j = 0; j < 32; j++)
            if ((keep >> j & 1u) && row[j] > thr) m |= 1u << j;
        if (m != 0) irllrec__sel_take(sel + r, row, m, a);
    }
}

/* ---- choice of path ----------------------------------------------------- */

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#define RANK_X86 1
#endif

static int32_t cpu_isa(void)
{
#ifdef RANK_X86
    __builtin_cpu_init();
    if (irllrec__amx_ok()) return IRLLREC__ISA_AMX;
    if (__builtin_cpu_supports("avx512f")) return IRLLREC__ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return IRLLREC__ISA_AVX2;
#endif
    return IRLLREC__ISA_C;
}

int32_t irllrec__rank_isa(const irllrec_ctx *ctx)
{
    const int32_t best = cpu_isa(), cap = ctx != NULL ? ctx->rank_isa_cap : 0;
    return cap > 0 && cap < best ? cap : best;
}

int32_t irllrec__rank_isa_for(const irllrec_ctx *ctx, int64_t n_queries, int64_t n_cand,
                              int64_t d)
{
    const int32_t isa = irllrec__rank_isa(ctx);
    const int forced = ctx != NULL && ctx->rank_isa_cap == IRLLREC__ISA_AMX;
    if (isa != IRLLREC__ISA_AMX) return isa;
    if (d > IRLLREC__AMX_MAX_D || n_cand > IRLLREC__AMX_MAX_CAND) return IRLLREC__ISA_AVX512;
    return n_queries < IRLLREC__AMX_MIN_QUERIES && !forced ? IRLLREC__ISA_AVX512 : isa;
}

const char *irllrec__rank_isa_name(int32_t isa)
{
    return isa == IRLLREC__ISA_AMX      ? "amx"
           : isa == IRLLREC__ISA_AVX512 ? "avx512"
           : isa == IRLLREC__ISA_AVX2   ? "avx2"
                                        : "c";
}

irllrec_status irllrec__ctx_set_rank_path(irllrec_ctx *ctx, int32_t isa, int32_t scorer)
{
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(ctx, isa >= 0 && isa <= IRLLREC__ISA_AMX, IRLLREC_E_INVALID_ARG,
              "isa %d is not 0 (best), 1 (c), 2 (avx2), 3 (avx512) or 4 (amx)", (int)isa);
    IRL_CHECK(ctx, scorer == IRLLREC__SCORE_FUSED || scorer == IRLLREC__SCORE_SGEMM,
              IRLLREC_E_INVALID_ARG, "scorer %d is not 0 (fused) or 1 (sgemm)", (int)scorer);
    ctx->rank_isa_cap = isa;
    ctx->rank_scorer = scorer;
    return IRLLREC_OK;
}
