/* Hook checkpoints: export -> file bytes -> import continues bit for bit;
 * corrupt or mismatched models are refused and change nothing; allocation
 * failures during export and import are clean. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "helpers/testutil.h"
#include "helpers/hookio.h"

#define U_ 4
#define I_ 5
#define N_ (U_ + I_)
#define D_ 3
#define L_ 2
#define B_ 3
#define DP_ 5
#define DT_ 6

typedef struct fx {
    tu_alloc_state st;
    irllrec_ctx *ctx;
    irllrec_hook *h;
} fx;

static float g_emb[N_ * D_], g_lay[L_ * N_ * D_];
static int64_t g_ip[N_ + 1];
static int32_t g_ix[N_ * N_];

static void inputs_init(void)
{
    irllrec__rng r;
    irllrec__rng_seed(&r, 99, 3);
    for (int i = 0; i < N_ * D_; i++) g_emb[i] = (float)irllrec__rng_normal(&r);
    for (int i = 0; i < L_ * N_ * D_; i++) g_lay[i] = (float)irllrec__rng_normal(&r);
    int64_t p = 0;
    g_ip[0] = 0;
    for (int a = 0; a < N_; a++) {
        for (int b = 0; b < N_; b++) {
            const int ua = a < U_, ub = b < U_;
            if (ua != ub && ((a + b) % 3 != 0)) g_ix[p++] = b;
        }
        g_ip[a + 1] = p;
    }
}

static irllrec_hook_spec fx_spec(int32_t n_intents, uint64_t seed)
{
    irllrec_hook_spec s;
    irllrec_hook_spec_init(&s, sizeof s);
    s.n_users = U_;
    s.n_items = I_;
    s.dim = D_;
    s.n_intents = n_intents;
    s.n_layers = L_;
    s.max_batch = 4;
    s.profile_dim = DP_;
    s.intent_dim = DT_;
    s.seed = seed;
    return s;
}

/* A hook with text and graph set (the inputs do not depend on the seed). */
static void fx_make(fx *f, int32_t n_intents, uint64_t seed)
{
    memset(f, 0, sizeof *f);
    f->ctx = tu_ctx_counting(&f->st);
    ck_assert_ptr_nonnull(f->ctx);
    irllrec_hook_spec s = fx_spec(n_intents, seed);
    ck_assert_int_eq(irllrec_hook_create(f->ctx, &s, &f->h), IRLLREC_OK);
    irllrec_csr g = {N_, N_, g_ip[N_], g_ip, g_ix};
    ck_assert_int_eq(irllrec_hook_set_graph(f->h, &g), IRLLREC_OK);
    irllrec__rng r;
    irllrec__rng_seed(&r, 5, 8);
    const int dims[4] = {DP_, DP_, DT_, DT_};
    for (int w = 0; w < 4; w++) {
        const int64_t rows = (w % 2 == 0) ? U_ : I_;
        float m[I_ * DT_];
        for (int64_t k = 0; k < rows * dims[w]; k++) m[k] = (float)irllrec__rng_normal(&r);
        ck_assert_int_eq(irllrec_hook_set_text(f->h, w, irllrec_cmat_dense(m, rows, dims[w])),
                         IRLLREC_OK);
    }
}

static void fx_free(fx *f)
{
    irllrec_hook_free(f->h);
    irllrec_ctx_free(f->ctx);
    ck_assert_int_eq(f->st.live_bytes, 0);
}

/* Non-default runtime parameters: a resume that dropped them would diverge. */
static void fx_params(fx *f)
{
    const irllrec_hook_param p[] = {IRLLREC_HOOK_W_KD, IRLLREC_HOOK_W_PAIR, IRLLREC_HOOK_W_TRAN,
                                    IRLLREC_HOOK_W_ITM, IRLLREC_HOOK_LR, IRLLREC_HOOK_MOMENTUM,
                                    IRLLREC_HOOK_TRAN_MODE, IRLLREC_HOOK_TRAN_SAMPLES};
    const double v[] = {1.0, 1.0, 0.5, 0.5, 0.05, 0.9, 1.0, 5.0};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        ck_assert_int_eq(irllrec_hook_set_param(f->h, p[i], v[i]), IRLLREC_OK);
}

/* One step on a batch chosen by k; gradients into fresh zeroed buffers. */
static void fx_step(fx *f, int k, irllrec_hook_losses *lv, float *gf, float *gl)
{
    const int32_t users[B_] = {(int32_t)(k % U_), 1, 3};
    const int32_t pos[B_] = {(int32_t)(k % I_), 2, 4};
    const int32_t neg[B_] = {(int32_t)((k + 2) % I_), 0, 1};
    tu_hookio io;
    memset(gf, 0, sizeof(float) * N_ * D_);
    memset(gl, 0, sizeof(float) * L_ * N_ * D_);
    tu_hookio_init(&io, U_, I_, D_, g_emb, gf, L_, g_lay, gl);
    const irllrec_hook_batch batch = {B_, users, pos, neg};
    lv->struct_size = sizeof *lv;
    ck_assert_int_eq(irllrec_hook_step(f->h, &batch, &io.in, &io.grads, lv), IRLLREC_OK);
}

/* The hook's export serialised (malloc'd; *len its size). */
static unsigned char *fx_bytes(fx *f, size_t *len)
{
    irllrec_model *m = NULL;
    ck_assert_int_eq(irllrec_model_create(f->ctx, &m), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_export(f->h, m), IRLLREC_OK);
    ck_assert_int_eq(irllrec_model_save_mem(m, NULL, 0, len), IRLLREC_OK);
    unsigned char *buf = malloc(*len);
    ck_assert_int_eq(irllrec_model_save_mem(m, buf, *len, len), IRLLREC_OK);
    irllrec_model_free(m);
    return buf;
}

static irllrec_model *fx_load(fx *f, const unsigned char *buf, size_t len)
{
    irllrec_model *m = NULL;
    ck_assert_int_eq(irllrec_model_load_mem(f->ctx, buf, len, NULL, &m), IRLLREC_OK);
    return m;
}

START_TEST(resume_is_bit_identical)
{
    fx a, b;
    irllrec_hook_losses la, lb;
    static float gfa[N_ * D_], gla[L_ * N_ * D_], gfb[N_ * D_], glb[L_ * N_ * D_];
    inputs_init();
    fx_make(&a, 3, 11);
    fx_params(&a);
    for (int k = 0; k < 3; k++) fx_step(&a, k, &la, gfa, gla);
    size_t len = 0;
    unsigned char *file = fx_bytes(&a, &len);

    /* b starts elsewhere: defaults, one step of its own */
    fx_make(&b, 3, 11);
    fx_step(&b, 7, &lb, gfb, glb);
    irllrec_model *m = fx_load(&b, file, len);
    ck_assert_int_eq(irllrec_hook_import(b.h, m), IRLLREC_OK);
    irllrec_model_free(m);
    ck_assert_int_eq(irllrec_hook_steps(b.h), 3);
    double lr = 0.0;
    ck_assert_int_eq(irllrec_hook_get_param(b.h, IRLLREC_HOOK_LR, &lr), IRLLREC_OK);
    ck_assert(lr == 0.05);

    for (int k = 3; k < 7; k++) {
        fx_step(&a, k, &la, gfa, gla);
        fx_step(&b, k, &lb, gfb, glb);
        ck_assert(la.total != 0.0 && la.tran != 0.0 && la.itm != 0.0);
        ck_assert_int_eq(memcmp(&la, &lb, sizeof la), 0);
        ck_assert_int_eq(memcmp(gfa, gfb, sizeof gfa), 0);
        ck_assert_int_eq(memcmp(gla, glb, sizeof gla), 0);
    }
    size_t la_len = 0, lb_len = 0;
    unsigned char *fa = fx_bytes(&a, &la_len), *fb = fx_bytes(&b, &lb_len);
    ck_assert_uint_eq(la_len, lb_len);
    ck_assert_int_eq(memcmp(fa, fb, la_len), 0);
    ck_assert(la_len != len || memcmp(fa, file, len) != 0);  /* the state did move */
    free(fa);
    free(fb);
    free(file);
    fx_free(&a);
    fx_free(&b);
}
END_TEST

/* ---- corrupt models ------------------------------------------------------ */

enum { MUT_DROP = 1, MUT_NAN = 2, MUT_FLAT = 3, MUT_META_DROP = 4, MUT_META_VAL = 5,
       MUT_NEG_V = 6 };

/* A copy of src with one change to section/key `name`. */
static irllrec_model *mutated(irllrec_ctx *ctx, const irllrec_model *src, const char *name,
                              int mut)
{
    irllrec_model *m = NULL;
    ck_assert_int_eq(irllrec_model_create(ctx, &m), IRLLREC_OK);
    for (int32_t i = 0; i < irllrec_model_meta_count(src); i++) {
        uint32_t type = 0;
        const char *key = irllrec_model_meta_key(src, i, &type);
        const int hit = strcmp(key, name) == 0;
        if (hit && mut == MUT_META_DROP) continue;
        if (type == IRLLREC_MODEL_META_I64) {
            int64_t v;
            ck_assert_int_eq(irllrec_model_get_meta_i64(src, key, &v), IRLLREC_OK);
            ck_assert_int_eq(irllrec_model_add_meta_i64(m, key, hit ? v + 1 : v), IRLLREC_OK);
        } else if (type == IRLLREC_MODEL_META_F64) {
            double v;
            ck_assert_int_eq(irllrec_model_get_meta_f64(src, key, &v), IRLLREC_OK);
            ck_assert_int_eq(irllrec_model_add_meta_f64(m, key, hit ? 1e9 : v), IRLLREC_OK);
        } else {
            char buf[64];
            ck_assert_int_eq(irllrec_model_get_meta_str(src, key, buf, sizeof buf, NULL),
                             IRLLREC_OK);
            ck_assert_int_eq(irllrec_model_add_meta_str(m, key, buf), IRLLREC_OK);
        }
    }
    for (int32_t i = 0; i < irllrec_model_section_count(src); i++) {
        char sname[64];
        uint32_t kind, dtype, flags;
        int32_t ndim;
        int64_t dims[4], n = 1;
        snprintf(sname, sizeof sname, "%s", irllrec_model_section_name(src, i));
        ck_assert_int_eq(irllrec_model_section_info(src, i, &kind, &dtype, &flags, &ndim, dims),
                         IRLLREC_OK);
        const int hit = strcmp(sname, name) == 0;
        if (hit && mut == MUT_DROP) continue;
        for (int k = 0; k < ndim; k++) n *= dims[k];
        if (dtype == IRLLREC_MODEL_U64) {
            uint64_t *v = malloc((size_t)n * 8);
            ck_assert_int_eq(irllrec_model_get_u64(src, sname, v, n), IRLLREC_OK);
            ck_assert_int_eq(irllrec_model_add_u64s(m, kind, sname, v, n, flags), IRLLREC_OK);
            free(v);
            continue;
        }
        float *v = malloc((size_t)n * 4);
        ck_assert_int_eq(irllrec_model_get_f32(src, sname, 0, NULL, v, n), IRLLREC_OK);
        if (hit && mut == MUT_NAN) v[n / 2] = NAN;
        if (hit && mut == MUT_NEG_V) v[n - 1] = -1.0f;
        if (hit && mut == MUT_FLAT) {
            ndim = 1;
            dims[0] = n;
        }
        ck_assert_int_eq(irllrec_model_add_tensor(m, kind, sname, v, ndim, dims, flags),
                         IRLLREC_OK);
        free(v);
    }
    return m;
}

START_TEST(corrupt_models_are_refused)
{
    static const struct {
        const char *name;
        int mut;
        irllrec_status want;
    } cases[] = {
        {"hook.int.w1", MUT_DROP, IRLLREC_E_FORMAT},
        {"hook.teacher.b2", MUT_DROP, IRLLREC_E_FORMAT},
        {"hook.adam.state", MUT_DROP, IRLLREC_E_FORMAT},
        {"hook.align.rng", MUT_DROP, IRLLREC_E_FORMAT},
        {"hook.steps", MUT_META_DROP, IRLLREC_E_FORMAT},
        {"hook.param.lr", MUT_META_DROP, IRLLREC_E_FORMAT},
        {"hook.lib_version", MUT_META_DROP, IRLLREC_E_FORMAT},
        {"hook.param.lr", MUT_META_VAL, IRLLREC_E_FORMAT},
        {"hook.spec.n_items", MUT_META_VAL, IRLLREC_E_SHAPE},
        {"hook.proto.user", MUT_FLAT, IRLLREC_E_SHAPE},
        {"hook.prf.w2", MUT_NAN, IRLLREC_E_NUMERIC},
        {"hook.teacher.w1", MUT_NAN, IRLLREC_E_NUMERIC},
        {"hook.adam.state", MUT_NAN, IRLLREC_E_NUMERIC},
        {"hook.adam.state", MUT_NEG_V, IRLLREC_E_NUMERIC},
    };
    fx a, b;
    irllrec_hook_losses lv;
    static float gf[N_ * D_], gl[L_ * N_ * D_];
    inputs_init();
    fx_make(&a, 3, 11);
    fx_params(&a);
    fx_step(&a, 0, &lv, gf, gl);
    fx_make(&b, 3, 11);
    fx_step(&b, 1, &lv, gf, gl);
    irllrec_model *good = NULL;
    ck_assert_int_eq(irllrec_model_create(a.ctx, &good), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_export(a.h, good), IRLLREC_OK);
    /* v2: the hook has no generator of its own; the noise and the sample come
     * from the alignment handle's, the only RNG section */
    int32_t idx = 0;
    uint32_t kind = 0;
    ck_assert_int_eq(irllrec_model_find(good, "hook.align.rng", &idx), IRLLREC_OK);
    ck_assert_int_eq(irllrec_model_section_info(good, idx, &kind, NULL, NULL, NULL, NULL),
                     IRLLREC_OK);
    ck_assert_uint_eq(kind, IRLLREC_MODEL_RNG);
    ck_assert_int_eq(irllrec_model_find(good, "hook.rng", &idx), IRLLREC_E_FORMAT);
    int n_rng = 0;
    for (int32_t i = 0; i < irllrec_model_section_count(good); i++) {
        ck_assert_int_eq(irllrec_model_section_info(good, i, &kind, NULL, NULL, NULL, NULL),
                         IRLLREC_OK);
        n_rng += kind == IRLLREC_MODEL_RNG;
    }
    ck_assert_int_eq(n_rng, 1);
    size_t len0 = 0;
    unsigned char *before = fx_bytes(&b, &len0);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        irllrec_model *bad = mutated(b.ctx, good, cases[c].name, cases[c].mut);
        ck_assert_msg(irllrec_hook_import(b.h, bad) == cases[c].want, "case %zu (%s): %s", c,
                      cases[c].name, irllrec_ctx_errmsg(b.ctx));
        /* a missing section or key is named as missing, not "malformed input"
         * (issue 17 item 12) */
        if (cases[c].mut == MUT_DROP || cases[c].mut == MUT_META_DROP) {
            const char *msg = irllrec_ctx_errmsg(b.ctx);
            ck_assert_msg(strstr(msg, "irllrec_hook_import: ") == msg &&
                              strstr(msg, cases[c].name) != NULL &&
                              (strstr(msg, "no section named") != NULL ||
                               strstr(msg, "no metadata key") != NULL) &&
                              strstr(msg, "malformed input") == NULL,
                          "case %zu: %s", c, msg);
        }
        irllrec_model_free(bad);
        size_t len1 = 0;
        unsigned char *after = fx_bytes(&b, &len1);
        ck_assert_uint_eq(len0, len1);
        ck_assert_int_eq(memcmp(before, after, len0), 0);
        free(after);
    }
    /* a different shape: K = 4 prototypes */
    fx k4;
    fx_make(&k4, 4, 11);
    ck_assert_int_eq(irllrec_hook_import(k4.h, good), IRLLREC_E_SHAPE);
    fx_free(&k4);
    /* the unmutated copy is accepted */
    irllrec_model *same = mutated(b.ctx, good, "", 0);
    ck_assert_int_eq(irllrec_hook_import(b.h, same), IRLLREC_OK);
    irllrec_model_free(same);
    ck_assert_int_eq(irllrec_hook_import(b.h, NULL), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_import(NULL, good), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_export(NULL, good), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_export(a.h, good), IRLLREC_E_INVALID_ARG);  /* names taken */
    irllrec_model_free(good);
    free(before);
    fx_free(&a);
    fx_free(&b);
}
END_TEST

START_TEST(allocation_failures_are_clean)
{
    fx a;
    irllrec_hook_losses lv;
    static float gf[N_ * D_], gl[L_ * N_ * D_];
    inputs_init();
    fx_make(&a, 3, 11);
    fx_step(&a, 0, &lv, gf, gl);
    size_t len0 = 0;
    unsigned char *ref = fx_bytes(&a, &len0);
    const int64_t base = a.st.live_bytes;
    int done = 0;
    for (int64_t k = 1; k < 500 && !done; k++) {
        irllrec_model *m = NULL;
        ck_assert_int_eq(irllrec_model_create(a.ctx, &m), IRLLREC_OK);
        a.st.fail_at = a.st.n_alloc + k;
        irllrec_status rc = irllrec_hook_export(a.h, m);
        a.st.fail_at = 0;
        if (rc == IRLLREC_OK) done = 1;
        else ck_assert_int_eq(rc, IRLLREC_E_NOMEM);
        irllrec_model_free(m);
        ck_assert_int_eq(a.st.live_bytes, base);
    }
    ck_assert(done);
    irllrec_model *src = fx_load(&a, ref, len0);
    const int64_t base2 = a.st.live_bytes;
    done = 0;
    for (int64_t k = 1; k < 50 && !done; k++) {
        a.st.fail_at = a.st.n_alloc + k;
        irllrec_status rc = irllrec_hook_import(a.h, src);
        a.st.fail_at = 0;
        if (rc == IRLLREC_OK) done = 1;
        else ck_assert_int_eq(rc, IRLLREC_E_NOMEM);
        ck_assert_int_eq(a.st.live_bytes, base2);
        size_t len1 = 0;
        unsigned char *now = fx_bytes(&a, &len1);
        ck_assert_int_eq(memcmp(ref, now, len0), 0);
        free(now);
    }
    ck_assert(done);
    irllrec_model_free(src);
    free(ref);
    fx_free(&a);
}
END_TEST

Suite *checkpoint_suite(void)
{
    Suite *s = suite_create("checkpoint");
    TCase *tc = tcase_create("hook");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, resume_is_bit_identical);
    tcase_add_test(tc, corrupt_models_are_refused);
    tcase_add_test(tc, allocation_failures_are_clean);
    suite_add_tcase(s, tc);
    return s;
}
