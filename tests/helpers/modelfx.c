/* The model suites' fixture (test_model.c, test_model_robust.c): a small
 * model with every section type, its image in memory, and a check of every
 * value it holds. */
#include "helpers/modelfx.h"
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

const float mfx_W[6] = {1.0f, -2.0f, 0.5f, 3.25f, -0.0f, 1e-3f};
const uint64_t mfx_RNG[4] = {1, 2, 0xFFFFFFFFFFFFFFFFull, 0x0123456789ABCDEFull};

/* A small model with every section type: meta (i64, f64, str), a 2x3
 * tensor, a u64 RNG state, a 1-D optimizer block, a 4-D teacher block. */
irllrec_status mfx_build(irllrec_ctx *ctx, irllrec_model **out)
{
    const int64_t d2[2] = {2, 3}, d1[1] = {6}, d4[4] = {1, 2, 1, 3};
    irllrec_model *m = NULL;
    irllrec_status st;
    *out = NULL;
    IRL_TRY(irllrec_model_create(ctx, &m));
    if ((st = irllrec_model_add_meta_i64(m, "dim", -3)) != IRLLREC_OK ||
        (st = irllrec_model_add_meta_f64(m, "tau", 0.2)) != IRLLREC_OK ||
        (st = irllrec_model_add_meta_str(m, "arch", "mlp")) != IRLLREC_OK ||
        (st = irllrec_model_add_tensor(m, IRLLREC_MODEL_TENSOR, "mlp.0.weight", mfx_W, 2, d2,
                                       IRLLREC_MODEL_REQUIRED)) != IRLLREC_OK ||
        (st = irllrec_model_add_u64s(m, IRLLREC_MODEL_RNG, "rng", mfx_RNG, 4, 0)) != IRLLREC_OK ||
        (st = irllrec_model_add_tensor(m, IRLLREC_MODEL_OPTIM, "adam.m", mfx_W, 1, d1, 0)) != IRLLREC_OK ||
        (st = irllrec_model_add_tensor(m, IRLLREC_MODEL_TEACHER, "t.w", mfx_W, 4, d4, 0)) != IRLLREC_OK) {
        irllrec_model_free(m);
        return st;
    }
    *out = m;
    return IRLLREC_OK;
}

/* Serialise into a malloc'ed buffer. */
uint8_t *mfx_to_mem(const irllrec_model *m, size_t *len)
{
    uint8_t *buf;
    ck_assert_int_eq(irllrec_model_save_mem(m, NULL, 0, len), IRLLREC_OK);
    buf = (uint8_t *)malloc(*len);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(irllrec_model_save_mem(m, buf, *len, len), IRLLREC_OK);
    return buf;
}

uint8_t *mfx_small_image(irllrec_ctx *ctx, size_t *len)
{
    irllrec_model *m = NULL;
    uint8_t *buf;
    ck_assert_int_eq(mfx_build(ctx, &m), IRLLREC_OK);
    buf = mfx_to_mem(m, len);
    irllrec_model_free(m);
    return buf;
}

/* Check every value of a model made by mfx_build(). */
void mfx_check_built(const irllrec_model *m)
{
    float f[6];
    uint64_t u[4];
    int64_t i64 = 0, dims[4];
    double f64 = 0;
    char s[8];
    size_t slen = 0;
    uint32_t kind, dtype, flags, type;
    int32_t ndim, idx;
    const int64_t d2[2] = {2, 3};
    ck_assert_int_eq(irllrec_model_section_count(m), 4);
    ck_assert_int_eq(irllrec_model_meta_count(m), 3);
    ck_assert_str_eq(irllrec_model_meta_key(m, 0, &type), "dim");
    ck_assert_uint_eq(type, IRLLREC_MODEL_META_I64);
    ck_assert_str_eq(irllrec_model_meta_key(m, 2, &type), "arch");
    ck_assert_uint_eq(type, IRLLREC_MODEL_META_STR);
    ck_assert_ptr_null(irllrec_model_meta_key(m, 3, NULL));
    ck_assert_int_eq(irllrec_model_get_meta_i64(m, "dim", &i64), IRLLREC_OK);
    ck_assert_int_eq(i64, -3);
    ck_assert_int_eq(irllrec_model_get_meta_f64(m, "tau", &f64), IRLLREC_OK);
    ck_assert(f64 == 0.2);
    ck_assert_int_eq(irllrec_model_get_meta_str(m, "arch", NULL, 0, &slen), IRLLREC_OK);
    ck_assert_uint_eq(slen, 3);
    ck_assert_int_eq(irllrec_model_get_meta_str(m, "arch", s, sizeof s, &slen), IRLLREC_OK);
    ck_assert_str_eq(s, "mlp");

    ck_assert_str_eq(irllrec_model_section_name(m, 0), "mlp.0.weight");
    ck_assert_str_eq(irllrec_model_section_name(m, 1), "rng");
    ck_assert_str_eq(irllrec_model_section_name(m, 2), "adam.m");
    ck_assert_str_eq(irllrec_model_section_name(m, 3), "t.w");
    ck_assert_int_eq(irllrec_model_section_info(m, 0, &kind, &dtype, &flags, &ndim, dims), IRLLREC_OK);
    ck_assert_uint_eq(kind, IRLLREC_MODEL_TENSOR);
    ck_assert_uint_eq(dtype, IRLLREC_MODEL_F32);
    ck_assert_uint_eq(flags, IRLLREC_MODEL_REQUIRED);
    ck_assert_int_eq(ndim, 2);
    ck_assert(dims[0] == 2 && dims[1] == 3 && dims[2] == 0 && dims[3] == 0);
    ck_assert_int_eq(irllrec_model_section_info(m, 3, &kind, &dtype, &flags, &ndim, dims), IRLLREC_OK);
    ck_assert_uint_eq(kind, IRLLREC_MODEL_TEACHER);
    ck_assert(ndim == 4 && dims[0] == 1 && dims[1] == 2 && dims[2] == 1 && dims[3] == 3);
    ck_assert_int_eq(irllrec_model_section_info(m, 1, &kind, &dtype, &flags, &ndim, dims), IRLLREC_OK);
    ck_assert_uint_eq(kind, IRLLREC_MODEL_RNG);
    ck_assert_uint_eq(dtype, IRLLREC_MODEL_U64);
    ck_assert_uint_eq(flags, 0);

    memset(f, 0x7f, sizeof f);
    ck_assert_int_eq(irllrec_model_get_f32(m, "mlp.0.weight", 2, d2, f, 6), IRLLREC_OK);
    ck_assert_mem_eq(f, mfx_W, sizeof mfx_W); /* bit-exact, -0.0 included */
    ck_assert_int_eq(irllrec_model_get_f32(m, "t.w", 0, NULL, f, 6), IRLLREC_OK);
    ck_assert_mem_eq(f, mfx_W, sizeof mfx_W);
    ck_assert_int_eq(irllrec_model_get_u64(m, "rng", u, 4), IRLLREC_OK);
    ck_assert_mem_eq(u, mfx_RNG, sizeof mfx_RNG);
    ck_assert_int_eq(irllrec_model_find(m, "adam.m", &idx), IRLLREC_OK);
    ck_assert_int_eq(idx, 2);
}
