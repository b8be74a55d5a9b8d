/* The interaction intent encoder: forward vs an independent double
 * implementation on a 5-node graph, gradient checks w.r.t. C_u, C_i and
 * every E(l) (graph and graph-free), thread-count independence, empty rows,
 * no allocation in the hot path, bad inputs. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "tower/tower.h"
#include "helpers/testutil.h"
#include "helpers/gradcheck.h"

static void fill(irllrec__rng *r, float *x, int64_t n, float lo, float hi)
{
    for (int64_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * (float)irllrec__rng_uniform(r);
}

/* A small bipartite graph: interactions (u, i) become edges u -> U+i and
 * U+i -> u, stored as CSR sorted by column. */
typedef struct tgraph {
    int64_t n, nnz;
    int64_t indptr[64];
    int32_t indices[256];
} tgraph;

static void make_graph(tgraph *g, int64_t nu, int64_t ni, const int *pairs, int npairs)
{
    int64_t n = nu + ni;
    memset(g, 0, sizeof *g);
    g->n = n;
    for (int64_t v = 0; v < n; v++) {
        g->indptr[v] = g->nnz;
        for (int64_t w = 0; w < n; w++) {
            int adj = 0;
            for (int p = 0; p < npairs; p++) {
                int64_t a = pairs[2 * p], b = nu + pairs[2 * p + 1];
                adj |= (v == a && w == b) || (v == b && w == a);
            }
            if (adj) g->indices[g->nnz++] = (int32_t)w;
        }
    }
    g->indptr[n] = g->nnz;
}

static irllrec_csr csr_of(const tgraph *g)
{
    return (irllrec_csr){g->n, g->n, g->nnz, g->indptr, g->indices};
}

static irllrec_intent *make_enc(irllrec_ctx *ctx, int64_t nu, int64_t ni, int d, int k, int l,
                                const tgraph *g)
{
    irllrec_intent_spec s;
    irllrec_intent *enc = NULL;
    irllrec_csr c;
    if (g) c = csr_of(g);
    irllrec_intent_spec_init(&s, sizeof s);
    s.n_users = nu;
    s.n_items = ni;
    s.dim = d;
    s.n_intents = k;
    s.n_layers = l;
    s.seed = 77;
    ck_assert_int_eq(irllrec_intent_create(ctx, &s, g ? &c : NULL, &enc), IRLLREC_OK);
    return enc;
}

/* ---- independent double reference ------------------------------------------ */

/* Written from the formulas of docs/math-towers.md section 3 directly, edge
 * list from the dense adjacency. */
static void ref_intent(int64_t nu, int64_t n, int d, int k, int nl, const float *const *e,
                       const float *cu, const float *ci, const tgraph *g, double *r)
{
    double *z = calloc((size_t)(n * d), sizeof(double));
    for (int64_t i = 0; i < n * d; i++) r[i] = 0;
    for (int l = 0; l < nl; l++) {
        for (int64_t v = 0; v < n; v++) {
            const float *c = v < nu ? cu : ci;
            double lg[64], mx = -1e300, s = 0, nrm = 1e-8;
            for (int q = 0; q < k; q++) {
                lg[q] = 0;
                for (int j = 0; j < d; j++) lg[q] += (double)e[l][v * d + j] * c[j * k + q];
                mx = fmax(mx, lg[q]);
            }
            for (int q = 0; q < k; q++) s += exp(lg[q] - mx);
            for (int j = 0; j < d; j++) {
                z[v * d + j] = 0;
                for (int q = 0; q < k; q++) z[v * d + j] += exp(lg[q] - mx) / s * c[j * k + q];
                nrm += z[v * d + j] * z[v * d + j];
            }
            for (int j = 0; j < d; j++) z[v * d + j] /= sqrt(nrm);  /* n(Z) */
            if (g == NULL) {
                for (int j = 0; j < d; j++) r[v * d + j] += z[v * d + j] * sqrt(nrm) / nl;
            }
        }
        if (g == NULL) continue;
        for (int64_t h = 0; h < n; h++) {
            double sa = 0, acc[64] = {0};
            for (int64_t t = 0; t < n; t++) {
                int adj = 0;
                double cs = 0, a;
                for (int64_t p = g->indptr[h]; p < g->indptr[h + 1]; p++) adj |= g->indices[p] == t;
                if (!adj) continue;
                for (int j = 0; j < d; j++) cs += z[h * d + j] * z[t * d + j];
                a = (cs + 1) / 2;
                sa += a;
                for (int j = 0; j < d; j++) acc[j] += a * e[l][t * d + j];
            }
            if (sa > 0)
                for (int j = 0; j < d; j++) r[h * d + j] += acc[j] / sa / nl;
        }
    }
    free(z);
}

enum { NU = 2, NI = 3, N = 5, D = 4, K = 3, NL = 2 };
static const int pairs5[] = {0, 0, 0, 1, 1, 1};  /* item 2 (node 4) has no edge */

static void check_forward(int graph)
{
    irllrec_ctx *ctx = tu_ctx();
    tgraph g;
    irllrec_intent *enc;
    irllrec__rng rng;
    float e0[N * D], e1[N * D], cu[D * K], ci[D * K], r[N * 6];
    const float *es[NL] = {e0, e1};
    irllrec_mat em[NL] = {{e0, N, D, D}, {e1, N, D, D}};
    double ref[N * D];
    make_graph(&g, NU, NI, pairs5, 3);
    ck_assert_int_eq(g.nnz, 6);
    enc = make_enc(ctx, NU, NI, D, K, NL, graph ? &g : NULL);
    ck_assert_int_eq(irllrec_intent_has_graph(enc), graph);
    irllrec__rng_seed(&rng, 31, 0);
    fill(&rng, e0, N * D, -1, 1);
    fill(&rng, e1, N * D, -1, 1);
    ck_assert_int_eq(irllrec_intent_get_param(enc, 0, (irllrec_mat){cu, D, K, K}), IRLLREC_OK);
    ck_assert_int_eq(irllrec_intent_get_param(enc, 1, (irllrec_mat){ci, D, K, K}), IRLLREC_OK);
    for (int i = 0; i < N * 6; i++) r[i] = 99.0f;
    ck_assert_int_eq(irllrec_intent_forward(enc, em, NL, (irllrec_mat){r, N, D, 6}), IRLLREC_OK);
    ref_intent(NU, N, D, K, NL, es, cu, ci, graph ? &g : NULL, ref);
    for (int v = 0; v < N; v++) {
        for (int j = 0; j < D; j++)
            ck_assert_msg(fabs(r[v * 6 + j] - ref[v * D + j]) < 1e-5 * (1 + fabs(ref[v * D + j])),
                          "r[%d][%d] = %g, reference %g", v, j, (double)r[v * 6 + j], ref[v * D + j]);
        for (int j = D; j < 6; j++) ck_assert_float_eq(r[v * 6 + j], 99.0f);  /* ld padding */
    }
    if (graph)
        for (int j = 0; j < D; j++) ck_assert_float_eq(r[4 * 6 + j], 0.0f);  /* empty row */
    irllrec_intent_free(enc);
    irllrec_ctx_free(ctx);
}

START_TEST(intent_forward_matches_reference_graph) { check_forward(1); }
END_TEST

START_TEST(intent_forward_matches_reference_graph_free) { check_forward(0); }
END_TEST

/* No users at all (an item-only host): the user prototypes get no gradient. */
START_TEST(intent_items_only)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_intent *enc = make_enc(ctx, 0, N, D, K, NL, NULL);
    irllrec__rng rng;
    float e0[N * D], e1[N * D], r[N * D], cu[D * K], ci[D * K], gcu[D * K], gci[D * K];
    const float *es[NL] = {e0, e1};
    irllrec_mat em[NL] = {{e0, N, D, D}, {e1, N, D, D}};
    double ref[N * D], s = 0;
    irllrec__rng_seed(&rng, 37, 0);
    fill(&rng, e0, N * D, -1, 1);
    fill(&rng, e1, N * D, -1, 1);
    irllrec_intent_get_param(enc, 0, (irllrec_mat){cu, D, K, K});
    irllrec_intent_get_param(enc, 1, (irllrec_mat){ci, D, K, K});
    ck_assert_int_eq(irllrec_intent_forward(enc, em, NL, irllrec_mat_dense(r, N, D)), IRLLREC_OK);
    ref_intent(0, N, D, K, NL, es, cu, ci, NULL, ref);
    for (int i = 0; i < N * D; i++) ck_assert_double_eq_tol(r[i], ref[i], 1e-5);
    ck_assert_int_eq(irllrec_intent_backward(enc, em, NL, irllrec_mat_dense(r, N, D), NULL), IRLLREC_OK);
    irllrec_intent_get_grad(enc, 0, (irllrec_mat){gcu, D, K, K});
    irllrec_intent_get_grad(enc, 1, (irllrec_mat){gci, D, K, K});
    for (int i = 0; i < D * K; i++) {
        ck_assert_float_eq(gcu[i], 0.0f);
        s += fabs((double)gci[i]);
    }
    ck_assert(s > 0);
    irllrec_intent_free(enc);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(intent_forward_hand_uniform_prototypes)
{
    /* With all prototypes equal every Z row is the same vector, so every
     * alpha = 1 and G is the plain row average of the neighbours. */
    irllrec_ctx *ctx = tu_ctx();
    tgraph g;
    irllrec_intent *enc;
    float c[D * K], e[N * D], r[N * D];
    irllrec_mat em[1] = {{e, N, D, D}};
    make_graph(&g, NU, NI, pairs5, 3);
    enc = make_enc(ctx, NU, NI, D, K, 1, &g);
    for (int i = 0; i < D * K; i++) c[i] = 0.5f;
    ck_assert_int_eq(irllrec_intent_set_param(enc, 0, (irllrec_mat){c, D, K, K}), IRLLREC_OK);
    ck_assert_int_eq(irllrec_intent_set_param(enc, 1, (irllrec_mat){c, D, K, K}), IRLLREC_OK);
    for (int i = 0; i < N * D; i++) e[i] = (float)i;
    ck_assert_int_eq(irllrec_intent_forward(enc, em, 1, (irllrec_mat){r, N, D, D}), IRLLREC_OK);
    /* user 0 -> items 0,1 (nodes 2,3): mean of rows 2 and 3 */
    for (int j = 0; j < D; j++) ck_assert_float_eq_tol(r[j], (e[2 * D + j] + e[3 * D + j]) / 2, 1e-5f);
    /* user 1 -> item 1 (node 3) */
    for (int j = 0; j < D; j++) ck_assert_float_eq_tol(r[D + j], e[3 * D + j], 1e-5f);
    /* item 1 (node 3) -> users 0, 1 */
    for (int j = 0; j < D; j++) ck_assert_float_eq_tol(r[3 * D + j], (e[j] + e[D + j]) / 2, 1e-5f);
    for (int j = 0; j < D; j++) ck_assert_float_eq(r[4 * D + j], 0.0f);
    irllrec_intent_free(enc);
    irllrec_ctx_free(ctx);
}
END_TEST

/* ---- gradient checks -------------------------------------------------------- */

typedef struct int_gc {
    irllrec_intent *enc;
    irllrec_mat em[NL];
    float *r, *w;
} int_gc;

static double intent_loss(void *ud)
{
    int_gc *c = (int_gc *)ud;
    double s = 0;
    ck_assert_int_eq(irllrec_intent_forward(c->enc, c->em, NL, irllrec_mat_dense(c->r, N, D)),
                     IRLLREC_OK);
    for (int i = 0; i < N * D; i++) s += (double)c->w[i] * c->r[i];
    return s;
}

static void check_grad(int graph)
{
    irllrec_ctx *ctx = tu_ctx();
    tgraph g;
    irllrec_intent *enc;
    irllrec__rng rng;
    float e0[N * D], e1[N * D], r[N * D], w[N * D];
    float de0[N * D], de1[N * D], gcu[D * K], gci[D * K];
    irllrec_mat dem[NL] = {{de0, N, D, D}, {de1, N, D, D}};
    int_gc c;
    irllrec__param *p;
    int np;
    gc_block bl[4];
    gc_opts o;
    gc_result res;
    make_graph(&g, NU, NI, pairs5, 3);
    enc = make_enc(ctx, NU, NI, D, K, NL, graph ? &g : NULL);
    irllrec__rng_seed(&rng, 32, 0);
    fill(&rng, e0, N * D, -1, 1);
    fill(&rng, e1, N * D, -1, 1);
    fill(&rng, w, N * D, -1, 1);
    irllrec__intent_params(enc, &p, &np);
    ck_assert_int_eq(np, 2);
    /* larger prototypes make the attention far from uniform */
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < D * K; i++) p[b].data[i] *= 3.0f;
    c.enc = enc;
    c.em[0] = irllrec_mat_dense(e0, N, D);
    c.em[1] = irllrec_mat_dense(e1, N, D);
    c.r = r;
    c.w = w;
    for (int i = 0; i < N * D; i++) de0[i] = de1[i] = 0.5f;
    intent_loss(&c);
    ck_assert_int_eq(irllrec_intent_backward(enc, c.em, NL, irllrec_mat_dense(w, N, D), dem), IRLLREC_OK);
    for (int i = 0; i < N * D; i++) {
        de0[i] -= 0.5f;
        de1[i] -= 0.5f;
    }
    irllrec_intent_get_grad(enc, 0, (irllrec_mat){gcu, D, K, K});
    irllrec_intent_get_grad(enc, 1, (irllrec_mat){gci, D, K, K});
    bl[0] = (gc_block){"C_u", p[0].data, gcu, D * K};
    bl[1] = (gc_block){"C_i", p[1].data, gci, D * K};
    bl[2] = (gc_block){"E0", e0, de0, N * D};
    bl[3] = (gc_block){"E1", e1, de1, N * D};
    gc_opts_default(&o);
    /* Prototype gradients here are ~3e-4, where the float32 forward's noise
     * divided by a 1e-3 step reaches ~2e-5 (measured: err 3.4e-2 at h = 1e-3,
     * 8.4e-3 at 3e-3, 4.9e-3 at 1e-2, converging): use 3e-3, inside the
     * 1e-3..1e-2 range of STYLE.md section 6. */
    o.rel_step = 3e-3;
    ck_assert_msg(gc_check(intent_loss, &c, bl, 4, &o, &res), "%s", res.msg);
    ck_assert_int_eq(res.n_checked, 2 * D * K + 2 * N * D);
    /* demb == NULL: the same prototype gradients, bit for bit */
    {
        float g2[D * K];
        intent_loss(&c);  /* the cache holds the last perturbed evaluation */
        irllrec_intent_zero_grad(enc);
        ck_assert_int_eq(irllrec_intent_backward(enc, c.em, NL, irllrec_mat_dense(w, N, D), NULL), IRLLREC_OK);
        irllrec_intent_get_grad(enc, 0, (irllrec_mat){g2, D, K, K});
        ck_assert(memcmp(g2, gcu, sizeof g2) == 0);
        irllrec_intent_get_grad(enc, 1, (irllrec_mat){g2, D, K, K});
        ck_assert(memcmp(g2, gci, sizeof g2) == 0);
    }
    /* the gradient reaches E through the prototypes, not only through G E */
    {
        double s = 0;
        for (int j = 0; j < D; j++) s += fabs((double)de0[4 * D + j]);
        if (graph) ck_assert(s == 0.0);  /* node 4 is isolated: no path at all */
        else ck_assert(s > 0.0);
    }
    irllrec_intent_free(enc);
    irllrec_ctx_free(ctx);
}

START_TEST(intent_backward_gradcheck_graph) { check_grad(1); }
END_TEST

START_TEST(intent_backward_gradcheck_graph_free) { check_grad(0); }
END_TEST

/* ---- thread-count independence ------------------------------------------------ */

static void run_threads(int32_t nt, const tgraph *g, int64_t nu, int64_t ni, float *r, float *de,
                        float *dc)
{
    irllrec_ctx_spec cs;
    irllrec_ctx *ctx = NULL;
    irllrec_intent *enc;
    irllrec__rng rng;
    const int d = 8, k = 5, nl = 2;
    const int64_t n = nu + ni;
    float *e = malloc(sizeof(float) * (size_t)(nl * n * d));
    irllrec_mat em[2], dem[2];
    irllrec_ctx_spec_init(&cs, sizeof cs);
    cs.n_threads = nt;
    ck_assert_int_eq(irllrec_ctx_create(&cs, &ctx), IRLLREC_OK);
    enc = make_enc(ctx, nu, ni, d, k, nl, g);
    irllrec__rng_seed(&rng, 33, 0);
    fill(&rng, e, nl * n * d, -1, 1);
    for (int l = 0; l < nl; l++) {
        em[l] = irllrec_mat_dense(e + l * n * d, n, d);
        dem[l] = irllrec_mat_dense(de + l * n * d, n, d);
    }
    memset(de, 0, sizeof(float) * (size_t)(nl * n * d));
    ck_assert_int_eq(irllrec_intent_forward(enc, em, nl, irllrec_mat_dense(r, n, d)), IRLLREC_OK);
    /* dr = r: a non-trivial upstream gradient */
    ck_assert_int_eq(irllrec_intent_backward(enc, em, nl, irllrec_mat_dense(r, n, d), dem), IRLLREC_OK);
    irllrec_intent_get_grad(enc, 0, (irllrec_mat){dc, d, k, k});
    irllrec_intent_get_grad(enc, 1, (irllrec_mat){dc + d * k, d, k, k});
    free(e);
    irllrec_intent_free(enc);
    irllrec_ctx_free(ctx);
}

START_TEST(intent_thread_count_independent)
{
    enum { TU = 13, TI = 17, TN = 30 };
    static int pairs[2 * 60];
    tgraph g;
    irllrec__rng rng;
    float r1[TN * 8], r3[TN * 8], de1[2 * TN * 8], de3[2 * TN * 8], dc1[2 * 8 * 5], dc3[2 * 8 * 5];
    irllrec__rng_seed(&rng, 34, 0);
    for (int p = 0; p < 60; p++) {
        pairs[2 * p] = (int)irllrec__rng_below(&rng, TU - 1);     /* user 12 stays empty */
        pairs[2 * p + 1] = (int)irllrec__rng_below(&rng, TI);
    }
    make_graph(&g, TU, TI, pairs, 40);
    run_threads(1, &g, TU, TI, r1, de1, dc1);
    run_threads(3, &g, TU, TI, r3, de3, dc3);
    ck_assert(memcmp(r1, r3, sizeof r1) == 0);
    ck_assert(memcmp(de1, de3, sizeof de1) == 0);
    ck_assert(memcmp(dc1, dc3, sizeof dc1) == 0);
    for (int j = 0; j < 8; j++) ck_assert_float_eq(r1[12 * 8 + j], 0.0f);
}
END_TEST

START_TEST(intent_no_edges_gives_zero)
{
    irllrec_ctx *ctx = tu_ctx();
    tgraph g;
    irllrec_intent *enc;
    irllrec__rng rng;
    float e0[N * D], e1[N * D], r[N * D], dr[N * D], de0[N * D], gc[D * K];
    irllrec_mat em[NL] = {{e0, N, D, D}, {e1, N, D, D}}, dem[NL] = {{de0, N, D, D}, {NULL, 0, 0, 0}};
    make_graph(&g, NU, NI, pairs5, 0);
    ck_assert_int_eq(g.nnz, 0);
    enc = make_enc(ctx, NU, NI, D, K, NL, &g);
    irllrec__rng_seed(&rng, 35, 0);
    fill(&rng, e0, N * D, -1, 1);
    fill(&rng, e1, N * D, -1, 1);
    fill(&rng, dr, N * D, -1, 1);
    for (int i = 0; i < N * D; i++) de0[i] = 1.0f;
    ck_assert_int_eq(irllrec_intent_forward(enc, em, NL, irllrec_mat_dense(r, N, D)), IRLLREC_OK);
    for (int i = 0; i < N * D; i++) ck_assert_float_eq(r[i], 0.0f);
    ck_assert_int_eq(irllrec_intent_backward(enc, em, NL, irllrec_mat_dense(dr, N, D), dem), IRLLREC_OK);
    for (int i = 0; i < N * D; i++) ck_assert_float_eq(de0[i], 1.0f);
    irllrec_intent_get_grad(enc, 0, (irllrec_mat){gc, D, K, K});
    for (int i = 0; i < D * K; i++) ck_assert_float_eq(gc[i], 0.0f);
    /* prototype-only backward (demb == NULL) is allowed */
    ck_assert_int_eq(irllrec_intent_backward(enc, em, NL, irllrec_mat_dense(dr, N, D), NULL), IRLLREC_OK);
    irllrec_intent_free(enc);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(intent_hot_path_allocates_nothing)
{
    tu_alloc_state st = {0};
    irllrec_ctx *ctx = tu_ctx_counting(&st);
    tgraph g;
    irllrec_intent *enc;
    float e0[N * D] = {0}, e1[N * D] = {0}, r[N * D], de[N * D] = {0};
    irllrec_mat em[NL] = {{e0, N, D, D}, {e1, N, D, D}}, dem[NL] = {{de, N, D, D}, {NULL, 0, 0, 0}};
    int64_t before;
    make_graph(&g, NU, NI, pairs5, 3);
    enc = make_enc(ctx, NU, NI, D, K, NL, &g);
    before = st.n_alloc;
    for (int it = 0; it < 3; it++) {
        ck_assert_int_eq(irllrec_intent_forward(enc, em, NL, irllrec_mat_dense(r, N, D)), IRLLREC_OK);
        ck_assert_int_eq(irllrec_intent_backward(enc, em, NL, irllrec_mat_dense(r, N, D), dem), IRLLREC_OK);
        irllrec_intent_zero_grad(enc);
    }
    ck_assert_int_eq(st.n_alloc, before);
    /* set_graph allocates (not a hot call) and frees the old buffers */
    ck_assert_int_eq(irllrec_intent_set_graph(enc, NULL), IRLLREC_OK);
    ck_assert_int_eq(irllrec_intent_has_graph(enc), 0);
    irllrec_intent_free(enc);
    irllrec_ctx_free(ctx);
    ck_assert_int_eq(st.live_bytes, 0);
}
END_TEST

START_TEST(intent_create_failures_leak_nothing)
{
    tgraph g;
    irllrec_csr c;
    irllrec_intent_spec s;
    make_graph(&g, NU, NI, pairs5, 3);
    c = csr_of(&g);
    irllrec_intent_spec_init(&s, sizeof s);
    s.n_users = NU;
    s.n_items = NI;
    s.dim = D;
    s.n_intents = K;
    for (int64_t k = 2; k < 40; k++) {
        tu_alloc_state st = {0};
        irllrec_ctx *ctx = tu_ctx_counting(&st);
        irllrec_intent *enc = (irllrec_intent *)1;
        int64_t base = st.live_bytes;
        irllrec_status rc;
        st.fail_at = k;
        rc = irllrec_intent_create(ctx, &s, &c, &enc);
        if (rc == IRLLREC_OK) {
            irllrec_intent_free(enc);
            irllrec_ctx_free(ctx);
            ck_assert_int_gt(k, 10);
            return;
        }
        ck_assert_int_eq(rc, IRLLREC_E_NOMEM);
        ck_assert_ptr_null(enc);
        ck_assert_int_eq(st.live_bytes, base);
        irllrec_ctx_free(ctx);
    }
    ck_abort_msg("create never succeeded");
}
END_TEST

START_TEST(intent_bad_inputs_change_nothing)
{
    irllrec_ctx *ctx = tu_ctx();
    tgraph g, bad;
    irllrec_csr c, bc;
    irllrec_intent_spec s;
    irllrec_intent *enc = NULL;
    irllrec__rng rng;
    float e0[N * D], e1[N * D], r[N * D], r2[N * D], de[N * D];
    irllrec_mat em[NL] = {{e0, N, D, D}, {e1, N, D, D}};
    irllrec_mat dem[NL] = {{de, N, D, D}, {NULL, 0, 0, 0}};
    make_graph(&g, NU, NI, pairs5, 3);
    c = csr_of(&g);
    irllrec_intent_spec_init(&s, sizeof s);
    ck_assert_int_eq(s.n_intents, 128);
    ck_assert_int_eq(s.n_layers, 3);
    s.n_users = NU;
    s.n_items = NI;
    s.n_intents = K;
    s.n_layers = NL;
    ck_assert_int_eq(irllrec_intent_create(ctx, &s, &c, &enc), IRLLREC_E_SHAPE);  /* dim 0 */
    ck_assert_ptr_null(enc);
    s.dim = D;
    ck_assert_int_eq(irllrec_intent_create(ctx, &s, &c, NULL), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_intent_create(ctx, NULL, &c, &enc), IRLLREC_E_INVALID_ARG);
    bad = g;
    bad.indices[2] = 5;  /* out of range: a bad argument, docs/error-handling.md */
    bc = csr_of(&bad);
    ck_assert_int_eq(irllrec_intent_create(ctx, &s, &bc, &enc), IRLLREC_E_INVALID_ARG);
    ck_assert(strstr(irllrec_ctx_errmsg(ctx), "graph row ") != NULL && strstr(irllrec_ctx_errmsg(ctx), "indices[2] = 5 not in [0, 5)") != NULL);
    bad = g;
    bad.indptr[2] = 0;  /* decreasing */
    bc = csr_of(&bad);
    ck_assert_int_eq(irllrec_intent_create(ctx, &s, &bc, &enc), IRLLREC_E_INVALID_ARG);
    bc = csr_of(&g);
    bc.n_rows = 4;
    ck_assert_int_eq(irllrec_intent_create(ctx, &s, &bc, &enc), IRLLREC_E_SHAPE);
    bc = csr_of(&g);
    bc.nnz = 5;
    ck_assert_int_eq(irllrec_intent_create(ctx, &s, &bc, &enc), IRLLREC_E_INVALID_ARG);
    ck_assert_ptr_null(enc);
    ck_assert_int_eq(irllrec_intent_create(ctx, &s, &c, &enc), IRLLREC_OK);

    irllrec__rng_seed(&rng, 36, 0);
    fill(&rng, e0, N * D, -1, 1);
    fill(&rng, e1, N * D, -1, 1);
    ck_assert_int_eq(irllrec_intent_backward(enc, em, NL, irllrec_mat_dense(r, N, D), dem), IRLLREC_E_STATE);
    ck_assert_int_eq(irllrec_intent_forward(enc, em, NL, irllrec_mat_dense(r, N, D)), IRLLREC_OK);
    memcpy(r2, r, sizeof r);
    ck_assert_int_eq(irllrec_intent_forward(NULL, em, NL, irllrec_mat_dense(r, N, D)), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_intent_forward(enc, NULL, NL, irllrec_mat_dense(r, N, D)), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_intent_forward(enc, em, 1, irllrec_mat_dense(r, N, D)), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_intent_forward(enc, em, NL, irllrec_mat_dense(r, N - 1, D)), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_intent_forward(enc, em, NL, (irllrec_mat){r, N, D, D - 1}), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_intent_forward(enc, em, NL, irllrec_mat_dense(e1, N, D)), IRLLREC_E_INVALID_ARG);
    {
        irllrec_mat bad_em[NL] = {{e0, N, D - 1, D}, {e1, N, D, D}};
        ck_assert_int_eq(irllrec_intent_forward(enc, bad_em, NL, irllrec_mat_dense(r, N, D)), IRLLREC_E_SHAPE);
    }
    ck_assert(memcmp(r, r2, sizeof r) == 0);
    for (int i = 0; i < N * D; i++) de[i] = 2.0f;
    ck_assert_int_eq(irllrec_intent_backward(enc, em, NL, irllrec_mat_dense(r, N, D - 1), dem), IRLLREC_E_SHAPE);
    {
        irllrec_mat bad_dem[NL] = {{e0, N, D, D}, {NULL, 0, 0, 0}};  /* dE aliases E */
        ck_assert_int_eq(irllrec_intent_backward(enc, em, NL, irllrec_mat_dense(r, N, D), bad_dem),
                         IRLLREC_E_INVALID_ARG);
    }
    for (int i = 0; i < N * D; i++) ck_assert_float_eq(de[i], 2.0f);
    /* a bad set_graph keeps the old graph */
    bc = csr_of(&bad);
    ck_assert_int_eq(irllrec_intent_set_graph(enc, &bc), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_intent_has_graph(enc), 1);
    ck_assert_int_eq(irllrec_intent_forward(enc, em, NL, irllrec_mat_dense(r, N, D)), IRLLREC_OK);
    ck_assert(memcmp(r, r2, sizeof r) == 0);
    /* set_graph invalidates the cached forward */
    ck_assert_int_eq(irllrec_intent_set_graph(enc, &c), IRLLREC_OK);
    ck_assert_int_eq(irllrec_intent_backward(enc, em, NL, irllrec_mat_dense(r, N, D), dem), IRLLREC_E_STATE);
    ck_assert_int_eq(irllrec_intent_get_param(enc, 2, (irllrec_mat){de, D, K, K}), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_intent_get_param(enc, 0, (irllrec_mat){de, K, D, D}), IRLLREC_E_SHAPE);
    de[0] = INFINITY;
    ck_assert_int_eq(irllrec_intent_set_param(enc, 0, (irllrec_mat){de, D, K, K}), IRLLREC_E_NUMERIC);
    irllrec_intent_free(enc);
    irllrec_intent_free(NULL);
    irllrec_ctx_free(ctx);
}
END_TEST

Suite *intent_suite(void)
{
    Suite *s = suite_create("intent");
    TCase *tc = tcase_create("intent");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, intent_forward_matches_reference_graph);
    tcase_add_test(tc, intent_forward_matches_reference_graph_free);
    tcase_add_test(tc, intent_forward_hand_uniform_prototypes);
    tcase_add_test(tc, intent_items_only);
    tcase_add_test(tc, intent_backward_gradcheck_graph);
    tcase_add_test(tc, intent_backward_gradcheck_graph_free);
    tcase_add_test(tc, intent_thread_count_independent);
    tcase_add_test(tc, intent_no_edges_gives_zero);
    tcase_add_test(tc, intent_hot_path_allocates_nothing);
    tcase_add_test(tc, intent_create_failures_leak_nothing);
    tcase_add_test(tc, intent_bad_inputs_change_nothing);
    suite_add_tcase(s, tc);
    return s;
}
