/* libFuzzer target: build a model through the public API from fuzzed
 * operations (names, kinds, shapes, flags, values, metadata), then save,
 * load and save again.
 *
 * Invariants: a rejected add leaves the model unchanged; whatever was added
 * saves and loads back to the same bytes and the same values; loading with
 * check_finite fails with E_NUMERIC exactly when a non-finite float was
 * added. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "irllrec/irllrec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int cond)
{
    if (!cond) abort();
}

typedef struct reader {
    const uint8_t *p;
    size_t n, pos;
} reader;

static uint8_t next(reader *r)
{
    return r->pos < r->n ? r->p[r->pos++] : 0;
}

/* A string of up to max bytes taken from the input, NUL-terminated. */
static void take_str(reader *r, char *buf, size_t max)
{
    size_t len = next(r) % (max + 1);
    for (size_t i = 0; i < len; i++) buf[i] = (char)next(r);
    buf[len] = '\0';
}

static uint8_t *save(const irllrec_model *m, size_t *n)
{
    uint8_t *b;
    require(irllrec_model_save_mem(m, NULL, 0, n) == IRLLREC_OK);
    b = (uint8_t *)malloc(*n);
    require(b != NULL);
    require(irllrec_model_save_mem(m, b, *n, n) == IRLLREC_OK);
    return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    irllrec_ctx *ctx = NULL;
    irllrec_model *m = NULL, *m2 = NULL;
    reader r = {data, size, 0};
    int nonfinite = 0;
    size_t n1, n2;
    uint8_t *b1, *b2;
    irllrec_model_load_opts o;
    require(irllrec_ctx_create(NULL, &ctx) == IRLLREC_OK);
    require(irllrec_model_create(ctx, &m) == IRLLREC_OK);
    for (int op = 0; op < 64 && r.pos < r.n; op++) {
        uint8_t code = next(&r);
        char name[80], val[300];
        int32_t before = irllrec_model_section_count(m), mbefore = irllrec_model_meta_count(m);
        irllrec_status st;
        take_str(&r, name, 70);
        if (code % 5 < 2) {
            uint32_t kind = next(&r) % 7;
            int32_t ndim = next(&r) % 6;
            int64_t dims[5] = {0, 0, 0, 0, 0};
            uint32_t flags = next(&r) % 4;
            float vals[256];
            uint64_t u[256];
            int64_t count = 1;
            for (int d = 0; d < ndim; d++) {
                dims[d] = (int64_t)(next(&r) % 5);
                count *= dims[d];
            }
            if (ndim > 4 || count > 256) count = 0;
            for (int64_t i = 0; i < count; i++) {
                uint32_t bits = (uint32_t)next(&r) | (uint32_t)next(&r) << 8 |
                                (uint32_t)next(&r) << 16 | (uint32_t)next(&r) << 24;
                memcpy(&vals[i], &bits, 4);
                u[i] = (uint64_t)bits * 0x9E3779B97F4A7C15ull;
            }
            if (code % 5 == 0) {
                st = irllrec_model_add_tensor(m, kind, name, vals, ndim, dims, flags);
                if (st == IRLLREC_OK)
                    for (int64_t i = 0; i < count; i++) nonfinite |= !isfinite(vals[i]);
            } else {
                st = irllrec_model_add_u64s(m, kind, name, u, dims[0], flags);
            }
            require(irllrec_model_section_count(m) == before + (st == IRLLREC_OK));
            if (st == IRLLREC_OK) {
                int32_t idx = -1;
                require(irllrec_model_find(m, name, &idx) == IRLLREC_OK && idx == before);
            }
        } else {
            int64_t v = (int64_t)((uint64_t)next(&r) << 56 | (uint64_t)next(&r) << 3);
            double d;
            memcpy(&d, &v, sizeof d);
            take_str(&r, val, 255);
            st = code % 5 == 2 ? irllrec_model_add_meta_i64(m, name, v)
               : code % 5 == 3 ? irllrec_model_add_meta_f64(m, name, d)
                               : irllrec_model_add_meta_str(m, name, val);
            require(irllrec_model_meta_count(m) == mbefore + (st == IRLLREC_OK));
            require(irllrec_model_section_count(m) == before);
        }
        require(st == IRLLREC_OK || st == IRLLREC_E_INVALID_ARG || st == IRLLREC_E_SHAPE);
    }
    b1 = save(m, &n1);
    require(irllrec_model_load_mem(ctx, b1, n1, NULL, &m2) == IRLLREC_OK);
    require(irllrec_model_section_count(m2) == irllrec_model_section_count(m));
    for (int32_t i = 0; i < irllrec_model_section_count(m); i++) {
        uint64_t a = 0, b = 0;
        const void *pa = irllrec_model_section_data(m, i, &a), *pb = irllrec_model_section_data(m2, i, &b);
        require(a == b && memcmp(pa, pb, a) == 0);
        require(strcmp(irllrec_model_section_name(m, i), irllrec_model_section_name(m2, i)) == 0);
    }
    b2 = save(m2, &n2);
    require(n1 == n2 && memcmp(b1, b2, n1) == 0);
    irllrec_model_free(m2);
    m2 = NULL;
    irllrec_model_load_opts_init(&o, (uint32_t)sizeof o);
    o.check_finite = 1;
    require(irllrec_model_load_mem(ctx, b1, n1, &o, &m2) == (nonfinite ? IRLLREC_E_NUMERIC : IRLLREC_OK));
    irllrec_model_free(m2);
    free(b1);
    free(b2);
    irllrec_model_free(m);
    irllrec_ctx_free(ctx);
    return 0;
}
