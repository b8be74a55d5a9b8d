/* SYNTHETIC data: the text-embedding stand-ins and the files on disk. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "../io/atomic.h"
#include "../io/npy_internal.h"
#include "../ops/ops.h"
#include "synth.h"

/* Magnitudes of the parts of a text row, relative to one intent's direction
 * (unit norm in expectation). See docs/synthetic-data.md. */
#define OFFSET_NORM 0.5    /* shared mean direction per kind: real embeddings are anisotropic */
#define ENTITY_NORM 0.5    /* profile only: what the text says beyond the intents */
#define POPDIR_NORM 0.25   /* item profiles only: popularity leaks into text ("bestseller") */
#define ROW_SCALE_SD 0.2   /* rows have log-normal norms */
#define BLOCK_BYTES (4u << 20)

enum { N_FILES = 8 };
static const char *const file_names[N_FILES] = {"train.txt",   "val.txt",     "test.txt",
                                                "usr_prf.npy", "itm_prf.npy", "usr_int.npy",
                                                "itm_int.npy", "stats.json"};

/* One output: written under a temporary name by lib/io's atomic writer,
 * finished (fsync'ed) when complete, and renamed into place only once all
 * eight are finished. */
typedef struct outfile {
    char *path; /* final name; outlives the writer */
    size_t cap;
    irllrec__atomic w; /* zeroed until opened: abort is then a no-op */
} outfile;

static const char fn_name[] = IRLLREC__SYNTH_FN;

static irllrec_status io_fail(irllrec_ctx *ctx, const char *what, const char *path, int err)
{
    char msg[128];
    if (strerror_r(err, msg, sizeof msg) != 0) snprintf(msg, sizeof msg, "errno %d", err);
    return irllrec__fail(ctx, IRLLREC_E_IO, fn_name, "%s '%s': %s", what, path, msg);
}

static irllrec_status open_tmp(irllrec_ctx *ctx, outfile *o)
{
    return irllrec__atomic_open(ctx, fn_name, o->path, &o->w);
}

static irllrec_status put(irllrec_ctx *ctx, outfile *o, const void *p, size_t n)
{
    (void)ctx;
    return irllrec__atomic_write(&o->w, p, n);
}

/* On disk (fsync'ed) under the temporary name, so that a crash never
 * leaves a short file under the final name. */
static irllrec_status close_tmp(irllrec_ctx *ctx, outfile *o)
{
    (void)ctx;
    return irllrec__atomic_finish(&o->w);
}

/* ---- text files -------------------------------------------------------- */

typedef struct textbuf {
    char buf[1 << 16];
    size_t n;
} textbuf;

static irllrec_status tb_flush(irllrec_ctx *ctx, outfile *o, textbuf *b)
{
    irllrec_status st = put(ctx, o, b->buf, b->n);
    b->n = 0;
    return st;
}

static void tb_int(textbuf *b, int64_t v, char sep)
{
    char tmp[24];
    int n = 0;
    uint64_t x = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + x % 10);
        x /= 10;
    } while (x != 0);
    if (v < 0) tmp[n++] = '-';
    while (n > 0) b->buf[b->n++] = tmp[--n];
    b->buf[b->n++] = sep;
}

static irllrec_status write_split(irllrec_ctx *ctx, const irllrec__synth *m, outfile *o, int split,
                                  textbuf *b)
{
    b->n = 0;
    for (int32_t u = 0; u < m->spec.n_users; u++) {
        const int32_t *c = m->cnt + 3 * (size_t)u;
        const int32_t *it = m->items + m->offs[u];
        int32_t n = c[split];
        if (n == 0) continue;
        for (int s = 0; s < split; s++) it += c[s];
        tb_int(b, u, ' ');
        for (int32_t j = 0; j < n; j++) {
            if (b->n > sizeof b->buf - 32) IRL_TRY(tb_flush(ctx, o, b));
            tb_int(b, it[j], j + 1 < n ? ' ' : '\n');
        }
        if (b->n > sizeof b->buf - 32) IRL_TRY(tb_flush(ctx, o, b));
    }
    return tb_flush(ctx, o, b);
}

/* Shortest of %.15g..%.17g that reads back exactly; the decimal point is
 * forced to '.' whatever the host's locale. */
static void fmt_double(char *out, size_t cap, double v)
{
    for (int p = 15; p <= 17; p++) {
        snprintf(out, cap, "%.*g", p, v);
        if (strtod(out, NULL) == v) break;
    }
    for (char *c = out; *c; c++)
        if (*c == ',') *c = '.';
}

static irllrec_status write_stats(irllrec_ctx *ctx, const irllrec__synth *m, outfile *o)
{
    const irllrec_x_synth_spec *s = &m->spec;
    char buf[4096], d[8][40];
    int64_t with[3] = {0, 0, 0}, cold = 0;
    int32_t *seen;
    int n;
    size_t ni = (size_t)s->n_items;
    seen = (int32_t *)irllrec__calloc_fn(ctx, fn_name, ni, sizeof(int32_t));
    if (seen == NULL) return IRLLREC_E_NOMEM;
    for (int32_t u = 0; u < s->n_users; u++) {
        const int32_t *c = m->cnt + 3 * (size_t)u;
        for (int q = 0; q < 3; q++) with[q] += c[q] > 0;
        for (int32_t j = 0; j < c[0]; j++) seen[m->items[m->offs[u] + j]] = 1;
    }
    for (size_t i = 0; i < ni; i++) cold += seen[i] == 0;
    irllrec__free(ctx, seen, ni * sizeof(int32_t));
    fmt_double(d[0], sizeof d[0], s->mean_degree);
    fmt_double(d[1], sizeof d[1], s->popularity_skew);
    fmt_double(d[2], sizeof d[2], s->text_noise);
    fmt_double(d[3], sizeof d[3], s->misleading_frac);
    fmt_double(d[4], sizeof d[4], s->val_frac);
    fmt_double(d[5], sizeof d[5], s->test_frac);
    n = snprintf(buf, sizeof buf,
                 "{\n"
                 " \"synthetic\": true,\n"
                 " \"note\": \"SYNTHETIC data with planted intents (libirllrec irllrec_x_synth_write, "
                 "see docs/synthetic-data.md); not real users, items or text\",\n"
                 " \"generator_version\": \"%s\",\n"
                 " \"n_users\": %d,\n"
                 " \"n_items\": %d,\n"
                 " \"train\": %lld,\n"
                 " \"val\": %lld,\n"
                 " \"test\": %lld,\n"
                 " \"users_with_train\": %lld,\n"
                 " \"users_with_val\": %lld,\n"
                 " \"users_with_test\": %lld,\n"
                 " \"items_without_train\": %lld,\n"
                 " \"misleading_user_rows\": %lld,\n"
                 " \"misleading_item_rows\": %lld,\n"
                 " \"spec\": {\n"
                 "  \"n_users\": %d,\n"
                 "  \"n_items\": %d,\n"
                 "  \"n_intents\": %d,\n"
                 "  \"profile_dim\": %d,\n"
                 "  \"intent_dim\": %d,\n"
                 "  \"mean_degree\": %s,\n"
                 "  \"popularity_skew\": %s,\n"
                 "  \"text_noise\": %s,\n"
                 "  \"misleading_frac\": %s,\n"
                 "  \"val_frac\": %s,\n"
                 "  \"test_frac\": %s,\n"
                 "  \"seed\": %llu,\n"
                 "  \"min_degree\": %d,\n"
                 "  \"max_dominant\": %d\n"
                 " }\n"
                 "}\n",
                 IRLLREC_VERSION_STRING, (int)s->n_users, (int)s->n_items,
                 (long long)m->n_split[0], (long long)m->n_split[1], (long long)m->n_split[2],
                 (long long)with[0], (long long)with[1], (long long)with[2], (long long)cold,
                 (long long)m->n_misleading[0], (long long)m->n_misleading[1], (int)s->n_users,
                 (int)s->n_items, (int)s->n_intents, (int)s->profile_dim, (int)s->intent_dim, d[0],
                 d[1], d[2], d[3], d[4], d[5], (unsigned long long)s->seed, (int)s->min_degree,
                 (int)s->max_dominant);
    if (n < 0 || (size_t)n >= sizeof buf)
        return irllrec__fail(ctx, IRLLREC_E_INTERNAL, fn_name, "stats.json overflowed its buffer");
    return put(ctx, o, buf, (size_t)n);
}

/* ---- text embeddings --------------------------------------------------- */

/* Both Box-Muller outputs: the embeddings need many normals. */
static void add_normals(irllrec__rng *r, float *x, int32_t n, double scale)
{
    int32_t j = 0;
    for (; j + 1 < n; j += 2) {
        double u1 = 1.0 - irllrec__rng_uniform(r), u2 = irllrec__rng_uniform(r);
        double rad = scale * sqrt(-2.0 * log(u1)), ang = 6.283185307179586 * u2;
        x[j] += (float)(rad * cos(ang));
        x[j + 1] += (float)(rad * sin(ang));
    }
    if (j < n) x[j] += (float)(scale * irllrec__rng_normal(r));
}

typedef struct kind_basis {
    int32_t dim;
    float *proj;   /* n_intents x dim, entries N(0, 1/dim): near-unit, near-orthogonal rows */
    float *base;   /* dim: offset + (B/K) * sum of proj rows (the uniform part of theta) */
    float *popdir; /* dim (profiles only) */
} kind_basis;

typedef struct gen_job {
    const irllrec__synth *m;
    const kind_basis *kb;
    const double *zpop; /* n_items standardised log popularity */
    int side, matrix;
    int32_t row0, rows;
    float *out;         /* rows x dim */
} gen_job;

static void gen_row(const gen_job *g, int32_t r, float *x)
{
    const irllrec__synth *m = g->m;
    const kind_basis *kb = g->kb;
    int32_t dim = kb->dim, ns = m->n_slots, e = m->src[g->side][r];
    const int32_t *idx = m->idx[g->side] + (size_t)e * (size_t)ns;
    const float *w = m->w[g->side] + (size_t)e * (size_t)ns;
    double inv = 1.0 / sqrt((double)dim), scale;
    irllrec__rng rr;
    memcpy(x, kb->base, (size_t)dim * sizeof(float));
    for (int32_t j = 0; j < ns && idx[j] >= 0; j++) {
        const float *p = kb->proj + (size_t)idx[j] * (size_t)dim;
        float a = (float)((1.0 - IRLLREC__SYNTH_BACKGROUND) * (double)w[j]);
        irllrec__vaxpy(x, a, p, dim);
    }
    if (kb->popdir != NULL) {
        /* The entity-specific part follows the source entity, like its mixture:
         * a misleading row describes another entity consistently. */
        irllrec__rng_seed(&rr, m->spec.seed, ((uint64_t)IRLLREC__SYNTH_ST_ENTITY << 40) |
                                                 ((uint64_t)g->side << 32) | (uint64_t)e);
        add_normals(&rr, x, dim, ENTITY_NORM * inv);
        if (g->side == IRLLREC__SYNTH_ITEM) {
            float a = (float)(POPDIR_NORM * g->zpop[e]);
            irllrec__vaxpy(x, a, kb->popdir, dim);
        }
    }
    irllrec__rng_seed(&rr, m->spec.seed, ((uint64_t)IRLLREC__SYNTH_ST_ROW << 40) |
                                             ((uint64_t)g->matrix << 32) | (uint64_t)r);
    scale = exp(ROW_SCALE_SD * irllrec__rng_normal(&rr));
    add_normals(&rr, x, dim, m->spec.text_noise * inv);
    for (int32_t c = 0; c < dim; c++) x[c] = (float)(scale * (double)x[c]);
}

static void gen_task(void *ud, int32_t t, int32_t nt)
{
    const gen_job *g = (const gen_job *)ud;
    int64_t lo, hi;
    irllrec__share(g->rows, t, nt, &lo, &hi);
    for (int64_t q = lo; q < hi; q++)
        gen_row(g, g->row0 + (int32_t)q, g->out + (size_t)q * (size_t)g->kb->dim);
}

static void to_le(float *x, size_t n)
{
    unsigned char *b = (unsigned char *)x;
    for (size_t j = 0; j < n; j++) {
        uint32_t v;
        memcpy(&v, x + j, 4);
        b[4 * j] = (unsigned char)v;
        b[4 * j + 1] = (unsigned char)(v >> 8);
        b[4 * j + 2] = (unsigned char)(v >> 16);
        b[4 * j + 3] = (unsigned char)(v >> 24);
    }
}

static irllrec_status write_npy_header(irllrec_ctx *ctx, outfile *o, int64_t rows, int64_t cols)
{
    unsigned char h[IRLLREC__NPY_HEADER_CAP];
    return put(ctx, o, h, irllrec__npy_header(h, rows, cols));
}

static irllrec_status write_matrix(irllrec_ctx *ctx, const irllrec__synth *m, outfile *o,
                                   gen_job *g, float *buf, int32_t block_rows)
{
    int32_t n = g->side == IRLLREC__SYNTH_USER ? m->spec.n_users : m->spec.n_items;
    int32_t dim = g->kb->dim;
    IRL_TRY(write_npy_header(ctx, o, n, dim));
    g->out = buf;
    for (int32_t r0 = 0; r0 < n; r0 += block_rows) {
        g->row0 = r0;
        g->rows = n - r0 < block_rows ? n - r0 : block_rows;
        IRL_TRY(irllrec__parallel(ctx, ctx->n_threads, gen_task, g));
        to_le(buf, (size_t)g->rows * (size_t)dim);
        IRL_TRY(put(ctx, o, buf, (size_t)g->rows * (size_t)dim * sizeof(float)));
    }
    return IRLLREC_OK;
}

static void free_basis(irllrec_ctx *ctx, const irllrec__synth *m, kind_basis *kb)
{
    size_t dim = (size_t)kb->dim;
    irllrec__free(ctx, kb->proj, (size_t)m->spec.n_intents * dim * sizeof(float));
    irllrec__free(ctx, kb->base, dim * sizeof(float));
    irllrec__free(ctx, kb->popdir, dim * sizeof(float));
    kb->proj = kb->base = kb->popdir = NULL;
}

static irllrec_status make_basis(irllrec_ctx *ctx, const irllrec__synth *m, int kind,
                                 kind_basis *kb)
{
    int32_t k = m->spec.n_intents;
    size_t dim;
    double inv;
    irllrec__rng r;
    kb->dim = kind == 0 ? m->spec.profile_dim : m->spec.intent_dim;
    dim = (size_t)kb->dim;
    inv = 1.0 / sqrt((double)kb->dim);
    kb->proj = (float *)irllrec__calloc_fn(ctx, fn_name, (size_t)k * dim, sizeof(float));
    kb->base = (float *)irllrec__calloc_fn(ctx, fn_name, dim, sizeof(float));
    kb->popdir = kind == 0 ? (float *)irllrec__calloc_fn(ctx, fn_name, dim, sizeof(float)) : NULL;
    if (kb->proj == NULL || kb->base == NULL || (kind == 0 && kb->popdir == NULL)) {
        free_basis(ctx, m, kb);
        return IRLLREC_E_NOMEM;
    }
    irllrec__rng_seed(&r, m->spec.seed, IRLLREC__SYNTH_ST_PROJ + (uint64_t)kind);
    for (int32_t j = 0; j < k; j++) add_normals(&r, kb->proj + (size_t)j * dim, kb->dim, inv);
    irllrec__rng_seed(&r, m->spec.seed, IRLLREC__SYNTH_ST_OFFSET + (uint64_t)kind);
    add_normals(&r, kb->base, kb->dim, OFFSET_NORM * inv);
    for (size_t c = 0; c < dim; c++) {
        double s = 0.0;
        for (int32_t j = 0; j < k; j++) s += (double)kb->proj[(size_t)j * dim + c];
        kb->base[c] = (float)((double)kb->base[c] + IRLLREC__SYNTH_BACKGROUND / k * s);
    }
    if (kb->popdir != NULL) {
        irllrec__rng_seed(&r, m->spec.seed, IRLLREC__SYNTH_ST_POPDIR);
        add_normals(&r, kb->popdir, kb->dim, inv);
    }
    return IRLLREC_OK;
}

/* log popularity, standardised over items (all zero when popularity is flat). */
static double *standard_log_pop(irllrec_ctx *ctx, const irllrec__synth *m)
{
    int32_t ni = m->spec.n_items;
    double *z = (double *)irllrec__calloc_fn(ctx, fn_name, (size_t)ni, sizeof(double)), mean = 0.0,
           var = 0.0;
    if (z == NULL) return NULL;
    for (int32_t i = 0; i < ni; i++) mean += (z[i] = log(m->pop[i]));
    mean /= ni;
    for (int32_t i = 0; i < ni; i++) var += (z[i] - mean) * (z[i] - mean);
    var /= ni;
    for (int32_t i = 0; i < ni; i++) z[i] = var > 1e-24 ? (z[i] - mean) / sqrt(var) : 0.0;
    return z;
}

static irllrec_status write_embeddings(irllrec_ctx *ctx, const irllrec__synth *m, outfile *files)
{
    irllrec_status st = IRLLREC_OK;
    kind_basis kb[2];
    double *zpop;
    memset(kb, 0, sizeof kb);
    zpop = standard_log_pop(ctx, m);
    if (zpop == NULL) return IRLLREC_E_NOMEM;
    for (int kind = 0; kind < 2 && st == IRLLREC_OK; kind++) {
        size_t dim;
        int32_t block_rows;
        float *buf;
        if ((st = make_basis(ctx, m, kind, &kb[kind])) != IRLLREC_OK) break;
        dim = (size_t)kb[kind].dim;
        block_rows = (int32_t)(BLOCK_BYTES / (dim * sizeof(float)));
        if (block_rows < 1) block_rows = 1;
        buf = (float *)irllrec__calloc_fn(ctx, fn_name, (size_t)block_rows * dim, sizeof(float));
        if (buf == NULL) {
            free_basis(ctx, m, &kb[kind]);
            st = IRLLREC_E_NOMEM;
            break;
        }
        for (int side = 0; side < 2 && st == IRLLREC_OK; side++) {
            gen_job g;
            int matrix = 2 * kind + side; /* usr_prf, itm_prf, usr_int, itm_int */
            outfile *o = &files[3 + matrix];
            memset(&g, 0, sizeof g);
            g.m = m;
            g.kb = &kb[kind];
            g.zpop = zpop;
            g.side = side;
            g.matrix = matrix;
            if ((st = open_tmp(ctx, o)) != IRLLREC_OK) break;
            st = write_matrix(ctx, m, o, &g, buf, block_rows);
            if (st == IRLLREC_OK) st = close_tmp(ctx, o);
        }
        irllrec__free(ctx, buf, (size_t)block_rows * dim * sizeof(float));
        free_basis(ctx, m, &kb[kind]);
    }
    irllrec__free(ctx, zpop, (size_t)m->spec.n_items * sizeof(double));
    return st;
}

/* ---- entry points ------------------------------------------------------ */

/* Removes the temporary files this call created and has not renamed (a
 * same-named file that was there before is not ours), then the names. */
static void free_paths(irllrec_ctx *ctx, outfile *files)
{
    for (int q = 0; q < N_FILES; q++) {
        irllrec__atomic_abort(&files[q].w);
        irllrec__free(ctx, files[q].path, files[q].cap);
    }
}

static irllrec_status make_paths(irllrec_ctx *ctx, const char *dir, outfile *files)
{
    size_t len = strlen(dir);
    memset(files, 0, N_FILES * sizeof *files);
    for (int q = 0; q < N_FILES; q++) {
        files[q].cap = len + strlen(file_names[q]) + 8;
        /* Fill each name as soon as it exists: free_paths may run after a
         * failure at any of these allocations. */
        files[q].path = (char *)irllrec__alloc_fn(ctx, fn_name, files[q].cap);
        if (files[q].path == NULL) return IRLLREC_E_NOMEM;
        snprintf(files[q].path, files[q].cap, "%s/%s", dir, file_names[q]);
    }
    return IRLLREC_OK;
}

static irllrec_status write_all(irllrec_ctx *ctx, const irllrec__synth *m, outfile *files)
{
    textbuf *tb = (textbuf *)irllrec__alloc_fn(ctx, fn_name, sizeof *tb);
    irllrec_status st = IRLLREC_OK;
    if (tb == NULL) return IRLLREC_E_NOMEM;
    for (int q = 0; q < 3 && st == IRLLREC_OK; q++) {
        if ((st = open_tmp(ctx, &files[q])) != IRLLREC_OK) break;
        st = write_split(ctx, m, &files[q], q, tb);
        if (st == IRLLREC_OK) st = close_tmp(ctx, &files[q]);
    }
    irllrec__free(ctx, tb, sizeof *tb);
    if (st == IRLLREC_OK) st = write_embeddings(ctx, m, files);
    if (st == IRLLREC_OK && (st = open_tmp(ctx, &files[7])) == IRLLREC_OK) {
        st = write_stats(ctx, m, &files[7]);
        if (st == IRLLREC_OK) st = close_tmp(ctx, &files[7]);
    }
    return st;
}

irllrec_status irllrec__synth_write_files(irllrec_ctx *ctx, const irllrec__synth *m,
                                          const char *dir)
{
    outfile files[N_FILES];
    irllrec_status st = make_paths(ctx, dir, files);
    if (st == IRLLREC_OK) st = write_all(ctx, m, files);
    for (int q = 0; q < N_FILES && st == IRLLREC_OK; q++) st = irllrec__atomic_commit(&files[q].w);
    free_paths(ctx, files);
    return st;
}

irllrec_status irllrec_x_synth_write(irllrec_ctx *ctx, const irllrec_x_synth_spec *spec,
                                   const char *dir)
{
    irllrec_x_synth_spec s;
    irllrec__synth *m = NULL;
    irllrec_status st;
    struct stat sb;
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(ctx, dir != NULL, IRLLREC_E_INVALID_ARG, "dir is NULL");
    IRL_TRY(irllrec__synth_resolve(ctx, __func__, spec, &s));
    /* Fail before the work, naming the folder. */
    if (stat(dir, &sb) != 0) return io_fail(ctx, "cannot use folder", dir, errno);
    IRL_CHECK(ctx, S_ISDIR(sb.st_mode), IRLLREC_E_IO, "'%s' is not a folder", dir);
    IRL_TRY(irllrec__synth_build(ctx, &s, &m));
    st = irllrec__synth_write_files(ctx, m, dir);
    irllrec__synth_free(ctx, m);
    return st;
}
