/* Data: the LightGCN text parser, stats.json, CSR in both directions,
 * from_pairs, and the real Amazon-book split when ../shared/data has it. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "internal.h"
#include "helpers/testutil.h"

/* Write the files of a dataset folder; NULL skips a file. */
static char *make_dir(const char *train, const char *val, const char *test, const char *stats)
{
    char *dir = tu_tmpdir();
    char p[4096];
    const char *names[4] = {"train.txt", "val.txt", "test.txt", "stats.json"};
    const char *texts[4] = {train, val, test, stats};
    for (int k = 0; k < 4; k++) {
        if (texts[k] == NULL) continue;
        tu_join(p, sizeof p, dir, names[k]);
        ck_assert_int_eq(tu_write_file(p, texts[k]), 0);
    }
    return dir;
}

static void assert_row(const irllrec_csr *c, int64_t r, const int32_t *want, int64_t n)
{
    ck_assert_int_eq(c->indptr[r + 1] - c->indptr[r], n);
    for (int64_t k = 0; k < n; k++) ck_assert_int_eq(c->indices[c->indptr[r] + k], want[k]);
}

/* Every (u, i) of the user view is in the item view and the counts agree;
 * both views have strictly ascending rows and well-formed indptr. */
static void assert_consistent(const irllrec_x_dataset *ds)
{
    for (int32_t s = 0; s < 3; s++) {
        irllrec_csr ui, iu;
        ck_assert_int_eq(irllrec_x_dataset_user_items(ds, s, &ui), IRLLREC_OK);
        ck_assert_int_eq(irllrec_x_dataset_item_users(ds, s, &iu), IRLLREC_OK);
        ck_assert_int_eq(ui.nnz, iu.nnz);
        ck_assert_int_eq(ui.n_rows, iu.n_cols);
        ck_assert_int_eq(ui.n_cols, iu.n_rows);
        ck_assert_int_eq(ui.indptr[0], 0);
        ck_assert_int_eq(iu.indptr[0], 0);
        ck_assert_int_eq(ui.indptr[ui.n_rows], ui.nnz);
        ck_assert_int_eq(iu.indptr[iu.n_rows], iu.nnz);
        for (int64_t r = 0; r < iu.n_rows; r++)
            for (int64_t q = iu.indptr[r] + 1; q < iu.indptr[r + 1]; q++)
                ck_assert_int_lt(iu.indices[q - 1], iu.indices[q]);
        for (int64_t u = 0; u < ui.n_rows; u++) {
            for (int64_t q = ui.indptr[u]; q < ui.indptr[u + 1]; q++) {
                int32_t i = ui.indices[q];
                int found = 0;
                if (q > ui.indptr[u]) ck_assert_int_lt(ui.indices[q - 1], i);
                ck_assert(i >= 0 && i < ui.n_cols);
                for (int64_t p = iu.indptr[i]; p < iu.indptr[i + 1]; p++)
                    found |= iu.indices[p] == (int32_t)u;
                ck_assert(found);
            }
        }
    }
}

START_TEST(load_good_folder)
{
    /* CRLF, trailing spaces and tabs, a blank line, a user with no items,
     * a user split over two lines, unsorted and repeated items. */
    char *dir = make_dir("0 1 2\r\n1 0 \n\n2\n0 2 4 1\t\n3 4 0 4", "1 3\n", NULL,
                         "{\"n_users\": 5, \"n_items\": 6}");
    irllrec_ctx *ctx = tu_ctx();
    irllrec_x_dataset *ds = NULL;
    irllrec_csr c;
    ck_assert_int_eq(irllrec_x_dataset_load(ctx, dir, &ds), IRLLREC_OK);
    ck_assert_int_eq(irllrec_x_dataset_n_users(ds), 5);
    ck_assert_int_eq(irllrec_x_dataset_n_items(ds), 6);
    ck_assert_int_eq(irllrec_x_dataset_user_items(ds, IRLLREC_SPLIT_TRAIN, &c), IRLLREC_OK);
    ck_assert_int_eq(c.nnz, 6); /* (0,1) (0,2) (0,4) (1,0) (3,0) (3,4); user 2 has none */
    assert_row(&c, 0, (const int32_t[]){1, 2, 4}, 3);
    assert_row(&c, 1, (const int32_t[]){0}, 1);
    assert_row(&c, 2, NULL, 0);
    assert_row(&c, 3, (const int32_t[]){0, 4}, 2);
    assert_row(&c, 4, NULL, 0);
    ck_assert_int_eq(irllrec_x_dataset_item_users(ds, IRLLREC_SPLIT_TRAIN, &c), IRLLREC_OK);
    assert_row(&c, 0, (const int32_t[]){1, 3}, 2);
    assert_row(&c, 4, (const int32_t[]){0, 3}, 2);
    assert_row(&c, 5, NULL, 0);
    ck_assert_int_eq(irllrec_x_dataset_user_items(ds, IRLLREC_SPLIT_VAL, &c), IRLLREC_OK);
    ck_assert_int_eq(c.nnz, 1);
    assert_row(&c, 1, (const int32_t[]){3}, 1);
    ck_assert_int_eq(irllrec_x_dataset_user_items(ds, IRLLREC_SPLIT_TEST, &c), IRLLREC_OK);
    ck_assert_int_eq(c.nnz, 0);
    ck_assert_int_eq(c.n_rows, 5);
    assert_consistent(ds);
    ck_assert_int_eq(irllrec_x_dataset_user_items(ds, 3, &c), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_x_dataset_item_users(ds, -1, &c), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_x_dataset_user_items(ds, 0, NULL), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_x_dataset_user_items(NULL, 0, &c), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_x_dataset_n_users(NULL), -1);
    ck_assert_int_eq(irllrec_x_dataset_n_items(NULL), -1);
    irllrec_x_dataset_free(ds);
    irllrec_x_dataset_free(NULL);
    irllrec_ctx_free(ctx);
    tu_tmpdir_free(dir);
}
END_TEST

START_TEST(shape_inferred_without_stats)
{
    /* The largest ids over all splits: user 7 (test), item 9 (val). */
    char *dir = make_dir("0 1\n2 3\n", "1 9\n", "7 0\n", NULL);
    irllrec_ctx *ctx = tu_ctx();
    irllrec_x_dataset *ds = NULL;
    ck_assert_int_eq(irllrec_x_dataset_load(ctx, dir, &ds), IRLLREC_OK);
    ck_assert_int_eq(irllrec_x_dataset_n_users(ds), 8);
    ck_assert_int_eq(irllrec_x_dataset_n_items(ds), 10);
    assert_consistent(ds);
    irllrec_x_dataset_free(ds);
    irllrec_ctx_free(ctx);
    tu_tmpdir_free(dir);
}
END_TEST

typedef struct bad_case {
    const char *train, *val, *stats;
    irllrec_status st;
    const char *needle1, *needle2;
} bad_case;

START_TEST(malformed_files_name_file_and_line)
{
    const bad_case cases[] = {
        {"0 1\n1 2x\n", NULL, NULL, IRLLREC_E_FORMAT, "train.txt:2:", "non-digit 'x'"},
        {"0 1\n1 -2\n", NULL, NULL, IRLLREC_E_FORMAT, "train.txt:2:", "negative"},
        {"-1 2\n", NULL, NULL, IRLLREC_E_FORMAT, "train.txt:1:", "negative"},
        {"0 2147483648\n", NULL, NULL, IRLLREC_E_FORMAT, "train.txt:1:", "exceeds 2147483647"},
        {"99999999999999999999999 1\n", NULL, NULL, IRLLREC_E_FORMAT, "train.txt:1:", "exceeds"},
        {"0 1\n\n\n1,2\n", NULL, NULL, IRLLREC_E_FORMAT, "train.txt:4:", "','"},
        {"0 +1\n", NULL, NULL, IRLLREC_E_FORMAT, "train.txt:1:", "'+'"},
        {"0 1.5\n", NULL, NULL, IRLLREC_E_FORMAT, "train.txt:1:", "'.'"},
        {"0 1\r2\n", NULL, NULL, IRLLREC_E_FORMAT, "train.txt:1:", "byte 0x0d"},
        {"0 1\n", "0 1\n3 \x01\n", NULL, IRLLREC_E_FORMAT, "val.txt:2:", "byte 0x01"},
        {"0 1\n0 5\n", NULL, "{\"n_users\": 2, \"n_items\": 5}", IRLLREC_E_SHAPE,
         "train.txt:2:", "item id 5 >= n_items 5"},
        {"0 1\n", "2 1\n", "{\"n_users\": 2, \"n_items\": 5}", IRLLREC_E_SHAPE, "val.txt:1:",
         "user id 2 >= n_users 2"},
        {"3\n", NULL, NULL, IRLLREC_E_SHAPE, "no stats.json size", ""},
        {"", NULL, NULL, IRLLREC_E_SHAPE, "no stats.json size", ""},
        {"0 2147483647\n", NULL, NULL, IRLLREC_E_SHAPE, "n_items = 2147483648", ""},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char *dir = make_dir(cases[k].train, cases[k].val, NULL, cases[k].stats);
        irllrec_ctx *ctx = tu_ctx();
        irllrec_x_dataset *ds = (irllrec_x_dataset *)1;
        const char *msg;
        ck_assert_int_eq(irllrec_x_dataset_load(ctx, dir, &ds), cases[k].st);
        ck_assert_ptr_null(ds);
        msg = irllrec_ctx_errmsg(ctx);
        ck_assert_msg(strstr(msg, cases[k].needle1) != NULL && strstr(msg, cases[k].needle2) != NULL,
                      "case %zu: message \"%s\"", k, msg);
        ck_assert(strstr(msg, "irllrec_x_dataset_load") == msg);
        irllrec_ctx_free(ctx);
        tu_tmpdir_free(dir);
    }
}
END_TEST

START_TEST(missing_and_unreadable_files)
{
    char *dir = make_dir(NULL, "0 1\n", NULL, NULL);
    char p[4096];
    irllrec_ctx *ctx = tu_ctx();
    irllrec_x_dataset *ds = NULL;
    ck_assert_int_eq(irllrec_x_dataset_load(ctx, dir, &ds), IRLLREC_E_IO);
    ck_assert(strstr(irllrec_ctx_errmsg(ctx), "train.txt") != NULL);
    /* A directory where a file should be. */
    tu_join(p, sizeof p, dir, "train.txt");
    ck_assert_int_eq(mkdir(p, 0700), 0);
    ck_assert_int_eq(irllrec_x_dataset_load(ctx, dir, &ds), IRLLREC_E_IO);
    ck_assert(strstr(irllrec_ctx_errmsg(ctx), "is a directory") != NULL);
    ck_assert_int_eq(irllrec_x_dataset_load(ctx, NULL, &ds), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_x_dataset_load(ctx, dir, NULL), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_x_dataset_load(NULL, dir, &ds), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_x_dataset_load(ctx, "/nonexistent/irllrec", &ds), IRLLREC_E_IO);
    irllrec_ctx_free(ctx);
    tu_tmpdir_free(dir);
}
END_TEST

/* Issue 17 item 4: a FIFO as train.txt is refused at once (main blocked in
 * open waiting for a writer). */
static int load_fifo_dir(void *arg)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_x_dataset *ds = NULL;
    int bad = irllrec_x_dataset_load(ctx, (const char *)arg, &ds) != IRLLREC_E_IO ||
              strstr(irllrec_ctx_errmsg(ctx), "train.txt: is a named pipe") == NULL;
    irllrec_ctx_free(ctx);
    return bad;
}

START_TEST(fifo_train_txt_refused_without_blocking)
{
    char *dir = make_dir(NULL, "0 1\n", NULL, NULL);
    char p[4096];
    tu_join(p, sizeof p, dir, "train.txt");
    tu_assert_fifo_refused(p, load_fifo_dir, dir, "irllrec_x_dataset_load (train.txt)");
    tu_tmpdir_free(dir);
}
END_TEST

START_TEST(stats_json_variants)
{
    /* The real files' layout: nested objects per split, keys at top level. */
    const char *amazon =
        "{\n \"train\": {\n  \"interactions\": 120464,\n  \"users_with_any\": 11000\n },\n"
        " \"n_users\": 11,\n \"n_items\": 12,\n \"source\": \"x\"\n}";
    struct {
        const char *text;
        irllrec_status st;
        int64_t nu, ni; /* expected shape when OK */
    } cases[] = {
        {amazon, IRLLREC_OK, 11, 12},
        {"{\"n_items\":7,\"n_users\":4}", IRLLREC_OK, 4, 7},
        /* Keys only count at the top level and outside strings. */
        {"{\"train\": {\"n_users\": 100, \"n_items\": 100}, \"n_users\": 4, \"n_items\": 7}",
         IRLLREC_OK, 4, 7},
        {"{\"note\": \"\\\"n_users\\\": 100\", \"n_users\": 4, \"n_items\": 7}", IRLLREC_OK, 4, 7},
        {"{\"list\": [\"n_users\", 100], \"n_users\": 4, \"n_items\": 7}", IRLLREC_OK, 4, 7},
        /* Absent keys: inferred from the ids (max user 2, max item 3). */
        {"{}", IRLLREC_OK, 3, 4},
        {"{\"train\": {\"n_users\": 100}}", IRLLREC_OK, 3, 4},
        {"{\"n_users\": 9}", IRLLREC_OK, 9, 4},
        /* Hostile. */
        {"", IRLLREC_E_FORMAT, 0, 0},
        {"[1, 2]", IRLLREC_E_FORMAT, 0, 0},
        {"{", IRLLREC_E_FORMAT, 0, 0},
        {"{\"n_users\": 4", IRLLREC_E_FORMAT, 0, 0},
        {"}}}}", IRLLREC_E_FORMAT, 0, 0},
        {"{}}", IRLLREC_E_FORMAT, 0, 0},
        {"{} {}", IRLLREC_E_FORMAT, 0, 0},
        {"{\"a\": \"unterminated", IRLLREC_E_FORMAT, 0, 0},
        {"{\"a\": \"ends in backslash\\", IRLLREC_E_FORMAT, 0, 0},
        {"{\"n_users\" 4}", IRLLREC_E_FORMAT, 0, 0},
        {"{\"n_users\": -4, \"n_items\": 7}", IRLLREC_E_FORMAT, 0, 0},
        {"{\"n_users\": 0, \"n_items\": 7}", IRLLREC_E_FORMAT, 0, 0},
        {"{\"n_users\": 4.5, \"n_items\": 7}", IRLLREC_E_FORMAT, 0, 0},
        {"{\"n_users\": 4e3, \"n_items\": 7}", IRLLREC_E_FORMAT, 0, 0},
        {"{\"n_users\": \"4\", \"n_items\": 7}", IRLLREC_E_FORMAT, 0, 0},
        {"{\"n_users\": null, \"n_items\": 7}", IRLLREC_E_FORMAT, 0, 0},
        {"{\"n_users\": 99999999999999999999, \"n_items\": 7}", IRLLREC_E_FORMAT, 0, 0},
        {"{\"n_users\": 4, \"n_users\": 5, \"n_items\": 7}", IRLLREC_E_FORMAT, 0, 0},
        /* Too small for the ids in the files. */
        {"{\"n_users\": 2, \"n_items\": 7}", IRLLREC_E_SHAPE, 0, 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char *dir = make_dir("0 1 2\n2 3\n", NULL, NULL, cases[k].text);
        irllrec_ctx *ctx = tu_ctx();
        irllrec_x_dataset *ds = NULL;
        irllrec_status st = irllrec_x_dataset_load(ctx, dir, &ds);
        ck_assert_msg(st == cases[k].st, "case %zu: status %d (%s)", k, (int)st,
                      irllrec_ctx_errmsg(ctx));
        if (st == IRLLREC_OK) {
            ck_assert_int_eq(irllrec_x_dataset_n_users(ds), cases[k].nu);
            ck_assert_int_eq(irllrec_x_dataset_n_items(ds), cases[k].ni);
        } else {
            ck_assert(strstr(irllrec_ctx_errmsg(ctx), "stats.json") != NULL);
        }
        irllrec_x_dataset_free(ds);
        irllrec_ctx_free(ctx);
        tu_tmpdir_free(dir);
    }
}
END_TEST

START_TEST(stats_json_deep_nesting_and_binary)
{
    /* A megabyte of '[' (no recursion to overflow) and bytes with NULs. */
    size_t n = 1u << 20;
    char *deep = (char *)malloc(n + 2);
    char *dir, p[4096];
    FILE *f;
    irllrec_ctx *ctx = tu_ctx();
    irllrec_x_dataset *ds = NULL;
    deep[0] = '{';
    memset(deep + 1, '[', n);
    deep[n + 1] = '\0';
    dir = make_dir("0 1\n", NULL, NULL, deep);
    ck_assert_int_eq(irllrec_x_dataset_load(ctx, dir, &ds), IRLLREC_E_FORMAT);
    tu_join(p, sizeof p, dir, "stats.json");
    f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    fwrite("{\"n_users\": 3\0, \"n_items\": 5}", 1, 29, f);
    fclose(f);
    /* The NUL is just an unknown byte after the value: rejected as not an integer. */
    ck_assert_int_eq(irllrec_x_dataset_load(ctx, dir, &ds), IRLLREC_E_FORMAT);
    ck_assert_ptr_null(ds);
    irllrec_ctx_free(ctx);
    tu_tmpdir_free(dir);
    free(deep);
}
END_TEST

START_TEST(from_pairs_builds_and_validates)
{
    const int32_t tu[] = {2, 0, 2, 0, 2}, ti[] = {1, 3, 0, 3, 1};
    const int32_t vu[] = {1}, vi[] = {2};
    const int32_t bad_u[] = {3}, bad_i[] = {0}, neg_i[] = {-1};
    irllrec_ctx *ctx = tu_ctx();
    irllrec_x_dataset *ds = NULL;
    irllrec_csr c;
    ck_assert_int_eq(irllrec_x_dataset_from_pairs(ctx, 3, 4, tu, ti, 5, vu, vi, 1, NULL, NULL, 0,
                                                &ds), IRLLREC_OK);
    ck_assert_int_eq(irllrec_x_dataset_user_items(ds, IRLLREC_SPLIT_TRAIN, &c), IRLLREC_OK);
    ck_assert_int_eq(c.nnz, 3); /* (0,3) (2,0) (2,1) after removing repeats */
    assert_row(&c, 0, (const int32_t[]){3}, 1);
    assert_row(&c, 1, NULL, 0);
    assert_row(&c, 2, (const int32_t[]){0, 1}, 2);
    ck_assert_int_eq(irllrec_x_dataset_item_users(ds, IRLLREC_SPLIT_TRAIN, &c), IRLLREC_OK);
    assert_row(&c, 3, (const int32_t[]){0}, 1);
    assert_row(&c, 2, NULL, 0);
    assert_consistent(ds);
    irllrec_x_dataset_free(ds);

    ds = (irllrec_x_dataset *)1;
    ck_assert_int_eq(irllrec_x_dataset_from_pairs(ctx, 3, 4, bad_u, bad_i, 1, NULL, NULL, 0, NULL,
                                                NULL, 0, &ds), IRLLREC_E_INVALID_ARG);
    ck_assert_ptr_null(ds);
    ck_assert(strstr(irllrec_ctx_errmsg(ctx), "train_u[0] = 3") != NULL);
    ck_assert_int_eq(irllrec_x_dataset_from_pairs(ctx, 3, 4, tu, ti, 5, NULL, NULL, 0, bad_i,
                                                neg_i, 1, &ds), IRLLREC_E_INVALID_ARG);
    ck_assert(strstr(irllrec_ctx_errmsg(ctx), "test_i[0] = -1") != NULL);
    ck_assert_int_eq(irllrec_x_dataset_from_pairs(ctx, 3, 4, NULL, NULL, 2, NULL, NULL, 0, NULL,
                                                NULL, 0, &ds), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_x_dataset_from_pairs(ctx, 3, 4, tu, ti, -1, NULL, NULL, 0, NULL,
                                                NULL, 0, &ds), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_x_dataset_from_pairs(ctx, 0, 4, NULL, NULL, 0, NULL, NULL, 0, NULL,
                                                NULL, 0, &ds), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_x_dataset_from_pairs(ctx, 3, (int64_t)INT32_MAX + 1, NULL, NULL, 0,
                                                NULL, NULL, 0, NULL, NULL, 0, &ds),
                     IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_x_dataset_from_pairs(NULL, 3, 4, NULL, NULL, 0, NULL, NULL, 0, NULL,
                                                NULL, 0, &ds), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_x_dataset_from_pairs(ctx, 3, 4, NULL, NULL, 0, NULL, NULL, 0, NULL,
                                                NULL, 0, NULL), IRLLREC_E_INVALID_ARG);
    /* All splits empty is a valid (if useless) dataset. */
    ck_assert_int_eq(irllrec_x_dataset_from_pairs(ctx, 3, 4, NULL, NULL, 0, NULL, NULL, 0, NULL,
                                                NULL, 0, &ds), IRLLREC_OK);
    ck_assert_int_eq(irllrec_x_dataset_user_items(ds, IRLLREC_SPLIT_TRAIN, &c), IRLLREC_OK);
    ck_assert_int_eq(c.nnz, 0);
    irllrec_x_dataset_free(ds);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(allocation_failures_are_clean)
{
    char *dir = make_dir("0 1 2\n1 0\n", "1 2\n", "0 0\n", "{\"n_users\": 3, \"n_items\": 4}");
    tu_alloc_state st;
    int64_t n_ok = 0;
    /* Fail allocation 1, 2, ... (the ctx itself is allocation 1) until load succeeds. */
    for (int64_t fail = 2; fail < 200; fail++) {
        irllrec_ctx *ctx;
        irllrec_x_dataset *ds = (irllrec_x_dataset *)1;
        irllrec_status s;
        memset(&st, 0, sizeof st);
        st.fail_at = fail;
        ctx = tu_ctx_counting(&st);
        ck_assert_ptr_nonnull(ctx);
        s = irllrec_x_dataset_load(ctx, dir, &ds);
        if (s == IRLLREC_OK) {
            n_ok = fail;
            irllrec_x_dataset_free(ds);
        } else {
            ck_assert_int_eq(s, IRLLREC_E_NOMEM);
            ck_assert_ptr_null(ds);
        }
        irllrec_ctx_free(ctx);
        ck_assert_int_eq(st.live_bytes, 0);
        if (n_ok) break;
    }
    ck_assert_int_gt(n_ok, 5);
    tu_tmpdir_free(dir);
}
END_TEST

START_TEST(amazon_book_counts)
{
    const char *dir = IRLLREC_SHARED_DATA "/amazon-book";
    struct stat sb;
    irllrec_ctx *ctx;
    irllrec_x_dataset *ds = NULL;
    irllrec_csr c;
    const int64_t want[3] = {120464, 40290, 40106};
    if (stat(dir, &sb) != 0) {
        printf("data: skipped amazon_book_counts (%s not found)\n", dir);
        return;
    }
    ctx = tu_ctx();
    ck_assert_msg(irllrec_x_dataset_load(ctx, dir, &ds) == IRLLREC_OK, "%s",
                  irllrec_ctx_errmsg(ctx));
    ck_assert_int_eq(irllrec_x_dataset_n_users(ds), 11000);
    ck_assert_int_eq(irllrec_x_dataset_n_items(ds), 9332);
    for (int32_t s = 0; s < 3; s++) {
        ck_assert_int_eq(irllrec_x_dataset_user_items(ds, s, &c), IRLLREC_OK);
        ck_assert_int_eq(c.nnz, want[s]);
    }
    /* README: every user and item has at least one training interaction. */
    irllrec_x_dataset_user_items(ds, IRLLREC_SPLIT_TRAIN, &c);
    for (int64_t u = 0; u < c.n_rows; u++) ck_assert_int_gt(c.indptr[u + 1], c.indptr[u]);
    irllrec_x_dataset_item_users(ds, IRLLREC_SPLIT_TRAIN, &c);
    for (int64_t i = 0; i < c.n_rows; i++) ck_assert_int_gt(c.indptr[i + 1], c.indptr[i]);
    assert_consistent(ds);
    irllrec_x_dataset_free(ds);
    irllrec_ctx_free(ctx);
}
END_TEST

Suite *data_suite(void)
{
    Suite *s = suite_create("data");
    TCase *tc = tcase_create("data");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, load_good_folder);
    tcase_add_test(tc, shape_inferred_without_stats);
    tcase_add_test(tc, malformed_files_name_file_and_line);
    tcase_add_test(tc, missing_and_unreadable_files);
    tcase_add_test(tc, fifo_train_txt_refused_without_blocking);
    tcase_add_test(tc, stats_json_variants);
    tcase_add_test(tc, stats_json_deep_nesting_and_binary);
    tcase_add_test(tc, from_pairs_builds_and_validates);
    tcase_add_test(tc, allocation_failures_are_clean);
    tcase_add_test(tc, amazon_book_counts);
    suite_add_tcase(s, tc);
    return s;
}
