/* bf16 storage and the bf16 x bf16 -> fp32 product of the opt-in bf16 text
 * towers (docs/math-towers.md section 5).
 *
 * The product goes through oneDNN's matmul when the library was built with
 * it (IRLLREC_USE_DNNL); otherwise, and for tests, through a plain loop with
 * the same arithmetic contract: every product of two bf16 values is exact in
 * fp32 (8 + 8 significand bits <= 24), sums are fp32. Whether a hook may USE
 * the bf16 path is decided at run time by irllrec__bf16_usable(): oneDNN
 * present and its dispatched ISA doing bf16 in hardware (AVX512-BF16 or
 * AMX), so a CPU without either never runs an emulated bf16 kernel. */
#include "../internal.h"
#include "ops.h"
#include <string.h>

#ifdef IRLLREC_USE_DNNL
#include <oneapi/dnnl/dnnl.h>
#endif

/* The conversions run over every activation of a bf16 tower (rows x hidden
 * per forward and backward); they are integer operations, so the wider
 * copies give the same bits (IRLLREC__CLONES, lib/internal.h). The cloned
 * loops are static: an ifunc's resolver would be an exported symbol. */
#define BF16_CLONES IRLLREC__CLONES("avx512f", "avx2", "default")

BF16_CLONES static void to_bf16(const float *restrict x, uint16_t *restrict y, int64_t n)
{
    for (int64_t i = 0; i < n; i++) y[i] = irllrec__f2bf(x[i]);
}

BF16_CLONES static void to_f32(const uint16_t *restrict x, float *restrict y, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        const uint32_t u = (uint32_t)x[i] << 16;
        memcpy(&y[i], &u, sizeof u);
    }
}

void irllrec__f32_to_bf16(const float *restrict x, uint16_t *restrict y, int64_t n)
{
    to_bf16(x, y, n);
}

void irllrec__f32_to_bf16_pairs(const float *restrict x, int64_t n, uint32_t *restrict w)
{
    const int64_t half = n / 2;
    for (int64_t k = 0; k < half; k++)
        w[k] = (uint32_t)irllrec__f2bf(x[2 * k]) | (uint32_t)irllrec__f2bf(x[2 * k + 1]) << 16;
    if (n % 2 != 0) w[half] = irllrec__f2bf(x[n - 1]);
}

void irllrec__bf16_pair_rows(const float *restrict a, const float *restrict b, int64_t n,
                             uint32_t *restrict w)
{
    if (b == NULL) {
        for (int64_t k = 0; k < n; k++) w[k] = irllrec__f2bf(a[k]);
        return;
    }
    for (int64_t k = 0; k < n; k++)
        w[k] = (uint32_t)irllrec__f2bf(a[k]) | (uint32_t)irllrec__f2bf(b[k]) << 16;
}

void irllrec__bf16_to_f32(const uint16_t *restrict x, float *restrict y, int64_t n)
{
    to_f32(x, y, n);
}

/* y (cols x rows, ld ldy) = bf16(x^T) for x rows x cols (ld ldx): the
 * backward hands oneDNN dA^T in plain layout. Blocked so both sides stay
 * in cache. */
void irllrec__f32_to_bf16_t(int64_t rows, int64_t cols, const float *x, int64_t ldx, uint16_t *y,
                            int64_t ldy)
{
    enum { T = 32 };
    for (int64_t r0 = 0; r0 < rows; r0 += T)
        for (int64_t c0 = 0; c0 < cols; c0 += T) {
            const int64_t r1 = r0 + T < rows ? r0 + T : rows, c1 = c0 + T < cols ? c0 + T : cols;
            for (int64_t c = c0; c < c1; c++)
                for (int64_t r = r0; r < r1; r++) y[c * ldy + r] = irllrec__f2bf(x[r * ldx + c]);
        }
}

/* The reference: C = op(A) op(B) (+ C when accumulate), products exact,
 * sums in fp32 in k order. */
static void sbgemm_ref(int ta, int tb, int64_t m, int64_t n, int64_t k, const uint16_t *a,
                       int64_t lda, const uint16_t *b, int64_t ldb, int accumulate, float *c,
                       int64_t ldc)
{
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            float s = 0.0f;
            for (int64_t p = 0; p < k; p++) {
                float av, bv;
                irllrec__bf16_to_f32(ta ? &a[p * lda + i] : &a[i * lda + p], &av, 1);
                irllrec__bf16_to_f32(tb ? &b[j * ldb + p] : &b[p * ldb + j], &bv, 1);
                s += av * bv;
            }
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + s : s;
        }
}

#ifdef IRLLREC_USE_DNNL

/* oneDNN's primitive cache makes a repeated shape cheap to re-create, so a
 * call builds its primitive and frees everything before returning: the
 * library keeps no oneDNN state between calls. */
typedef struct dnnl_call {
    dnnl_engine_t eng;
    dnnl_stream_t strm;
    dnnl_primitive_attr_t attr;
    dnnl_post_ops_t po;
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    dnnl_memory_t mem[3];
} dnnl_call;

static void call_free(dnnl_call *c)
{
    for (int i = 0; i < 3; i++)
        if (c->mem[i]) dnnl_memory_destroy(c->mem[i]);
    if (c->prim) dnnl_primitive_destroy(c->prim);
    if (c->pd) dnnl_primitive_desc_destroy(c->pd);
    if (c->po) dnnl_post_ops_destroy(c->po);
    if (c->attr) dnnl_primitive_attr_destroy(c->attr);
    if (c->strm) dnnl_stream_destroy(c->strm);
    if (c->eng) dnnl_engine_destroy(c->eng);
}

/* A 2-D plain descriptor: rows x cols with row stride ld, or transposed. */
static dnnl_status_t md2(dnnl_memory_desc_t *md, int64_t rows, int64_t cols, int64_t ld, int trans,
                         dnnl_data_type_t dt)
{
    dnnl_dims_t dims = {rows, cols};
    dnnl_dims_t strides = {trans ? 1 : ld, trans ? ld : 1};
    return dnnl_memory_desc_init_by_strides(md, 2, dims, dt, strides);
}

static dnnl_status_t build(dnnl_call *c, int ta, int tb, int64_t m, int64_t n, int64_t k,
                           int64_t lda, int64_t ldb, int64_t ldc, int accumulate)
{
    dnnl_memory_desc_t ad, bd, cd;
    dnnl_matmul_desc_t mmd;
    dnnl_status_t s;
    if ((s = dnnl_engine_create(&c->eng, dnnl_cpu, 0)) != dnnl_success) return s;
    if ((s = dnnl_stream_create(&c->strm, c->eng, dnnl_stream_default_flags)) != dnnl_success)
        return s;
    if ((s = md2(&ad, m, k, lda, ta, dnnl_bf16)) != dnnl_success) return s;
    if ((s = md2(&bd, k, n, ldb, tb, dnnl_bf16)) != dnnl_success) return s;
    if ((s = md2(&cd, m, n, ldc, 0, dnnl_f32)) != dnnl_success) return s;
    if ((s = dnnl_matmul_desc_init(&mmd, &ad, &bd, NULL, &cd)) != dnnl_success) return s;
    if ((s = dnnl_primitive_attr_create(&c->attr)) != dnnl_success) return s;
    if (accumulate) {
        /* C += A B as the sum post-op (beta = 1) */
        if ((s = dnnl_post_ops_create(&c->po)) != dnnl_success) return s;
        if ((s = dnnl_post_ops_append_sum(c->po, 1.0f)) != dnnl_success) return s;
        if ((s = dnnl_primitive_attr_set_post_ops(c->attr, c->po)) != dnnl_success) return s;
    }
    if ((s = dnnl_primitive_desc_create(&c->pd, &mmd, c->attr, c->eng, NULL)) != dnnl_success)
        return s;
    if ((s = dnnl_primitive_create(&c->prim, c->pd)) != dnnl_success) return s;
    if ((s = dnnl_memory_create(&c->mem[0], &ad, c->eng, DNNL_MEMORY_NONE)) != dnnl_success) return s;
    if ((s = dnnl_memory_create(&c->mem[1], &bd, c->eng, DNNL_MEMORY_NONE)) != dnnl_success) return s;
    return dnnl_memory_create(&c->mem[2], &cd, c->eng, DNNL_MEMORY_NONE);
}

static int sbgemm_dnnl(int ta, int tb, int64_t m, int64_t n, int64_t k, const uint16_t *a,
                       int64_t lda, const uint16_t *b, int64_t ldb, int accumulate, float *c,
                       int64_t ldc)
{
    dnnl_call call;
    memset(&call, 0, sizeof call);
    dnnl_status_t s = build(&call, ta, tb, m, n, k, lda, ldb, ldc, accumulate);
    /* oneDNN reads A and B only; its API takes non-const handles */
    if (s == dnnl_success) s = dnnl_memory_set_data_handle(call.mem[0], (void *)(uintptr_t)a);
    if (s == dnnl_success) s = dnnl_memory_set_data_handle(call.mem[1], (void *)(uintptr_t)b);
    if (s == dnnl_success) s = dnnl_memory_set_data_handle(call.mem[2], c);
    if (s == dnnl_success) {
        const dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, call.mem[0]},
                                         {DNNL_ARG_WEIGHTS, call.mem[1]},
                                         {DNNL_ARG_DST, call.mem[2]}};
        s = dnnl_primitive_execute(call.prim, call.strm, 3, args);
    }
    if (s == dnnl_success) s = dnnl_stream_wait(call.strm);
    call_free(&call);
    return s == dnnl_success ? 0 : (int)s;
}

/* oneDNN JIT-compiles and caches one primitive per shape (up to 1024 by
 * default; on AMX tens of KiB each), and the hook's row counts change every
 * batch (the batch's distinct items), so a long run's RSS grew by ~80 MiB
 * and new shapes were compiled all along. m and k are therefore cut into
 * pieces of a small set of sizes: the largest multiple of PIECE_BIG, then
 * the powers of two >= PIECE_MIN of what is left, then one remainder below
 * PIECE_MIN (at most 5 pieces; ~50 shapes per product up to 4096 rows).
 * Deterministic in m and k, so the bits still depend on the inputs only. */
#define PIECE_BIG 128
#define PIECE_MIN 16

static int64_t piece(int64_t rem)
{
    if (rem >= PIECE_BIG) return rem / PIECE_BIG * PIECE_BIG;
    if (rem < PIECE_MIN) return rem;
    int64_t p = PIECE_MIN;
    while (p <= rem / 2) p *= 2;
    return p;
}

static int sbgemm_pieces(int ta, int tb, int64_t m, int64_t n, int64_t k, const uint16_t *a,
                         int64_t lda, const uint16_t *b, int64_t ldb, int accumulate, float *c,
                         int64_t ldc)
{
    for (int64_t i = 0, pm; i < m; i += pm) {
        pm = piece(m - i);
        const uint16_t *ai = a + (ta ? i : i * lda);
        for (int64_t l = 0, pk; l < k; l += pk) {
            pk = piece(k - l);
            const int st = sbgemm_dnnl(ta, tb, pm, n, pk, ai + (ta ? l * lda : l), lda,
                                       b + (tb ? l : l * ldb), ldb, accumulate || l > 0,
                                       c + i * ldc, ldc);
            if (st != 0) return st;
        }
    }
    return 0;
}

int irllrec__bf16_usable(void)
{
    /* bit masks: AMX implies avx512_core_bf16's bits */
    const unsigned isa = (unsigned)dnnl_get_effective_cpu_isa();
    const unsigned need = (unsigned)dnnl_cpu_isa_avx512_core_bf16;
    return (isa & need) == need;
}

const char *irllrec_text_bf16_backend(void)
{
    const unsigned isa = (unsigned)dnnl_get_effective_cpu_isa();
    const unsigned amx = (unsigned)dnnl_cpu_isa_avx512_core_amx;
    if ((isa & amx) == amx) return "onednn matmul (AMX)";
    if (irllrec__bf16_usable()) return "onednn matmul (AVX512-BF16)";
    return "none: the CPU (as oneDNN dispatches) has neither AVX512-BF16 nor AMX; fp32";
}

#else

int irllrec__bf16_usable(void) { return 0; }

const char *irllrec_text_bf16_backend(void) { return "none: built without oneDNN; fp32"; }

#endif

int irllrec__sbgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const uint16_t *a,
                    int64_t lda, const uint16_t *b, int64_t ldb, int accumulate, float *c,
                    int64_t ldc)
{
    if (m <= 0 || n <= 0) return 0;
#ifdef IRLLREC_USE_DNNL
    if (k > 0 && irllrec__bf16_usable())
        return sbgemm_pieces(trans_a, trans_b, m, n, k, a, lda, b, ldb, accumulate, c, ldc);
#endif
    sbgemm_ref(trans_a, trans_b, m, n, k, a, lda, b, ldb, accumulate, c, ldc);
    return 0;
}

void irllrec__sbgemm_ref(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                         const uint16_t *a, int64_t lda, const uint16_t *b, int64_t ldb,
                         int accumulate, float *c, int64_t ldc)
{
    sbgemm_ref(trans_a, trans_b, m, n, k, a, lda, b, ldb, accumulate, c, ldc);
}
