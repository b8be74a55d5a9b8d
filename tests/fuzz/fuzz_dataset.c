/* libFuzzer target: arbitrary bytes as a LightGCN-format data folder through
 * irllrec_x_dataset_load() (lib/data/parse.c: the interaction text and
 * stats.json).
 *
 * Input layout: the bytes before the first NUL are stats.json, the bytes
 * after it train.txt; with no NUL there is no stats.json and the whole input
 * is train.txt. The files go to one temporary folder made on the first call.
 * Invariants (abort on violation): a failure returns E_FORMAT, E_SHAPE or
 * E_NOMEM, sets the output to NULL and leaves a message; a success has
 * n_users, n_items >= 1 within the documented cap and a train CSR whose ids
 * are in range. */
#define _POSIX_C_SOURCE 200809L
#ifndef IRLLREC_EXPERIMENTAL_API
#define IRLLREC_EXPERIMENTAL_API
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "irllrec/irllrec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int cond)
{
    if (!cond) abort();
}

static char dir[64];

static void put(const char *name, const uint8_t *p, size_t n)
{
    char path[128];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "wb");
    require(f != NULL);
    require(n == 0 || fwrite(p, 1, n, f) == n);
    require(fclose(f) == 0);
}

static void drop(const char *name)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    (void)remove(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    irllrec_ctx *ctx = NULL;
    irllrec_x_dataset *ds = (irllrec_x_dataset *)&ctx;
    irllrec_status st;
    const uint8_t *nul = size ? (const uint8_t *)memchr(data, 0, size) : NULL;
    if (dir[0] == '\0') {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/irlds-XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
        require(mkdtemp(dir) != NULL);
    }
    if (nul != NULL) {
        put("stats.json", data, (size_t)(nul - data));
        put("train.txt", nul + 1, size - (size_t)(nul - data) - 1);
    } else {
        drop("stats.json");
        put("train.txt", data, size);
    }
    require(irllrec_ctx_create(NULL, &ctx) == IRLLREC_OK);
    st = irllrec_x_dataset_load(ctx, dir, &ds);
    if (st != IRLLREC_OK) {
        require(st == IRLLREC_E_FORMAT || st == IRLLREC_E_SHAPE || st == IRLLREC_E_NOMEM);
        require(ds == NULL);
        require(irllrec_ctx_errmsg(ctx)[0] != '\0');
    } else {
        irllrec_csr c;
        int64_t U = irllrec_x_dataset_n_users(ds), I = irllrec_x_dataset_n_items(ds);
        require(ds != NULL && U >= 1 && I >= 1);
        require(U <= IRLLREC_X_DATASET_MAX_SIDE && I <= IRLLREC_X_DATASET_MAX_SIDE);
        require(irllrec_x_dataset_user_items(ds, IRLLREC_SPLIT_TRAIN, &c) == IRLLREC_OK);
        require(c.n_rows == U && c.indptr[0] == 0);
        for (int64_t r = 0; r < c.n_rows; r++) {
            require(c.indptr[r + 1] >= c.indptr[r]);
            for (int64_t k = c.indptr[r]; k < c.indptr[r + 1]; k++)
                require(c.indices[k] >= 0 && c.indices[k] < I);
        }
        irllrec_x_dataset_free(ds);
    }
    irllrec_ctx_free(ctx);
    return 0;
}
