/* Rows files, ranked-list metrics (docs/evaluation.md), a seeded generator,
 * JSON output: see cs_common.h. */
#include "cs_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const int32_t CS_K[CS_KS] = {5, 10, 20};

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Whitespace-separated non-negative ints of a file, with the line each starts. */
static int64_t read_tokens(const char *path, int64_t **vals, int64_t **lines)
{
    FILE *f = fopen(path, "r");
    int64_t n = 0, cap = 1024, line = 0;
    int ch, in = 0;
    int64_t cur = 0;
    if (f == NULL) {
        fprintf(stderr, "coldstart: cannot read %s\n", path);
        return -1;
    }
    *vals = (int64_t *)malloc((size_t)cap * sizeof(int64_t));
    *lines = (int64_t *)malloc((size_t)cap * sizeof(int64_t));
    while (*vals && *lines) {
        ch = fgetc(f);
        if (ch >= '0' && ch <= '9') {
            cur = in ? cur * 10 + (ch - '0') : ch - '0';
            in = 1;
            continue;
        }
        if (in) {
            if (n == cap) {
                cap *= 2;
                *vals = (int64_t *)realloc(*vals, (size_t)cap * sizeof(int64_t));
                *lines = (int64_t *)realloc(*lines, (size_t)cap * sizeof(int64_t));
                if (!*vals || !*lines) break;
            }
            (*vals)[n] = cur;
            (*lines)[n++] = line;
            in = 0;
        }
        if (ch == '\n') line++;
        if (ch == EOF) break;
    }
    fclose(f);
    if (!*vals || !*lines) return -1;
    return n;
}

int cs_rows_read(const char *path, int64_t n_rows, int64_t n_cols, cs_rows *out)
{
    int64_t *v = NULL, *ln = NULL, n = read_tokens(path, &v, &ln), nnz = 0, at = 0;
    int64_t *fill;
    memset(out, 0, sizeof *out);
    if (n < 0) goto fail;
    out->n_rows = n_rows;
    out->indptr = (int64_t *)calloc((size_t)n_rows + 1, sizeof(int64_t));
    out->indices = (int32_t *)malloc((size_t)(n > 0 ? n : 1) * sizeof(int32_t));
    if (!out->indptr || !out->indices) goto fail;
    for (int64_t k = 0; k < n; k++) { /* the first token of a line is its user */
        int64_t u = (k == 0 || ln[k] != ln[k - 1]) ? v[k] : -1;
        if (u >= n_rows) goto fail;
        if (u < 0 && (v[k] >= n_cols)) goto fail;
    }
    for (int64_t k = 0, u = -1; k < n; k++) {
        if (k == 0 || ln[k] != ln[k - 1]) u = v[k];
        else out->indptr[u + 1]++, nnz++;
    }
    for (int64_t r = 0; r < n_rows; r++) out->indptr[r + 1] += out->indptr[r];
    fill = (int64_t *)malloc((size_t)n_rows * sizeof(int64_t));
    if (fill == NULL) goto fail;
    memcpy(fill, out->indptr, (size_t)n_rows * sizeof(int64_t));
    for (int64_t k = 0, u = -1; k < n; k++) {
        if (k == 0 || ln[k] != ln[k - 1]) u = v[k];
        else out->indices[fill[u]++] = (int32_t)v[k], at++;
    }
    free(fill);
    for (int64_t r = 0; r < n_rows; r++)
        qsort(out->indices + out->indptr[r], (size_t)(out->indptr[r + 1] - out->indptr[r]),
              sizeof(int32_t), cmp_i32);
    free(v);
    free(ln);
    return at == nnz ? 0 : -1;
fail:
    fprintf(stderr, "coldstart: %s: unreadable or an id out of range\n", path);
    free(v);
    free(ln);
    cs_rows_free(out);
    return -1;
}

void cs_rows_free(cs_rows *r)
{
    free(r->indptr);
    free(r->indices);
    memset(r, 0, sizeof *r);
}

int64_t cs_read_ints(const char *path, int32_t **out)
{
    int64_t *v = NULL, *ln = NULL, n = read_tokens(path, &v, &ln);
    *out = NULL;
    if (n >= 0) *out = (int32_t *)malloc((size_t)(n > 0 ? n : 1) * sizeof(int32_t));
    if (*out == NULL) n = -1;
    for (int64_t k = 0; k < n; k++) (*out)[k] = (int32_t)v[k];
    free(v);
    free(ln);
    return n;
}

int64_t cs_read_floats(const char *path, float **out)
{
    FILE *f = fopen(path, "r");
    int64_t n = 0, cap = 1024;
    double x;
    *out = (float *)malloc((size_t)cap * sizeof(float));
    if (f == NULL || *out == NULL) {
        if (f) fclose(f);
        fprintf(stderr, "coldstart: cannot read %s\n", path);
        return -1;
    }
    while (fscanf(f, "%lf", &x) == 1) {
        if (n == cap) {
            float *g = (float *)realloc(*out, (size_t)(cap *= 2) * sizeof(float));
            if (g == NULL) break;
            *out = g;
        }
        (*out)[n++] = (float)x;
    }
    fclose(f);
    return n;
}

static int in_row(const cs_rows *t, int64_t u, int32_t id)
{
    const int32_t *b = t->indices + t->indptr[u], *e = t->indices + t->indptr[u + 1];
    return bsearch(&id, b, (size_t)(e - b), sizeof(int32_t), cmp_i32) != NULL;
}

static double idcg(int64_t n)
{
    double s = 0.0;
    for (int64_t r = 1; r <= n; r++) s += 1.0 / log2((double)r + 1.0);
    return s;
}

void cs_score(const int32_t *ids, int32_t k, const cs_rows *truth, cs_metrics *out,
              double *per_user)
{
    memset(out, 0, sizeof *out);
    for (int64_t u = 0; u < truth->n_rows; u++) {
        int64_t nt = truth->indptr[u + 1] - truth->indptr[u];
        double hits = 0.0, dcg = 0.0;
        int32_t j = 0;
        if (nt == 0) continue;
        for (int c = 0; c < CS_KS; c++) {
            for (; j < CS_K[c] && j < k; j++) {
                int32_t id = ids[u * k + j];
                if (id >= 0 && in_row(truth, u, id)) {
                    hits += 1.0;
                    dcg += 1.0 / log2((double)j + 2.0);
                }
            }
            out->recall[c] += hits / (double)nt;
            out->ndcg[c] += dcg / idcg(nt < CS_K[c] ? nt : CS_K[c]);
            if (per_user) per_user[u * CS_KS + c] = hits / (double)nt;
        }
        out->n_users++;
    }
    for (int c = 0; c < CS_KS && out->n_users > 0; c++) {
        out->recall[c] /= (double)out->n_users;
        out->ndcg[c] /= (double)out->n_users;
    }
}

/* Each rank holds a positive with probability nt / n: E[hits@K] = K nt / n,
 * E[DCG@K] = (nt / n) sum_{r <= K} 1 / log2(r + 1). */
void cs_score_random_expectation(int64_t n_cand, const cs_rows *truth, cs_metrics *out)
{
    memset(out, 0, sizeof *out);
    for (int64_t u = 0; u < truth->n_rows; u++) {
        int64_t nt = truth->indptr[u + 1] - truth->indptr[u];
        double p = (double)nt / (double)n_cand;
        if (nt == 0) continue;
        for (int c = 0; c < CS_KS; c++) {
            int64_t kk = CS_K[c] < n_cand ? CS_K[c] : n_cand;
            out->recall[c] += (double)kk * p / (double)nt;
            out->ndcg[c] += p * idcg(kk) / idcg(nt < CS_K[c] ? nt : CS_K[c]);
        }
        out->n_users++;
    }
    for (int c = 0; c < CS_KS && out->n_users > 0; c++) {
        out->recall[c] /= (double)out->n_users;
        out->ndcg[c] /= (double)out->n_users;
    }
}

uint64_t cs_rand(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

int64_t cs_rand_below(uint64_t *state, int64_t n)
{
    /* rejection keeps it uniform: n is small here, the loop almost never repeats */
    uint64_t lim = UINT64_MAX - UINT64_MAX % (uint64_t)n, x;
    do x = cs_rand(state);
    while (x >= lim);
    return (int64_t)(x % (uint64_t)n);
}

void cs_json_metrics(FILE *f, const char *name, const cs_metrics *m)
{
    fprintf(f, "\"%s\": {", name);
    for (int c = 0; c < CS_KS; c++)
        fprintf(f, "\"recall@%d\": %.6f, \"ndcg@%d\": %.6f, ", CS_K[c], m->recall[c], CS_K[c],
                m->ndcg[c]);
    fprintf(f, "\"n_users\": %lld}", (long long)m->n_users);
}
