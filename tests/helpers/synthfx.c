/* The synthetic-data suites' helpers (test_synth.c, test_synth_intents.c):
 * a small spec, a generated dataset, its files read back, the model. */
#include "helpers/synthfx.h"
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "helpers/testutil.h"

void synfx_small_spec(irllrec_x_synth_spec *s)
{
    irllrec_x_synth_spec_init(s, sizeof *s);
    s->n_users = 300;
    s->n_items = 200;
    s->n_intents = 6;
    s->profile_dim = 32;
    s->intent_dim = 48;
    s->mean_degree = 12;
}

char *synfx_slurp(const char *dir, const char *name, size_t *len)
{
    char path[4096];
    tu_join(path, sizeof path, dir, name);
    return (char *)tu_slurp(path, len);
}

char *synfx_gen(irllrec_ctx *ctx, const irllrec_x_synth_spec *s)
{
    char *dir = tu_tmpdir();
    irllrec_status st = irllrec_x_synth_write(ctx, s, dir);
    ck_assert_msg(st == IRLLREC_OK, "synth_write: %s", irllrec_ctx_errmsg(ctx));
    return dir;
}

/* A float32 .npy written by the generator: checks the header exactly. */
float *synfx_load_npy(const char *dir, const char *name, int64_t rows, int64_t cols)
{
    size_t len, hlen;
    char *buf = synfx_slurp(dir, name, &len), want[128];
    float *x;
    ck_assert_uint_ge(len, 10);
    ck_assert(memcmp(buf, "\x93NUMPY\x01\x00", 8) == 0);
    hlen = (size_t)(unsigned char)buf[8] | (size_t)(unsigned char)buf[9] << 8;
    ck_assert_uint_eq((10 + hlen) % 64, 0);
    ck_assert_int_eq(buf[10 + hlen - 1], '\n');
    snprintf(want, sizeof want, "{'descr': '<f4', 'fortran_order': False, 'shape': (%lld, %lld), }",
             (long long)rows, (long long)cols);
    ck_assert_msg(strncmp(buf + 10, want, strlen(want)) == 0, "%s header: %.100s", name, buf + 10);
    for (size_t j = 10 + strlen(want); j < 10 + hlen - 1; j++) ck_assert_int_eq(buf[j], ' ');
    ck_assert_uint_eq(len, 10 + hlen + (size_t)(rows * cols) * 4);
    x = (float *)malloc((size_t)(rows * cols) * sizeof(float));
    ck_assert_ptr_nonnull(x);
    for (int64_t j = 0; j < rows * cols; j++) {
        const unsigned char *b = (const unsigned char *)buf + 10 + hlen + 4 * j;
        uint32_t v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
        memcpy(&x[j], &v, 4);
        ck_assert(isfinite(x[j]));
    }
    free(buf);
    return x;
}

irllrec__synth *synfx_model_of(irllrec_ctx *ctx, const irllrec_x_synth_spec *s)
{
    irllrec_x_synth_spec r;
    irllrec__synth *m = NULL;
    ck_assert_int_eq(irllrec__synth_resolve(ctx, "test", s, &r), IRLLREC_OK);
    ck_assert_int_eq(irllrec__synth_build(ctx, &r, &m), IRLLREC_OK);
    return m;
}
