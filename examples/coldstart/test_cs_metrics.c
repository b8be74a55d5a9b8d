/* Tests of cs_metrics.c: the rows reader, Recall/NDCG of ranked lists against
 * hand-computed values, the random expectation against seeded shuffles. */
#include "cs_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                        \
        }                                                                      \
    } while (0)

static int near(double a, double b, double tol) { return fabs(a - b) <= tol; }

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) exit(2);
    fputs(text, f);
    fclose(f);
}

static void test_rows(const char *dir)
{
    char path[4096];
    cs_rows r;
    snprintf(path, sizeof path, "%s/rows.txt", dir);
    write_file(path, "0 3 1\n2 5\n0 4\n1\n");
    CHECK(cs_rows_read(path, 3, 6, &r) == 0);
    CHECK(r.indptr[1] == 3 && r.indptr[2] == 3 && r.indptr[3] == 4);
    CHECK(r.indices[0] == 1 && r.indices[1] == 3 && r.indices[2] == 4 && r.indices[3] == 5);
    cs_rows_free(&r);
    write_file(path, "0 3 6\n");   /* item 6 of 6 items: out of range */
    CHECK(cs_rows_read(path, 3, 6, &r) != 0);
    write_file(path, "3 1\n");     /* user 3 of 3 */
    CHECK(cs_rows_read(path, 3, 6, &r) != 0);
}

static void test_score(const char *dir)
{
    char path[4096];
    cs_rows t;
    cs_metrics m;
    int32_t ids[3 * 20];
    double per[3 * CS_KS];
    const double l2 = 1.0, l3 = 1.0 / log2(3.0), l4 = 0.5;
    for (int k = 0; k < 60; k++) ids[k] = -1;
    ids[0] = 3, ids[1] = 9, ids[2] = 1;           /* user 0: hits at ranks 1 and 3 */
    ids[2 * 20 + 7] = 5;                          /* user 2: hit at rank 8 */
    snprintf(path, sizeof path, "%s/truth.txt", dir);
    write_file(path, "0 1 3 4\n2 5\n");
    CHECK(cs_rows_read(path, 3, 10, &t) == 0);
    cs_score(ids, 20, &t, &m, per);
    CHECK(m.n_users == 2);
    CHECK(near(m.recall[0], (2.0 / 3.0 + 0.0) / 2.0, 1e-12));
    CHECK(near(m.recall[1], (2.0 / 3.0 + 1.0) / 2.0, 1e-12));
    CHECK(near(m.ndcg[0], ((l2 + l4) / (l2 + l3 + l4) + 0.0) / 2.0, 1e-12));
    CHECK(near(m.ndcg[1], ((l2 + l4) / (l2 + l3 + l4) + 1.0 / log2(9.0)) / 2.0, 1e-12));
    CHECK(near(per[2 * CS_KS + 1], 1.0, 1e-12) && near(per[2 * CS_KS + 0], 0.0, 1e-12));
    cs_rows_free(&t);
}

static void test_random(const char *dir)
{
    char path[4096];
    cs_rows t;
    cs_metrics ex, m, sum;
    const int64_t C = 30, U = 4, draws = 4000;
    int32_t *ids = (int32_t *)malloc((size_t)(U * 20) * sizeof(int32_t)), perm[30];
    uint64_t s = 7;
    snprintf(path, sizeof path, "%s/truth.txt", dir);
    write_file(path, "0 1 2 3\n1 7\n3 0 4 5 6 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23\n");
    CHECK(ids && cs_rows_read(path, U, C, &t) == 0);
    cs_score_random_expectation(C, &t, &ex);
    CHECK(ex.n_users == 3);
    CHECK(near(ex.recall[2], 20.0 / 30.0, 1e-12));
    memset(&sum, 0, sizeof sum);
    for (int64_t d = 0; ids && d < draws; d++) {
        for (int64_t u = 0; u < U; u++) {
            for (int c = 0; c < C; c++) perm[c] = c;
            for (int c = 0; c < 20; c++) {
                int64_t j = c + cs_rand_below(&s, C - c);
                int32_t x = perm[c];
                perm[c] = perm[j];
                perm[j] = x;
                ids[u * 20 + c] = perm[c];
            }
        }
        cs_score(ids, 20, &t, &m, NULL);
        for (int c = 0; c < CS_KS; c++) {
            sum.recall[c] += m.recall[c] / draws;
            sum.ndcg[c] += m.ndcg[c] / draws;
        }
    }
    for (int c = 0; c < CS_KS; c++) {
        CHECK(near(sum.recall[c], ex.recall[c], 0.01));
        CHECK(near(sum.ndcg[c], ex.ndcg[c], 0.01));
    }
    for (int k = 0; k < 1000; k++) {
        int64_t v = cs_rand_below(&s, 3);
        CHECK(v >= 0 && v < 3);
    }
    cs_rows_free(&t);
    free(ids);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    test_rows(dir);
    test_score(dir);
    test_random(dir);
    if (failures) fprintf(stderr, "test_cs_metrics: %d failures\n", failures);
    else fprintf(stderr, "test_cs_metrics: ok\n");
    return failures ? 1 : 0;
}
