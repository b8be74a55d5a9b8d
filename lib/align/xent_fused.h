/* Fused softmax cross-entropy over cosine logits: the same job and the same
 * outputs as irllrec__xent_run's reference path (engine.h), but no block of
 * logits is ever written out. Never installed.
 *
 * A tile of MR rows x NR columns of logits is formed in vector registers with
 * FMAs over d, exponentiated and summed there; the backward sweep recomputes
 * the tile, turns it into dC in registers, parks it in an MR x NR stack tile
 * (1 KiB) and pushes it straight into dxn and the slice's dyn partial. Used
 * only with the fixed shift M = inv_tau (2 * inv_tau <= 80, see engine.c);
 * otherwise the reference path runs. Column weights (col_weight) multiply
 * each exponential before it is summed or kept, as the reference does. */
#ifndef IRLLREC_ALIGN_XENT_FUSED_H
#define IRLLREC_ALIGN_XENT_FUSED_H

#include "engine.h"

/* Instruction sets of the fused kernels, in increasing order. */
enum irllrec__xent_isa {
    IRLLREC__XENT_ISA_C = 0,      /* portable C, one lane */
    IRLLREC__XENT_ISA_AVX2 = 1,   /* AVX2 + FMA, 8 lanes */
    IRLLREC__XENT_ISA_AVX512 = 2, /* AVX-512F, 16 lanes */
    IRLLREC__XENT_ISA_BF16 = 3,   /* AVX-512F + AVX512-BF16: bf16 logits, fp32 backward
                                   * (only for jobs that ask, irllrec__xent.bf16) */
    IRLLREC__XENT_ISA_AMX = 4     /* the same contract with AMX tile products
                                   * (xent_amx.c; bf16 jobs that fit it) */
};

/* The best instruction set this CPU runs (checked at run time). */
int irllrec__xent_isa_best(void);
/* "c", "avx2", "avx512". */
const char *irllrec__xent_isa_name(int isa);

/* Floats of the job's ypack buffer for up to n_cols columns at inner size d
 * (columns transposed into NR-wide panels, plus per-thread scratch rows for
 * n_threads threads). */
int64_t irllrec__xent_pack_floats(int64_t n_cols, int64_t d, int32_t n_threads);

/* Rows of a row block whose exponentials the fused path keeps between its
 * forward and backward sweeps for n_cols columns (a multiple of every
 * kernel's mr, at most 256), so the backward does 6d FLOP per logit instead
 * of 8d; 0 when even 8 rows would pass the per-thread budget
 * (irllrec__xent_pack_floats holds them; the backward then recomputes). */
int64_t irllrec__xent_keep_rows(int64_t n_cols);

/* 1 when this CPU runs the bf16 kernel set (AVX-512F and AVX512-BF16). */
int irllrec__xent_bf16_cpu(void);

/* Per-thread words of a job's xpairs (engine.h): a row block's rows as bf16
 * pairs over k, then (bf16 products) its row pairs. */
int64_t irllrec__xent_pair_words(int64_t d);

/* The path irllrec__xent_path() takes with IRLLREC_XENT unset, for this
 * build and a CPU whose best set is best: -1 reference, else an isa. */
int irllrec__xent_default_path(int best);

/* The kernels a job asking bf16 runs when handed isa: AMX where the CPU
 * has it and the job fits it (isa AVX512: the best; AMX: asked), else the
 * AVX512-BF16 set where the CPU has that, else isa itself. IRLLREC_XENT=avx512
 * keeps bf16 jobs off the tiles. */
int irllrec__xent_bf16_isa(const irllrec__xent *job, int isa);

/* 1 when the AMX driver runs job: bf16 level >= 1, d a multiple of 32 and
 * <= 128, xpairs and ypack given, the fixed shift (xent_amx.c). */
int irllrec__xent_amx_fits(const irllrec__xent *jb);
/* Runs job on the tiles; 0 (nothing done) where it does not fit or the
 * CPU has no AMX. */
int irllrec__xent_amx_run(irllrec_ctx *ctx, irllrec__xent *job);
/* Thread t's part of the job's per-thread ypack area (after the panels):
 * at least 8 d + 8192 floats. */
float *irllrec__xent_thread_area(const irllrec__xent *jb, int32_t t);

/* Runs job with the kernels of isa (which must be <= irllrec__xent_isa_best(),
 * or BF16 / AMX for a bf16 job).
 * Returns 0 and does nothing when the job needs the streaming max (2 *
 * inv_tau > 80) or has no ypack; the caller then runs the reference path.
 * Bits depend on isa and n_slices, never on the thread count. */
int irllrec__xent_fused_run(irllrec_ctx *ctx, irllrec__xent *job, int isa);

/* One instruction set's tile kernels (xent_kern_*.c fill it at run time, so
 * the library holds no table of function pointers). xr: MR row pointers (ld
 * d; the rows past the end repeat a valid row); yp: the panel of NR columns,
 * transposed (d x NR); nj <= NR valid columns. */
typedef struct irllrec__xent_kern {
    int32_t mr, nr, vl; /* rows and columns of a logit tile, vector lanes */
    int32_t pairs;      /* 1: fwd reads bf16 pairs (xr rows and yp as uint32 words, see
                         * irllrec__f32_to_bf16_pairs) and bwd is NULL (bf16 set) */
    /* vsum[i*vl + l] += lane l of the tile row's c_j exp(it*<x_i,y_j> - it)
     * (valid j; cw: the tile's column weights c_j, NULL all 1); e != NULL:
     * those nr terms of row i also go to e + i*lde (0 past nj) */
    void (*fwd)(const float *const *xr, const float *yp, int64_t d, float it, int32_t nj,
                const float *cw, float *vsum, float *e, int64_t lde);
    /* dC_ij = alpha_i c_j exp(it*<x_i,y_j> - it) on valid columns; dxr[i] +=
     * dC y, dy[j] += dC^T x; y and dy start at the panel's first column (ld d) */
    void (*bwd)(const float *const *xr, const float *yp, const float *y, int64_t d, float it,
                int32_t nj, const float *cw, const float *alpha, float *const *dxr, float *dy);
    /* bwd with the exponentials fwd stored at e (ld lde) instead of recomputed;
     * the same bits */
    void (*bwdk)(const float *e, int64_t lde, const float *const *xr, const float *y, int64_t d,
                 int32_t nj, const float *alpha, float *const *dxr, float *dy);
    /* bwdk with bf16 products (irllrec__xent_kern_bf16p only, else NULL): G =
     * bf16(alpha_i e_ij); dxr[i] += G Y over yj, the panel's column pairs (16
     * rows of d words: word k of pair m = columns 2m, 2m+1 at k); dy[j] +=
     * G^T X over xi, the group's row pairs (mr/2 rows of d words) */
    void (*bwdp)(const float *e, int64_t lde, const uint32_t *xi, const uint32_t *yj, int64_t d,
                 int32_t nj, const float *alpha, float *const *dxr, float *dy);
} irllrec__xent_kern;

void irllrec__xent_kern_c(irllrec__xent_kern *k);
#if defined(__x86_64__) && defined(__GNUC__)
#define IRLLREC__XENT_X86 1
void irllrec__xent_kern_avx2(irllrec__xent_kern *k);
void irllrec__xent_kern_avx512(irllrec__xent_kern *k);
void irllrec__xent_kern_bf16(irllrec__xent_kern *k);
void irllrec__xent_kern_bf16p(irllrec__xent_kern *k);
#endif

#endif /* IRLLREC_ALIGN_XENT_FUSED_H */
