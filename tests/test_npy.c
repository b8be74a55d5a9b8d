/* .npy reading and writing: numpy's own files, round trips, hand-made and
 * hostile headers, truncation and mutations, non-finite values, a FIFO as the
 * path. The atomic file writer under it is in test_atomic.c. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "helpers/testutil.h"
#include "helpers/iofx.h"

#define FIXTURES IRLLREC_SOURCE_DIR "/tests/data/npy/"

/* The values make_npy_fixtures.py stores (exact in float32). */
static float fixture_value(int64_t r, int64_t c)
{
    return (float)((double)(r + 1) * 10.0 + (double)c + 0.25 * (double)(c % 2) - 0.5 * (double)r);
}

static void spit(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(b, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

/* A .npy image with the given major version, header text (no padding) and data. */
static size_t make_npy(unsigned char *out, size_t cap, int major, const char *dict,
                       const void *data, size_t data_len)
{
    size_t hl = strlen(dict), pre = major == 1 ? 10 : 12;
    ck_assert_uint_le(pre + hl + data_len, cap);
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (unsigned char)major;
    out[7] = 0;
    out[8] = (unsigned char)(hl & 0xff);
    out[9] = (unsigned char)(hl >> 8 & 0xff);
    if (major != 1) {
        out[10] = (unsigned char)(hl >> 16 & 0xff);
        out[11] = (unsigned char)(hl >> 24 & 0xff);
    }
    memcpy(out + pre, dict, hl);
    if (data_len) memcpy(out + pre + hl, data, data_len);
    return pre + hl + data_len;
}

static irllrec_status read_mem_shape(irllrec_ctx *ctx, const unsigned char *b, size_t n,
                                     int64_t rows, int64_t cols, float *dst)
{
    return irllrec_npy_read_mem(ctx, b, n, irllrec_mat_dense(dst, rows, cols), 0);
}

START_TEST(numpy_fixtures_read)
{
    irllrec_ctx *ctx = tu_ctx();
    float buf[5 * 7];
    int64_t r, c;
    static const struct { const char *file; int64_t rows, cols; } ok[] = {
        {FIXTURES "f4_3x4.npy", 3, 4},    {FIXTURES "f8_2x3.npy", 2, 3},
        {FIXTURES "f4_1d_5.npy", 5, 1},   {FIXTURES "f4_v2_2x3.npy", 2, 3},
        {FIXTURES "f4_v3_2x3.npy", 2, 3},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        irllrec_mat m = {buf, ok[i].rows, ok[i].cols, 7};
        size_t len;
        unsigned char *img = tu_slurp(ok[i].file, &len);
        ck_assert_int_eq(irllrec_npy_shape(ctx, ok[i].file, &r, &c), IRLLREC_OK);
        ck_assert_int_eq(r, ok[i].rows);
        ck_assert_int_eq(c, ok[i].cols);
        ck_assert_int_eq(irllrec_npy_shape_mem(ctx, img, len, &r, &c), IRLLREC_OK);
        ck_assert_int_eq(r, ok[i].rows);
        ck_assert_int_eq(c, ok[i].cols);
        for (int pass = 0; pass < 2; pass++) {
            for (size_t k = 0; k < sizeof buf / sizeof buf[0]; k++) buf[k] = -777.0f;
            if (pass == 0)
                ck_assert_int_eq(irllrec_npy_read(ctx, ok[i].file, m, IRLLREC_NPY_CHECK_FINITE),
                                 IRLLREC_OK);
            else
                ck_assert_int_eq(irllrec_npy_read_mem(ctx, img, len, m, 0), IRLLREC_OK);
            for (int64_t y = 0; y < m.rows; y++)
                for (int64_t x = 0; x < 7; x++) {
                    /* the 1-D fixture holds mat(5, 1) flattened */
                    float want = x < m.cols ? fixture_value(y, x) : -777.0f;
                    ck_assert_float_eq(buf[y * 7 + x], want);
                }
        }
        free(img);
    }
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(numpy_fixtures_refused)
{
    irllrec_ctx *ctx = tu_ctx();
    float buf[64];
    int64_t r, c;
    static const struct { const char *file; const char *why; int64_t rows, cols; } bad[] = {
        {FIXTURES "f4_fortran_3x4.npy", "fortran_order", 3, 4},
        {FIXTURES "i4_2x2.npy", "'<i4'", 2, 2},
        {FIXTURES "f4_be_2x2.npy", "big-endian", 2, 2},
        {FIXTURES "f4_3d.npy", "3 dimensions", 2, 2},
        {FIXTURES "f4_scalar.npy", "scalar", 1, 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        irllrec_mat m = irllrec_mat_dense(buf, bad[i].rows, bad[i].cols);
        ck_assert_int_eq(irllrec_npy_read(ctx, bad[i].file, m, 0), IRLLREC_E_UNSUPPORTED);
        ck_assert_msg(iofx_has(ctx, bad[i].why) && iofx_has(ctx, bad[i].file), "%s",
                      irllrec_ctx_errmsg(ctx));
        ck_assert(iofx_has(ctx, "irllrec_npy_read: "));
        ck_assert_int_eq(irllrec_npy_shape(ctx, bad[i].file, &r, &c), IRLLREC_E_UNSUPPORTED);
    }
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(write_matches_numpy_bytes)
{
    irllrec_ctx *ctx = tu_ctx();
    char *dir = tu_tmpdir(), path[4096];
    float src[3 * 6];
    irllrec_mat m = {src, 3, 4, 6};
    size_t a_len, b_len;
    unsigned char *a, *b;
    for (int64_t y = 0; y < 3; y++)
        for (int64_t x = 0; x < 6; x++) src[y * 6 + x] = x < 4 ? fixture_value(y, x) : NAN;
    tu_join(path, sizeof path, dir, "w.npy");
    ck_assert_int_eq(irllrec_npy_write(ctx, path, m), IRLLREC_OK);
    a = tu_slurp(path, &a_len);
    b = tu_slurp(FIXTURES "f4_3x4.npy", &b_len);
    ck_assert_uint_eq(a_len, b_len);
    ck_assert(memcmp(a, b, a_len) == 0);
    ck_assert_uint_eq((a_len - 3 * 4 * 4) % 64, 0);
    ck_assert_uint_eq(a[a_len - 3 * 4 * 4 - 1], '\n');
    free(a);
    free(b);
    tu_tmpdir_free(dir);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(round_trip_with_ld)
{
    irllrec_ctx *ctx = tu_ctx();
    char *dir = tu_tmpdir(), path[4096];
    static const int64_t shapes[][3] = {{1, 1, 1}, {37, 13, 20}, {500, 37, 41}, {3, 5000, 5003}};
    irllrec_x_rng *rng = NULL;
    ck_assert_int_eq(irllrec_x_rng_create(ctx, 7, &rng), IRLLREC_OK);
    tu_join(path, sizeof path, dir, "rt.npy");
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int64_t rows = shapes[s][0], cols = shapes[s][1], ld = shapes[s][2];
        size_t n = (size_t)(rows * ld), len;
        float *src = malloc(n * sizeof *src), *dst = malloc(n * sizeof *dst);
        unsigned char *img;
        for (size_t i = 0; i < n; i++) src[i] = (float)(irllrec_x_rng_normal(rng) * 1e3);
        src[0] = -0.0f;
        if (n > 2) src[1] = 1e-42f; /* subnormal */
        ck_assert_int_eq(irllrec_npy_write(ctx, path, (irllrec_mat){src, rows, cols, ld}),
                         IRLLREC_OK);
        img = tu_slurp(path, &len);
        for (int pass = 0; pass < 2; pass++) {
            for (size_t i = 0; i < n; i++) dst[i] = 12345.0f;
            if (pass == 0)
                ck_assert_int_eq(irllrec_npy_read(ctx, path, (irllrec_mat){dst, rows, cols, ld}, 0),
                                 IRLLREC_OK);
            else
                ck_assert_int_eq(irllrec_npy_read_mem(ctx, img, len,
                                                      (irllrec_mat){dst, rows, cols, ld}, 0),
                                 IRLLREC_OK);
            for (int64_t y = 0; y < rows; y++) {
                ck_assert(memcmp(dst + y * ld, src + y * ld, (size_t)cols * 4) == 0);
                for (int64_t x = cols; x < ld; x++) ck_assert_float_eq(dst[y * ld + x], 12345.0f);
            }
        }
        /* Dense dst (the direct-read path) too. */
        ck_assert_int_eq(irllrec_npy_read(ctx, path, irllrec_mat_dense(dst, rows, cols), 0),
                         IRLLREC_OK);
        for (int64_t y = 0; y < rows; y++)
            ck_assert(memcmp(dst + y * cols, src + y * ld, (size_t)cols * 4) == 0);
        ck_assert_uint_eq(len % 64, (size_t)(rows * cols * 4) % 64);
        free(img);
        free(src);
        free(dst);
    }
    irllrec_x_rng_free(rng);
    tu_tmpdir_free(dir);
    irllrec_ctx_free(ctx);
}
END_TEST

/* f8 through the path reader crosses several 64 KiB conversion buffers. */
START_TEST(f8_large_through_buffer)
{
    irllrec_ctx *ctx = tu_ctx();
    char *dir = tu_tmpdir(), path[4096], dict[128];
    const int64_t rows = 300, cols = 41, ld = 43;
    double *d = malloc((size_t)(rows * cols) * sizeof *d);
    float *dst = malloc((size_t)(rows * ld) * sizeof *dst);
    size_t cap = (size_t)(rows * cols) * 8 + 256, n;
    unsigned char *img = malloc(cap);
    for (int64_t i = 0; i < rows * cols; i++) d[i] = (double)i * 0.5 - 1000.125;
    d[7] = 1e300; /* beyond float: becomes +inf */
    snprintf(dict, sizeof dict, "{'descr':'<f8','fortran_order':False,'shape':(%lld,%lld)}\n",
             (long long)rows, (long long)cols);
    n = make_npy(img, cap, 1, dict, d, (size_t)(rows * cols) * 8);
    tu_join(path, sizeof path, dir, "f8.npy");
    spit(path, img, n);
    ck_assert_int_eq(irllrec_npy_read(ctx, path, (irllrec_mat){dst, rows, cols, ld}, 0),
                     IRLLREC_OK);
    for (int64_t y = 0; y < rows; y++)
        for (int64_t x = 0; x < cols; x++) {
            int64_t i = y * cols + x;
            if (i == 7)
                ck_assert(isinf(dst[y * ld + x]) && dst[y * ld + x] > 0);
            else
                ck_assert_float_eq(dst[y * ld + x], (float)d[i]);
        }
    ck_assert_int_eq(irllrec_npy_read(ctx, path, (irllrec_mat){dst, rows, cols, ld},
                                      IRLLREC_NPY_CHECK_FINITE), IRLLREC_E_NUMERIC);
    ck_assert_msg(iofx_has(ctx, "(row 0, col 7)") && iofx_has(ctx, path), "%s", irllrec_ctx_errmsg(ctx));
    free(img);
    free(d);
    free(dst);
    tu_tmpdir_free(dir);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(handmade_headers_accepted)
{
    irllrec_ctx *ctx = tu_ctx();
    const float data[6] = {1, 2, 3, 4, 5, 6};
    unsigned char img[1024];
    float dst[6];
    static const struct { int major; const char *dict; int64_t rows, cols; } ok[] = {
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 2, 3},
        {2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 2, 3},
        {3, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 2, 3},
        {1, "{'shape':(6,),'fortran_order':False,'descr':'<f4'}", 6, 1},
        {1, "  {  \"descr\" : \"=f4\" ,\n 'shape' : ( 3 , 2 , ) , 'fortran_order' : False , }  \n", 3, 2},
        {1, "{'descr': '|f4', 'fortran_order': False, 'shape': (1, 6)}", 1, 6},
        {1, "{'descr': 'f4', 'fortran_order': False, 'shape': (6L, 1L)}", 6, 1},
        {3, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\t\r\n", 2, 3},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        size_t n = make_npy(img, sizeof img, ok[i].major, ok[i].dict, data, sizeof data);
        int64_t r = 0, c = 0;
        ck_assert_msg(irllrec_npy_shape_mem(ctx, img, n, &r, &c) == IRLLREC_OK, "%zu: %s", i,
                      irllrec_ctx_errmsg(ctx));
        ck_assert_int_eq(r, ok[i].rows);
        ck_assert_int_eq(c, ok[i].cols);
        memset(dst, 0, sizeof dst);
        ck_assert_int_eq(read_mem_shape(ctx, img, n, r, c, dst), IRLLREC_OK);
        ck_assert(memcmp(dst, data, sizeof data) == 0);
    }
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(hostile_headers_refused)
{
    irllrec_ctx *ctx = tu_ctx();
    const float data[6] = {1, 2, 3, 4, 5, 6};
    unsigned char img[1024];
    float dst[6];
    static const struct { const char *dict; irllrec_status st; const char *why; } bad[] = {
        {"{'descr': '>f8', 'fortran_order': False, 'shape': (2, 3), }", IRLLREC_E_UNSUPPORTED, "big-endian"},
        {"{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3), }", IRLLREC_E_UNSUPPORTED, "'<f2'"},
        {"{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }", IRLLREC_E_UNSUPPORTED, "'<i8'"},
        {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2, 3), }", IRLLREC_E_UNSUPPORTED, "structured"},
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", IRLLREC_E_UNSUPPORTED, "fortran_order"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (), }", IRLLREC_E_UNSUPPORTED, "scalar"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3), }", IRLLREC_E_UNSUPPORTED, "3 dimensions"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (6), }", IRLLREC_E_FORMAT, "comma"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2 3), }", IRLLREC_E_FORMAT, "','"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3), }", IRLLREC_E_FORMAT, "integer"},
        {"{'descr': '<f4', 'fortran_order': False }", IRLLREC_E_FORMAT, "missing"},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", IRLLREC_E_FORMAT, "duplicate"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", IRLLREC_E_FORMAT, "unknown key"},
        {"{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3)}", IRLLREC_E_FORMAT, "True or False"},
        {"{'descr': '<f4' 'fortran_order': False, 'shape': (2, 3)}", IRLLREC_E_FORMAT, "','"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} x", IRLLREC_E_FORMAT, "after the dict"},
        {"{'descr': '<f4, 'fortran_order': False, 'shape': (2, 3)}", IRLLREC_E_FORMAT, "byte"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)", IRLLREC_E_FORMAT, "byte"},
        {"['descr', '<f4']", IRLLREC_E_FORMAT, "'{'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999, 1)}", IRLLREC_E_SHAPE, "overflows"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4)}", IRLLREC_E_SHAPE, "overflows"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (9223372036854775807, 9223372036854775807)}", IRLLREC_E_SHAPE, "overflows"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4)}", IRLLREC_E_FORMAT, "truncated"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2)}", IRLLREC_E_FORMAT, "trailing"},
        {"", IRLLREC_E_FORMAT, "header length at byte 8 is 0"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = make_npy(img, sizeof img, 1, bad[i].dict, data, sizeof data);
        int64_t r = -5, c = -5;
        irllrec_status st = irllrec_npy_shape_mem(ctx, img, n, &r, &c);
        ck_assert_msg(st == bad[i].st, "%zu: got %d (%s)", i, (int)st, irllrec_ctx_errmsg(ctx));
        ck_assert_msg(iofx_has(ctx, bad[i].why) && iofx_has(ctx, "<memory>"), "%zu: %s", i,
                      irllrec_ctx_errmsg(ctx));
        ck_assert_int_eq(r, -5);
        ck_assert_int_eq(read_mem_shape(ctx, img, n, 2, 3, dst), bad[i].st);
    }
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(hostile_preambles_refused)
{
    irllrec_ctx *ctx = tu_ctx();
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }";
    const float one = 1.0f;
    unsigned char img[1024], *big;
    size_t n;
    float dst[1];
    int64_t r, c;
    char *dir = tu_tmpdir(), path[4096];

    n = make_npy(img, sizeof img, 1, dict, &one, 4);
    ck_assert_int_eq(read_mem_shape(ctx, img, n, 1, 1, dst), IRLLREC_OK);
    ck_assert_float_eq(dst[0], 1.0f);
    img[1] = 'n';
    ck_assert_int_eq(read_mem_shape(ctx, img, n, 1, 1, dst), IRLLREC_E_FORMAT);
    ck_assert(iofx_has(ctx, "magic at byte 0"));
    img[1] = 'N';
    img[6] = 4;
    ck_assert_int_eq(read_mem_shape(ctx, img, n, 1, 1, dst), IRLLREC_E_UNSUPPORTED);
    ck_assert(iofx_has(ctx, "version 4.0 at byte 6"));
    img[6] = 1;
    img[7] = 1;
    ck_assert_int_eq(read_mem_shape(ctx, img, n, 1, 1, dst), IRLLREC_E_UNSUPPORTED);
    img[7] = 0;
    img[8] = 0xff; /* header length beyond the file */
    ck_assert_int_eq(read_mem_shape(ctx, img, n, 1, 1, dst), IRLLREC_E_FORMAT);
    ck_assert_msg(iofx_has(ctx, "past the end"), "%s", irllrec_ctx_errmsg(ctx));

    /* Version 2 header length over 64 KiB, even when the file is that long. */
    big = calloc(1, 70000 + 16);
    n = make_npy(big, 70016, 2, dict, &one, 4);
    big[8] = 0x70; big[9] = 0x11; big[10] = 0x01; big[11] = 0; /* 70000 */
    ck_assert_int_eq(irllrec_npy_shape_mem(ctx, big, 70016, &r, &c), IRLLREC_E_FORMAT);
    ck_assert_msg(iofx_has(ctx, "70000 at byte 8 exceeds"), "%s", irllrec_ctx_errmsg(ctx));
    tu_join(path, sizeof path, dir, "big.npy");
    spit(path, big, 70016);
    ck_assert_int_eq(irllrec_npy_shape(ctx, path, &r, &c), IRLLREC_E_FORMAT);
    ck_assert(iofx_has(ctx, path) && iofx_has(ctx, "byte 8"));
    big[10] = 0xff; big[11] = 0xff; /* ~4 GiB */
    ck_assert_int_eq(irllrec_npy_shape_mem(ctx, big, 70016, &r, &c), IRLLREC_E_FORMAT);
    free(big);
    (void)n;

    /* Shape mismatch, bad arguments. */
    n = make_npy(img, sizeof img, 1, dict, &one, 4);
    ck_assert_int_eq(read_mem_shape(ctx, img, n, 1, 2, dst), IRLLREC_E_SHAPE);
    ck_assert(iofx_has(ctx, "holds 1 x 1 but dst is 1 x 2"));
    ck_assert_int_eq(irllrec_npy_read_mem(ctx, img, n, irllrec_mat_dense(dst, 1, 1), 2),
                     IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_npy_read_mem(ctx, NULL, n, irllrec_mat_dense(dst, 1, 1), 0),
                     IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_npy_read_mem(ctx, img, n, irllrec_mat_dense(NULL, 1, 1), 0),
                     IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_npy_read_mem(NULL, img, n, irllrec_mat_dense(dst, 1, 1), 0),
                     IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_npy_shape_mem(ctx, img, n, NULL, &c), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_npy_read(ctx, NULL, irllrec_mat_dense(dst, 1, 1), 0),
                     IRLLREC_E_INVALID_ARG);
    tu_join(path, sizeof path, dir, "missing.npy");
    ck_assert_int_eq(irllrec_npy_read(ctx, path, irllrec_mat_dense(dst, 1, 1), 0), IRLLREC_E_IO);
    ck_assert(iofx_has(ctx, path) && iofx_has(ctx, "No such file"));
    ck_assert_int_eq(irllrec_npy_shape(ctx, dir, &r, &c), IRLLREC_E_IO);
    tu_tmpdir_free(dir);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(check_finite_names_first_bad)
{
    irllrec_ctx *ctx = tu_ctx();
    float src[12], dst[12];
    unsigned char *img;
    size_t len;
    char *dir = tu_tmpdir(), path[4096];
    for (int i = 0; i < 12; i++) src[i] = (float)i;
    src[6] = NAN;  /* (1, 2) of a 3 x 4 */
    src[11] = -INFINITY;
    tu_join(path, sizeof path, dir, "nan.npy");
    ck_assert_int_eq(irllrec_npy_write(ctx, path, irllrec_mat_dense(src, 3, 4)), IRLLREC_OK);
    ck_assert_int_eq(irllrec_npy_read(ctx, path, irllrec_mat_dense(dst, 3, 4), 0), IRLLREC_OK);
    ck_assert(isnan(dst[6]) && isinf(dst[11]));
    ck_assert_int_eq(irllrec_npy_read(ctx, path, irllrec_mat_dense(dst, 3, 4),
                                      IRLLREC_NPY_CHECK_FINITE), IRLLREC_E_NUMERIC);
    ck_assert_msg(iofx_has(ctx, "(row 1, col 2)") && iofx_has(ctx, path), "%s", irllrec_ctx_errmsg(ctx));
    img = tu_slurp(path, &len);
    ck_assert_int_eq(irllrec_npy_read_mem(ctx, img, len, irllrec_mat_dense(dst, 3, 4),
                                          IRLLREC_NPY_CHECK_FINITE), IRLLREC_E_NUMERIC);
    ck_assert(iofx_has(ctx, "(row 1, col 2)"));
    free(img);
    src[6] = 6.0f;
    ck_assert_int_eq(irllrec_npy_write(ctx, path, irllrec_mat_dense(src, 3, 4)), IRLLREC_OK);
    ck_assert_int_eq(irllrec_npy_read(ctx, path, irllrec_mat_dense(dst, 3, 4),
                                      IRLLREC_NPY_CHECK_FINITE), IRLLREC_E_NUMERIC);
    ck_assert(iofx_has(ctx, "(row 2, col 3)"));
    tu_tmpdir_free(dir);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(truncation_at_every_length)
{
    tu_alloc_state as = {0};
    irllrec_ctx *ctx = tu_ctx_counting(&as);
    char *dir = tu_tmpdir(), path[4096];
    size_t len;
    unsigned char *img = tu_slurp(FIXTURES "f4_v2_2x3.npy", &len);
    float dst[6];
    int64_t r, c, base = as.live_bytes; /* the ctx itself */
    tu_join(path, sizeof path, dir, "t.npy");
    for (size_t n = 0; n < len; n++) {
        irllrec_status st = read_mem_shape(ctx, img, n, 2, 3, dst);
        ck_assert_msg(st == IRLLREC_E_FORMAT, "len %zu: %d %s", n, (int)st,
                      irllrec_ctx_errmsg(ctx));
        ck_assert_int_eq(irllrec_npy_shape_mem(ctx, img, n, &r, &c), IRLLREC_E_FORMAT);
        spit(path, img, n);
        st = irllrec_npy_read(ctx, path, irllrec_mat_dense(dst, 2, 3), 0);
        ck_assert_msg(st == IRLLREC_E_FORMAT, "file len %zu: %d %s", n, (int)st,
                      irllrec_ctx_errmsg(ctx));
        ck_assert(iofx_has(ctx, path));
        ck_assert_int_eq(as.live_bytes, base);
    }
    ck_assert_int_eq(read_mem_shape(ctx, img, len, 2, 3, dst), IRLLREC_OK);
    free(img);
    tu_tmpdir_free(dir);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(header_mutations_never_crash)
{
    tu_alloc_state as = {0};
    irllrec_ctx *ctx = tu_ctx_counting(&as);
    size_t len;
    unsigned char *img = tu_slurp(FIXTURES "f4_3x4.npy", &len), *mut = malloc(len + 64);
    float dst[64];
    irllrec_x_rng *rng = NULL;
    int n_ok = 0;
    int64_t base;
    static const unsigned char interesting[] = {'(', ')', ',', '{', '}', '\'', '"', ' ', '0',
                                                '9', 'L', ':', 0, 0xff, 'T', 'F', '<', '>'};
    ck_assert_int_eq(irllrec_x_rng_create(ctx, 99, &rng), IRLLREC_OK);
    base = as.live_bytes; /* ctx and rng */
    for (int it = 0; it < 5000; it++) {
        int flips = 1 + (int)irllrec_x_rng_below(rng, 4);
        size_t n = len;
        int64_t r, c;
        irllrec_status st;
        memcpy(mut, img, len);
        for (int k = 0; k < flips; k++) {
            size_t pos = (size_t)irllrec_x_rng_below(rng, 128); /* preamble + header */
            if (irllrec_x_rng_below(rng, 2))
                mut[pos] = (unsigned char)irllrec_x_rng_below(rng, 256);
            else
                mut[pos] = interesting[irllrec_x_rng_below(rng, sizeof interesting)];
        }
        if (irllrec_x_rng_below(rng, 8) == 0) n = (size_t)irllrec_x_rng_below(rng, len + 8);
        st = irllrec_npy_shape_mem(ctx, mut, n, &r, &c);
        if (st == IRLLREC_OK) {
            ck_assert(r >= 0 && c >= 0);
            if (r > 0 && c > 0 && r * c <= 64) {
                st = irllrec_npy_read_mem(ctx, mut, n, irllrec_mat_dense(dst, r, c),
                                          IRLLREC_NPY_CHECK_FINITE);
                n_ok += st == IRLLREC_OK;
            }
        } else {
            ck_assert(st < 0);
            ck_assert_str_ne(irllrec_ctx_errmsg(ctx), "");
        }
        ck_assert_int_eq(as.live_bytes, base);
    }
    ck_assert_int_gt(n_ok, 0); /* some mutations are harmless (padding spaces) */
    irllrec_x_rng_free(rng);
    free(img);
    free(mut);
    irllrec_ctx_free(ctx);
}
END_TEST

/* Issue 17 item 4: a FIFO given as a .npy path is refused at once, naming
 * the path and what it is (main blocked in fopen waiting for a writer). */
static int npy_fifo(void *arg)
{
    irllrec_ctx *ctx = tu_ctx();
    const char *path = (const char *)arg;
    float x[1];
    int64_t r, c;
    int bad = 0;
    bad |= irllrec_npy_shape(ctx, path, &r, &c) != IRLLREC_E_IO;
    bad |= strstr(irllrec_ctx_errmsg(ctx), "irllrec_npy_shape: ") != irllrec_ctx_errmsg(ctx);
    bad |= strstr(irllrec_ctx_errmsg(ctx), path) == NULL;
    bad |= strstr(irllrec_ctx_errmsg(ctx), "is a named pipe (FIFO)") == NULL;
    bad |= irllrec_npy_read(ctx, path, irllrec_mat_dense(x, 1, 1), 0) != IRLLREC_E_IO;
    bad |= strstr(irllrec_ctx_errmsg(ctx), "is a named pipe (FIFO)") == NULL;
    irllrec_ctx_free(ctx);
    return bad;
}

START_TEST(fifo_path_refused_without_blocking)
{
    char *dir = tu_tmpdir(), path[4096];
    irllrec_ctx *ctx = tu_ctx();
    int64_t r, c;
    tu_join(path, sizeof path, dir, "pipe.npy");
    tu_assert_fifo_refused(path, npy_fifo, path, "the .npy reader");
    /* A directory says so; a missing file gets the system's message. */
    ck_assert_int_eq(irllrec_npy_shape(ctx, dir, &r, &c), IRLLREC_E_IO);
    ck_assert(iofx_has(ctx, "is a directory"));
    tu_join(path, sizeof path, dir, "missing.npy");
    ck_assert_int_eq(irllrec_npy_shape(ctx, path, &r, &c), IRLLREC_E_IO);
    ck_assert(iofx_has(ctx, "cannot open: No such file or directory"));
    irllrec_ctx_free(ctx);
    tu_tmpdir_free(dir);
}
END_TEST

/* Issue 17 item 18: a finite <f8 value beyond float32 is reported as an
 * overflow with its value, not as "non-finite value inf"; a real inf is
 * still non-finite. Both from memory and from a file (through the buffer). */
START_TEST(f8_overflow_reported_as_overflow)
{
    irllrec_ctx *ctx = tu_ctx();
    char *dir = tu_tmpdir(), path[4096];
    unsigned char img[512];
    const double v[3] = {1.0, 1e300, INFINITY};
    float dst[3];
    size_t n = make_npy(img, sizeof img, 1,
                        "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 3), }    \n", v,
                        sizeof v);
    ck_assert_int_eq(irllrec_npy_read_mem(ctx, img, n, irllrec_mat_dense(dst, 1, 3),
                                          IRLLREC_NPY_CHECK_FINITE),
                     IRLLREC_E_NUMERIC);
    ck_assert_msg(iofx_has(ctx, "<f8 value 1.0000000000000001e+300 at (row 0, col 1) overflows float32"),
                  "%s", irllrec_ctx_errmsg(ctx));
    ck_assert(!iofx_has(ctx, "inf"));
    tu_join(path, sizeof path, dir, "big.npy");
    spit(path, img, n);
    ck_assert_int_eq(irllrec_npy_read(ctx, path, (irllrec_mat){dst, 1, 3, 3}, IRLLREC_NPY_CHECK_FINITE),
                     IRLLREC_E_NUMERIC);
    ck_assert(iofx_has(ctx, "overflows float32"));
    /* Without the overflow, the inf is named as before. */
    {
        const double w[3] = {1.0, 2.0, -INFINITY};
        n = make_npy(img, sizeof img, 1,
                     "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 3), }    \n", w,
                     sizeof w);
        ck_assert_int_eq(irllrec_npy_read_mem(ctx, img, n, irllrec_mat_dense(dst, 1, 3),
                                              IRLLREC_NPY_CHECK_FINITE),
                         IRLLREC_E_NUMERIC);
        ck_assert(iofx_has(ctx, "non-finite value -inf at (row 0, col 2)"));
    }
    irllrec_ctx_free(ctx);
    tu_tmpdir_free(dir);
}
END_TEST

Suite *npy_suite(void)
{
    Suite *s = suite_create("npy");
    TCase *tc = tcase_create("npy");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, numpy_fixtures_read);
    tcase_add_test(tc, numpy_fixtures_refused);
    tcase_add_test(tc, write_matches_numpy_bytes);
    tcase_add_test(tc, round_trip_with_ld);
    tcase_add_test(tc, f8_large_through_buffer);
    tcase_add_test(tc, handmade_headers_accepted);
    tcase_add_test(tc, hostile_headers_refused);
    tcase_add_test(tc, hostile_preambles_refused);
    tcase_add_test(tc, check_finite_names_first_bad);
    tcase_add_test(tc, truncation_at_every_length);
    tcase_add_test(tc, header_mutations_never_crash);
    tcase_add_test(tc, fifo_path_refused_without_blocking);
    tcase_add_test(tc, f8_overflow_reported_as_overflow);
    suite_add_tcase(s, tc);
    return s;
}
