/* Model files (.irlm): round trips, the API's argument checks, every loader
 * check one by one, check_finite and max_bytes, a FIFO and a wrong file given
 * as the path. Bit flips, truncation, allocation failures and killed saves
 * are in test_model_robust.c. Offsets below follow docs/file-format.md:
 * header 96 bytes, table entries of 144 bytes at 96. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "internal.h"
#include "helpers/testutil.h"
#include "helpers/modelfx.h"
#include "fuzz/irlm_fixup.h"

/* Table entry i and its fields. */
#define ENT(i) (96 + 144 * (size_t)(i))
#define F_KIND 0
#define F_FLAGS 4
#define F_NAME 8
#define F_DTYPE 56
#define F_NDIM 60
#define F_DIMS 64
#define F_OFFSET 96
#define F_NBYTES 104
#define F_HASH 112

START_TEST(round_trip_every_section_type)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_model *m = NULL, *m2 = NULL, *m3 = NULL;
    size_t n1, n2, n3;
    uint8_t *b1, *b2, *b3, *fb;
    char *dir = tu_tmpdir(), path[4096];
    FILE *f;
    uint64_t nb;
    const uint8_t *raw;

    ck_assert_int_eq(mfx_build(ctx, &m), IRLLREC_OK);
    mfx_check_built(m);
    b1 = mfx_to_mem(m, &n1);
    ck_assert_int_eq(irllrec_model_load_mem(ctx, b1, n1, NULL, &m2), IRLLREC_OK);
    mfx_check_built(m2);
    b2 = mfx_to_mem(m2, &n2);
    ck_assert_uint_eq(n1, n2);
    ck_assert_mem_eq(b1, b2, n1);

    /* Same content, built again: same bytes. */
    ck_assert_int_eq(mfx_build(ctx, &m3), IRLLREC_OK);
    b3 = mfx_to_mem(m3, &n3);
    ck_assert_uint_eq(n3, n1);
    ck_assert_mem_eq(b3, b1, n1);

    /* The path functions produce and read the same bytes. */
    tu_join(path, sizeof path, dir, "m.irlm");
    ck_assert_int_eq(irllrec_model_save(m, path), IRLLREC_OK);
    fb = (uint8_t *)malloc(n1 + 16);
    f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fread(fb, 1, n1 + 16, f), n1);
    fclose(f);
    ck_assert_mem_eq(fb, b1, n1);
    irllrec_model_free(m3);
    ck_assert_int_eq(irllrec_model_load(ctx, path, NULL, &m3), IRLLREC_OK);
    mfx_check_built(m3);

    /* Layout, read independently of the library. */
    ck_assert_mem_eq(b1, "\x89IRL\r\n\x1a\n", 8);
    ck_assert_uint_eq(tf_rd32(b1 + 8), 1);          /* major 1, minor 0 */
    ck_assert_uint_eq(tf_rd32(b1 + 12), 96);
    ck_assert_uint_eq(tf_rd32(b1 + 20), 5);         /* meta + 4 */
    ck_assert_uint_eq(tf_rd64(b1 + 24), 96);
    ck_assert_uint_eq(tf_rd64(b1 + 32), n1);
    ck_assert_uint_eq(b1[40], 1);
    ck_assert_mem_eq(b1 + ENT(0) + F_NAME, "meta\0", 5);
    ck_assert_uint_eq(tf_rd64(b1 + ENT(0) + F_OFFSET), 832); /* align64(96 + 5*144) */
    for (int i = 0; i < 5; i++) ck_assert_uint_eq(tf_rd64(b1 + ENT(i) + F_OFFSET) % 64, 0);
    ck_assert_uint_eq(tf_rd64(b1 + ENT(1) + F_NBYTES), 24);
    /* float 1.0f = 0x3f800000 stored little-endian */
    ck_assert_mem_eq(b1 + tf_rd64(b1 + ENT(1) + F_OFFSET), "\x00\x00\x80\x3f", 4);
    raw = (const uint8_t *)irllrec_model_section_data(m2, 1, &nb);
    ck_assert_uint_eq(nb, 32);
    ck_assert_uint_eq(raw[0], 1);
    ck_assert_mem_eq(raw + 16, "\xff\xff\xff\xff\xff\xff\xff\xff", 8);

    free(fb);
    free(b1);
    free(b2);
    free(b3);
    irllrec_model_free(m);
    irllrec_model_free(m2);
    irllrec_model_free(m3);
    irllrec_ctx_free(ctx);
    tu_tmpdir_free(dir);
}
END_TEST

START_TEST(round_trip_edge_values)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_model *m = NULL, *m2 = NULL;
    const double nan_bits_src = -NAN;
    double d = 0;
    uint64_t a, b;
    char s[4];
    size_t n, len;
    uint8_t *buf;
    ck_assert_int_eq(irllrec_model_create(ctx, &m), IRLLREC_OK);
    /* empty model */
    buf = mfx_to_mem(m, &n);
    ck_assert_uint_eq(n, 96);
    ck_assert_int_eq(irllrec_model_load_mem(ctx, buf, n, NULL, &m2), IRLLREC_OK);
    ck_assert_int_eq(irllrec_model_section_count(m2), 0);
    ck_assert_int_eq(irllrec_model_meta_count(m2), 0);
    irllrec_model_free(m2);
    free(buf);
    ck_assert_int_eq(irllrec_model_add_meta_f64(m, "nan", nan_bits_src), IRLLREC_OK);
    ck_assert_int_eq(irllrec_model_add_meta_f64(m, "negzero", -0.0), IRLLREC_OK);
    ck_assert_int_eq(irllrec_model_add_meta_i64(m, "min", INT64_MIN), IRLLREC_OK);
    ck_assert_int_eq(irllrec_model_add_meta_str(m, "e", ""), IRLLREC_OK);
    ck_assert_int_eq(irllrec_model_add_meta_str(m, "k23456789012345678901234567890123456789012345678901234567890123",
                                                 "x"), IRLLREC_OK);
    buf = mfx_to_mem(m, &n);
    ck_assert_int_eq(irllrec_model_load_mem(ctx, buf, n, NULL, &m2), IRLLREC_OK);
    ck_assert_int_eq(irllrec_model_get_meta_f64(m2, "nan", &d), IRLLREC_OK);
    memcpy(&a, &d, 8);
    memcpy(&b, &nan_bits_src, 8);
    ck_assert_uint_eq(a, b);
    ck_assert_int_eq(irllrec_model_get_meta_f64(m2, "negzero", &d), IRLLREC_OK);
    ck_assert(d == 0.0 && signbit(d));
    {
        int64_t v = 0;
        ck_assert_int_eq(irllrec_model_get_meta_i64(m2, "min", &v), IRLLREC_OK);
        ck_assert(v == INT64_MIN);
    }
    ck_assert_int_eq(irllrec_model_get_meta_str(m2, "e", s, 1, &len), IRLLREC_OK);
    ck_assert_uint_eq(len, 0);
    ck_assert_str_eq(s, "");
    free(buf);
    irllrec_model_free(m2);
    irllrec_model_free(m);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(api_argument_checks)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_model *m = NULL;
    const int64_t d2[2] = {2, 3}, d0[1] = {0}, big[2] = {INT64_MAX, 3}, wrong[2] = {3, 2};
    float f[6];
    uint64_t u[4];
    int64_t i64;
    char s[3];
    size_t len = 0;
    int32_t idx = 7;
    char name48[49];
    memset(name48, 'a', 48);
    name48[48] = '\0';
    ck_assert_int_eq(irllrec_model_create(ctx, NULL), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_model_create(NULL, &m), IRLLREC_E_INVALID_ARG);
    ck_assert_ptr_null(m);
    irllrec_model_free(NULL);
    ck_assert_int_eq(mfx_build(ctx, &m), IRLLREC_OK);
    ck_assert_int_eq(irllrec_model_add_tensor(NULL, 2, "x", mfx_W, 2, d2, 0), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_model_add_tensor(m, 2, NULL, mfx_W, 2, d2, 0), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_model_add_tensor(m, 2, "x", NULL, 2, d2, 0), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_model_add_tensor(m, IRLLREC_MODEL_META, "x", mfx_W, 2, d2, 0), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_model_add_tensor(m, 6, "x", mfx_W, 2, d2, 0), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_model_add_tensor(m, 2, "", mfx_W, 2, d2, 0), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_model_add_tensor(m, 2, name48, mfx_W, 2, d2, 0), IRLLREC_E_INVALID_ARG);
    name48[47] = '\0';
    ck_assert_int_eq(irllrec_model_add_tensor(m, 2, name48, mfx_W, 2, d2, 0), IRLLREC_OK);
    ck_assert_int_eq(irllrec_model_add_tensor(m, 2, "meta", mfx_W, 2, d2, 0), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_model_add_tensor(m, 2, "x", mfx_W, 2, d2, 2), IRLLREC_E_INVALID_ARG);
    /* duplicate names, across kinds too */
    ck_assert_int_eq(irllrec_model_add_tensor(m, 2, "mlp.0.weight", mfx_W, 2, d2, 0), IRLLREC_E_INVALID_ARG);
    ck_assert(strstr(irllrec_ctx_errmsg(ctx), "irllrec_model_add_tensor: duplicate") != NULL);
    ck_assert_int_eq(irllrec_model_add_u64s(m, IRLLREC_MODEL_OPTIM, "rng", mfx_RNG, 4, 0), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_model_add_tensor(m, 2, "x", mfx_W, 0, d2, 0), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_model_add_tensor(m, 2, "x", mfx_W, 5, d2, 0), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_model_add_tensor(m, 2, "x", mfx_W, 1, d0, 0), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_model_add_tensor(m, 2, "x", mfx_W, 2, big, 0), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_model_add_u64s(m, 2, "x", mfx_RNG, 0, 0), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_model_add_meta_i64(m, "dim", 1), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_model_add_meta_str(m, "dim", "x"), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_model_add_meta_i64(m, "", 1), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_model_add_meta_i64(m, name48, 1), IRLLREC_OK); /* 47 <= 63 */
    ck_assert_int_eq(irllrec_model_add_meta_str(m, "s", NULL), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_model_section_count(m), 5); /* failed adds changed nothing */
    ck_assert_int_eq(irllrec_model_meta_count(m), 4);

    /* getters: expected shape, count, dtype, presence */
    ck_assert_int_eq(irllrec_model_get_f32(m, "mlp.0.weight", 2, wrong, f, 6), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_model_get_f32(m, "mlp.0.weight", 1, d2, f, 6), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_model_get_f32(m, "mlp.0.weight", 0, NULL, f, 5), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_model_get_f32(m, "rng", 0, NULL, f, 4), IRLLREC_E_FORMAT);
    ck_assert_int_eq(irllrec_model_get_f32(m, "nope", 0, NULL, f, 6), IRLLREC_E_FORMAT);
    ck_assert_int_eq(irllrec_model_get_u64(m, "rng", u, 3), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_model_get_u64(m, "adam.m", u, 4), IRLLREC_E_FORMAT);
    ck_assert_int_eq(irllrec_model_find(m, "nope", &idx), IRLLREC_E_FORMAT);
    ck_assert_int_eq(idx, -1);
    ck_assert_int_eq(irllrec_model_get_meta_i64(m, "tau", &i64), IRLLREC_E_FORMAT);
    ck_assert_int_eq(irllrec_model_get_meta_i64(m, "none", &i64), IRLLREC_E_FORMAT);
    ck_assert_int_eq(irllrec_model_get_meta_str(m, "arch", s, 3, &len), IRLLREC_E_INVALID_ARG);
    ck_assert_uint_eq(len, 3);
    ck_assert_ptr_null(irllrec_model_section_name(m, 5));
    ck_assert_ptr_null(irllrec_model_section_data(m, -1, NULL));
    ck_assert_int_eq(irllrec_model_section_info(m, 9, NULL, NULL, NULL, NULL, NULL), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_model_section_count(NULL), -1);
    ck_assert_int_eq(irllrec_model_save_mem(m, f, 4, &len), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_model_save(m, ""), IRLLREC_E_INVALID_ARG);
    irllrec_model_free(m);
    irllrec_ctx_free(ctx);
}
END_TEST

/* Load buf and expect status st with "at byte <at>" in the message. */
static void expect_load(irllrec_ctx *ctx, const uint8_t *buf, size_t len, irllrec_status st,
                        long long at)
{
    irllrec_model *m = (irllrec_model *)&len;
    irllrec_status got = irllrec_model_load_mem(ctx, buf, len, NULL, &m);
    char want[64];
    if (got != st)
        ck_abort_msg("status %d, expected %d: %s", (int)got, (int)st, irllrec_ctx_errmsg(ctx));
    if (st == IRLLREC_OK) {
        ck_assert_ptr_nonnull(m);
        irllrec_model_free(m);
        return;
    }
    ck_assert_ptr_null(m);
    snprintf(want, sizeof want, "at byte %lld:", at);
    if (at >= 0 && strstr(irllrec_ctx_errmsg(ctx), want) == NULL)
        ck_abort_msg("expected \"%s\" in \"%s\"", want, irllrec_ctx_errmsg(ctx));
}

/* Fresh copy of the reference image, to corrupt. */
static uint8_t *dup_img(const uint8_t *img, size_t n, size_t extra)
{
    uint8_t *c = (uint8_t *)calloc(1, n + extra);
    memcpy(c, img, n);
    return c;
}

START_TEST(loader_checks_one_by_one)
{
    irllrec_ctx *ctx = tu_ctx();
    size_t n;
    uint8_t *img = mfx_small_image(ctx, &n), *c;
    uint64_t off1 = tf_rd64(img + ENT(1) + F_OFFSET), off2 = tf_rd64(img + ENT(2) + F_OFFSET);
    expect_load(ctx, img, n, IRLLREC_OK, -1);

    /* (1) shorter than a header */
    expect_load(ctx, img, 95, IRLLREC_E_FORMAT, 0);
    expect_load(ctx, img, 0, IRLLREC_E_FORMAT, 0);
    /* (2) magic, also text-mode mangling (CRLF -> LF) */
    c = dup_img(img, n, 0); c[1] = 'X';
    expect_load(ctx, c, n, IRLLREC_E_FORMAT, 0);
    ck_assert(strstr(irllrec_ctx_errmsg(ctx), "magic") != NULL);
    memmove(c + 4, c + 5, n - 5); memcpy(c, img, 4);
    expect_load(ctx, c, n - 1, IRLLREC_E_FORMAT, 0); free(c);
    /* (3) major version: newer, zero, and a big-endian writer's 1 (= 256) */
    c = dup_img(img, n, 0); c[8] = 2; tf_irlm_rehash(c, n);
    expect_load(ctx, c, n, IRLLREC_E_VERSION, 8);
    c[8] = 0; expect_load(ctx, c, n, IRLLREC_E_VERSION, 8);
    c[8] = 0; c[9] = 1; expect_load(ctx, c, n, IRLLREC_E_VERSION, 8); free(c);
    /* a newer minor version loads */
    c = dup_img(img, n, 0); c[10] = 7; tf_irlm_rehash(c, n);
    expect_load(ctx, c, n, IRLLREC_OK, -1); free(c);
    /* (4) reserved bytes, required flags, hash algorithm; hint flags load and survive */
    c = dup_img(img, n, 0); c[50] = 1; tf_irlm_rehash(c, n);
    expect_load(ctx, c, n, IRLLREC_E_FORMAT, 41); free(c);
    c = dup_img(img, n, 0); c[16] = 8; tf_irlm_rehash(c, n);
    expect_load(ctx, c, n, IRLLREC_E_UNSUPPORTED, 16); free(c);
    c = dup_img(img, n, 0); c[40] = 2; tf_irlm_rehash(c, n);
    expect_load(ctx, c, n, IRLLREC_E_UNSUPPORTED, 40); free(c);
    {
        irllrec_model *m = NULL;
        size_t n2;
        uint8_t *again;
        c = dup_img(img, n, 0); c[18] = 0x10; tf_irlm_rehash(c, n);
        ck_assert_int_eq(irllrec_model_load_mem(ctx, c, n, NULL, &m), IRLLREC_OK);
        again = mfx_to_mem(m, &n2);
        ck_assert_uint_eq(n2, n);
        ck_assert_mem_eq(again, c, n);
        free(again); free(c);
        irllrec_model_free(m);
    }
    /* (5) file_size against the length: an extra byte, a wrong field */
    c = dup_img(img, n, 1);
    expect_load(ctx, c, n + 1, IRLLREC_E_FORMAT, 32);
    tf_wr64(c + 32, n + 1); tf_irlm_rehash(c, n + 1);
    expect_load(ctx, c, n + 1, IRLLREC_OK, -1); /* trailing zero byte is allowed padding */
    c[n] = 1; expect_load(ctx, c, n + 1, IRLLREC_E_FORMAT, (long long)n); free(c);
    /* (6) header_size */
    c = dup_img(img, n, 0); tf_wr32(c + 12, 95);
    expect_load(ctx, c, n, IRLLREC_E_FORMAT, 12);
    tf_wr32(c + 12, (uint32_t)n + 1); expect_load(ctx, c, n, IRLLREC_E_FORMAT, 12); free(c);
    /* (7) table bounds, overflow-safe, and nothing allocated before */
    {
        tu_alloc_state st;
        irllrec_ctx *cc;
        int64_t before;
        memset(&st, 0, sizeof st);
        cc = tu_ctx_counting(&st);
        c = dup_img(img, n, 0); tf_wr32(c + 20, 0xFFFFFFFFu);
        before = st.n_alloc;
        expect_load(cc, c, n, IRLLREC_E_FORMAT, 24);
        tf_wr32(c + 20, 5); tf_wr64(c + 24, UINT64_MAX - 100);
        expect_load(cc, c, n, IRLLREC_E_FORMAT, 24);
        tf_wr64(c + 24, 64); /* table inside the header */
        expect_load(cc, c, n, IRLLREC_E_FORMAT, 24);
        ck_assert_int_eq(st.n_alloc, before);
        free(c);
        irllrec_ctx_free(cc);
    }
    /* (8) header checksum: any table change without re-hashing */
    c = dup_img(img, n, 0); c[ENT(1) + F_NAME] ^= 1;
    expect_load(ctx, c, n, IRLLREC_E_CHECKSUM, 64); free(c);
    /* (9) entries */
    c = dup_img(img, n, 0); memset(c + ENT(1) + F_NAME, 'a', 48); tf_irlm_rehash(c, n);
    expect_load(ctx, c, n, IRLLREC_E_FORMAT, (long long)(ENT(1) + F_NAME)); free(c);
    c = dup_img(img, n, 0); c[ENT(1) + F_NAME + 40] = 'z'; tf_irlm_rehash(c, n); /* garbage after NUL */
    expect_load(ctx, c, n, IRLLREC_E_FORMAT, (long long)(ENT(1) + F_NAME)); free(c);
    c = dup_img(img, n, 0); memcpy(c + ENT(3) + F_NAME, "rng\0\0\0", 6); tf_irlm_rehash(c, n);
    expect_load(ctx, c, n, IRLLREC_E_FORMAT, (long long)(ENT(3) + F_NAME));
    ck_assert(strstr(irllrec_ctx_errmsg(ctx), "duplicate section name") != NULL); free(c);
    c = dup_img(img, n, 0); tf_wr32(c + ENT(1) + F_NDIM, 5); tf_irlm_rehash(c, n);
    expect_load(ctx, c, n, IRLLREC_E_FORMAT, (long long)(ENT(1) + F_NDIM)); free(c);
    c = dup_img(img, n, 0); tf_wr32(c + ENT(1) + F_DTYPE, 9); tf_irlm_rehash(c, n);
    expect_load(ctx, c, n, IRLLREC_E_UNSUPPORTED, (long long)(ENT(1) + F_DTYPE)); free(c);
    c = dup_img(img, n, 0); tf_wr32(c + ENT(1) + F_DTYPE, 2); tf_irlm_rehash(c, n); /* u64: 48 != 24 bytes */
    expect_load(ctx, c, n, IRLLREC_E_FORMAT, (long long)(ENT(1) + F_NBYTES)); free(c);
    c = dup_img(img, n, 0); tf_wr64(c + ENT(1) + F_DIMS, 3); tf_irlm_rehash(c, n);
    expect_load(ctx, c, n, IRLLREC_E_FORMAT, (long long)(ENT(1) + F_NBYTES)); free(c);
    c = dup_img(img, n, 0); tf_wr64(c + ENT(1) + F_DIMS, 1ull << 32); tf_wr64(c + ENT(1) + F_DIMS + 8, 1ull << 32);
    tf_irlm_rehash(c, n); expect_load(ctx, c, n, IRLLREC_E_FORMAT, (long long)(ENT(1) + F_DIMS + 8)); free(c);
    c = dup_img(img, n, 0); tf_wr64(c + ENT(1) + F_DIMS + 16, 1); tf_irlm_rehash(c, n); /* unused dim set */
    expect_load(ctx, c, n, IRLLREC_E_FORMAT, (long long)(ENT(1) + F_DIMS + 16)); free(c);
    c = dup_img(img, n, 0); tf_wr64(c + ENT(1) + F_OFFSET, off1 + 4); tf_irlm_rehash(c, n); /* misaligned */
    expect_load(ctx, c, n, IRLLREC_E_FORMAT, (long long)(ENT(1) + F_OFFSET));
    ck_assert(strstr(irllrec_ctx_errmsg(ctx), "aligned") != NULL); free(c);
    c = dup_img(img, n, 0); tf_wr64(c + ENT(2) + F_OFFSET, off1); tf_irlm_rehash(c, n); /* overlap */
    expect_load(ctx, c, n, IRLLREC_E_FORMAT, (long long)(ENT(2) + F_OFFSET)); free(c);
    c = dup_img(img, n, 0); tf_wr64(c + ENT(0) + F_OFFSET, 64); tf_irlm_rehash(c, n); /* inside the table */
    expect_load(ctx, c, n, IRLLREC_E_FORMAT, (long long)(ENT(0) + F_OFFSET)); free(c);
    c = dup_img(img, n, 0); tf_wr64(c + ENT(4) + F_OFFSET, (n + 63) / 64 * 64); tf_irlm_rehash(c, n); /* past the end */
    expect_load(ctx, c, n, IRLLREC_E_FORMAT, (long long)(ENT(4) + F_OFFSET)); free(c);
    c = dup_img(img, n, 0); tf_wr64(c + ENT(4) + F_NBYTES, UINT64_MAX); tf_irlm_rehash(c, n);
    expect_load(ctx, c, n, IRLLREC_E_FORMAT, (long long)(ENT(4) + F_OFFSET)); free(c);
    c = dup_img(img, n, 0); c[off2 - 1] = 0x40; tf_irlm_rehash(c, n); /* padding not zero */
    expect_load(ctx, c, n, IRLLREC_E_FORMAT, (long long)(off1 + 24)); free(c);
    c = dup_img(img, n, 0); tf_wr32(c + ENT(1) + F_KIND, 77); tf_wr32(c + ENT(1) + F_FLAGS, 1); tf_irlm_rehash(c, n);
    expect_load(ctx, c, n, IRLLREC_E_UNSUPPORTED, (long long)(ENT(1) + F_KIND)); free(c);
    c = dup_img(img, n, 0); tf_wr32(c + ENT(1) + F_FLAGS, 2); tf_irlm_rehash(c, n);
    expect_load(ctx, c, n, IRLLREC_E_UNSUPPORTED, (long long)(ENT(1) + F_FLAGS)); free(c);
    c = dup_img(img, n, 0); tf_wr32(c + ENT(2) + F_DTYPE, 3); tf_irlm_rehash(c, n); /* bytes outside META */
    expect_load(ctx, c, n, IRLLREC_E_FORMAT, (long long)(ENT(2) + F_DTYPE)); free(c);
    c = dup_img(img, n, 0); tf_wr32(c + ENT(2) + F_KIND, 1); tf_irlm_rehash(c, n); /* META of u64 */
    expect_load(ctx, c, n, IRLLREC_E_FORMAT, (long long)(ENT(2) + F_DTYPE)); free(c);
    c = dup_img(img, n, 0); tf_wr32(c + ENT(1) + F_KIND, 1); tf_wr32(c + ENT(1) + F_DTYPE, 3); /* 2nd META */
    tf_wr32(c + ENT(1) + F_NDIM, 1); tf_wr64(c + ENT(1) + F_DIMS, 24); tf_wr64(c + ENT(1) + F_DIMS + 8, 0);
    memset(c + ENT(1) + F_NAME, 0, 48); memcpy(c + ENT(1) + F_NAME, "meta", 4); tf_irlm_rehash(c, n);
    expect_load(ctx, c, n, IRLLREC_E_FORMAT, (long long)ENT(1));
    ck_assert(strstr(irllrec_ctx_errmsg(ctx), "more than one metadata") != NULL); free(c);
    c = dup_img(img, n, 0); memcpy(c + ENT(1) + F_NAME, "meta\0", 5); tf_irlm_rehash(c, n); /* name reserved */
    expect_load(ctx, c, n, IRLLREC_E_FORMAT, (long long)(ENT(1) + F_NAME)); free(c);
    {
        /* unknown optional kind: skipped; hint section flags survive */
        irllrec_model *m = NULL;
        uint32_t flags = 0;
        c = dup_img(img, n, 0); tf_wr32(c + ENT(1) + F_KIND, 77); tf_wr32(c + ENT(1) + F_FLAGS, 0);
        tf_wr32(c + ENT(2) + F_FLAGS, 0x10000);
        tf_irlm_rehash(c, n);
        ck_assert_int_eq(irllrec_model_load_mem(ctx, c, n, NULL, &m), IRLLREC_OK);
        ck_assert_int_eq(irllrec_model_section_count(m), 3);
        ck_assert_str_eq(irllrec_model_section_name(m, 0), "rng");
        ck_assert_int_eq(irllrec_model_section_info(m, 0, NULL, NULL, &flags, NULL, NULL), IRLLREC_OK);
        ck_assert_uint_eq(flags, 0x10000);
        irllrec_model_free(m); free(c);
    }
    /* (10) payload checksum: the header hash covers only the table, so it still matches */
    c = dup_img(img, n, 0); c[off1 + 3] ^= 0x80;
    expect_load(ctx, c, n, IRLLREC_E_CHECKSUM, (long long)(ENT(1) + F_HASH)); free(c);
    /* (11) metadata semantics */
    {
        uint64_t mo = tf_rd64(img + ENT(0) + F_OFFSET);
        /* payload: u32 n=3 | u32 3 "dim" u32 1 i64 | u32 3 "tau" ... */
        c = dup_img(img, n, 0); memcpy(c + mo + 4 + 4 + 3 + 4 + 8 + 4, "dim", 3); tf_irlm_rehash(c, n);
        expect_load(ctx, c, n, IRLLREC_E_FORMAT, -1);
        ck_assert(strstr(irllrec_ctx_errmsg(ctx), "duplicate metadata key") != NULL); free(c);
        c = dup_img(img, n, 0); tf_wr32(c + mo + 4 + 4 + 3, 9); tf_irlm_rehash(c, n);
        expect_load(ctx, c, n, IRLLREC_E_FORMAT, (long long)(mo + 4 + 4 + 3)); free(c);
        c = dup_img(img, n, 0); tf_wr32(c + mo, 4); tf_irlm_rehash(c, n); /* count says 4, holds 3 */
        expect_load(ctx, c, n, IRLLREC_E_FORMAT, -1); free(c);
        c = dup_img(img, n, 0); tf_wr32(c + mo, 2); tf_irlm_rehash(c, n); /* trailing entry */
        expect_load(ctx, c, n, IRLLREC_E_FORMAT, -1);
        ck_assert(strstr(irllrec_ctx_errmsg(ctx), "trailing") != NULL); free(c);
        c = dup_img(img, n, 0); tf_wr32(c + mo + 4, 0x7FFFFFFF); tf_irlm_rehash(c, n); /* key length */
        expect_load(ctx, c, n, IRLLREC_E_FORMAT, (long long)(mo + 4)); free(c);
    }
    free(img);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(check_finite_and_max_bytes)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_model *m = NULL, *m2 = NULL;
    irllrec_model_load_opts o;
    const float bad[2] = {1.0f, INFINITY};
    const int64_t d[1] = {2};
    size_t n;
    uint8_t *buf;
    char *dir = tu_tmpdir(), path[4096];
    ck_assert_int_eq(irllrec_model_create(ctx, &m), IRLLREC_OK);
    ck_assert_int_eq(irllrec_model_add_tensor(m, 2, "x", bad, 1, d, 0), IRLLREC_OK);
    buf = mfx_to_mem(m, &n);
    irllrec_model_load_opts_init(&o, sizeof o);
    ck_assert_int_eq(irllrec_model_load_mem(ctx, buf, n, &o, &m2), IRLLREC_OK);
    irllrec_model_free(m2);
    o.check_finite = 1;
    ck_assert_int_eq(irllrec_model_load_mem(ctx, buf, n, &o, &m2), IRLLREC_E_NUMERIC);
    ck_assert_ptr_null(m2);
    ck_assert(strstr(irllrec_ctx_errmsg(ctx), "at byte 260:") != NULL); /* 256 + 4 */
    o.check_finite = 0;
    o.max_bytes = n - 1;
    ck_assert_int_eq(irllrec_model_load_mem(ctx, buf, n, &o, &m2), IRLLREC_E_NOMEM);
    ck_assert(strstr(irllrec_ctx_errmsg(ctx), "max_bytes") != NULL);
    o.max_bytes = n; /* the input fits but the model's estimate does not */
    ck_assert_int_eq(irllrec_model_load_mem(ctx, buf, n, &o, &m2), IRLLREC_E_NOMEM);
    o.max_bytes = 4 * n;
    ck_assert_int_eq(irllrec_model_load_mem(ctx, buf, n, &o, &m2), IRLLREC_OK);
    irllrec_model_free(m2);
    /* the path loader refuses before reading */
    tu_join(path, sizeof path, dir, "x.irlm");
    ck_assert_int_eq(irllrec_model_save(m, path), IRLLREC_OK);
    o.max_bytes = n - 1;
    ck_assert_int_eq(irllrec_model_load(ctx, path, &o, &m2), IRLLREC_E_NOMEM);
    ck_assert_ptr_null(m2);
    /* opts from an older caller (8 bytes) and a newer one (non-zero tail) */
    {
        unsigned char bigger[sizeof o + 8];
        o.struct_size = 8;
        ck_assert_int_eq(irllrec_model_load_mem(ctx, buf, n, &o, &m2), IRLLREC_OK);
        irllrec_model_free(m2);
        memset(bigger, 0, sizeof bigger);
        memcpy(bigger, &o, sizeof o);
        tf_wr32(bigger, sizeof bigger);
        bigger[sizeof o + 2] = 1;
        ck_assert_int_eq(irllrec_model_load_mem(ctx, buf, n, (irllrec_model_load_opts *)(void *)bigger, &m2),
                         IRLLREC_E_VERSION);
    }
    ck_assert_int_eq(irllrec_model_load(ctx, "/nonexistent/x.irlm", NULL, &m2), IRLLREC_E_IO);
    ck_assert_int_eq(irllrec_model_save(m, "/nonexistent/x.irlm"), IRLLREC_E_IO);
    ck_assert_int_eq(irllrec_model_load(ctx, dir, NULL, &m2), IRLLREC_E_IO);
    free(buf);
    irllrec_model_free(m);
    irllrec_ctx_free(ctx);
    tu_tmpdir_free(dir);
}
END_TEST

/* Issue 17 item 4: a FIFO given as the model path is refused at once (on
 * main the open blocked forever waiting for a writer). */
static int load_fifo(void *arg)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_model *m = NULL;
    int bad = irllrec_model_load(ctx, (const char *)arg, NULL, &m) != IRLLREC_E_IO ||
              m != NULL || strstr(irllrec_ctx_errmsg(ctx), "named pipe") == NULL ||
              strstr(irllrec_ctx_errmsg(ctx), (const char *)arg) == NULL ||
              strstr(irllrec_ctx_errmsg(ctx), "irllrec_model_load: ") != irllrec_ctx_errmsg(ctx);
    irllrec_ctx_free(ctx);
    return bad;
}

START_TEST(fifo_path_refused_without_blocking)
{
    char *dir = tu_tmpdir(), path[4096];
    tu_join(path, sizeof path, dir, "pipe.irlm");
    tu_assert_fifo_refused(path, load_fifo, path, "irllrec_model_load");
    tu_tmpdir_free(dir);
}
END_TEST

/* Issue 17 item 14: a large file that is not a model is refused from its
 * header, without reading it into memory (main allocated the whole file
 * first), and so is a model whose header's file_size disagrees with the
 * file. Both files are sparse: nothing is written to disk. */
START_TEST(wrong_file_refused_from_its_header)
{
    tu_alloc_state as = {0};
    irllrec_ctx *ctx = tu_ctx_counting(&as);
    char *dir = tu_tmpdir(), path[4096];
    irllrec_model *m = NULL, *m2 = NULL;
    const float x[2] = {1.0f, 2.0f};
    const int64_t d[1] = {2};
    const off_t big = (off_t)64 << 20;
    int64_t base;
    FILE *f;
    tu_join(path, sizeof path, dir, "big.irlm");
    f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs("not a model at all", f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(truncate(path, big), 0);
    base = as.live_bytes;
    as.peak_bytes = base;
    ck_assert_int_eq(irllrec_model_load(ctx, path, NULL, &m2), IRLLREC_E_FORMAT);
    ck_assert_ptr_null(m2);
    ck_assert(strstr(irllrec_ctx_errmsg(ctx), "bad magic") != NULL);
    ck_assert(strstr(irllrec_ctx_errmsg(ctx), path) != NULL);
    ck_assert_msg(as.peak_bytes - base < (1 << 20), "allocated %lld bytes to refuse it",
                  (long long)(as.peak_bytes - base));
    /* A real model padded to 64 MiB: its header's file_size is wrong. */
    ck_assert_int_eq(irllrec_model_create(ctx, &m), IRLLREC_OK);
    ck_assert_int_eq(irllrec_model_add_tensor(m, 2, "x", x, 1, d, 0), IRLLREC_OK);
    ck_assert_int_eq(irllrec_model_save(m, path), IRLLREC_OK);
    ck_assert_int_eq(irllrec_model_load(ctx, path, NULL, &m2), IRLLREC_OK);
    irllrec_model_free(m2);
    m2 = NULL;
    ck_assert_int_eq(truncate(path, big), 0);
    as.peak_bytes = as.live_bytes;
    base = as.live_bytes;
    ck_assert_int_eq(irllrec_model_load(ctx, path, NULL, &m2), IRLLREC_E_FORMAT);
    ck_assert(strstr(irllrec_ctx_errmsg(ctx), "file_size") != NULL);
    ck_assert_msg(as.peak_bytes - base < (1 << 20), "allocated %lld bytes to refuse it",
                  (long long)(as.peak_bytes - base));
    irllrec_model_free(m);
    irllrec_ctx_free(ctx);
    tu_tmpdir_free(dir);
}
END_TEST

Suite *model_suite(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("model");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, round_trip_every_section_type);
    tcase_add_test(tc, round_trip_edge_values);
    tcase_add_test(tc, api_argument_checks);
    tcase_add_test(tc, loader_checks_one_by_one);
    tcase_add_test(tc, check_finite_and_max_bytes);
    tcase_add_test(tc, fifo_path_refused_without_blocking);
    tcase_add_test(tc, wrong_file_refused_from_its_header);
    suite_add_tcase(s, tc);
    return s;
}
