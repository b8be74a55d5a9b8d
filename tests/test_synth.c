/* Synthetic dataset: file formats, split invariants, determinism, and that the
 * planted intent structure is really present in interactions and text. */
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

static const char *const names[8] = {"train.txt",   "val.txt",     "test.txt",    "stats.json",
                                     "usr_prf.npy", "itm_prf.npy", "usr_int.npy", "itm_int.npy"};

static void small_spec(irllrec_x_synth_spec *s)
{
    irllrec_x_synth_spec_init(s, sizeof *s);
    s->n_users = 300;
    s->n_items = 200;
    s->n_intents = 6;
    s->profile_dim = 32;
    s->intent_dim = 48;
    s->mean_degree = 12;
}

static char *slurp(const char *dir, const char *name, size_t *len)
{
    char path[4096];
    FILE *f;
    char *buf;
    long n;
    tu_join(path, sizeof path, dir, name);
    f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    ck_assert_int_ge(n, 0);
    rewind(f);
    buf = (char *)malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static char *gen(irllrec_ctx *ctx, const irllrec_x_synth_spec *s)
{
    char *dir = tu_tmpdir();
    irllrec_status st = irllrec_x_synth_write(ctx, s, dir);
    ck_assert_msg(st == IRLLREC_OK, "synth_write: %s", irllrec_ctx_errmsg(ctx));
    return dir;
}

static int same_file(const char *a, const char *b, const char *name)
{
    size_t la, lb;
    char *x = slurp(a, name, &la), *y = slurp(b, name, &lb);
    int same = la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

/* A float32 .npy written by the generator: checks the header exactly. */
static float *load_npy(const char *dir, const char *name, int64_t rows, int64_t cols)
{
    size_t len, hlen;
    char *buf = slurp(dir, name, &len), want[128];
    float *x;
    ck_assert_uint_ge(len, 10);
    ck_assert(memcmp(buf, "\x93NUMPY\x01\x00", 8) == 0);
    hlen = (size_t)(unsigned char)buf[8] | (size_t)(unsigned char)buf[9] << 8;
    ck_assert_uint_eq((10 + hlen) % 64, 0);
    ck_assert_int_eq(buf[10 + hlen - 1], '\n');
    snprintf(want, sizeof want, "{'descr': '<f4', 'fortran_order': False, 'shape': (%lld, %lld), }",
             (long long)rows, (long long)cols);
    ck_assert_msg(strncmp(buf + 10, want, strlen(want)) == 0, "%s header: %.100s", name, buf + 10);
    for (size_t j = 10 + strlen(want); j < 10 + hlen - 1; j++) ck_assert_int_eq(buf[j], ' ');
    ck_assert_uint_eq(len, 10 + hlen + (size_t)(rows * cols) * 4);
    x = (float *)malloc((size_t)(rows * cols) * sizeof(float));
    ck_assert_ptr_nonnull(x);
    for (int64_t j = 0; j < rows * cols; j++) {
        const unsigned char *b = (const unsigned char *)buf + 10 + hlen + 4 * j;
        uint32_t v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
        memcpy(&x[j], &v, 4);
        ck_assert(isfinite(x[j]));
    }
    free(buf);
    return x;
}

/* Parse a LightGCN file into per-user lists; marks[u * n_items + i] |= bit. */
static int64_t load_split(const char *dir, const char *name, int32_t nu, int32_t ni,
                          unsigned char *marks, unsigned char bit, int32_t *per_user)
{
    size_t len;
    char *buf = slurp(dir, name, &len), *p = buf;
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

static double cosine(const float *a, const float *b, int32_t d)
{
    double ab = 0, aa = 0, bb = 0;
    for (int32_t c = 0; c < d; c++) {
        ab += (double)a[c] * b[c];
        aa += (double)a[c] * a[c];
        bb += (double)b[c] * b[c];
    }
    return ab / sqrt(1e-12 + aa * bb);
}

static irllrec__synth *model_of(irllrec_ctx *ctx, const irllrec_x_synth_spec *s)
{
    irllrec_x_synth_spec r;
    irllrec__synth *m = NULL;
    ck_assert_int_eq(irllrec__synth_resolve(ctx, "test", s, &r), IRLLREC_OK);
    ck_assert_int_eq(irllrec__synth_build(ctx, &r, &m), IRLLREC_OK);
    return m;
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
    small_spec(&s);
    irllrec_ctx_spec_init(&cs, sizeof cs);
    cs.n_threads = 3;
    ck_assert_int_eq(irllrec_ctx_create(&cs, &ctx2), IRLLREC_OK);
    a = gen(ctx, &s);
    b = gen(ctx, &s);
    c = gen(ctx2, &s);
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
    small_spec(&s);
    a = gen(ctx, &s);
    s.seed = 2026;
    b = gen(ctx, &s);
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
    small_spec(&s);
    dir = gen(ctx, &s);
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
    json = slurp(dir, "stats.json", &len);
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
    x = load_npy(dir, "usr_prf.npy", nu, 32);
    free(x);
    x = load_npy(dir, "itm_prf.npy", ni, 32);
    free(x);
    x = load_npy(dir, "usr_int.npy", nu, 48);
    free(x);
    x = load_npy(dir, "itm_int.npy", ni, 48);
    free(x);
    /* Exactly the eight files: no temporary left behind. */
    ck_assert_int_eq(tu_count_entries(dir), 8);
    for (int q = 0; q < 3; q++) free(cnt[q]);
    free(marks);
    tu_tmpdir_free(dir);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(interactions_follow_intents)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_x_synth_spec s;
    irllrec__synth *m;
    irllrec__rng r;
    double pos = 0, neg = 0, theta[6], sum;
    int64_t np = 0, nn = 0, hit = 0;
    small_spec(&s);
    m = model_of(ctx, &s);
    /* Mixtures are distributions with the dominant intent in slot 0. */
    for (int32_t u = 0; u < s.n_users; u++) {
        irllrec__synth_theta(m, IRLLREC__SYNTH_USER, u, theta);
        sum = 0;
        for (int k = 0; k < 6; k++) {
            sum += theta[k];
            ck_assert(theta[k] <= theta[m->idx[0][(size_t)u * 3]] + 1e-12);
        }
        ck_assert_double_eq_tol(sum, 1.0, 1e-6);
    }
    irllrec__rng_seed(&r, 1, 1);
    for (int32_t u = 0; u < s.n_users; u++) {
        for (int64_t q = m->offs[u]; q < m->offs[u + 1]; q++, np++) {
            pos += irllrec__synth_affinity(m, u, m->items[q]);
            neg += irllrec__synth_affinity(m, u, (int32_t)irllrec__rng_below(&r, 200));
            nn++;
            /* an item sharing the user's dominant intent */
            for (int j = 0; j < 3; j++)
                hit += m->idx[1][(size_t)m->items[q] * 3 + (size_t)j] == m->idx[0][(size_t)u * 3];
        }
    }
    pos /= (double)np;
    neg /= (double)nn;
    /* Interacted items are much closer in intent than random ones... */
    ck_assert_msg(pos > 1.8 * neg, "affinity interacted %g vs random %g", pos, neg);
    /* ...but not only: popularity and the floor add items off-intent. */
    ck_assert_msg((double)hit / (double)np > 0.4 && (double)hit / (double)np < 0.95,
                  "share sharing the dominant intent %g", (double)hit / (double)np);
    irllrec__synth_free(ctx, m);
    irllrec_ctx_free(ctx);
}
END_TEST

/* Mean cosine of rows within groups sharing the dominant intent (truthful
 * rows only) minus the mean cosine over all pairs. */
static double intent_gap(const irllrec__synth *m, int side, const float *x, int32_t n, int32_t d)
{
    double same = 0, all = 0;
    int64_t ns = 0, na = 0;
    for (int32_t a = 0; a < n; a++)
        for (int32_t b = a + 1; b < n; b++) {
            double c = cosine(x + (size_t)a * (size_t)d, x + (size_t)b * (size_t)d, d);
            all += c;
            na++;
            if (m->src[side][a] == a && m->src[side][b] == b &&
                m->idx[side][(size_t)a * (size_t)m->n_slots] == m->idx[side][(size_t)b * (size_t)m->n_slots]) {
                same += c;
                ns++;
            }
        }
    ck_assert_int_gt(ns, 100);
    return same / (double)ns - all / (double)na;
}

START_TEST(text_carries_the_planted_intents)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_x_synth_spec s;
    irllrec__synth *m;
    irllrec__rng r;
    char *dir;
    float *ui, *ii, *up;
    double gap_ui, gap_ii, gap_up, pos = 0, neg = 0;
    int64_t np = 0;
    small_spec(&s);
    dir = gen(ctx, &s);
    m = model_of(ctx, &s);
    ui = load_npy(dir, "usr_int.npy", s.n_users, 48);
    ii = load_npy(dir, "itm_int.npy", s.n_items, 48);
    up = load_npy(dir, "usr_prf.npy", s.n_users, 32);
    gap_ui = intent_gap(m, IRLLREC__SYNTH_USER, ui, s.n_users, 48);
    gap_ii = intent_gap(m, IRLLREC__SYNTH_ITEM, ii, s.n_items, 48);
    gap_up = intent_gap(m, IRLLREC__SYNTH_USER, up, s.n_users, 32);
    ck_assert_msg(gap_ui > 0.15, "user intents: same-intent minus random cosine %g", gap_ui);
    ck_assert_msg(gap_ii > 0.15, "item intents: same-intent minus random cosine %g", gap_ii);
    /* Profiles carry the intents too, diluted by the entity-specific part. */
    ck_assert_msg(gap_up > 0.05 && gap_up < gap_ui, "user profiles gap %g (intents %g)", gap_up, gap_ui);
    /* User and item text share one space: interacted pairs are closer. */
    irllrec__rng_seed(&r, 7, 7);
    for (int32_t u = 0; u < s.n_users; u++)
        for (int64_t q = m->offs[u]; q < m->offs[u + 1]; q++, np++) {
            pos += cosine(ui + (size_t)u * 48, ii + (size_t)m->items[q] * 48, 48);
            neg += cosine(ui + (size_t)u * 48, ii + irllrec__rng_below(&r, 200) * 48, 48);
        }
    ck_assert_msg(pos / (double)np > neg / (double)np + 0.1, "user-item cosine %g vs %g",
                  pos / (double)np, neg / (double)np);
    free(ui);
    free(ii);
    free(up);
    irllrec__synth_free(ctx, m);
    tu_tmpdir_free(dir);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(misleading_rows_at_the_requested_fraction)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_x_synth_spec s;
    irllrec__synth *m;
    const double fr[3] = {0.0, 0.1, 1.0};
    small_spec(&s);
    for (int q = 0; q < 3; q++) {
        s.misleading_frac = fr[q];
        m = model_of(ctx, &s);
        for (int side = 0; side < 2; side++) {
            int32_t n = side ? s.n_items : s.n_users;
            int64_t want = (int64_t)floor(fr[q] * n + 0.5), got = 0;
            for (int32_t e = 0; e < n; e++) {
                ck_assert_int_ge(m->src[side][e], 0);
                ck_assert_int_lt(m->src[side][e], n);
                got += m->src[side][e] != e;
            }
            ck_assert_int_eq(got, want);
            ck_assert_int_eq(m->n_misleading[side], want);
        }
        irllrec__synth_free(ctx, m);
    }
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(misleading_rows_point_elsewhere)
{
    /* Without noise a row is a positive multiple of a function of its source
     * entity only, so a misleading row u with source v is parallel to v's own
     * (truthful) row, in both the intent and the profile matrices. */
    irllrec_ctx *ctx = tu_ctx();
    irllrec_x_synth_spec s;
    irllrec__synth *m;
    char *dir;
    float *ui, *up;
    int64_t checked = 0, other_intent = 0;
    small_spec(&s);
    s.text_noise = 0.0;
    s.misleading_frac = 0.3;
    dir = gen(ctx, &s);
    m = model_of(ctx, &s);
    ui = load_npy(dir, "usr_int.npy", s.n_users, 48);
    up = load_npy(dir, "usr_prf.npy", s.n_users, 32);
    ck_assert_int_eq(m->n_misleading[0], 90);
    for (int32_t u = 0; u < s.n_users; u++) {
        int32_t v = m->src[0][u];
        if (v == u || m->src[0][v] != v) continue;
        ck_assert_double_eq_tol(cosine(ui + (size_t)u * 48, ui + (size_t)v * 48, 48), 1.0, 1e-5);
        ck_assert_double_eq_tol(cosine(up + (size_t)u * 32, up + (size_t)v * 32, 32), 1.0, 1e-5);
        other_intent += m->idx[0][(size_t)u * 3] != m->idx[0][(size_t)v * 3];
        checked++;
    }
    ck_assert_int_gt(checked, 40);
    /* The text then mostly names the wrong dominant intent (K = 6). */
    ck_assert_msg(other_intent > checked / 2, "%lld of %lld", (long long)other_intent,
                  (long long)checked);
    /* Truthful users with different dominant intents are far from parallel,
     * so the check above can fail. */
    {
        int32_t a = 0, n_far = 0;
        while (m->src[0][a] != a) a++;
        for (int32_t u = a + 1; u < s.n_users; u++) {
            if (m->src[0][u] != u || m->idx[0][(size_t)u * 3] == m->idx[0][(size_t)a * 3]) continue;
            ck_assert_double_lt(cosine(ui + (size_t)a * 48, ui + (size_t)u * 48, 48), 0.99);
            n_far++;
        }
        ck_assert_int_gt(n_far, 50);
    }
    free(ui);
    free(up);
    irllrec__synth_free(ctx, m);
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
        small_spec(&s);                                                                 \
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
    small_spec(&s);
    s.struct_size = (uint32_t)offsetof(irllrec_x_synth_spec, n_items);
    ck_assert_int_eq(irllrec_x_synth_write(ctx, &s, dir), IRLLREC_E_INVALID_ARG);
    ck_assert(strstr(irllrec_ctx_errmsg(ctx), "spec.n_items = 0") != NULL);
    /* struct_size too small, or a newer struct with an unknown field set. */
    small_spec(&s);
    s.struct_size = 2;
    ck_assert_int_eq(irllrec_x_synth_write(ctx, &s, dir), IRLLREC_E_VERSION);
    memset(big, 0, sizeof big);
    small_spec(&big[0]);
    big[0].struct_size = (uint32_t)sizeof big;
    ck_assert_int_eq(irllrec_x_synth_write(ctx, &big[0], dir), IRLLREC_OK);
    ((unsigned char *)big)[sizeof big[0] + 3] = 1;
    ck_assert_int_eq(irllrec_x_synth_write(ctx, &big[0], dir), IRLLREC_E_VERSION);
    /* NULLs. */
    small_spec(&s);
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
    small_spec(&s);
    a = gen(ctx, &s); /* min_degree = max_dominant = 3 */
    s.struct_size = (uint32_t)offsetof(irllrec_x_synth_spec, min_degree);
    s.min_degree = 99; /* beyond the caller's struct: must be ignored */
    s.max_dominant = 99;
    b = gen(ctx, &s);
    small_spec(&s);
    s.min_degree = 0;
    s.max_dominant = 0;
    c = gen(ctx, &s);
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

START_TEST(heavy_users_under_strong_skew)
{
    /* 15 of 20 items on average with a steep Zipf: rejection stalls and the
     * exact fallback has to finish the users; no duplicates either way. */
    irllrec_ctx *ctx = tu_ctx();
    irllrec_x_synth_spec s;
    irllrec__synth *m, *m2;
    small_spec(&s);
    s.n_items = 20;
    s.n_intents = 4;
    s.mean_degree = 15;
    s.popularity_skew = 8;
    m = model_of(ctx, &s);
    m2 = model_of(ctx, &s);
    for (int32_t u = 0; u < s.n_users; u++) {
        unsigned char seen[20] = {0};
        int64_t d = m->offs[u + 1] - m->offs[u];
        ck_assert_int_ge(d, 3);
        ck_assert_int_le(d, 20);
        ck_assert_int_ge(m->cnt[3 * u], 1);
        for (int64_t q = m->offs[u]; q < m->offs[u + 1]; q++) {
            ck_assert_int_lt(m->items[q], 20);
            ck_assert(!seen[m->items[q]]);
            seen[m->items[q]] = 1;
        }
    }
    ck_assert_int_eq(memcmp(m->items, m2->items, (size_t)m->offs[s.n_users] * 4), 0);
    irllrec__synth_free(ctx, m);
    irllrec__synth_free(ctx, m2);
    /* A single item: every user has it in train, nothing held out. */
    small_spec(&s);
    s.n_items = 1;
    s.n_intents = 1;
    s.mean_degree = 0.5;
    m = model_of(ctx, &s);
    ck_assert_int_eq(m->n_split[0], s.n_users);
    ck_assert_int_eq(m->n_split[1] + m->n_split[2], 0);
    irllrec__synth_free(ctx, m);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(allocation_failures_leak_nothing)
{
    irllrec_x_synth_spec s;
    char *dir = tu_tmpdir();
    int64_t n;
    small_spec(&s);
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
    small_spec(&s);
    s.n_users = 40;
    s.n_items = 30;
    s.mean_degree = 5;
    m = model_of(ctx, &s);
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
            text = slurp(dir, name, &len);
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
    tcase_add_test(tc, interactions_follow_intents);
    tcase_add_test(tc, text_carries_the_planted_intents);
    tcase_add_test(tc, misleading_rows_at_the_requested_fraction);
    tcase_add_test(tc, misleading_rows_point_elsewhere);
    tcase_add_test(tc, bad_specs_are_rejected);
    tcase_add_test(tc, older_struct_gets_defaults_for_new_fields);
    tcase_add_test(tc, heavy_users_under_strong_skew);
    tcase_add_test(tc, allocation_failures_leak_nothing);
    tcase_add_test(tc, failed_naming_removes_no_file);
    suite_add_tcase(s, tc);
    return s;
}
