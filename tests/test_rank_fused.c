/* The fused score-and-select kernel (lib/rank) on every code path this CPU
 * has (portable C, AVX2, AVX-512) and both scorers (fused, sgemm), against
 * a naive reference ranking computed here: random problems with planted
 * exact ties (duplicated item rows) and near-ties (rows one unit apart in
 * one coordinate), d from 1 to 67 (not only multiples of 16), item counts
 * that leave partial panels, seen rows, allow and deny lists, K above the
 * candidates left, users with nothing left, 1, 2 and 3 threads and two
 * block sizes; the evaluator's metrics against the same reference; the
 * paths' score bits on general floats; bad path overrides refused.
 *
 * Values are multiples of 1/4 in [-2, 2] (exact problems): every product
 * and partial sum is exact in float, so any summation order gives the same
 * score and the reference's double scores are the kernel's bits. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "eval/evaluator.h"
#include "rank/kernel.h"
#include "serve/rank_impl.h"
#include "helpers/testutil.h"

static uint64_t mix(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

typedef struct fprob {
    int64_t nu, ni, d;
    float *ue, *ie;
    int64_t *sp;
    int32_t *si;
    irllrec_csr seen;
    int32_t list[40];
    int64_t n_list;
    int allow; /* list is an allow list (else a deny list) */
} fprob;

static float quarter(uint64_t *x) { return (float)((int)(mix(x) % 17) - 8) / 4.0f; }

/* Items 1 and 2 of every 10 copy item 0 of their ten (exact ties); item 3
 * is item 0 with one coordinate moved by 1/4 (a near-tie). User 0 has
 * every item seen (nothing left), user 1 none. */
static void make_fprob(fprob *p, int64_t nu, int64_t ni, int64_t d, int allow, uint64_t seed)
{
    uint64_t x = seed;
    int64_t nnz = 0;
    p->nu = nu, p->ni = ni, p->d = d, p->allow = allow;
    p->ue = malloc((size_t)(nu * d) * sizeof(float));
    p->ie = malloc((size_t)(ni * d) * sizeof(float));
    p->sp = malloc((size_t)(nu + 1) * sizeof(int64_t));
    p->si = malloc((size_t)(nu * 40 + ni) * sizeof(int32_t));
    for (int64_t j = 0; j < nu * d; j++) p->ue[j] = quarter(&x);
    for (int64_t i = 0; i < ni; i++)
        for (int64_t c = 0; c < d; c++) {
            const int64_t base = i - i % 10, r = i % 10;
            float v = quarter(&x);
            if ((r == 1 || r == 2 || r == 3) && base < i) v = p->ie[base * d + c];
            if (r == 3 && c == d / 2) v += 0.25f;
            p->ie[i * d + c] = v;
        }
    p->sp[0] = 0;
    for (int64_t u = 0; u < nu; u++) {
        if (u == 0) {
            for (int32_t i = 0; i < ni; i++) p->si[nnz++] = i;
        } else if (u > 1) {
            const int64_t start = nnz;
            int32_t n = (int32_t)(mix(&x) % 40);
            for (int32_t a = 0; a < n; a++) {
                int32_t it = (int32_t)(mix(&x) % (uint64_t)ni), dup = 0;
                for (int64_t q = start; q < nnz; q++) dup |= p->si[q] == it;
                if (!dup) p->si[nnz++] = it;
            }
        }
        p->sp[u + 1] = nnz;
    }
    p->seen = tu_csr(nu, ni, p->sp, p->si);
    p->n_list = allow ? 40 : 9;
    for (int64_t j = 0; j < p->n_list; j++) p->list[j] = (int32_t)(mix(&x) % (uint64_t)ni);
}

static void free_fprob(fprob *p) { free(p->ue), free(p->ie), free(p->sp), free(p->si); }

typedef struct ref_item {
    double s;
    int32_t id;
} ref_item;

static int ref_cmp(const void *a, const void *b)
{
    const ref_item *x = (const ref_item *)a, *y = (const ref_item *)b;
    if (x->s != y->s) return x->s > y->s ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int in_list(const int32_t *l, int64_t n, int32_t v)
{
    for (int64_t j = 0; j < n; j++)
        if (l[j] == v) return 1;
    return 0;
}

/* Every user's top k by a full sort (score descending, id ascending) of
 * the items it may get; lists = 0 ignores allow/deny (the evaluator). */
static void naive(const fprob *p, int32_t k, int lists, int32_t *ids, float *sc, int32_t *cnt)
{
    ref_item *it = malloc((size_t)p->ni * sizeof *it);
    for (int64_t u = 0; u < p->nu; u++) {
        int64_t n = 0;
        for (int32_t i = 0; i < p->ni; i++) {
            double s = 0.0;
            int out = in_list(p->si + p->sp[u], p->sp[u + 1] - p->sp[u], i);
            if (lists) out |= p->allow != in_list(p->list, p->n_list, i) ? 1 : 0;
            if (out) continue;
            for (int64_t c = 0; c < p->d; c++)
                s += (double)p->ue[u * p->d + c] * (double)p->ie[i * p->d + c];
            it[n].s = s;
            it[n++].id = i;
        }
        qsort(it, (size_t)n, sizeof it[0], ref_cmp);
        for (int32_t j = 0; j < k; j++) {
            ids[u * k + j] = j < n ? it[j].id : -1;
            sc[u * k + j] = j < n ? (float)it[j].s : 0.0f;
        }
        cnt[u] = n < k ? (int32_t)n : k;
    }
    free(it);
}

/* The paths to try: each ISA this CPU runs, each scorer. */
static int n_paths(void) { return irllrec__rank_isa(NULL) * 2; }
static void path_of(int j, int32_t *isa, int32_t *scorer)
{
    *isa = 1 + j / 2;
    *scorer = j % 2;
}

static irllrec_status recommend(irllrec_ctx *ctx, const fprob *p, int32_t k, int64_t block,
                                int32_t *ids, float *sc, int32_t *cnt)
{
    irllrec__rank_call c;
    irllrec_rank_opts o;
    irllrec_rank_opts_init(&o, sizeof o);
    o.seen = &p->seen;
    if (p->allow)
        o.allow = p->list, o.n_allow = p->n_list;
    else
        o.deny = p->list, o.n_deny = p->n_list;
    memset(&c, 0, sizeof c);
    c.func = "test";
    c.q_name = "user_emb", c.c_name = "item_emb", c.ids_name = "users";
    c.q = irllrec_cmat_dense(p->ue, p->nu, p->d);
    c.c = irllrec_cmat_dense(p->ie, p->ni, p->d);
    c.n = p->nu;
    c.k = k;
    return irllrec__rank_exec(ctx, &c, &o, block, ids, sc, cnt);
}

START_TEST(fused_recommend_matches_naive_on_every_path)
{
    const struct {
        int64_t nu, ni, d;
        int32_t k;
        int allow;
    } cfg[] = {{23, 203, 1, 20, 0},  {19, 203, 5, 7, 1},   {30, 1000, 16, 20, 0},
               {30, 1000, 17, 1, 0}, {17, 517, 33, 250, 0}, {25, 333, 64, 20, 1},
               {21, 96, 67, 100, 0}, {22, 400, 3, 8, 0},   {22, 400, 4, 9, 1},
               {20, 640, 7, 16, 0},  {20, 640, 2, 31, 0},  {24, 900, 5, 32, 0},
               {24, 900, 6, 33, 0}};
    for (size_t g = 0; g < sizeof cfg / sizeof cfg[0]; g++) {
        fprob p;
        const int32_t k = cfg[g].k;
        const size_t n = (size_t)cfg[g].nu * (size_t)k;
        int32_t *wid = malloc(n * 4), *id = malloc(n * 4), *wc = malloc((size_t)cfg[g].nu * 4),
                *cn = malloc((size_t)cfg[g].nu * 4);
        float *wsc = malloc(n * 4), *sc = malloc(n * 4);
        make_fprob(&p, cfg[g].nu, cfg[g].ni, cfg[g].d, cfg[g].allow, 1000u + g);
        naive(&p, k, 1, wid, wsc, wc);
        ck_assert_int_eq(wc[0], 0); /* the planted user with nothing left */
        for (int j = 0; j < n_paths(); j++) {
            for (int32_t th = 1; th <= 3; th++) {
                for (int64_t block = 0; block <= 5; block += 5) {
                    irllrec_ctx *ctx = tu_ctx_threads(th);
                    int32_t isa, scorer;
                    path_of(j, &isa, &scorer);
                    ck_assert_int_eq(irllrec__ctx_set_rank_path(ctx, isa, scorer), IRLLREC_OK);
                    ck_assert_int_eq(recommend(ctx, &p, k, block, id, sc, cn), IRLLREC_OK);
                    for (size_t q = 0; q < n; q++)
                        ck_assert_msg(id[q] == wid[q] && sc[q] == wsc[q],
                                      "cfg %zu path %s/%d threads %d block %lld: user %zu slot "
                                      "%zu: %d (%g), want %d (%g)", g,
                                      irllrec__rank_isa_name(isa), (int)scorer, (int)th,
                                      (long long)block, q / (size_t)k, q % (size_t)k, id[q],
                                      (double)sc[q], wid[q], (double)wsc[q]);
                    ck_assert_mem_eq(cn, wc, (size_t)cfg[g].nu * 4);
                    irllrec_ctx_free(ctx);
                }
            }
        }
        free_fprob(&p);
        free(wid), free(id), free(wc), free(cn), free(wsc), free(sc);
    }
}
END_TEST

/* Recall and NDCG at K from the naive lists, for the users with truth. */
static void naive_metrics(const fprob *p, const irllrec_csr *truth, const int32_t *ks, int n_ks,
                          double *rec, double *nd, int64_t *n_eval)
{
    const int32_t kmax = ks[n_ks - 1];
    int32_t *ids = malloc((size_t)(p->nu * kmax) * 4), *cnt = malloc((size_t)p->nu * 4);
    float *sc = malloc((size_t)(p->nu * kmax) * 4);
    naive(p, kmax, 0, ids, sc, cnt);
    memset(rec, 0, (size_t)n_ks * sizeof(double));
    memset(nd, 0, (size_t)n_ks * sizeof(double));
    *n_eval = 0;
    for (int64_t u = 0; u < p->nu; u++) {
        const int32_t *tr = truth->indices + truth->indptr[u];
        const int64_t nt = truth->indptr[u + 1] - truth->indptr[u];
        if (nt == 0) continue;
        (*n_eval)++;
        for (int j = 0; j < n_ks; j++) {
            double hits = 0, dcg = 0, idcg = 0;
            for (int32_t r = 0; r < ks[j] && r < cnt[u]; r++)
                if (in_list(tr, nt, ids[u * kmax + r])) hits += 1, dcg += 1.0 / log2(r + 2.0);
            for (int32_t r = 0; r < ks[j] && r < nt; r++) idcg += 1.0 / log2(r + 2.0);
            rec[j] += hits / (double)nt;
            nd[j] += dcg / idcg;
        }
    }
    for (int j = 0; j < n_ks; j++) rec[j] /= (double)*n_eval, nd[j] /= (double)*n_eval;
    free(ids), free(cnt), free(sc);
}

static int cmp_i32(const void *a, const void *b)
{
    const int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

START_TEST(evaluator_matches_naive_on_every_path)
{
    const int32_t ks[3] = {1, 5, 20};
    fprob p;
    int64_t *tp = malloc(41 * sizeof(int64_t)), ne, wne;
    int32_t *ti = malloc(40 * 6 * sizeof(int32_t));
    uint64_t x = 99;
    double wr[3], wn[3], r0[3], n0[3];
    make_fprob(&p, 40, 777, 19, 0, 42u);
    /* the evaluator takes its mask rows ascending */
    for (int64_t u = 0; u < 40; u++)
        qsort(p.si + p.sp[u], (size_t)(p.sp[u + 1] - p.sp[u]), sizeof(int32_t), cmp_i32);
    tp[0] = 0;
    for (int64_t u = 0, nnz = 0; u < 40; u++) {
        /* ascending truth rows, some empty (users skipped) */
        int32_t at = (int32_t)(mix(&x) % 50);
        for (int a = 0; u % 7 != 3 && a < 6 && at < 777; a++, at += 1 + (int32_t)(mix(&x) % 120))
            ti[nnz++] = at;
        tp[u + 1] = nnz;
    }
    irllrec_csr truth = tu_csr(40, 777, tp, ti);
    naive_metrics(&p, &truth, ks, 3, wr, wn, &wne);
    for (int j = 0; j < n_paths(); j++) {
        for (int32_t th = 1; th <= 3; th++) {
            irllrec_ctx *ctx = tu_ctx_threads(th);
            irllrec_evaluator *ev;
            double r[3], n[3];
            int32_t isa, scorer;
            path_of(j, &isa, &scorer);
            ck_assert_int_eq(irllrec__ctx_set_rank_path(ctx, isa, scorer), IRLLREC_OK);
            ck_assert_int_eq(irllrec_evaluator_create(ctx, 777, ks, 3, &ev), IRLLREC_OK);
            ck_assert_int_eq(irllrec__evaluator_set_block(ev, 6), IRLLREC_OK);
            ck_assert_int_eq(irllrec_evaluator_run(ev, irllrec_mat_dense(p.ue, 40, 19),
                                                   irllrec_mat_dense(p.ie, 777, 19), &p.seen,
                                                   &truth, r, n, &ne), IRLLREC_OK);
            ck_assert_int_eq(ne, wne);
            for (int q = 0; q < 3; q++)
                ck_assert_msg(fabs(r[q] - wr[q]) < 1e-12 && fabs(n[q] - wn[q]) < 1e-12,
                              "path %s/%d threads %d k %d: recall %.15g vs %.15g, ndcg %.15g vs "
                              "%.15g", irllrec__rank_isa_name(isa), (int)scorer, (int)th,
                              (int)ks[q], r[q], wr[q], n[q], wn[q]);
            if (j == 0 && th == 1) {
                memcpy(r0, r, sizeof r), memcpy(n0, n, sizeof n);
            } else {
                ck_assert_mem_eq(r, r0, sizeof r);
                ck_assert_mem_eq(n, n0, sizeof n);
            }
            irllrec_evaluator_free(ev);
            irllrec_ctx_free(ctx);
        }
    }
    free_fprob(&p);
    free(tp), free(ti);
}
END_TEST

/* On general floats the fused paths compute every score as the same fma
 * chain, so their lists and scores agree bit for bit. */
START_TEST(fused_paths_give_the_same_bits_on_general_floats)
{
    const int64_t nu = 29, ni = 1111, d = 37;
    const int32_t k = 30;
    float *ue = malloc(nu * d * 4), *ie = malloc(ni * d * 4), *sc[IRLLREC__ISA_AMX], *ref;
    int32_t *id[IRLLREC__ISA_AMX], cnt[29];
    uint64_t x = 7;
    for (int64_t j = 0; j < nu * d; j++) ue[j] = tu_rnd(&x);
    for (int64_t j = 0; j < ni * d; j++) ie[j] = tu_rnd(&x);
    for (int32_t isa = 1; isa <= irllrec__rank_isa(NULL); isa++) {
        irllrec_ctx *ctx = tu_ctx_threads(2);
        sc[isa - 1] = malloc(nu * k * 4), id[isa - 1] = malloc(nu * k * 4);
        ck_assert_int_eq(irllrec__ctx_set_rank_path(ctx, isa, IRLLREC__SCORE_FUSED), IRLLREC_OK);
        ck_assert_int_eq(irllrec_recommend(ctx, irllrec_cmat_dense(ue, nu, d),
                                           irllrec_cmat_dense(ie, ni, d), NULL, nu, k, NULL,
                                           id[isa - 1], sc[isa - 1], cnt), IRLLREC_OK);
        ck_assert_mem_eq(sc[isa - 1], sc[0], (size_t)(nu * k) * 4);
        ck_assert_mem_eq(id[isa - 1], id[0], (size_t)(nu * k) * 4);
        irllrec_ctx_free(ctx);
    }
    /* and the scores are those of the fma chain, in list order */
    ref = sc[0];
    for (int64_t u = 0; u < nu; u++)
        for (int32_t j = 0; j < k; j++) {
            const int32_t it = id[0][u * k + j];
            float acc = 0.0f;
            for (int64_t c = 0; c < d; c++) acc = fmaf(ue[u * d + c], ie[it * d + c], acc);
            ck_assert(acc == ref[u * k + j]);
            if (j > 0) ck_assert(ref[u * k + j] <= ref[u * k + j - 1]);
        }
    for (int32_t isa = 1; isa <= irllrec__rank_isa(NULL); isa++)
        free(sc[isa - 1]), free(id[isa - 1]);
    free(ue), free(ie);
}
END_TEST

/* The AMX path's margin under pressure, against the portable path's bits:
 * candidates that differ by ~1e-4 of their scores (bf16 products cannot
 * order them: only the margin and the exact rescoring can), 3,000 of them
 * (several steps of every kind), a query whose norm is past the margin's
 * limit (its group falls back to AVX-512) and one with every candidate
 * seen but three. */
START_TEST(amx_path_holds_on_near_ties_and_huge_norms)
{
    const int64_t nu = 45, ni = 3000, d = 32;
    const int32_t k = 20;
    float *ue = malloc(nu * d * 4), *ie = malloc(ni * d * 4), *sc[2];
    int32_t *id[2], cnt[2][45], *si = malloc((size_t)ni * 4);
    int64_t sp[46];
    uint64_t x = 11;
    irllrec_csr seen;
    irllrec_rank_opts o;
    if (irllrec__rank_isa(NULL) < IRLLREC__ISA_AMX) {
        free(ue), free(ie), free(si);
        return;
    }
    for (int64_t j = 0; j < nu * d; j++) ue[j] = tu_rnd(&x);
    for (int64_t c = 0; c < d; c++) ie[c] = tu_rnd(&x);
    for (int64_t i = 1; i < ni; i++)
        for (int64_t c = 0; c < d; c++) ie[i * d + c] = ie[c] * (1.0f + 1e-4f * tu_rnd(&x));
    for (int64_t c = 0; c < d; c++) ue[5 * d + c] *= 0x1p40f;
    for (int64_t u = 0; u <= nu; u++) sp[u] = u <= 7 ? 0 : ni - 3;
    for (int32_t i = 0; i < ni - 3; i++) si[i] = i + 3;
    seen = tu_csr(nu, ni, sp, si);
    irllrec_rank_opts_init(&o, sizeof o);
    o.seen = &seen;
    for (int p = 0; p < 2; p++) {
        irllrec_ctx *ctx = tu_ctx_threads(2);
        sc[p] = malloc(nu * k * 4), id[p] = malloc(nu * k * 4);
        ck_assert_int_eq(irllrec__ctx_set_rank_path(ctx, p ? IRLLREC__ISA_AMX : IRLLREC__ISA_C,
                                                    IRLLREC__SCORE_FUSED),
                         IRLLREC_OK);
        ck_assert_int_eq(irllrec_recommend(ctx, irllrec_cmat_dense(ue, nu, d),
                                           irllrec_cmat_dense(ie, ni, d), NULL, nu, k, &o,
                                           id[p], sc[p], cnt[p]),
                         IRLLREC_OK);
        irllrec_ctx_free(ctx);
    }
    ck_assert_mem_eq(sc[1], sc[0], (size_t)(nu * k) * 4);
    ck_assert_mem_eq(id[1], id[0], (size_t)(nu * k) * 4);
    ck_assert_mem_eq(cnt[1], cnt[0], sizeof cnt[0]);
    ck_assert_int_eq(cnt[0][7], 3); /* user 7 has seen all but i0, i1, i2 */
    for (int p = 0; p < 2; p++) free(sc[p]), free(id[p]);
    free(ue), free(ie), free(si);
}
END_TEST

/* The AVX-512 sorted insert against the plain rule, for every length up to
 * IRLLREC__SEL_SORTED_MAX and every place the new key can go: the slots
 * past n up to a multiple of 8 must keep their all-ones keys, and the slot
 * after them, watched, must not be written. */
START_TEST(sorted_insert_matches_the_plain_rule)
{
    if (irllrec__rank_isa(NULL) < IRLLREC__ISA_AVX512) return;
    for (int32_t n = 1; n <= IRLLREC__SEL_SORTED_MAX; n++)
        for (int32_t at = 1; at <= n; at++) {
            uint64_t s[IRLLREC__SEL_SORTED_MAX + 1], want[IRLLREC__SEL_SORTED_MAX + 1], x;
            const int32_t pad = (n + 7) / 8 * 8;
            for (int32_t j = 0; j < n; j++) s[j] = 0x80000000ull * (uint64_t)(2 * j + 1);
            for (int32_t j = n; j < pad; j++) s[j] = UINT64_MAX;
            s[pad] = 12345;
            x = 0x80000000ull * (uint64_t)(2 * at); /* between s[at - 1] and s[at] */
            for (int32_t j = 0; j < at - 1; j++) want[j] = s[j + 1];
            want[at - 1] = x;
            for (int32_t j = at; j <= pad; j++) want[j] = s[j];
            ck_assert_uint_eq(irllrec__sorted_replace_avx512(s, n, x), want[0]);
            ck_assert_msg(memcmp(s, want, (size_t)(pad + 1) * 8) == 0, "n %d at %d", (int)n,
                          (int)at);
        }
}
END_TEST

START_TEST(bad_path_overrides_refused)
{
    irllrec_ctx *ctx = tu_ctx();
    ck_assert_int_eq(irllrec__ctx_set_rank_path(ctx, 5, 0), IRLLREC_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(irllrec_ctx_errmsg(ctx), "isa 5"));
    ck_assert_int_eq(irllrec__ctx_set_rank_path(ctx, -1, 0), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec__ctx_set_rank_path(ctx, 0, 2), IRLLREC_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(irllrec_ctx_errmsg(ctx), "scorer 2"));
    ck_assert_int_eq(irllrec__ctx_set_rank_path(NULL, 0, 0), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec__ctx_set_rank_path(ctx, 1, 1), IRLLREC_OK);
    ck_assert_int_eq(irllrec__rank_isa(ctx), IRLLREC__ISA_C);
    ck_assert_int_ge(irllrec__rank_isa(NULL), IRLLREC__ISA_C);
    irllrec_ctx_free(ctx);
}
END_TEST

Suite *rank_fused_suite(void)
{
    Suite *s = suite_create("rank_fused");
    TCase *tc = tcase_create("rank_fused");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, fused_recommend_matches_naive_on_every_path);
    tcase_add_test(tc, evaluator_matches_naive_on_every_path);
    tcase_add_test(tc, fused_paths_give_the_same_bits_on_general_floats);
    tcase_add_test(tc, amx_path_holds_on_near_ties_and_huge_norms);
    tcase_add_test(tc, sorted_insert_matches_the_plain_rule);
    tcase_add_test(tc, bad_path_overrides_refused);
    suite_add_tcase(s, tc);
    return s;
}
