/* SIF weighting and common-component removal (Arora, Liang, Ma 2017). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "textembed.h"

void te_sif_weights(const te_corpus *c, int32_t vocab_n, double a, int mode, double *weights)
{
    int64_t total = mode == TE_COUNT_KNOWN ? c->known_tokens : c->total_tokens;
    for (int32_t w = 0; w < vocab_n; w++) {
        double p = total > 0 ? (double)c->word_count[w] / (double)total : 0.0;
        weights[w] = c->word_count[w] > 0 ? a / (a + p) : 1.0;
    }
}

int64_t te_sif_embed(const te_corpus *c, const te_vectors *v, const double *weights, float *out)
{
    int64_t empty = 0;
    size_t dim = (size_t)v->dim;
    double *acc = malloc(dim * sizeof *acc);
    if (acc == NULL) return -1;
    for (int64_t r = 0; r < c->n_rows; r++) {
        int64_t t = c->text_of_row[r], lo, hi;
        float *o = out + (size_t)r * dim;
        memset(o, 0, dim * sizeof *o);
        if (t < 0) continue;
        lo = c->tok_start[t];
        hi = c->tok_start[t + 1];
        if (hi == lo) {
            empty++;
            continue;
        }
        memset(acc, 0, dim * sizeof *acc);
        for (int64_t k = lo; k < hi; k++) {
            int32_t w = c->tok[k];
            const float *x = v->vec + (size_t)w * dim;
            double wt = weights[w];
            for (size_t j = 0; j < dim; j++) acc[j] += wt * (double)x[j];
        }
        for (size_t j = 0; j < dim; j++) o[j] = (float)(acc[j] / (double)(hi - lo));
    }
    free(acc);
    return empty;
}

static int row_is_zero(const float *x, int32_t dim)
{
    for (int32_t j = 0; j < dim; j++)
        if (x[j] != 0.0f) return 0;
    return 1;
}

int te_first_pc(const float *x, int64_t rows, int32_t dim, double *u)
{
    size_t d = (size_t)dim;
    double *cov = calloc(d * d, sizeof *cov);
    double *v = malloc(d * sizeof *v), *w = malloc(d * sizeof *w);
    double norm = 0.0, big = 0.0;
    int found = 0;
    if (cov == NULL || v == NULL || w == NULL) {
        free(cov);
        free(v);
        free(w);
        return -1;
    }
    /* Uncentred X^T X, as TruncatedSVD in the SIF paper's code: the common
     * direction includes the mean, which is exactly what should go. Zero rows
     * (gaps, texts without known words) add nothing, so including them is the
     * same as skipping them. */
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * d;
        if (row_is_zero(xr, dim)) continue;
        found = 1;
        for (size_t i = 0; i < d; i++) {
            double xi = (double)xr[i];
            double *ci = cov + i * d;
            for (size_t j = i; j < d; j++) ci[j] += xi * (double)xr[j];
        }
    }
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < i; j++) cov[i * d + j] = cov[j * d + i];
    if (found) {
        /* Start off every axis (a start orthogonal to u would find the wrong vector). */
        for (size_t i = 0; i < d; i++) v[i] = 1.0 + 0.5 * sin(1.0 + 2.0 * (double)i);
        for (int it = 0; it < 20000; it++) {
            double diff = 0.0;
            norm = 0.0;
            for (size_t i = 0; i < d; i++) {
                double s = 0.0;
                const double *ci = cov + i * d;
                for (size_t j = 0; j < d; j++) s += ci[j] * v[j];
                w[i] = s;
                norm += s * s;
            }
            norm = sqrt(norm);
            if (norm == 0.0) break;
            for (size_t i = 0; i < d; i++) {
                double t = w[i] / norm;
                diff += (t - v[i]) * (t - v[i]);
                v[i] = t;
            }
            if (diff < 1e-26) break;
        }
        if (norm == 0.0) {
            found = 0;
        } else {
            size_t arg = 0;
            for (size_t i = 0; i < d; i++)
                if (fabs(v[i]) > big) {
                    big = fabs(v[i]);
                    arg = i;
                }
            for (size_t i = 0; i < d; i++) u[i] = v[arg] < 0.0 ? -v[i] : v[i];
        }
    }
    free(cov);
    free(v);
    free(w);
    return found;
}

void te_remove_pc(float *x, int64_t rows, int32_t dim, const double *u)
{
    size_t d = (size_t)dim;
    for (int64_t r = 0; r < rows; r++) {
        float *xr = x + (size_t)r * d;
        double dot = 0.0;
        for (size_t j = 0; j < d; j++) dot += u[j] * (double)xr[j];
        if (dot == 0.0) continue;
        for (size_t j = 0; j < d; j++) xr[j] = (float)((double)xr[j] - dot * u[j]);
    }
}
