/* irlm_edit: rewrite an .irlm file with one deliberate defect, through the
 * library's own model API, so the checksums are right and only the content
 * is wrong (what a buggy writer, not a bad disk, produces). For the CLI's
 * hostile-input tests (cli_test.sh).
 *   irlm_edit nan IN OUT SECTION       element 0 of the f32 SECTION becomes NaN
 *   irlm_edit droprow IN OUT SECTION   the f32 SECTION loses its last row
 *   irlm_edit setmeta IN OUT KEY VALUE the i64 metadata KEY becomes VALUE
 * and, to compare two files' parameters:
 *   irlm_edit same A SECTION_A B SECTION_B   exit 0 if the two f32 sections are
 *                                            equal bit for bit, 1 if not */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "irllrec/irllrec.h"

typedef struct edit {
    const char *mode, *target, *value;
} edit;

static int copy_section(const irllrec_model *in, irllrec_model *out, int32_t i, const edit *e)
{
    uint32_t kind = 0, dtype = 0, flags = 0;
    int32_t ndim = 0;
    int64_t dims[IRLLREC_MODEL_MAX_DIMS], n = 1;
    const char *name = irllrec_model_section_name(in, i);
    int hit = strcmp(name, e->target) == 0, rc = -1;
    void *buf;
    irllrec_model_section_info(in, i, &kind, &dtype, &flags, &ndim, dims);
    for (int32_t d = 0; d < ndim; d++) n *= dims[d];
    if ((buf = malloc((size_t)n * 8)) == NULL) return -1;
    if (dtype == IRLLREC_MODEL_U64) {
        if (irllrec_model_get_u64(in, name, (uint64_t *)buf, n) == IRLLREC_OK)
            rc = irllrec_model_add_u64s(out, kind, name, (uint64_t *)buf, n, flags);
    } else if (irllrec_model_get_f32(in, name, 0, NULL, (float *)buf, n) == IRLLREC_OK) {
        float *f = (float *)buf;
        if (hit && strcmp(e->mode, "nan") == 0) f[0] = NAN;
        if (hit && strcmp(e->mode, "droprow") == 0 && dims[0] > 1) dims[0]--;
        rc = irllrec_model_add_tensor(out, kind, name, f, ndim, dims, flags);
    }
    free(buf);
    return rc == IRLLREC_OK ? 0 : -1;
}

static int copy_meta(const irllrec_model *in, irllrec_model *out, const edit *e)
{
    for (int32_t i = 0; i < irllrec_model_meta_count(in); i++) {
        uint32_t type = 0;
        const char *key = irllrec_model_meta_key(in, i, &type);
        irllrec_status st = IRLLREC_E_INTERNAL;
        if (type == IRLLREC_MODEL_META_I64) {
            int64_t v = 0;
            irllrec_model_get_meta_i64(in, key, &v);
            if (strcmp(e->mode, "setmeta") == 0 && strcmp(key, e->target) == 0)
                v = strtoll(e->value, NULL, 10);
            st = irllrec_model_add_meta_i64(out, key, v);
        } else if (type == IRLLREC_MODEL_META_F64) {
            double v = 0.0;
            irllrec_model_get_meta_f64(in, key, &v);
            st = irllrec_model_add_meta_f64(out, key, v);
        } else {
            size_t len = 0;
            char *s;
            irllrec_model_get_meta_str(in, key, NULL, 0, &len);
            if ((s = (char *)malloc(len + 1)) == NULL) return -1;
            if (irllrec_model_get_meta_str(in, key, s, len + 1, NULL) == IRLLREC_OK)
                st = irllrec_model_add_meta_str(out, key, s);
            free(s);
        }
        if (st != IRLLREC_OK) return -1;
    }
    return 0;
}

static float *section(irllrec_ctx *ctx, const char *path, const char *name, int64_t *n)
{
    irllrec_model *m = NULL;
    int32_t i = -1, ndim = 0;
    int64_t dims[IRLLREC_MODEL_MAX_DIMS];
    float *v = NULL;
    *n = 1;
    if (irllrec_model_load(ctx, path, NULL, &m) == IRLLREC_OK &&
        irllrec_model_find(m, name, &i) == IRLLREC_OK &&
        irllrec_model_section_info(m, i, NULL, NULL, NULL, &ndim, dims) == IRLLREC_OK) {
        for (int32_t d = 0; d < ndim; d++) *n *= dims[d];
        v = (float *)malloc((size_t)*n * sizeof *v);
        if (v != NULL && irllrec_model_get_f32(m, name, 0, NULL, v, *n) != IRLLREC_OK) {
            free(v);
            v = NULL;
        }
    }
    if (v == NULL) fprintf(stderr, "irlm_edit: %s %s: %s\n", path, name, irllrec_ctx_errmsg(ctx));
    irllrec_model_free(m);
    return v;
}

static int same(const char *pa, const char *sa, const char *pb, const char *sb)
{
    irllrec_ctx *ctx = NULL;
    int64_t na = 0, nb = 0;
    float *a = NULL, *b = NULL;
    int rc = 2;
    if (irllrec_ctx_create(NULL, &ctx) != IRLLREC_OK) return 2;
    a = section(ctx, pa, sa, &na);
    b = a ? section(ctx, pb, sb, &nb) : NULL;
    if (a != NULL && b != NULL) {
        rc = na == nb && memcmp(a, b, (size_t)na * sizeof *a) == 0 ? 0 : 1;
        printf("%s %s and %s %s: %s\n", pa, sa, pb, sb, rc == 0 ? "identical" : "differ");
    }
    free(a);
    free(b);
    irllrec_ctx_free(ctx);
    return rc;
}

int main(int argc, char **argv)
{
    irllrec_ctx *ctx = NULL;
    irllrec_model *in = NULL, *out = NULL;
    edit e;
    int rc = 1;
    if (argc == 6 && strcmp(argv[1], "same") == 0) return same(argv[2], argv[3], argv[4], argv[5]);
    if (argc < 5 || (strcmp(argv[1], "setmeta") == 0 && argc < 6)) {
        fprintf(stderr, "usage: irlm_edit nan|droprow IN OUT SECTION | setmeta IN OUT KEY VALUE"
                        " | same A SECTION_A B SECTION_B\n");
        return 2;
    }
    e.mode = argv[1];
    e.target = argv[4];
    e.value = argc > 5 ? argv[5] : NULL;
    if (irllrec_ctx_create(NULL, &ctx) != IRLLREC_OK) return 1;
    if (irllrec_model_load(ctx, argv[2], NULL, &in) != IRLLREC_OK ||
        irllrec_model_create(ctx, &out) != IRLLREC_OK) {
        fprintf(stderr, "irlm_edit: %s\n", irllrec_ctx_errmsg(ctx));
        goto done;
    }
    if (strcmp(e.mode, "setmeta") != 0 && irllrec_model_find(in, e.target, &(int32_t){0}) != 0) {
        fprintf(stderr, "irlm_edit: %s: no section %s\n", argv[2], e.target);
        goto done;
    }
    for (int32_t i = 0; i < irllrec_model_section_count(in); i++)
        if (copy_section(in, out, i, &e) != 0) {
            fprintf(stderr, "irlm_edit: section %d: %s\n", (int)i, irllrec_ctx_errmsg(ctx));
            goto done;
        }
    if (copy_meta(in, out, &e) != 0 || irllrec_model_save(out, argv[3]) != IRLLREC_OK) {
        fprintf(stderr, "irlm_edit: %s\n", irllrec_ctx_errmsg(ctx));
        goto done;
    }
    rc = 0;
done:
    irllrec_model_free(in);
    irllrec_model_free(out);
    irllrec_ctx_free(ctx);
    return rc;
}
