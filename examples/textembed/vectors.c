/* GloVe text-format reader. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "textembed.h"
#include "te_private.h"

void te__seterr(te_err *err, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL) return;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
}

static int is_sep(char c)
{
    return c == ' ' || c == '\t';
}

static int all_digits(const char *s, size_t n)
{
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

typedef struct rowbuf {
    float *v;
    size_t n, cap;
} rowbuf;

static int rowbuf_push(rowbuf *r, float x)
{
    if (r->n == r->cap) {
        size_t nc = r->cap == 0 ? 128 : r->cap * 2;
        float *p = realloc(r->v, nc * sizeof *p);
        if (p == NULL) return -1;
        r->v = p;
        r->cap = nc;
    }
    r->v[r->n++] = x;
    return 0;
}

/* Parse the values after the word. Returns 0, or -1 with err set. */
static int parse_values(const char *path, int64_t lineno, char *s, rowbuf *row, te_err *err,
                        int *nomem)
{
    row->n = 0;
    for (;;) {
        char *end;
        float x;
        while (is_sep(*s)) s++;
        if (*s == '\0') return 0;
        errno = 0;
        x = strtof(s, &end);
        if (end == s || (*end != '\0' && !is_sep(*end))) {
            size_t n = 0;
            while (s[n] != '\0' && !is_sep(s[n]) && n < 32) n++;
            te__seterr(err, "%s:%lld: value %zu is not a number ('%.*s')", path,
                       (long long)lineno, row->n + 1, (int)n, s);
            return -1;
        }
        if (!isfinite(x)) {
            te__seterr(err, "%s:%lld: value %zu is not finite ('%.*s')", path,
                       (long long)lineno, row->n + 1, (int)(end - s > 32 ? 32 : end - s), s);
            return -1;
        }
        if (rowbuf_push(row, x) != 0) {
            *nomem = 1;
            te__seterr(err, "%s:%lld: out of memory", path, (long long)lineno);
            return -1;
        }
        s = end;
    }
}

static irllrec_status add_row(te_vectors *v, size_t *vec_cap, const char *word, size_t wlen,
                              const rowbuf *row)
{
    int inserted;
    int32_t idx = te_strmap_intern(v->words, word, wlen, &inserted);
    if (idx < 0) return IRLLREC_E_NOMEM;
    if (!inserted) {
        v->duplicates++;
        return IRLLREC_OK;
    }
    if ((size_t)(idx + 1) * (size_t)v->dim > *vec_cap) {
        size_t nc = *vec_cap == 0 ? (size_t)v->dim * 1024 : *vec_cap * 2;
        float *p = realloc(v->vec, nc * sizeof *p);
        if (p == NULL) return IRLLREC_E_NOMEM;
        v->vec = p;
        *vec_cap = nc;
    }
    memcpy(v->vec + (size_t)idx * (size_t)v->dim, row->v, (size_t)v->dim * sizeof(float));
    v->n = idx + 1;
    return IRLLREC_OK;
}

irllrec_status te_vectors_load(const char *path, te_vectors *out, te_err *err)
{
    FILE *f;
    char *line = NULL;
    size_t line_cap = 0, vec_cap = 0;
    ssize_t got;
    int64_t lineno = 0;
    rowbuf row = {NULL, 0, 0};
    te_vectors v;
    irllrec_status st = IRLLREC_OK;

    memset(out, 0, sizeof *out);
    memset(&v, 0, sizeof v);
    f = fopen(path, "rb");
    if (f == NULL) {
        te__seterr(err, "%s: cannot open: %s", path, strerror(errno));
        return IRLLREC_E_IO;
    }
    v.words = te_strmap_create();
    if (v.words == NULL) {
        fclose(f);
        te__seterr(err, "%s: out of memory", path);
        return IRLLREC_E_NOMEM;
    }
    while ((got = getline(&line, &line_cap, f)) >= 0) {
        size_t n = (size_t)got, w = 0;
        char *s;
        int nomem = 0;
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
        if (memchr(line, '\0', n) != NULL) {
            te__seterr(err, "%s:%lld: NUL byte in line", path, (long long)lineno);
            st = IRLLREC_E_FORMAT;
            break;
        }
        s = line;
        while (is_sep(*s)) s++;
        if (*s == '\0') continue;
        while (s[w] != '\0' && !is_sep(s[w])) w++;
        if (parse_values(path, lineno, s + w, &row, err, &nomem) != 0) {
            st = nomem ? IRLLREC_E_NOMEM : IRLLREC_E_FORMAT;
            break;
        }
        /* word2vec text files start with "<count> <dim>". */
        if (lineno == 1 && row.n == 1 && all_digits(s, w) && row.v[0] == floorf(row.v[0]) &&
            row.v[0] >= 1.0f) {
            char *e = s + w;
            while (is_sep(*e)) e++;
            if (all_digits(e, strcspn(e, " \t"))) continue;
        }
        if (row.n == 0) {
            te__seterr(err, "%s:%lld: word '%.*s' has no values", path, (long long)lineno,
                       (int)(w > 64 ? 64 : w), s);
            st = IRLLREC_E_FORMAT;
            break;
        }
        if (v.dim == 0) {
            if (row.n > INT32_MAX) {
                te__seterr(err, "%s:%lld: too many values", path, (long long)lineno);
                st = IRLLREC_E_FORMAT;
                break;
            }
            v.dim = (int32_t)row.n;
        } else if (row.n != (size_t)v.dim) {
            te__seterr(err, "%s:%lld: expected %d values (from the first vector), got %zu", path,
                       (long long)lineno, v.dim, row.n);
            st = IRLLREC_E_FORMAT;
            break;
        }
        for (size_t i = 0; i < w; i++)
            if (s[i] >= 'A' && s[i] <= 'Z') s[i] = (char)(s[i] + ('a' - 'A'));
        st = add_row(&v, &vec_cap, s, w, &row);
        if (st != IRLLREC_OK) {
            te__seterr(err, "%s:%lld: out of memory", path, (long long)lineno);
            break;
        }
    }
    if (st == IRLLREC_OK && ferror(f)) {
        te__seterr(err, "%s: read error after line %lld", path, (long long)lineno);
        st = IRLLREC_E_IO;
    }
    if (st == IRLLREC_OK && v.n == 0) {
        te__seterr(err, "%s: no word vectors", path);
        st = IRLLREC_E_FORMAT;
    }
    free(line);
    free(row.v);
    fclose(f);
    if (st != IRLLREC_OK) {
        te_vectors_free(&v);
        return st;
    }
    *out = v;
    return IRLLREC_OK;
}

void te_vectors_free(te_vectors *v)
{
    if (v == NULL) return;
    te_strmap_free(v->words);
    free(v->vec);
    memset(v, 0, sizeof *v);
}
