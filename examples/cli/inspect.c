/* irllrec inspect FILE: what an .irlm file holds, after the library's loader
 * has verified it (magic, version, sizes, BLAKE2b of header, table and
 * every section). Any .irlm file: serving models, hook and trainer
 * checkpoints, others. A file that fails gets a one-line verdict on stderr. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli.h"

static const char HELP[] =
    "usage: irllrec inspect FILE [--json]\n"
    "Verify an .irlm model file (structure and every checksum) and list its\n"
    "sections (name, kind, dtype, shape, flags) and metadata, and say what\n"
    "wrote it: a serving model, a hook or trainer checkpoint, or another file.\n"
    "A corrupt or unreadable file gets a one-line verdict on stderr, exit 1.\n"
    "  --json   one JSON object on one line instead of the text listing\n";

typedef struct view {
    const char *path;
    const irllrec_model *m;
    irllrec_ctx *ctx;
    long long bytes;
    int major, minor; /* -1 when the header could not be read again */
    int json;
} view;

static const char *kind_name(uint32_t k)
{
    static const char *const n[] = {"?", "META", "TENSOR", "OPTIM", "RNG", "TEACHER"};
    return k >= 1 && k <= 5 ? n[k] : "?";
}

static const char *dtype_name(uint32_t d)
{
    static const char *const n[] = {"?", "f32", "u64", "u8"};
    return d >= 1 && d <= 3 ? n[d] : "?";
}

static int has_key(const irllrec_model *m, const char *key)
{
    for (int32_t i = 0; i < irllrec_model_meta_count(m); i++)
        if (strcmp(irllrec_model_meta_key(m, i, NULL), key) == 0) return 1;
    return 0;
}

/* What wrote the file, from the metadata each writer leaves: a short tag
 * for JSON and a sentence for the text listing. */
static const char *file_kind(const irllrec_model *m, const char **text)
{
    if (has_key(m, "serve.kind")) {
        *text = "serving model (irllrec_rec_save; irllrec recommend/similar/explain read it)";
        return "serving";
    }
    if (has_key(m, "lgcn.n_users")) {
        *text = has_key(m, "hook.lib_version")
                    ? "LightGCN trainer checkpoint with the IRLLRec hook's state (--save-every)"
                    : "LightGCN trainer checkpoint (--save-every)";
        return "trainer_checkpoint";
    }
    if (has_key(m, "hook.lib_version")) {
        *text = "hook checkpoint (irllrec_hook_export)";
        return "hook_checkpoint";
    }
    *text = "other .irlm file (no metadata of a known writer)";
    return "other";
}

/* The first non-finite float of f32 section @p i (little-endian payload),
 * or -1; *count gets how many there are. */
static int64_t first_nonfinite(const irllrec_model *m, int32_t i, int64_t *count)
{
    uint64_t nb = 0;
    const unsigned char *p = (const unsigned char *)irllrec_model_section_data(m, i, &nb);
    int64_t first = -1;
    *count = 0;
    for (uint64_t e = 0; p != NULL && e + 4 <= nb; e += 4) {
        uint32_t u = (uint32_t)p[e] | (uint32_t)p[e + 1] << 8 | (uint32_t)p[e + 2] << 16 |
                     (uint32_t)p[e + 3] << 24;
        float f;
        memcpy(&f, &u, sizeof f);
        if (!isfinite(f)) {
            if (first < 0) first = (int64_t)(e / 4);
            ++*count;
        }
    }
    return first;
}

static int check_values(const view *v)
{
    for (int32_t i = 0; i < irllrec_model_section_count(v->m); i++) {
        uint32_t dtype = 0;
        int64_t n = 0, at;
        irllrec_model_section_info(v->m, i, NULL, &dtype, NULL, NULL, NULL);
        if (dtype != IRLLREC_MODEL_F32 || (at = first_nonfinite(v->m, i, &n)) < 0) continue;
        return cli_fail(CLI_FAIL, "inspect", "%s: damaged: section %s holds %lld non-finite "
                        "value%s (NaN or Inf; the first at element %lld): checksums match, so "
                        "it was written that way; no loader that checks values will use it",
                        v->path, irllrec_model_section_name(v->m, i), (long long)n,
                        n == 1 ? "" : "s", (long long)at);
    }
    return CLI_OK;
}

static void shape_str(char *s, size_t cap, int32_t ndim, const int64_t *dims, const char *sep)
{
    size_t len = 0;
    s[0] = '\0';
    for (int32_t d = 0; d < ndim && len < cap; d++)
        len += (size_t)snprintf(s + len, cap - len, "%s%lld", d ? sep : "", (long long)dims[d]);
}

static void meta_value(cli_buf *b, const view *v, const char *key, uint32_t type)
{
    if (type == IRLLREC_MODEL_META_I64) {
        int64_t x = 0;
        irllrec_model_get_meta_i64(v->m, key, &x);
        cli_printf(b, "%lld", (long long)x);
    } else if (type == IRLLREC_MODEL_META_F64) {
        double x = 0.0;
        irllrec_model_get_meta_f64(v->m, key, &x);
        if (v->json) cli_json_num(b, x);
        else cli_num(b, x);
    } else {
        size_t len = 0;
        char *s;
        irllrec_model_get_meta_str(v->m, key, NULL, 0, &len);
        s = (char *)malloc(len + 1);
        if (s == NULL || irllrec_model_get_meta_str(v->m, key, s, len + 1, NULL) != IRLLREC_OK) {
            b->oom = 1;
        } else if (v->json) {
            cli_json_str(b, s);
        } else {
            cli_text_str(b, s);
        }
        free(s);
    }
}

static const char *meta_type_name(uint32_t t)
{
    return t == IRLLREC_MODEL_META_I64 ? "i64" : t == IRLLREC_MODEL_META_F64 ? "f64" : "str";
}

static void text_sections(cli_buf *b, const view *v)
{
    int32_t n = irllrec_model_section_count(v->m);
    int w = 4;
    for (int32_t i = 0; i < n; i++) {
        int l = (int)strlen(irllrec_model_section_name(v->m, i));
        w = l > w ? l : w;
    }
    cli_printf(b, "\nsections (%d)\n  %-*s  %-7s  %-5s  %-16s  %s\n", (int)n, w, "name", "kind",
               "dtype", "shape", "flags");
    for (int32_t i = 0; i < n; i++) {
        uint32_t kind = 0, dtype = 0, flags = 0;
        int32_t ndim = 0;
        int64_t dims[IRLLREC_MODEL_MAX_DIMS];
        char shape[128];
        irllrec_model_section_info(v->m, i, &kind, &dtype, &flags, &ndim, dims);
        shape_str(shape, sizeof shape, ndim, dims, " x ");
        cli_printf(b, "  %-*s  %-7s  %-5s  %-16s  %s", w, irllrec_model_section_name(v->m, i),
                   kind_name(kind), dtype_name(dtype), shape,
                   flags & IRLLREC_MODEL_REQUIRED ? "required" : "optional");
        if (flags & ~(uint32_t)IRLLREC_MODEL_REQUIRED) cli_printf(b, " (0x%08x)", flags);
        cli_printf(b, "\n");
    }
}

static void text_listing(cli_buf *b, const view *v)
{
    int32_t nm = irllrec_model_meta_count(v->m), w = 3;
    const char *kind_text;
    file_kind(v->m, &kind_text);
    cli_printf(b, "file      %s\n", v->path);
    if (v->major >= 0) cli_printf(b, "format    .irlm %d.%d, ", v->major, v->minor);
    else cli_printf(b, "format    .irlm, ");
    cli_printf(b, "%lld bytes\nchecksums verified (BLAKE2b-256 of the header, the section "
               "table and all %d sections)\nkind      %s\n", v->bytes,
               (int)irllrec_model_section_count(v->m), kind_text);
    text_sections(b, v);
    for (int32_t i = 0; i < nm; i++) {
        int l = (int)strlen(irllrec_model_meta_key(v->m, i, NULL));
        w = l > w ? l : w;
    }
    cli_printf(b, "\nmetadata (%d)\n  %-*s  %-4s  %s\n", (int)nm, (int)w, "key", "type", "value");
    for (int32_t i = 0; i < nm; i++) {
        uint32_t type = 0;
        const char *key = irllrec_model_meta_key(v->m, i, &type);
        cli_printf(b, "  %-*s  %-4s  ", (int)w, key, meta_type_name(type));
        meta_value(b, v, key, type);
        cli_printf(b, "\n");
    }
}

static void json_listing(cli_buf *b, const view *v)
{
    int32_t n = irllrec_model_section_count(v->m), nm = irllrec_model_meta_count(v->m);
    const char *kind_text, *kind = file_kind(v->m, &kind_text);
    cli_printf(b, "{\"file\": ");
    cli_json_str(b, v->path);
    if (v->major >= 0) cli_printf(b, ", \"format\": \"%d.%d\"", v->major, v->minor);
    cli_printf(b, ", \"bytes\": %lld, \"checksums\": \"verified\", \"kind\": \"%s\", "
               "\"sections\": [", v->bytes, kind);
    for (int32_t i = 0; i < n; i++) {
        uint32_t sk = 0, dtype = 0, flags = 0;
        int32_t ndim = 0;
        int64_t dims[IRLLREC_MODEL_MAX_DIMS];
        uint64_t nb = 0;
        char shape[128];
        irllrec_model_section_info(v->m, i, &sk, &dtype, &flags, &ndim, dims);
        irllrec_model_section_data(v->m, i, &nb);
        shape_str(shape, sizeof shape, ndim, dims, ", ");
        cli_printf(b, "%s{\"name\": ", i ? ", " : "");
        cli_json_str(b, irllrec_model_section_name(v->m, i));
        cli_printf(b, ", \"kind\": \"%s\", \"dtype\": \"%s\", \"shape\": [%s], \"flags\": %u, "
                   "\"required\": %s, \"bytes\": %llu}", kind_name(sk), dtype_name(dtype), shape,
                   flags, flags & IRLLREC_MODEL_REQUIRED ? "true" : "false",
                   (unsigned long long)nb);
    }
    cli_printf(b, "], \"metadata\": [");
    for (int32_t i = 0; i < nm; i++) {
        uint32_t type = 0;
        const char *key = irllrec_model_meta_key(v->m, i, &type);
        cli_printf(b, "%s{\"key\": ", i ? ", " : "");
        cli_json_str(b, key);
        cli_printf(b, ", \"type\": \"%s\", \"value\": ", meta_type_name(type));
        meta_value(b, v, key, type);
        cli_printf(b, "}");
    }
    cli_printf(b, "]}\n");
}

/* The format version from the header the loader just accepted. */
static void read_version(view *v)
{
    unsigned char h[12];
    FILE *f = fopen(v->path, "rb");
    v->major = v->minor = -1;
    if (f != NULL && fread(h, 1, sizeof h, f) == sizeof h) {
        v->major = h[8] | h[9] << 8;
        v->minor = h[10] | h[11] << 8;
    }
    if (f != NULL) fclose(f);
}

int cli_inspect(int argc, char **argv)
{
    cli_args a;
    cli_buf b = {0};
    irllrec_model *m = NULL;
    irllrec_status st;
    struct stat sb;
    view v;
    int rc = cli_parse(argc, argv, 2, "inspect", CLI_F_JSON, 0, 0, &a);
    if (rc != CLI_OK || a.help) {
        if (rc == CLI_OK) fputs(HELP, stdout);
        cli_args_free(&a);
        return rc;
    }
    memset(&v, 0, sizeof v);
    v.path = a.model;
    v.json = (a.given & CLI_F_JSON) != 0;
    if ((v.ctx = cli_ctx("inspect", 1)) == NULL) return CLI_FAIL;
    st = irllrec_model_load(v.ctx, v.path, NULL, &m);
    if (st != IRLLREC_OK) {
        rc = cli_verdict("inspect", v.path, st, irllrec_ctx_errmsg(v.ctx));
    } else {
        v.m = m;
        v.bytes = stat(v.path, &sb) == 0 ? (long long)sb.st_size : -1;
        read_version(&v);
        rc = check_values(&v);
        if (rc == CLI_OK) {
            if (v.json) json_listing(&b, &v);
            else text_listing(&b, &v);
            rc = cli_buf_emit(&b, "inspect");
        }
    }
    cli_buf_free(&b);
    irllrec_model_free(m);
    irllrec_ctx_free(v.ctx);
    cli_args_free(&a);
    return rc;
}
