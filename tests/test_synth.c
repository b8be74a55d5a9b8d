/* Synthetic dataset: file formats, split invariants, determinism, bad and
 * older specs, allocation failures. That the planted intent structure is
 * really present in interactions and text is in test_synth_intents.c. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "internal.h"
#include "synth/synth.h"
#include "helpers/testutil.h"
#include "helpers/synthfx.h"

static const char *const names[8] = {"train.txt",   "val.txt",     "test.txt",    "stats.json",
                                     "usr_prf.npy", "itm_prf.npy", "usr_int.npy", "itm_int.npy"};

static int same_file(const char *a, const char *b, const char *name)
{
    size_t la, lb;
    char *x = synfx_slurp(a, name, &la), *y = synfx_slurp(b, name, &lb);
    int same = la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

/* Parse a LightGCN file into per-user lists; marks[u * n_items + i] |= bit. */
static int64_t load_split(const char *dir, const char *name, int32_t nu, int32_t ni,
                          unsigned char *marks, unsigned char bit, int32_t *per_user)
{
    size_t len;
    char *buf = synfx_slurp(dir, name, &len), *p = buf;
    int64_t total = 0;
    int32_t prev_user = -1;
    while (*p) {
        char *end;
        long u = strtol(p, &end, 10), prev = -1;
        ck_assert_ptr_ne(end, p);
        ck_assert_int_ge(u, 0);
        ck_assert_int_lt(u, nu);
        ck_assert_int_gt(u, prev_user); /* one line per user, in order */
        prev_user = (int32_t)u;
        p = end;
        ck_assert_int_eq(*p, ' '); /* a line always has an item */
        while (*p == ' ') {
            long i = strtol(p + 1, &end, 10);
            ck_assert_ptr_ne(end, p + 1);
            ck_assert_int_ge(i, 0);
            ck_assert_int_lt(i, ni);
            ck_assert_int_gt(i, prev); /* sorted, hence no duplicate within the split */
            prev = i;
            ck_assert_msg((marks[u * ni + i] & 0x7) == 0, "pair (%ld, %ld) in two splits", u, i);
            marks[u * ni + i] |= bit;
            per_user[u]++;
            total++;
            p = end;
        }
        ck_assert_int_eq(*p, '\n');
        p++;
    }
    free(buf);
    return total;
}

static long long json_int(const char *json, const char *key)
{
    char k[64];
    const char *p;
    snprintf(k, sizeof k, "\"%s\": ", key);
    p = strstr(json, k);
    ck_assert_msg(p != NULL, "stats.json lacks %s", key);
    return strtoll(p + strlen(k), NULL, 10);
}

START_TEST(spec_init_writes_defaults)
{
    irllrec_x_synth_spec s;
    memset(&s, 0xab, sizeof s);
    irllrec_x_synth_spec_init(&s, sizeof s);
    ck_assert_uint_eq(s.struct_size, sizeof s);
    ck_assert_int_eq(s.n_users, 1000);
    ck_assert_int_eq(s.n_items, 800);
    ck_assert_int_eq(s.n_intents, 8);
    ck_assert_int_eq(s.profile_dim, 64);
    ck_assert_int_eq(s.intent_dim, 96);
    ck_assert(s.mean_degree == 25.0 && s.popularity_skew == 0.8 && s.text_noise == 0.5);
    ck_assert(s.misleading_frac == 0.1 && s.val_frac == 0.2 && s.test_frac == 0.2);
    ck_assert(s.seed == 2025);
    ck_assert_int_eq(s.min_degree, 3);
    ck_assert_int_eq(s.max_dominant, 3);
    /* A shorter (older) struct: only its bytes are written. */
    memset(&s, 0xab, sizeof s);
    irllrec_x_synth_spec_init(&s, (uint32_t)offsetof(irllrec_x_synth_spec, min_degree));
    ck_assert_uint_eq(s.struct_size, offsetof(irllrec_x_synth_spec, min_degree));
    ck_assert(s.seed == 2025);
    ck_assert_int_eq(s.min_degree, (int32_t)0xabababab);
    irllrec_x_synth_spec_init(NULL, sizeof s);
}
END_TEST

START_TEST(same_spec_same_bytes_any_thread_count)
{
    irllrec_ctx *ctx = tu_ctx(), *ctx2 = NULL;
    irllrec_ctx_spec cs;
    irllrec_x_synth_spec s;
    char *a, *b, *c;
    synfx_small_spec(&s);
    irllrec_ctx_spec_init(&cs, sizeof cs);
    cs.n_threads = 3;
    ck_assert_int_eq(irllrec_ctx_create(&cs, &ctx2), IRLLREC_OK);
    a = synfx_gen(ctx, &s);
    b = synfx_gen(ctx, &s);
    c = synfx_gen(ctx2, &s);
    for (int q = 0; q < 8; q++) {
        ck_assert_msg(same_file(a, b, names[q]), "%s differs between runs", names[q]);
        ck_assert_msg(same_file(a, c, names[q]), "%s depends on the thread count", names[q]);
    }
    tu_tmpdir_free(a);
    tu_tmpdir_free(b);
    tu_tmpdir_free(c);
    irllrec_ctx_free(ctx2);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(different_seeds_differ)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_x_synth_spec s;
    char *a, *b;
    synfx_small_spec(&s);
    a = synfx_gen(ctx, &s);
    s.seed = 2026;
    b = synfx_gen(ctx, &s);
    for (int q = 0; q < 8; q++)
        ck_assert_msg(!same_file(a, b, names[q]), "%s does not depend on the seed", names[q]);
    tu_tmpdir_free(a);
    tu_tmpdir_free(b);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(files_are_consistent)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_x_synth_spec s;
    char *dir, *json;
    size_t len;
    int32_t nu, ni, *cnt[3];
    unsigned char *marks;
    int64_t tot[3];
    float *x;
    synfx_small_spec(&s);
    dir = synfx_gen(ctx, &s);
    nu = s.n_users;
    ni = s.n_items;
    marks = (unsigned char *)calloc((size_t)nu * (size_t)ni, 1);
    for (int q = 0; q < 3; q++) cnt[q] = (int32_t *)calloc((size_t)nu, sizeof(int32_t));
    for (int q = 0; q < 3; q++)
        tot[q] = load_split(dir, names[q], nu, ni, marks, (unsigned char)(1u << q), cnt[q]);
    for (int32_t u = 0; u < nu; u++) {
        ck_assert_int_ge(cnt[0][u], 1);
        ck_assert_int_ge(cnt[0][u] + cnt[1][u] + cnt[2][u], 3); /* min_degree */
        /* With both fractions > 0 and 3+ items, every user is evaluable. */
        ck_assert_int_ge(cnt[1][u], 1);
        ck_assert_int_ge(cnt[2][u], 1);
    }
    json = synfx_slurp(dir, "stats.json", &len);
    ck_assert(strstr(json, "\"synthetic\": true") != NULL);
    ck_assert(strstr(json, "SYNTHETIC") != NULL);
    ck_assert_int_eq(json_int(json, "n_users"), nu);
    ck_assert_int_eq(json_int(json, "n_items"), ni);
    ck_assert_int_eq(json_int(json, "train"), tot[0]);
    ck_assert_int_eq(json_int(json, "val"), tot[1]);
    ck_assert_int_eq(json_int(json, "test"), tot[2]);
    ck_assert_int_eq(json_int(json, "seed"), 2025);
    ck_assert_int_eq(json_int(json, "users_with_train"), nu);
    ck_assert(strstr(json, "\"mean_degree\": 12,") != NULL);
    ck_assert(strstr(json, "\"text_noise\": 0.5,") != NULL);
    /* The realised mean degree is near the requested one. */
    ck_assert_double_eq_tol((double)(tot[0] + tot[1] + tot[2]) / nu, 12.0, 1.5);
    /* Held-out shares near the fractions (rounding per user). */
    ck_assert_double_eq_tol((double)tot[2] / (double)(tot[0] + tot[1] + tot[2]), 0.2, 0.03);
    free(json);
    x = synfx_load_npy(dir, "usr_prf.npy", nu, 32);
    free(x);
    x = synfx_load_npy(dir, "itm_prf.npy", ni, 32);
    free(x);
    x = synfx_load_npy(dir, "usr_int.npy", nu, 48);
    free(x);
    x = synfx_load_npy(dir, "itm_int.npy", ni, 48);
    free(x);
    /* Exactly the eight files: no temporary left behind. */
    ck_assert_int_eq(tu_count_entries(dir), 8);
    for (int q = 0; q < 3; q++) free(cnt[q]);
    free(marks);
    tu_tmpdir_free(dir);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(bad_specs_are_rejected)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_x_synth_spec s, big[2];
    char *dir = tu_tmpdir(), path[4200];
#define BAD(field, stmt)                                                                \
    do {                                                                                \
        synfx_small_spec(&s);                                                                 \
        stmt;                                                                           \
        ck_assert_int_eq(irllrec_x_synth_write(ctx, &s, dir), IRLLREC_E_INVALID_ARG);     \
        ck_assert_msg(strstr(irllrec_ctx_errmsg(ctx), "irllrec_x_synth_write: spec." field) != NULL, \
                      "message: %s", irllrec_ctx_errmsg(ctx));                          \
    } while (0)
    BAD("n_users", s.n_users = 0);
    BAD("n_users", s.n_users = -5);
    BAD("n_items", s.n_items = 0);
    BAD("n_intents", s.n_intents = 0);
    BAD("n_intents", s.n_intents = 201);
    BAD("profile_dim", s.profile_dim = 0);
    BAD("intent_dim", s.intent_dim = 70000);
    BAD("mean_degree", s.mean_degree = 0);
    BAD("mean_degree", s.mean_degree = 200);
    BAD("mean_degree", s.mean_degree = NAN);
    BAD("popularity_skew", s.popularity_skew = -0.1);
    BAD("popularity_skew", s.popularity_skew = INFINITY);
    BAD("text_noise", s.text_noise = -1);
    BAD("misleading_frac", s.misleading_frac = 1.5);
    BAD("val_frac", s.val_frac = 1.0);
    BAD("test_frac", s.test_frac = -0.1);
    BAD("val_frac + test_frac", s.val_frac = 0.5; s.test_frac = 0.5);
    BAD("min_degree", s.min_degree = -1);
    BAD("max_dominant", s.max_dominant = 65);
    /* An older struct that stops before n_items leaves it zero. */
    synfx_small_spec(&s);
    s.struct_size = (uint32_t)offsetof(irllrec_x_synth_spec, n_items);
    ck_assert_int_eq(irllrec_x_synth_write(ctx, &s, dir), IRLLREC_E_INVALID_ARG);
    ck_assert(strstr(irllrec_ctx_errmsg(ctx), "spec.n_items = 0") != NULL);
    /* struct_size too small, or a newer struct with an unknown field set. */
    synfx_small_spec(&s);
    s.struct_size = 2;
    ck_assert_int_eq(irllrec_x_synth_write(ctx, &s, dir), IRLLREC_E_VERSION);
    memset(big, 0, sizeof big);
    synfx_small_spec(&big[0]);
    big[0].struct_size = (uint32_t)sizeof big;
    ck_assert_int_eq(irllrec_x_synth_write(ctx, &big[0], dir), IRLLREC_OK);
    ((unsigned char *)big)[sizeof big[0] + 3] = 1;
    ck_assert_int_eq(irllrec_x_synth_write(ctx, &big[0], dir), IRLLREC_E_VERSION);
    /* NULLs. */
    synfx_small_spec(&s);
    ck_assert_int_eq(irllrec_x_synth_write(NULL, &s, dir), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_x_synth_write(ctx, NULL, dir), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_x_synth_write(ctx, &s, NULL), IRLLREC_E_INVALID_ARG);
    /* Missing folder, and a file where the folder should be. */
    tu_join(path, sizeof path, dir, "no/such/folder");
    ck_assert_int_eq(irllrec_x_synth_write(ctx, &s, path), IRLLREC_E_IO);
    ck_assert_msg(strstr(irllrec_ctx_errmsg(ctx), path) != NULL, "%s", irllrec_ctx_errmsg(ctx));
    tu_join(path, sizeof path, dir, "train.txt");
    ck_assert_int_eq(irllrec_x_synth_write(ctx, &s, path), IRLLREC_E_IO);
    ck_assert_msg(strstr(irllrec_ctx_errmsg(ctx), path) != NULL, "%s", irllrec_ctx_errmsg(ctx));
    tu_tmpdir_free(dir);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(older_struct_gets_defaults_for_new_fields)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_x_synth_spec s;
    char *a, *b, *c;
    synfx_small_spec(&s);
    a = synfx_gen(ctx, &s); /* min_degree = max_dominant = 3 */
    s.struct_size = (uint32_t)offsetof(irllrec_x_synth_spec, min_degree);
    s.min_degree = 99; /* beyond the caller's struct: must be ignored */
    s.max_dominant = 99;
    b = synfx_gen(ctx, &s);
    synfx_small_spec(&s);
    s.min_degree = 0;
    s.max_dominant = 0;
    c = synfx_gen(ctx, &s);
    for (int q = 0; q < 8; q++) {
        ck_assert_msg(same_file(a, b, names[q]), "%s: short struct differs", names[q]);
        ck_assert_msg(same_file(a, c, names[q]), "%s: zero fields differ from defaults", names[q]);
    }
    tu_tmpdir_free(a);
    tu_tmpdir_free(b);
    tu_tmpdir_free(c);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(allocation_failures_leak_nothing)
{
    irllrec_x_synth_spec s;
    char *dir = tu_tmpdir();
    int64_t n;
    synfx_small_spec(&s);
    s.n_users = 40;
    s.n_items = 30;
    s.mean_degree = 5;
    for (n = 1;; n++) {
        tu_alloc_state st = {0, 0, 0, 0};
        irllrec_ctx *ctx = tu_ctx_counting(&st);
        int64_t base;
        irllrec_status rc;
        ck_assert_ptr_nonnull(ctx);
        base = st.live_bytes;
        st.fail_at = st.n_alloc + n;
        rc = irllrec_x_synth_write(ctx, &s, dir);
        ck_assert_msg(st.live_bytes == base, "fail_at %lld: leaked %lld bytes", (long long)n, (long long)(st.live_bytes - base));
        irllrec_ctx_free(ctx);
        if (rc == IRLLREC_OK) break;
        ck_assert_int_eq(rc, IRLLREC_E_NOMEM);
        ck_assert_int_lt(n, 200);
        {
            /* A failed call leaves no temporary file. */
            DIR *d = opendir(dir);
            struct dirent *e;
            while ((e = readdir(d)) != NULL) ck_assert(strstr(e->d_name, ".tmp") == NULL);
            closedir(d);
        }
    }
    ck_assert_int_gt(n, 10);
    tu_tmpdir_free(dir);
}
END_TEST

/* A failure while naming the files (the first 2 allocations per file: final
 * name, then temporary name) must not remove anything: before the fix a
 * temporary name that was never filled in, or one of a file never created,
 * was passed to remove(). Same-named files that were already there (the
 * sentinels) must survive with their contents. */
START_TEST(failed_naming_removes_no_file)
{
    irllrec_x_synth_spec s;
    irllrec_ctx *ctx = tu_ctx();
    irllrec__synth *m;
    char *dir = tu_tmpdir();
    synfx_small_spec(&s);
    s.n_users = 40;
    s.n_items = 30;
    s.mean_degree = 5;
    m = synfx_model_of(ctx, &s);
    for (int64_t k = 1; k <= 16; k++) {
        tu_alloc_state st = {0, 0, 0, 0};
        irllrec_ctx *fctx = tu_ctx_counting(&st);
        int64_t base;
        ck_assert_ptr_nonnull(fctx);
        for (int q = 0; q < 8; q++) {
            char name[64], path[4096];
            snprintf(name, sizeof name, "%s.tmp", names[q]);
            tu_join(path, sizeof path, dir, name);
            ck_assert_int_eq(tu_write_file(path, "sentinel"), 0);
        }
        base = st.live_bytes;
        st.fail_at = st.n_alloc + k;
        ck_assert_int_eq(irllrec__synth_write_files(fctx, m, dir), IRLLREC_E_NOMEM);
        ck_assert_int_eq(st.live_bytes, base);
        irllrec_ctx_free(fctx);
        for (int q = 0; q < 8; q++) {
            char name[64], path[4096];
            size_t len;
            char *text;
            snprintf(name, sizeof name, "%s.tmp", names[q]);
            tu_join(path, sizeof path, dir, name);
            ck_assert_msg(access(path, F_OK) == 0, "fail_at %lld removed %s", (long long)k, name);
            text = synfx_slurp(dir, name, &len);
            ck_assert_str_eq(text, "sentinel");
            free(text);
            tu_join(path, sizeof path, dir, names[q]);
            ck_assert_msg(access(path, F_OK) != 0, "fail_at %lld created %s", (long long)k, names[q]);
        }
    }
    irllrec__synth_free(ctx, m);
    irllrec_ctx_free(ctx);
    tu_tmpdir_free(dir);
}
END_TEST

Suite *synth_suite(void)
{
    Suite *s = suite_create("synth");
    TCase *tc = tcase_create("synth");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, spec_init_writes_defaults);
    tcase_add_test(tc, same_spec_same_bytes_any_thread_count);
    tcase_add_test(tc, different_seeds_differ);
    tcase_add_test(tc, files_are_consistent);
    tcase_add_test(tc, bad_specs_are_rejected);
    tcase_add_test(tc, older_struct_gets_defaults_for_new_fields);
    tcase_add_test(tc, allocation_failures_leak_nothing);
    tcase_add_test(tc, failed_naming_removes_no_file);
    suite_add_tcase(s, tc);
    return s;
}
