/* The ranking kernel shared by evaluation (lib/eval) and serving (lib/serve):
 * candidates packed once per call, a block of queries scored against them
 * and each query's top K selected in the same pass. Both callers go through
 * these functions so that what a recommendation returns and what the
 * evaluator measures can never disagree. Never installed.
 *
 * Two scoring paths, both exact fp32 (docs/evaluation.md, "How it runs"):
 *   FUSED (default): our own register-blocked kernel scores a tile of
 *     8 queries x 32 candidates, compares it with each query's current
 *     threshold while it is in L1 and hands only the survivors to the
 *     selection. Every score is the same chain fma(q[k], c[k], acc) over
 *     k = 0..d-1 on every code path (AVX-512, AVX2, portable C with fmaf),
 *     so the paths give the same bits on any CPU.
 *   SGEMM: irllrec__sgemm writes the block's scores, the same vectorised
 *     filter reads them back. Kept to measure against; its scores round as
 *     the BLAS does. */
#ifndef IRLLREC_RANK_KERNEL_H
#define IRLLREC_RANK_KERNEL_H

#include "../internal.h"
#include "../ops/ops.h" /* irllrec__amx_ok */

/* Candidates per packed panel (one AVX-512 vector of fp32), queries and
 * candidates per fused tile. */
#define IRLLREC__PANEL 16
#define IRLLREC__TILE_Q 8
#define IRLLREC__TILE_C 32

/* Code paths of the kernel (irllrec__rank_isa). */
#define IRLLREC__ISA_C 1
#define IRLLREC__ISA_AVX2 2
#define IRLLREC__ISA_AVX512 3
#define IRLLREC__ISA_AMX 4 /* AMX-BF16 prefilter, exact AVX-512 rescoring (amx.c) */

/* Scorers (irllrec__ctx_set_rank_path). */
#define IRLLREC__SCORE_FUSED 0
#define IRLLREC__SCORE_SGEMM 1

/* The best path this CPU runs, capped by the ctx's test override (0 = no
 * cap). Asked of the CPU on every call: the library keeps no global state. */
int32_t irllrec__rank_isa(const irllrec_ctx *ctx);

/* The path for a call ranking n_queries queries against n_cand candidates
 * of width d. The AMX path runs only within its limits (d <= 256, n_cand <=
 * 65,536: its per-worker scratch grows with n_cand), and packs a bf16 copy
 * of the candidates per call, which pays off from a group of queries on
 * (IRLLREC__AMX_MIN_QUERIES, waived when the ctx's test override asks for
 * AMX itself); else AVX-512. */
#define IRLLREC__AMX_MIN_QUERIES 32
#define IRLLREC__AMX_MAX_D 256
#define IRLLREC__AMX_MAX_CAND 65536
int32_t irllrec__rank_isa_for(const irllrec_ctx *ctx, int64_t n_queries, int64_t n_cand,
                              int64_t d);

/* Name of a path ("amx", "avx512", "avx2", "c") and of a scorer, for benchmarks. */
const char *irllrec__rank_isa_name(int32_t isa);

/* Tests and benchmarks: cap the kernel's path at isa (0 = the best the CPU
 * has) and choose the scorer, for every later ranking and evaluation made
 * through ctx. Invalid values are refused with E_INVALID_ARG. */
irllrec_status irllrec__ctx_set_rank_path(irllrec_ctx *ctx, int32_t isa, int32_t scorer);

/* ---- one query's selection (lib/rank/topk.c) -------------------------- */

/* A query's running top K: up to k (score, id) entries, as an ascending
 * array for k <= IRLLREC__SEL_SORTED_MAX and as a heap above, so the worst
 * kept is first either way; thr is its score once k are kept. A later
 * candidate then enters only with a score strictly above thr: candidates arrive in ascending id order, so an equal
 * score loses to the kept one with the lower id (the tie rule). Until k
 * are kept every candidate that is not excluded enters (pass_all), -inf
 * and NaN included (NaN as -inf). mk[0..n_mk) are the query's excluded
 * ids, ascending; mp is a cursor into them. */
typedef struct irllrec__sel {
    float thr;
    uint32_t pass_all; /* all ones until k are kept, then 0 */
    int32_t n, k;
    int32_t vec;       /* set by rank_block / rank_row: the AVX-512 insert may run */
    uint64_t *key;     /* k slots: score and id in one ordered integer (topk.c) */
    const int32_t *mk;
    int64_t n_mk, mp;
} irllrec__sel;

/* Slots a selection of top k among n_cand candidates needs: m = min(k,
 * n_cand), rounded up to whole vectors of 8 keys when m <= 32. */
int32_t irllrec__sel_cap(int32_t k, int64_t n_cand);

/* k >= 1 slots in key. */
void irllrec__sel_init(irllrec__sel *q, uint64_t *key, int32_t k, const int32_t *mk,
                       int64_t n_mk);

/* Offer the lanes set in m of the scores x[0..32) of candidates a..a+31:
 * each enters unless excluded by mk or not above thr once k are kept. */
void irllrec__sel_take(irllrec__sel *q, const float *x, uint32_t m, int64_t a);

/* Up to this k a selection keeps its keys as a sorted array (one branch-free
 * vector insert per entrant on AVX-512); above it, as a heap (topk.c). */
#define IRLLREC__SEL_SORTED_MAX 32

/* The AVX-512 insert (fused_x86.c): s holds n <= 32 ascending keys, then
 * UINT64_MAX up to a multiple of 8 (irllrec__sel_init), and s[0] < x; drop
 * s[0] and put x in its place in the order. Returns the new s[0]. */
uint64_t irllrec__sorted_replace_avx512(uint64_t *s, int32_t n, uint64_t x);

/* Sort the kept entries best first (score descending, id ascending);
 * q->n is the list's length, entry j is read with the two getters. A
 * kept -0 score reads back as +0 (they tie, docs/evaluation.md). */
void irllrec__sel_finish(irllrec__sel *q);
float irllrec__sel_score(const irllrec__sel *q, int32_t j);
int32_t irllrec__sel_id(const irllrec__sel *q, int32_t j);

/* ---- candidates packed once per call (lib/rank/score.c) ---------------- */

/* The candidate matrix of one call: panels of IRLLREC__PANEL candidates,
 * each d x PANEL floats (candidate j of the panel at column j), the last
 * panel zero-padded; and optional exclusion bits shared by every query (bit
 * i of word i / 32 set: candidate i is never returned). raw/ldr: the
 * caller's rows, for the SGEMM scorer and the AMX path's rescoring.
 * bpanels (the AMX path only, else NULL): the same panels as bf16 pairs
 * (amx.c), vmax an upper bound of the largest candidate's L2 norm. */
typedef struct irllrec__cands {
    const float *panels;
    const uint32_t *xbits;
    const float *raw;
    const uint32_t *bpanels;
    double vmax;
    int64_t ldr, n, d;
} irllrec__cands;

/* Floats of the packed panels of n candidates of width d, the bf16 copy
 * the AMX path reads included; the callers' overflow checks multiply
 * irllrec__pack_floats(n, 1) by irllrec__pack_width(d). */
int64_t irllrec__pack_width(int64_t d);
size_t irllrec__pack_floats(int64_t n, int64_t d);

/* Pack src (n x d, row stride ld) into buf (irllrec__pack_floats(n, d))
 * and describe it in c (xbits left NULL): the fp32 panels always, the bf16
 * ones and vmax too when isa is IRLLREC__ISA_AMX. */
void irllrec__pack_cands(irllrec__cands *c, const float *src, int64_t ld, int64_t n, int64_t d,
                         float *buf, int32_t isa);

/* Query rows per block for n_cand candidates: a fixed score budget
 * (4.5 MiB, 126 Amazon-book rows) clamped to [16, 1024], and so that the
 * block's selection buffers (cap candidates each) stay within the same
 * budget. A function of its arguments only, never of the thread count. */
int64_t irllrec__score_block_rows(int64_t n_cand, int32_t cap);

/* Copy rows[0..nb) of src (row stride ld) into packed (nb x d, contiguous),
 * then zero rows nb .. round_up(nb, IRLLREC__TILE_Q) so the fused kernel
 * can score whole tiles. packed holds round_up(nb, TILE_Q) x d floats. */
void irllrec__gather_rows(const float *src, int64_t ld, const int64_t *rows, int64_t nb,
                          int64_t d, float *packed);

/* The FUSED scorer on isa's fp32 kernels (score.c), for the AMX path's
 * fallback too. */
void irllrec__block_fused(const irllrec__cands *c, const float *packed, int64_t nb,
                          irllrec__sel *sel, int32_t isa);

/* ---- the AMX path (lib/rank/amx.c) -------------------------------------- */

/* bf16 panels of the candidates from their fp32 panels; returns vmax. */
double irllrec__pack_bf16(const float *panels, int64_t n, int64_t d, uint32_t *bp);

/* The FUSED scorer with AMX: bf16 products pick the candidates that may
 * beat a query's bar (with a proven error margin), AVX-512 rescores those
 * with the fp32 chain of the other paths, so the lists are the same bits.
 * Needs c packed for IRLLREC__ISA_AMX and the per-worker scratch of
 * irllrec__amx_scratch_floats; a group whose norms are too large for the
 * margin (or a NaN candidate) goes through irllrec__block_fused. */
void irllrec__block_amx(const irllrec__cands *c, const float *packed, int64_t nb,
                        irllrec__sel *sel, float *scratch);

/* Floats of the AMX path's per-worker scratch: per query of a group of 32
 * and per 32 candidates, the largest tile score and the 32 scores as bf16. */
size_t irllrec__amx_scratch_floats(int64_t n_cand);

/* Floats of the per-worker scratch irllrec__rank_block needs for a path:
 * the SGEMM scorer's score block (block x n_cand), the AMX path's maxima,
 * else 0. */
size_t irllrec__rank_scratch_floats(int32_t isa, int32_t scorer, int64_t block, int64_t n_cand);

/* Score the nb packed queries (nb x d, padded as gather_rows leaves them)
 * against every candidate and offer the scores to sel[0..nb), in ascending
 * candidate order. sel holds round_up(nb, TILE_Q) entries: the padding
 * ones are set here to never take anything. scorer SGEMM needs scores
 * (nb x n floats); FUSED none. */
void irllrec__rank_block(const irllrec__cands *c, const float *packed, int64_t nb,
                         irllrec__sel *sel, int32_t isa, int32_t scorer, float *scores);

/* Offer one row of n scores s (candidate id = index) to q, 32 at a time. */
void irllrec__rank_row(irllrec__sel *q, const float *s, int64_t n, const uint32_t *xbits,
                       int32_t isa);

/* ---- the per-path kernels (lib/rank/fused.c, fused_x86.c) ------------- */

/* Scores of the tile: queries u (TILE_Q rows, stride d) against the panels
 * p0 and p1 (p1 may be NULL: lanes 16..31 are then left 0), into
 * out[TILE_Q][TILE_C]. */
void irllrec__tile_c(const float *u, const float *p0, const float *p1, int64_t d, float *out);
void irllrec__tile_avx2(const float *u, const float *p0, const float *p1, int64_t d, float *out);
void irllrec__tile_avx512(const float *u, const float *p0, const float *p1, int64_t d,
                          float *out);

/* AVX-512 tile and filter in one, for two full panels (p1 != NULL, every
 * lane valid) and all TILE_Q rows of sel (padding rows as rank_block
 * leaves them): the scores are compared while in registers. */
void irllrec__tilef_avx512(const float *u, const float *p0, const float *p1, int64_t d,
                           irllrec__sel *sel, int64_t a, const uint32_t *xbits);

/* Offer row r of x (rows of stride ldx, 32 scores of candidates a..a+31
 * each; valid: the lanes that exist) to sel[r], r < nr: lanes above the
 * query's threshold (all while pass_all), minus the call's exclusion bits. */
void irllrec__filter_c(irllrec__sel *sel, int64_t nr, const float *x, int64_t ldx, int64_t a,
                       uint32_t valid, const uint32_t *xbits);
void irllrec__filter_avx512(irllrec__sel *sel, int64_t nr, const float *x, int64_t ldx,
                            int64_t a, uint32_t valid, const uint32_t *xbits);
void irllrec__filter_avx2(irllrec__sel *sel, int64_t nr, const float *x, int64_t ldx, int64_t a,
                          uint32_t valid, const uint32_t *xbits);

/* Lanes of the 32 candidates from a that exist (of n). */
static inline uint32_t irllrec__valid_lanes(int64_t a, int64_t n)
{
    return n - a >= 32 ? 0xFFFFFFFFu : (1u << (n - a)) - 1u;
}

/* The exclusion bits of 32 candidates from a (a multiple of 32), 0 without bits. */
static inline uint32_t irllrec__xword(const uint32_t *xbits, int64_t a)
{
    return xbits != NULL ? xbits[a >> 5] : 0u;
}

#endif /* IRLLREC_RANK_KERNEL_H */
