/* Texts -> known-token lists and corpus counts. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "textembed.h"
#include "te_private.h"

#define TE_MAX_ID INT32_MAX

struct te_corpus_builder {
    const te_vectors *v;
    te_strmap *unknown;     /* distinct unknown tokens, for coverage */
    int64_t *row_text;      /* id -> text index or -1; row_cap entries */
    int64_t row_cap;
    int64_t max_id;
    int64_t *tok_start;     /* n_texts + 1 */
    int64_t *n_all;
    int64_t texts_cap;
    int32_t *tok;
    int64_t tok_len, tok_cap;
    int64_t *word_count;
    te_corpus c;            /* counters filled as texts arrive */
    int nomem;
};

te_corpus_builder *te_corpus_builder_create(const te_vectors *v)
{
    te_corpus_builder *b = calloc(1, sizeof *b);
    if (b == NULL) return NULL;
    b->v = v;
    b->max_id = -1;
    b->unknown = te_strmap_create();
    b->word_count = calloc((size_t)(v->n > 0 ? v->n : 1), sizeof *b->word_count);
    b->texts_cap = 256;
    b->tok_start = malloc((size_t)(b->texts_cap + 1) * sizeof *b->tok_start);
    b->n_all = malloc((size_t)b->texts_cap * sizeof *b->n_all);
    if (b->unknown == NULL || b->word_count == NULL || b->tok_start == NULL || b->n_all == NULL) {
        te_corpus_builder_free(b);
        return NULL;
    }
    b->tok_start[0] = 0;
    return b;
}

void te_corpus_builder_free(te_corpus_builder *b)
{
    if (b == NULL) return;
    te_strmap_free(b->unknown);
    free(b->row_text);
    free(b->tok_start);
    free(b->n_all);
    free(b->tok);
    free(b->word_count);
    free(b);
}

static int on_token(void *ud, const char *t, size_t n)
{
    te_corpus_builder *b = ud;
    int32_t w = te_strmap_find(b->v->words, t, n);
    b->c.total_tokens++;
    b->n_all[b->c.n_texts]++;
    if (w < 0) {
        if (te_strmap_intern(b->unknown, t, n, NULL) < 0) return b->nomem = 1;
        return 0;
    }
    if (b->tok_len == b->tok_cap) {
        int64_t nc = b->tok_cap == 0 ? 4096 : b->tok_cap * 2;
        int32_t *p = realloc(b->tok, (size_t)nc * sizeof *p);
        if (p == NULL) return b->nomem = 1;
        b->tok = p;
        b->tok_cap = nc;
    }
    b->tok[b->tok_len++] = w;
    if (b->word_count[w]++ == 0) b->c.known_types++;
    b->c.known_tokens++;
    return 0;
}

static int reserve_rows(te_corpus_builder *b, int64_t id)
{
    int64_t nc;
    int64_t *p;
    if (id < b->row_cap) return 0;
    nc = b->row_cap == 0 ? 1024 : b->row_cap;
    while (nc <= id) nc = nc > TE_MAX_ID / 2 ? (int64_t)TE_MAX_ID + 1 : nc * 2;
    p = realloc(b->row_text, (size_t)nc * sizeof *p);
    if (p == NULL) return -1;
    for (int64_t i = b->row_cap; i < nc; i++) p[i] = -1;
    b->row_text = p;
    b->row_cap = nc;
    return 0;
}

static int reserve_texts(te_corpus_builder *b)
{
    int64_t nc = b->texts_cap * 2;
    int64_t *s, *a;
    if (b->c.n_texts < b->texts_cap) return 0;
    s = realloc(b->tok_start, (size_t)(nc + 1) * sizeof *s);
    if (s == NULL) return -1;
    b->tok_start = s;
    a = realloc(b->n_all, (size_t)nc * sizeof *a);
    if (a == NULL) return -1;
    b->n_all = a;
    b->texts_cap = nc;
    return 0;
}

irllrec_status te_corpus_add(te_corpus_builder *b, int64_t id, const char *text, size_t len,
                             te_err *err)
{
    int64_t t = b->c.n_texts;
    if (id < 0 || id > TE_MAX_ID) {
        te__seterr(err, "id %lld out of range [0, %d]", (long long)id, TE_MAX_ID);
        return IRLLREC_E_FORMAT;
    }
    if (reserve_rows(b, id) != 0 || reserve_texts(b) != 0) {
        te__seterr(err, "out of memory");
        return IRLLREC_E_NOMEM;
    }
    if (b->row_text[id] >= 0) {
        te__seterr(err, "id %lld appears twice", (long long)id);
        return IRLLREC_E_FORMAT;
    }
    b->n_all[t] = 0;
    if (te_tokenize(text, len, on_token, b) != 0 || b->nomem) {
        te__seterr(err, "out of memory");
        return IRLLREC_E_NOMEM;
    }
    b->row_text[id] = t;
    if (id > b->max_id) b->max_id = id;
    b->c.n_texts = t + 1;
    b->tok_start[t + 1] = b->tok_len;
    return IRLLREC_OK;
}

irllrec_status te_corpus_finish(te_corpus_builder *b, int64_t rows, te_corpus *out,
                                te_err *err)
{
    te_corpus c;
    memset(out, 0, sizeof *out);
    if (rows < 0 && b->max_id < 0) {
        te__seterr(err, "no texts (and no row count given)");
        te_corpus_builder_free(b);
        return IRLLREC_E_FORMAT;
    }
    if (rows >= 0 && b->max_id >= rows) {
        te__seterr(err, "id %lld does not fit in %lld rows", (long long)b->max_id,
                   (long long)rows);
        te_corpus_builder_free(b);
        return IRLLREC_E_SHAPE;
    }
    c = b->c;
    c.n_rows = rows >= 0 ? rows : b->max_id + 1;
    c.types = c.known_types + te_strmap_size(b->unknown);
    c.text_of_row = malloc((size_t)(c.n_rows > 0 ? c.n_rows : 1) * sizeof *c.text_of_row);
    if (c.text_of_row == NULL) {
        te__seterr(err, "out of memory for %lld rows", (long long)c.n_rows);
        te_corpus_builder_free(b);
        return IRLLREC_E_NOMEM;
    }
    for (int64_t r = 0; r < c.n_rows; r++) c.text_of_row[r] = r < b->row_cap ? b->row_text[r] : -1;
    c.tok_start = b->tok_start;
    c.n_all = b->n_all;
    c.tok = b->tok;
    c.word_count = b->word_count;
    b->tok_start = NULL;
    b->n_all = NULL;
    b->tok = NULL;
    b->word_count = NULL;
    te_corpus_builder_free(b);
    *out = c;
    return IRLLREC_OK;
}

void te_corpus_free(te_corpus *c)
{
    if (c == NULL) return;
    free(c->text_of_row);
    free(c->tok_start);
    free(c->tok);
    free(c->n_all);
    free(c->word_count);
    memset(c, 0, sizeof *c);
}

/* Parse "<digits>" with optional surrounding spaces; -1 when malformed. */
static int64_t parse_id(const char *s, size_t n)
{
    int64_t id = 0;
    size_t i = 0;
    while (i < n && s[i] == ' ') i++;
    if (i == n || s[i] < '0' || s[i] > '9') return -1;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        id = id * 10 + (s[i] - '0');
        if (id > TE_MAX_ID) return -2;
    }
    while (i < n && s[i] == ' ') i++;
    return i == n ? id : -1;
}

irllrec_status te_corpus_load_tsv(const char *path, const te_vectors *v, int64_t rows,
                                  te_corpus *out, te_err *err)
{
    FILE *f;
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int64_t lineno = 0;
    irllrec_status st = IRLLREC_OK;
    te_corpus_builder *b;
    te_err sub;

    memset(out, 0, sizeof *out);
    f = fopen(path, "rb");
    if (f == NULL) {
        te__seterr(err, "%s: cannot open: %s", path, strerror(errno));
        return IRLLREC_E_IO;
    }
    b = te_corpus_builder_create(v);
    if (b == NULL) {
        fclose(f);
        te__seterr(err, "%s: out of memory", path);
        return IRLLREC_E_NOMEM;
    }
    while ((got = getline(&line, &cap, f)) >= 0) {
        size_t n = (size_t)got, k;
        char *tab;
        int64_t id;
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
        k = 0;
        while (k < n && (line[k] == ' ' || line[k] == '\t')) k++;
        if (k == n) continue;
        tab = memchr(line, '\t', n);
        /* A bare id is an empty text: some writers drop the trailing tab. */
        k = tab ? (size_t)(tab - line) : n;
        id = parse_id(line, k);
        if (id < 0) {
            te__seterr(err, "%s:%lld: %s", path, (long long)lineno,
                       id == -2 ? "id larger than 2147483647"
                                : tab ? "the field before the tab is not a non-negative integer id"
                                      : "no tab between id and text");
            st = IRLLREC_E_FORMAT;
            break;
        }
        st = tab ? te_corpus_add(b, id, tab + 1, n - k - 1, &sub) : te_corpus_add(b, id, "", 0, &sub);
        if (st != IRLLREC_OK) {
            te__seterr(err, "%s:%lld: %s", path, (long long)lineno, sub.msg);
            break;
        }
    }
    if (st == IRLLREC_OK && ferror(f)) {
        te__seterr(err, "%s: read error after line %lld", path, (long long)lineno);
        st = IRLLREC_E_IO;
    }
    free(line);
    fclose(f);
    if (st != IRLLREC_OK) {
        te_corpus_builder_free(b);
        return st;
    }
    st = te_corpus_finish(b, rows, out, &sub);
    if (st != IRLLREC_OK) te__seterr(err, "%s: %s", path, sub.msg);
    return st;
}
