/* The trained recommender's lists, its adds under allocation failure, and
 * its model file: save / load bit for bit, and files that are truncated,
 * flipped, reshaped or not serving models at all (the fixture:
 * helpers/serve_fx.c; explanations and cold start: test_serve.c). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "irllrec/irllrec.h"
#include "helpers/serve_fx.h"
#include "helpers/testutil.h"

static int listed(const int32_t *ids, int n, int32_t id)
{
    for (int t = 0; t < n; t++)
        if (ids[t] == id) return 1;
    return 0;
}

START_TEST(seen_items_and_an_added_users_items_are_excluded)
{
    sfx f;
    sfx_make(&f, 1);
    irllrec_rec *r = sfx_rec(&f, 1);
    int32_t ids[I], cnt = -1, uid = -1;
    const int32_t items[3] = {5, 2, 5};
    irllrec_rank_opts all;
    irllrec_rank_opts_init(&all, sizeof all);
    all.flags = IRLLREC_RANK_INCLUDE_SEEN;
    /* user 0 saw items 0 and 3 (the fixture's TRAIN pattern) */
    const int32_t u0 = 0;
    ck_assert_int_eq(irllrec_rec_recommend(r, &u0, 1, I, NULL, ids, NULL, &cnt), IRLLREC_OK);
    ck_assert(cnt == I - 2 && !listed(ids, cnt, 0) && !listed(ids, cnt, 3));
    ck_assert_int_eq(irllrec_rec_recommend(r, &u0, 1, I, &all, ids, NULL, &cnt), IRLLREC_OK);
    ck_assert(cnt == I && listed(ids, cnt, 0) && listed(ids, cnt, 3));
    /* a folded-in user: its items (5 twice, 2) are its seen items */
    ck_assert_int_eq(irllrec_rec_add_user(r, items, 3, &uid), IRLLREC_OK);
    ck_assert_int_eq(irllrec_rec_recommend(r, &uid, 1, I, NULL, ids, NULL, &cnt), IRLLREC_OK);
    ck_assert(cnt == I - 2 && !listed(ids, cnt, 5) && !listed(ids, cnt, 2));
    ck_assert_int_eq(irllrec_rec_recommend(r, &uid, 1, I, &all, ids, NULL, &cnt), IRLLREC_OK);
    ck_assert(cnt == I && listed(ids, cnt, 5) && listed(ids, cnt, 2));
    /* the caller's seen replaces the stored one */
    const int64_t ip[U + 2] = {0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    const int32_t ix[1] = {7};
    irllrec_csr mine = {U + 1, I, 1, ip, ix};
    irllrec_rank_opts o;
    irllrec_rank_opts_init(&o, sizeof o);
    o.seen = &mine;
    ck_assert_int_eq(irllrec_rec_recommend(r, &u0, 1, I, &o, ids, NULL, &cnt), IRLLREC_OK);
    ck_assert(cnt == I - 1 && !listed(ids, cnt, 7) && listed(ids, cnt, 0));
    /* unknown ids name the recommender's function */
    const int32_t bad = U + 1;
    ck_assert_int_eq(irllrec_rec_recommend(r, &bad, 1, 3, NULL, ids, NULL, NULL),
                     IRLLREC_E_INVALID_ARG);
    ck_assert(sfx_msg_has(f.ctx, "irllrec_rec_recommend: users[0] = 10 not in [0, 10)"));
    ck_assert_int_eq(irllrec_rec_similar(r, IRLLREC_ITEMS, &bad, 1, 3, NULL, ids, NULL, NULL),
                     IRLLREC_OK);
    const int32_t badi = I;
    ck_assert_int_eq(irllrec_rec_similar(r, IRLLREC_ITEMS, &badi, 1, 3, NULL, ids, NULL, NULL),
                     IRLLREC_E_INVALID_ARG);
    ck_assert(sfx_msg_has(f.ctx, "irllrec_rec_similar: ids[0] = 11 not in [0, 11)"));
    /* a rank.h refusal keeps its detail under our name */
    o.seen = NULL;
    o.flags = 1u << 7;
    ck_assert_int_eq(irllrec_rec_recommend(r, &u0, 1, 3, &o, ids, NULL, NULL),
                     IRLLREC_E_INVALID_ARG);
    ck_assert(sfx_msg_has(f.ctx, "irllrec_rec_recommend: opts->flags = 0x80"));
    irllrec_rec_free(r);
    sfx_free(&f);
}
END_TEST

/* ---- allocation failures on the adds and the loader ---------------------------------- */

/* What a caller can see of r: its counts and both sides' embeddings. */
static void expect_unchanged(irllrec_rec *r, const float *ue, const float *ie, int64_t nu,
                             int64_t ni)
{
    irllrec_rec_info info = {.struct_size = sizeof info};
    irllrec_cmat eu, ei;
    ck_assert_int_eq(irllrec_rec_get_info(r, &info), IRLLREC_OK);
    ck_assert(info.n_users == nu && info.n_items == ni);
    ck_assert_int_eq(irllrec_rec_embeddings(r, IRLLREC_USERS, &eu), IRLLREC_OK);
    ck_assert_int_eq(irllrec_rec_embeddings(r, IRLLREC_ITEMS, &ei), IRLLREC_OK);
    ck_assert(memcmp(eu.data, ue, (size_t)(nu * D) * sizeof(float)) == 0);
    ck_assert(memcmp(ei.data, ie, (size_t)(ni * D) * sizeof(float)) == 0);
}

static void snapshot_rows(irllrec_rec *r, float *ue, float *ie)
{
    irllrec_cmat eu, ei;
    ck_assert_int_eq(irllrec_rec_embeddings(r, IRLLREC_USERS, &eu), IRLLREC_OK);
    ck_assert_int_eq(irllrec_rec_embeddings(r, IRLLREC_ITEMS, &ei), IRLLREC_OK);
    memcpy(ue, eu.data, (size_t)(eu.rows * D) * sizeof(float));
    memcpy(ie, ei.data, (size_t)(ei.rows * D) * sizeof(float));
}

/* Every allocation of 12 add_from_text and 12 add_user calls fails once in
 * turn (both sides outgrow their first capacity of 16 rows): E_NOMEM and
 * nothing visible changes; then the loader the same way, from a fresh
 * context each time, leaking nothing. */
START_TEST(adds_and_load_survive_every_allocation_failure)
{
    sfx f;
    sfx_make(&f, 1);
    tu_alloc_state st = {0};
    irllrec_ctx *c = tu_ctx_counting(&st);
    irllrec_rec_spec s = sfx_spec(&f, 1);
    irllrec_rec *r = NULL;
    ck_assert_int_eq(irllrec_rec_create(c, &s, &r), IRLLREC_OK);
    static float ue[64 * D], ie[64 * D];
    const irllrec_cmat none = {NULL, 0, 0, 0};
    const int32_t items[3] = {1, 8, 1};
    int64_t nu = U, ni = I, fails = 0;
    for (int round = 0; round < 24; round++) {
        snapshot_rows(r, ue, ie);
        for (int64_t k = 1;; k++) {
            st.fail_at = st.n_alloc + k;
            const irllrec_status rc =
                round % 2 == 0
                    ? irllrec_rec_add_from_text(r, IRLLREC_ITEMS, none,
                                                irllrec_cmat_dense(f.txt[3], 1, DT), NULL)
                    : irllrec_rec_add_user(r, items, 3, NULL);
            st.fail_at = 0;
            if (rc == IRLLREC_OK) break;
            ck_assert_int_eq(rc, IRLLREC_E_NOMEM);
            expect_unchanged(r, ue, ie, nu, ni);
            fails++;
        }
        if (round % 2 == 0) ni++;
        else nu++;
    }
    ck_assert_int_gt(fails, 24);
    char *dir = tu_tmpdir(), path[512];
    tu_join(path, sizeof path, dir, "m.irlm");
    ck_assert_int_eq(irllrec_rec_save(r, path), IRLLREC_OK);
    irllrec_rec_free(r);
    irllrec_ctx_free(c);
    ck_assert_int_eq(st.live_bytes, 0);
    for (int64_t at = 2;; at++) {
        tu_alloc_state ls = {0};
        ls.fail_at = at;
        irllrec_ctx *lc = tu_ctx_counting(&ls);
        irllrec_rec *lr = NULL;
        const irllrec_status rc = irllrec_rec_load(lc, path, &lr);
        irllrec_rec_free(lr);
        irllrec_ctx_free(lc);
        ck_assert_int_eq(ls.live_bytes, 0);
        if (rc == IRLLREC_OK) break;
        ck_assert_int_eq(rc, IRLLREC_E_NOMEM);
        ck_assert_ptr_null(lr);
    }
    tu_tmpdir_free(dir);
    sfx_free(&f);
}
END_TEST

/* ---- save / load ------------------------------------------------------------------------ */

static void write_bytes(const char *path, const unsigned char *b, size_t n)
{
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(b, 1, n, fp), n);
    fclose(fp);
}

/* Every answer of a and b, compared bit for bit. */
static void same_answers(irllrec_rec *a, irllrec_rec *b, sfx *f)
{
    irllrec_rec_info ia = {.struct_size = sizeof ia}, ib = {.struct_size = sizeof ib};
    ck_assert_int_eq(irllrec_rec_get_info(a, &ia), IRLLREC_OK);
    ck_assert_int_eq(irllrec_rec_get_info(b, &ib), IRLLREC_OK);
    ck_assert(memcmp(&ia, &ib, sizeof ia) == 0);
    for (int side = 0; side < 2; side++) {
        irllrec_cmat ea, eb;
        ck_assert_int_eq(irllrec_rec_embeddings(a, side, &ea), IRLLREC_OK);
        ck_assert_int_eq(irllrec_rec_embeddings(b, side, &eb), IRLLREC_OK);
        ck_assert(ea.rows == eb.rows &&
                  memcmp(ea.data, eb.data, (size_t)(ea.rows * D) * sizeof(float)) == 0);
        for (int32_t id = 0; id < ea.rows; id++) {
            float pa[K], pb[K];
            ck_assert_int_eq(irllrec_rec_intents(a, side, &id, 1, pa), IRLLREC_OK);
            ck_assert_int_eq(irllrec_rec_intents(b, side, &id, 1, pb), IRLLREC_OK);
            ck_assert(memcmp(pa, pb, sizeof pa) == 0);
        }
        int32_t xa[K * 3], xb[K * 3];
        float sa[K * 3], sb[K * 3];
        ck_assert_int_eq(irllrec_rec_intent_exemplars(a, side, 3, xa, sa), IRLLREC_OK);
        ck_assert_int_eq(irllrec_rec_intent_exemplars(b, side, 3, xb, sb), IRLLREC_OK);
        ck_assert(memcmp(xa, xb, sizeof xa) == 0 && memcmp(sa, sb, sizeof sa) == 0);
        float oa[2 * D], ob[2 * D];
        const irllrec_cmat none = {NULL, 0, 0, 0};
        ck_assert_int_eq(irllrec_rec_embed_text(a, side, irllrec_cmat_dense(f->txt[0], 2, DP),
                                                none, irllrec_mat_dense(oa, 2, D)), IRLLREC_OK);
        ck_assert_int_eq(irllrec_rec_embed_text(b, side, irllrec_cmat_dense(f->txt[0], 2, DP),
                                                none, irllrec_mat_dense(ob, 2, D)), IRLLREC_OK);
        ck_assert(memcmp(oa, ob, sizeof oa) == 0);
    }
    for (int32_t u = 0; u < ia.n_users; u++)
        for (int32_t i = 0; i < ia.n_items; i++) {
            int32_t ka[K], kb[K];
            double sha[K], shb[K], ca[K], cb[K];
            irllrec_explanation xa = {sizeof xa, 0, 0, 0, ka, sha, ca};
            irllrec_explanation xb = {sizeof xb, 0, 0, 0, kb, shb, cb};
            ck_assert_int_eq(irllrec_rec_explain(a, u, i, K, &xa), IRLLREC_OK);
            ck_assert_int_eq(irllrec_rec_explain(b, u, i, K, &xb), IRLLREC_OK);
            ck_assert(xa.score == xb.score && xa.residual == xb.residual);
            ck_assert(memcmp(ka, kb, sizeof ka) == 0 && memcmp(sha, shb, sizeof sha) == 0 &&
                      memcmp(ca, cb, sizeof ca) == 0);
        }
    int32_t users[U + 1], ra[(U + 1) * 5], rb[(U + 1) * 5], ca[U + 1], cb[U + 1];
    float sa[(U + 1) * 5], sb[(U + 1) * 5];
    for (int32_t u = 0; u < ia.n_users; u++) users[u] = u;
    ck_assert_int_le(ia.n_users, U + 1);
    ck_assert_int_eq(irllrec_rec_recommend(a, users, ia.n_users, 5, NULL, ra, sa, ca), IRLLREC_OK);
    ck_assert_int_eq(irllrec_rec_recommend(b, users, ia.n_users, 5, NULL, rb, sb, cb), IRLLREC_OK);
    const size_t nr = (size_t)ia.n_users * 5;
    ck_assert(memcmp(ra, rb, nr * 4) == 0 && memcmp(sa, sb, nr * 4) == 0 &&
              memcmp(ca, cb, (size_t)ia.n_users * 4) == 0);
    ck_assert_int_eq(irllrec_rec_similar(a, IRLLREC_ITEMS, users, 4, 5, NULL, ra, sa, ca),
                     IRLLREC_OK);
    ck_assert_int_eq(irllrec_rec_similar(b, IRLLREC_ITEMS, users, 4, 5, NULL, rb, sb, cb),
                     IRLLREC_OK);
    ck_assert(memcmp(ra, rb, 20 * 4) == 0 && memcmp(sa, sb, 20 * 4) == 0);
    const int32_t items[3] = {0, 5, 10};
    float fa[D], fb[D];
    ck_assert_int_eq(irllrec_rec_fold_in(a, items, 3, fa), IRLLREC_OK);
    ck_assert_int_eq(irllrec_rec_fold_in(b, items, 3, fb), IRLLREC_OK);
    ck_assert(memcmp(fa, fb, sizeof fa) == 0);
}

/* A recommender with a text item and a folded-in user added, saved. */
static irllrec_rec *saved_rec(sfx *f, const char *path)
{
    irllrec_rec *r = sfx_rec(f, 1);
    const irllrec_cmat none = {NULL, 0, 0, 0};
    const int32_t items[2] = {2, 6};
    ck_assert_int_eq(irllrec_rec_add_from_text(r, IRLLREC_ITEMS, none,
                                               irllrec_cmat_dense(f->txt[3], 2, DT), NULL),
                     IRLLREC_OK);
    ck_assert_int_eq(irllrec_rec_add_user(r, items, 2, NULL), IRLLREC_OK);
    ck_assert_int_eq(irllrec_rec_save(r, path), IRLLREC_OK);
    return r;
}

START_TEST(save_then_load_gives_identical_answers)
{
    sfx f;
    sfx_make(&f, 1);
    char *dir = tu_tmpdir(), path[512];
    tu_join(path, sizeof path, dir, "m.irlm");
    irllrec_rec *a = saved_rec(&f, path), *b = NULL;
    ck_assert_int_eq(irllrec_rec_load(f.ctx, path, &b), IRLLREC_OK);
    same_answers(a, b, &f);
    /* and a second save of the loaded one is the same file */
    char path2[512];
    tu_join(path2, sizeof path2, dir, "m2.irlm");
    ck_assert_int_eq(irllrec_rec_save(b, path2), IRLLREC_OK);
    size_t n1, n2;
    unsigned char *b1 = tu_slurp(path, &n1), *b2 = tu_slurp(path2, &n2);
    ck_assert(n1 == n2 && memcmp(b1, b2, n1) == 0);
    free(b1);
    free(b2);
    irllrec_rec_free(a);
    irllrec_rec_free(b);
    tu_tmpdir_free(dir);
    sfx_free(&f);
}
END_TEST

/* One edit of a saved model: a metadata int64 (key, value), or one element
 * of a section (name, element, value: f32 or u64 by the section's dtype). */
typedef struct edit {
    const char *key;
    int64_t value;
    const char *section;
    int64_t element;
    double x;
} edit;

static void copy_meta(const irllrec_model *m, irllrec_model *o, const edit *e)
{
    for (int32_t i = 0; i < irllrec_model_meta_count(m); i++) {
        uint32_t t;
        const char *k = irllrec_model_meta_key(m, i, &t);
        int64_t v;
        double x;
        char s[128];
        if (t == IRLLREC_MODEL_META_I64) {
            ck_assert_int_eq(irllrec_model_get_meta_i64(m, k, &v), IRLLREC_OK);
            if (e->key != NULL && strcmp(k, e->key) == 0) v = e->value;
            ck_assert_int_eq(irllrec_model_add_meta_i64(o, k, v), IRLLREC_OK);
        } else if (t == IRLLREC_MODEL_META_F64) {
            ck_assert_int_eq(irllrec_model_get_meta_f64(m, k, &x), IRLLREC_OK);
            ck_assert_int_eq(irllrec_model_add_meta_f64(o, k, x), IRLLREC_OK);
        } else {
            ck_assert_int_eq(irllrec_model_get_meta_str(m, k, s, sizeof s, NULL), IRLLREC_OK);
            if (e->key != NULL && strcmp(k, e->key) == 0) snprintf(s, sizeof s, "other-kind");
            ck_assert_int_eq(irllrec_model_add_meta_str(o, k, s), IRLLREC_OK);
        }
    }
}

/* Rewrite src into dst with one edit: the checksums are right, the content is not. */
static void save_edited(irllrec_ctx *ctx, const char *src, const char *dst, edit e)
{
    irllrec_model *m = NULL, *o = NULL;
    ck_assert_int_eq(irllrec_model_load(ctx, src, NULL, &m), IRLLREC_OK);
    ck_assert_int_eq(irllrec_model_create(ctx, &o), IRLLREC_OK);
    copy_meta(m, o, &e);
    for (int32_t i = 0; i < irllrec_model_section_count(m); i++) {
        uint32_t kind, dt, fl;
        int32_t nd;
        int64_t dims[4], cnt = 1;
        const char *name = irllrec_model_section_name(m, i);
        const int hit = e.section != NULL && strcmp(name, e.section) == 0;
        ck_assert_int_eq(irllrec_model_section_info(m, i, &kind, &dt, &fl, &nd, dims), IRLLREC_OK);
        for (int q = 0; q < nd; q++) cnt *= dims[q];
        void *buf = malloc((size_t)cnt * 8);
        if (dt == IRLLREC_MODEL_F32) {
            ck_assert_int_eq(irllrec_model_get_f32(m, name, 0, NULL, buf, cnt), IRLLREC_OK);
            if (hit) ((float *)buf)[e.element] = (float)e.x;
            ck_assert_int_eq(irllrec_model_add_tensor(o, kind, name, buf, nd, dims, fl),
                             IRLLREC_OK);
        } else {
            ck_assert_int_eq(irllrec_model_get_u64(m, name, buf, cnt), IRLLREC_OK);
            if (hit) ((uint64_t *)buf)[e.element] = (uint64_t)e.x;
            ck_assert_int_eq(irllrec_model_add_u64s(o, kind, name, buf, cnt, fl), IRLLREC_OK);
        }
        free(buf);
    }
    ck_assert_int_eq(irllrec_model_save(o, dst), IRLLREC_OK);
    irllrec_model_free(m);
    irllrec_model_free(o);
}

static void expect_refused(irllrec_ctx *ctx, const char *path, irllrec_status want,
                           const char *msg)
{
    irllrec_rec *r = (irllrec_rec *)ctx;
    ck_assert_int_eq(irllrec_rec_load(ctx, path, &r), want);
    ck_assert_ptr_null(r);
    ck_assert_msg(sfx_msg_has(ctx, msg), "message \"%s\" lacks \"%s\"", irllrec_ctx_errmsg(ctx), msg);
    ck_assert(sfx_msg_has(ctx, "irllrec_rec_load: "));
}

START_TEST(damaged_or_foreign_files_are_refused_with_what_is_wrong)
{
    sfx f;
    sfx_make(&f, 1);
    char *dir = tu_tmpdir(), path[512], bad[512];
    tu_join(path, sizeof path, dir, "m.irlm");
    tu_join(bad, sizeof bad, dir, "bad.irlm");
    irllrec_rec *a = saved_rec(&f, path);
    size_t n;
    unsigned char *img = tu_slurp(path, &n);
    write_bytes(bad, img, n / 2);
    expect_refused(f.ctx, bad, IRLLREC_E_FORMAT, "file_size");
    img[n - 5] ^= 0x10;  /* a bit in the last payload */
    write_bytes(bad, img, n);
    expect_refused(f.ctx, bad, IRLLREC_E_CHECKSUM, "checksum mismatch in section");
    save_edited(f.ctx, path, bad, (edit){"serve.n_items", I + 3, NULL, 0, 0});
    /* 13 = I + the 2 text items stored; the edited metadata says 14 */
    expect_refused(f.ctx, bad, IRLLREC_E_FORMAT,
                   "section \"serve.item_emb\" is 13 x 4 (ndim 2), the metadata says 14 x 4");
    /* content a checksum cannot vouch for */
    save_edited(f.ctx, path, bad, (edit){"serve.version", 2, NULL, 0, 0});
    expect_refused(f.ctx, bad, IRLLREC_E_VERSION, "serve.version = 2");
    save_edited(f.ctx, path, bad, (edit){"serve.kind", 0, NULL, 0, 0});
    expect_refused(f.ctx, bad, IRLLREC_E_FORMAT, "serve.kind is not the string");
    save_edited(f.ctx, path, bad, (edit){"serve.n_intents", 0, NULL, 0, 0});
    expect_refused(f.ctx, bad, IRLLREC_E_FORMAT, "serve.n_intents = 0, serve.intent_dim = 6");
    save_edited(f.ctx, path, bad, (edit){NULL, 0, "serve.user_emb", 5, NAN});
    expect_refused(f.ctx, bad, IRLLREC_E_NUMERIC, "\"serve.user_emb\": element 5 is not finite");
    save_edited(f.ctx, path, bad, (edit){NULL, 0, "serve.probs.item", 4, 0.9});
    expect_refused(f.ctx, bad, IRLLREC_E_FORMAT, "\"serve.probs.item\": row 1 is not a");
    /* user 0's TRAIN row is {0, 3}: make it {0, 0} */
    save_edited(f.ctx, path, bad, (edit){NULL, 0, "serve.seen.indices", 1, 0});
    expect_refused(f.ctx, bad, IRLLREC_E_FORMAT, "row 0, entry 1 = 0 is not an item id above");
    save_edited(f.ctx, path, bad, (edit){NULL, 0, "serve.seen.indices", 1, I + 2});
    expect_refused(f.ctx, bad, IRLLREC_E_FORMAT, "row 0, entry 1 = 13");
    save_edited(f.ctx, path, bad, (edit){NULL, 0, "serve.seen.indptr", 1, 30});
    expect_refused(f.ctx, bad, IRLLREC_E_FORMAT,
                   "\"serve.seen.indptr\": row 0 spans offsets 0..30");
    /* a hook checkpoint is a valid .irlm, but not a serving model */
    irllrec_model *m = NULL;
    ck_assert_int_eq(irllrec_model_create(f.ctx, &m), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_export(f.h, m), IRLLREC_OK);
    ck_assert_int_eq(irllrec_model_save(m, bad), IRLLREC_OK);
    irllrec_model_free(m);
    expect_refused(f.ctx, bad, IRLLREC_E_FORMAT, "a hook checkpoint");
    tu_join(bad, sizeof bad, dir, "absent.irlm");
    expect_refused(f.ctx, bad, IRLLREC_E_IO, "absent.irlm");
    free(img);
    irllrec_rec_free(a);
    tu_tmpdir_free(dir);
    sfx_free(&f);
}
END_TEST

Suite *serve_rec_suite(void)
{
    Suite *s = suite_create("serve_rec");
    TCase *tc = tcase_create("rec");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, adds_and_load_survive_every_allocation_failure);
    tcase_add_test(tc, seen_items_and_an_added_users_items_are_excluded);
    tcase_add_test(tc, save_then_load_gives_identical_answers);
    tcase_add_test(tc, damaged_or_foreign_files_are_refused_with_what_is_wrong);
    suite_add_tcase(s, tc);
    return s;
}
