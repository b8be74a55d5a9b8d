/* irllrec-textembed: one SIF sentence embedding per (id, text) line.
 *
 *   irllrec-textembed --vectors glove.txt --input texts.tsv --output out.npy
 *                     [--rows N] [--a 1e-3] [--npc 1|0] [--count all|known] [--quiet]
 *
 * See docs/text-embeddings.md for what is computed and why. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "textembed.h"

static const char usage[] =
    "usage: irllrec-textembed --vectors FILE --input FILE.tsv --output FILE.npy [options]\n"
    "  --vectors FILE   GloVe text format: 'word v1 ... vD' per line (D from line 1)\n"
    "  --input FILE     'id<TAB>text' per line, ids 0..n-1 (gaps become zero rows)\n"
    "  --output FILE    float32 .npy, rows x D\n"
    "  --rows N         number of rows, >= 1 (default: largest id + 1)\n"
    "  --a A            SIF smoothing a in a/(a+p(w)) (default 1e-3)\n"
    "  --npc 0|1        remove the first principal component (default 1)\n"
    "  --count all|known  p(w) over all tokens of the input (default) or known ones only\n"
    "  --quiet          only errors and the no-known-word warning on stderr\n";

typedef struct opts {
    const char *vectors, *input, *output;
    int64_t rows;
    double a;
    int npc, count, quiet;
} opts;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int parse_args(int argc, char **argv, opts *o)
{
    o->vectors = o->input = o->output = NULL;
    o->rows = -1;
    o->a = 1e-3;
    o->npc = 1;
    o->count = TE_COUNT_ALL;
    o->quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        char *end;
        if (strcmp(k, "--help") == 0 || strcmp(k, "-h") == 0) {
            fputs(usage, stdout);
            exit(0);
        }
        if (strcmp(k, "--quiet") == 0) {
            o->quiet = 1;
            continue;
        }
        if (val == NULL) {
            fprintf(stderr, "irllrec-textembed: %s needs a value (or is unknown)\n%s", k, usage);
            return -1;
        }
        i++;
        errno = 0;
        if (strcmp(k, "--vectors") == 0) {
            o->vectors = val;
        } else if (strcmp(k, "--input") == 0) {
            o->input = val;
        } else if (strcmp(k, "--output") == 0) {
            o->output = val;
        } else if (strcmp(k, "--rows") == 0) {
            long long r = strtoll(val, &end, 10);
            if (errno || *end || end == val || r < 1 || r > INT32_MAX) goto bad;
            o->rows = r;
        } else if (strcmp(k, "--a") == 0) {
            o->a = strtod(val, &end);
            if (errno || *end || end == val || !(o->a > 0.0) || !isfinite(o->a)) goto bad;
        } else if (strcmp(k, "--npc") == 0) {
            if (strcmp(val, "0") != 0 && strcmp(val, "1") != 0) goto bad;
            o->npc = val[0] - '0';
        } else if (strcmp(k, "--count") == 0) {
            if (strcmp(val, "all") == 0)
                o->count = TE_COUNT_ALL;
            else if (strcmp(val, "known") == 0)
                o->count = TE_COUNT_KNOWN;
            else
                goto bad;
        } else {
            fprintf(stderr, "irllrec-textembed: unknown option %s\n%s", k, usage);
            return -1;
        }
        continue;
    bad:
        fprintf(stderr, "irllrec-textembed: bad value for %s: '%s'\n", k, val);
        return -1;
    }
    if (!o->vectors || !o->input || !o->output) {
        fprintf(stderr, "irllrec-textembed: --vectors, --input and --output are required\n%s",
                usage);
        return -1;
    }
    return 0;
}

static double pct(int64_t a, int64_t b)
{
    return b > 0 ? 100.0 * (double)a / (double)b : 0.0;
}

int main(int argc, char **argv)
{
    opts o;
    te_vectors v;
    te_corpus c;
    te_err err;
    double t0 = now(), *weights = NULL, *u = NULL, total_sq = 0.0, pc_sq = 0.0;
    float *x = NULL;
    int64_t empty, gaps = 0;
    int rc = 1;

    if (parse_args(argc, argv, &o) != 0) return 2;
    if (te_vectors_load(o.vectors, &v, &err) != IRLLREC_OK) {
        fprintf(stderr, "irllrec-textembed: %s\n", err.msg);
        return 1;
    }
    if (te_corpus_load_tsv(o.input, &v, o.rows, &c, &err) != IRLLREC_OK) {
        fprintf(stderr, "irllrec-textembed: %s\n", err.msg);
        te_vectors_free(&v);
        return 1;
    }
    weights = malloc((size_t)v.n * sizeof *weights);
    u = calloc((size_t)v.dim, sizeof *u);
    x = malloc((size_t)(c.n_rows > 0 ? c.n_rows : 1) * (size_t)v.dim * sizeof *x);
    if (weights == NULL || u == NULL || x == NULL) {
        fprintf(stderr, "irllrec-textembed: out of memory for %lld x %d\n", (long long)c.n_rows,
                v.dim);
        goto done;
    }
    te_sif_weights(&c, v.n, o.a, o.count, weights);
    empty = te_sif_embed(&c, &v, weights, x);
    if (empty < 0) {
        fprintf(stderr, "irllrec-textembed: out of memory\n");
        goto done;
    }
    if (o.npc) {
        int found = te_first_pc(x, c.n_rows, v.dim, u);
        if (found < 0) {
            fprintf(stderr, "irllrec-textembed: out of memory\n");
            goto done;
        }
        if (found) {
            for (int64_t r = 0; r < c.n_rows; r++) {
                const float *xr = x + (size_t)r * (size_t)v.dim;
                double dot = 0.0;
                for (int32_t j = 0; j < v.dim; j++) {
                    dot += u[j] * (double)xr[j];
                    total_sq += (double)xr[j] * (double)xr[j];
                }
                pc_sq += dot * dot;
            }
            te_remove_pc(x, c.n_rows, v.dim, u);
        }
    }
    if (te_write_npy(o.output, x, c.n_rows, v.dim, &err) != IRLLREC_OK) {
        fprintf(stderr, "irllrec-textembed: %s\n", err.msg);
        goto done;
    }
    for (int64_t r = 0; r < c.n_rows; r++) gaps += c.text_of_row[r] < 0;
    if (empty > 0)
        fprintf(stderr, "irllrec-textembed: warning: %lld of %lld texts had no known word\n",
                (long long)empty, (long long)c.n_texts);
    if (!o.quiet) {
        fprintf(stderr,
                "irllrec-textembed: %s: %lld texts -> %s (%lld x %d, %lld rows without a text)\n"
                "irllrec-textembed: vectors: %d words of dim %d (%lld duplicate lines ignored)\n"
                "irllrec-textembed: tokens: %lld, in vocabulary %lld (%.1f%%); distinct: %lld, "
                "in vocabulary %lld (%.1f%%)\n",
                o.input, (long long)c.n_texts, o.output, (long long)c.n_rows, v.dim,
                (long long)gaps, v.n, v.dim, (long long)v.duplicates, (long long)c.total_tokens,
                (long long)c.known_tokens, pct(c.known_tokens, c.total_tokens),
                (long long)c.types, (long long)c.known_types, pct(c.known_types, c.types));
        if (o.npc)
            fprintf(stderr,
                    "irllrec-textembed: first principal component removed (%.1f%% of the squared "
                    "norm); a = %g, p(w) over %s tokens; %.2f s\n",
                    total_sq > 0.0 ? 100.0 * pc_sq / total_sq : 0.0, o.a,
                    o.count == TE_COUNT_ALL ? "all" : "known", now() - t0);
        else
            fprintf(stderr, "irllrec-textembed: a = %g, p(w) over %s tokens; %.2f s\n", o.a,
                    o.count == TE_COUNT_ALL ? "all" : "known", now() - t0);
    }
    rc = 0;
done:
    free(weights);
    free(u);
    free(x);
    te_corpus_free(&c);
    te_vectors_free(&v);
    return rc;
}
