/* SYNTHETIC data: the latent model (intent mixtures, popularity) and the
 * interactions drawn from it. The text embeddings are in synth_write.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "synth.h"

#define MAX_ENTITIES (1 << 28)
#define MAX_INTENTS 65536
#define MAX_DIM 65536
#define MAX_SLOTS 64
#define MAX_SKEW 10.0
#define MAX_NOISE 100.0
#define DEFAULT_MIN_DEGREE 3
#define DEFAULT_MAX_DOMINANT 3

void irllrec_x_synth_spec_init(irllrec_x_synth_spec *spec, uint32_t struct_size)
{
    static const irllrec_x_synth_spec d = {
        .n_users = 1000,
        .n_items = 800,
        .n_intents = 8,
        .profile_dim = 64,
        .intent_dim = 96,
        .mean_degree = 25.0,
        .popularity_skew = 0.8,
        .text_noise = 0.5,
        .misleading_frac = 0.1,
        .val_frac = 0.2,
        .test_frac = 0.2,
        .seed = 2025,
        .min_degree = DEFAULT_MIN_DEGREE,
        .max_dominant = DEFAULT_MAX_DOMINANT};
    irllrec__spec_init(spec, struct_size, &d, sizeof d);
}

static irllrec_status bad(irllrec_ctx *ctx, const char *func, const char *field, double v,
                          const char *want)
{
    return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, func, "spec.%s = %.17g: must be %s", field,
                         v, want);
}

irllrec_status irllrec__synth_resolve(irllrec_ctx *ctx, const char *func,
                                      const irllrec_x_synth_spec *in, irllrec_x_synth_spec *s)
{
    if (in == NULL) return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, func, "spec is NULL");
    IRL_TRY(irllrec__copy_spec(ctx, func, s, sizeof *s, in));
    /* Zero in a later field (including the zero tail of an older struct) means default. */
    if (s->min_degree == 0) s->min_degree = DEFAULT_MIN_DEGREE;
    if (s->max_dominant == 0) s->max_dominant = DEFAULT_MAX_DOMINANT;

    if (s->n_users < 1 || s->n_users > MAX_ENTITIES)
        return bad(ctx, func, "n_users", s->n_users, "in 1..2^28");
    if (s->n_items < 1 || s->n_items > MAX_ENTITIES)
        return bad(ctx, func, "n_items", s->n_items, "in 1..2^28");
    if (s->n_intents < 1 || s->n_intents > MAX_INTENTS || s->n_intents > s->n_items)
        return bad(ctx, func, "n_intents", s->n_intents, "in 1..min(n_items, 65536)");
    if (s->profile_dim < 1 || s->profile_dim > MAX_DIM)
        return bad(ctx, func, "profile_dim", s->profile_dim, "in 1..65536");
    if (s->intent_dim < 1 || s->intent_dim > MAX_DIM)
        return bad(ctx, func, "intent_dim", s->intent_dim, "in 1..65536");
    /* Written as !(ok) so that NaN fails too. */
    if (!(s->mean_degree > 0.0 && s->mean_degree < (double)s->n_items))
        return bad(ctx, func, "mean_degree", s->mean_degree, "> 0 and < n_items");
    if (!(s->popularity_skew >= 0.0 && s->popularity_skew <= MAX_SKEW))
        return bad(ctx, func, "popularity_skew", s->popularity_skew, "in [0, 10]");
    if (!(s->text_noise >= 0.0 && s->text_noise <= MAX_NOISE))
        return bad(ctx, func, "text_noise", s->text_noise, "in [0, 100]");
    if (!(s->misleading_frac >= 0.0 && s->misleading_frac <= 1.0))
        return bad(ctx, func, "misleading_frac", s->misleading_frac, "in [0, 1]");
    if (!(s->val_frac >= 0.0 && s->val_frac < 1.0))
        return bad(ctx, func, "val_frac", s->val_frac, "in [0, 1)");
    if (!(s->test_frac >= 0.0 && s->test_frac < 1.0))
        return bad(ctx, func, "test_frac", s->test_frac, "in [0, 1)");
    if (!(s->val_frac + s->test_frac < 1.0))
        return bad(ctx, func, "val_frac + test_frac", s->val_frac + s->test_frac,
                   "< 1 (every user keeps a train item)");
    if (s->min_degree < 0) return bad(ctx, func, "min_degree", s->min_degree, ">= 0 (0: default)");
    if (s->max_dominant < 0 || s->max_dominant > MAX_SLOTS)
        return bad(ctx, func, "max_dominant", s->max_dominant, "in 0..64 (0: default)");
    return IRLLREC_OK;
}

/* ---- latent model ------------------------------------------------------ */

static void draw_popularity(irllrec__synth *m, int32_t *perm)
{
    irllrec__rng r;
    int32_t n = m->spec.n_items;
    irllrec__rng_seed(&r, m->spec.seed, IRLLREC__SYNTH_ST_POP);
    for (int32_t i = 0; i < n; i++) perm[i] = i;
    for (int32_t i = n - 1; i > 0; i--) {
        int32_t j = (int32_t)irllrec__rng_below(&r, (uint64_t)i + 1);
        int32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    /* Zipf over a random permutation: the rank-r item has weight r^-skew. */
    for (int32_t k = 0; k < n; k++) m->pop[perm[k]] = pow((double)k + 1.0, -m->spec.popularity_skew);
}

/* One entity's sparse mixture: 1 + (number of heads before the first tail)
 * dominant intents, capped, with Dirichlet(1, ..., 1) weights. */
static void draw_mixture(irllrec__rng *r, int32_t n_intents, int32_t n_slots, int32_t *idx, float *w)
{
    int32_t cap = n_slots < n_intents ? n_slots : n_intents, n = 1;
    double g[MAX_SLOTS], sum = 0.0;
    while (n < cap && irllrec__rng_uniform(r) < 0.5) n++;
    for (int32_t j = 0; j < n; j++) {
        int32_t k, dup;
        do {
            k = (int32_t)irllrec__rng_below(r, (uint64_t)n_intents);
            dup = 0;
            for (int32_t q = 0; q < j; q++) dup |= idx[q] == k;
        } while (dup);
        idx[j] = k;
        g[j] = -log(1.0 - irllrec__rng_uniform(r));
        sum += g[j];
    }
    if (!(sum > 0.0)) { /* all draws exactly 0: probability ~2^-53n */
        for (int32_t j = 0; j < n; j++) g[j] = 1.0;
        sum = (double)n;
    }
    /* Insertion sort, weight descending, so slot 0 is the dominant intent. */
    for (int32_t j = 1; j < n; j++) {
        double gj = g[j];
        int32_t ij = idx[j], q = j - 1;
        while (q >= 0 && g[q] < gj) {
            g[q + 1] = g[q];
            idx[q + 1] = idx[q];
            q--;
        }
        g[q + 1] = gj;
        idx[q + 1] = ij;
    }
    for (int32_t j = 0; j < n_slots; j++) {
        if (j < n) {
            w[j] = (float)(g[j] / sum);
        } else {
            idx[j] = -1;
            w[j] = 0.0f;
        }
    }
}

static void draw_mixtures(irllrec__synth *m, int side)
{
    irllrec__rng r;
    int32_t n = side == IRLLREC__SYNTH_USER ? m->spec.n_users : m->spec.n_items;
    irllrec__rng_seed(&r, m->spec.seed, IRLLREC__SYNTH_ST_THETA + (uint64_t)side);
    for (int32_t e = 0; e < n; e++)
        draw_mixture(&r, m->spec.n_intents, m->n_slots, m->idx[side] + (size_t)e * (size_t)m->n_slots,
                     m->w[side] + (size_t)e * (size_t)m->n_slots);
}

void irllrec__synth_theta(const irllrec__synth *m, int side, int32_t e, double *out)
{
    int32_t k = m->spec.n_intents;
    const int32_t *idx = m->idx[side] + (size_t)e * (size_t)m->n_slots;
    const float *w = m->w[side] + (size_t)e * (size_t)m->n_slots;
    for (int32_t j = 0; j < k; j++) out[j] = IRLLREC__SYNTH_BACKGROUND / k;
    for (int32_t j = 0; j < m->n_slots; j++)
        if (idx[j] >= 0) out[idx[j]] += (1.0 - IRLLREC__SYNTH_BACKGROUND) * (double)w[j];
}

/* <s_u, s_i> of the sparse parts. */
static double sparse_dot(const irllrec__synth *m, int32_t u, int32_t i)
{
    const int32_t *iu = m->idx[0] + (size_t)u * (size_t)m->n_slots;
    const int32_t *ii = m->idx[1] + (size_t)i * (size_t)m->n_slots;
    const float *wu = m->w[0] + (size_t)u * (size_t)m->n_slots;
    const float *wi = m->w[1] + (size_t)i * (size_t)m->n_slots;
    double d = 0.0;
    for (int32_t a = 0; a < m->n_slots && iu[a] >= 0; a++)
        for (int32_t b = 0; b < m->n_slots && ii[b] >= 0; b++)
            if (iu[a] == ii[b]) d += (double)wu[a] * (double)wi[b];
    return d;
}

/* <theta_u, theta_i> = (1-B)^2 <s_u, s_i> + (1 - (1-B)^2) / K, since each s sums to 1. */
static double affinity_scale(void)
{
    return (1.0 - IRLLREC__SYNTH_BACKGROUND) * (1.0 - IRLLREC__SYNTH_BACKGROUND);
}

double irllrec__synth_affinity(const irllrec__synth *m, int32_t u, int32_t i)
{
    double a = affinity_scale();
    return a * sparse_dot(m, u, i) + (1.0 - a) / m->spec.n_intents;
}

/* ---- interactions ------------------------------------------------------ */

/* Sampling weight of (u, i) = pop_i * (affinity(u, i) + FLOOR)
 *   = sum_k A s_u[k] (pop_i s_i[k])  +  C pop_i,   A = (1-B)^2, C = (1-A)/K + FLOOR.
 * So a draw picks a component (one of u's intents, or "popularity"), then an
 * item from that component's cumulative table by binary search: O(log I). */
typedef struct tables {
    double *base;     /* n_items cumulative popularity */
    int64_t *koff;    /* n_intents + 1 */
    int32_t *kitem;   /* items listing intent k in their sparse part */
    double *kcum;     /* cumulative pop_i * s_i[k] within each intent's run */
    int64_t nz;
} tables;

static void free_tables(irllrec_ctx *ctx, const irllrec__synth *m, tables *t)
{
    irllrec__free(ctx, t->base, (size_t)m->spec.n_items * sizeof(double));
    irllrec__free(ctx, t->koff, ((size_t)m->spec.n_intents + 1) * sizeof(int64_t));
    irllrec__free(ctx, t->kitem, (size_t)t->nz * sizeof(int32_t));
    irllrec__free(ctx, t->kcum, (size_t)t->nz * sizeof(double));
}

static irllrec_status build_tables(irllrec_ctx *ctx, const irllrec__synth *m, tables *t)
{
    int32_t ni = m->spec.n_items, k = m->spec.n_intents, ns = m->n_slots;
    const int32_t *idx = m->idx[1];
    const float *w = m->w[1];
    double acc = 0.0;
    memset(t, 0, sizeof *t);
    t->base = (double *)irllrec__calloc_fn(ctx, IRLLREC__SYNTH_FN, (size_t)ni, sizeof(double));
    t->koff = (int64_t *)irllrec__calloc_fn(ctx, IRLLREC__SYNTH_FN, (size_t)k + 1, sizeof(int64_t));
    if (t->base == NULL || t->koff == NULL) goto nomem;
    for (int32_t i = 0; i < ni; i++) t->base[i] = (acc += m->pop[i]);
    for (size_t q = 0; q < (size_t)ni * (size_t)ns; q++)
        if (idx[q] >= 0) t->koff[idx[q] + 1]++;
    for (int32_t j = 0; j < k; j++) t->koff[j + 1] += t->koff[j];
    t->nz = t->koff[k];
    t->kitem =
        (int32_t *)irllrec__calloc_fn(ctx, IRLLREC__SYNTH_FN, (size_t)t->nz, sizeof(int32_t));
    t->kcum = (double *)irllrec__calloc_fn(ctx, IRLLREC__SYNTH_FN, (size_t)t->nz, sizeof(double));
    if (t->kitem == NULL || t->kcum == NULL) goto nomem;
    {
        int64_t *fill =
            (int64_t *)irllrec__calloc_fn(ctx, IRLLREC__SYNTH_FN, (size_t)k, sizeof(int64_t));
        if (fill == NULL) goto nomem;
        memcpy(fill, t->koff, (size_t)k * sizeof(int64_t));
        for (int32_t i = 0; i < ni; i++)
            for (int32_t j = 0; j < ns; j++) {
                int32_t q = idx[(size_t)i * (size_t)ns + (size_t)j];
                if (q < 0) continue;
                t->kitem[fill[q]] = i;
                t->kcum[fill[q]] = m->pop[i] * (double)w[(size_t)i * (size_t)ns + (size_t)j];
                fill[q]++;
            }
        irllrec__free(ctx, fill, (size_t)k * sizeof(int64_t));
    }
    for (int32_t j = 0; j < k; j++) {
        acc = 0.0;
        for (int64_t q = t->koff[j]; q < t->koff[j + 1]; q++) t->kcum[q] = (acc += t->kcum[q]);
    }
    return IRLLREC_OK;
nomem:
    free_tables(ctx, m, t);
    return IRLLREC_E_NOMEM;
}

/* First position in cum[0..n) whose value exceeds x (n - 1 if none, which
 * only rounding can cause). */
static int64_t upper(const double *cum, int64_t n, double x)
{
    int64_t lo = 0, hi = n - 1;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (cum[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

typedef struct keyed {
    double key;
    int32_t id;
} keyed;

static int keyed_desc(const void *a, const void *b)
{
    const keyed *x = (const keyed *)a, *y = (const keyed *)b;
    if (x->key != y->key) return x->key < y->key ? 1 : -1;
    return x->id < y->id ? -1 : (x->id > y->id);
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return x < y ? -1 : (x > y);
}

typedef struct user_work {
    const tables *t;
    int32_t *stamp;   /* n_items: last user that took the item */
    keyed *keys;      /* lazily allocated n_items, for the exact fallback */
} user_work;

/* Items of user u, without replacement, into out[0..d). Rejection of repeats
 * is fast while the user's remaining mass is large; when it stalls (a heavy
 * user under strong skew) the rest are drawn exactly by Efraimidis-Spirakis
 * keys u^(1/w) over all items not yet taken, O(I log I) for that user only. */
static irllrec_status draw_user_items(irllrec_ctx *ctx, const irllrec__synth *m, user_work *wk,
                                      int32_t u, int32_t d, irllrec__rng *r, int32_t *out)
{
    const tables *t = wk->t;
    int32_t ns = m->n_slots, ni = m->spec.n_items, ncomp = 0;
    const int32_t *iu = m->idx[0] + (size_t)u * (size_t)ns;
    const float *wu = m->w[0] + (size_t)u * (size_t)ns;
    double a = affinity_scale(), c = (1.0 - a) / m->spec.n_intents + IRLLREC__SYNTH_FLOOR;
    double cw[MAX_SLOTS + 1], total = 0.0;
    int32_t comp_k[MAX_SLOTS + 1];
    int32_t got = 0;
    int64_t budget = 64 * (int64_t)d + 256;

    for (int32_t j = 0; j < ns && iu[j] >= 0; j++) {
        int64_t lo = t->koff[iu[j]], hi = t->koff[iu[j] + 1];
        if (hi == lo) continue;
        cw[ncomp] = a * (double)wu[j] * t->kcum[hi - 1];
        comp_k[ncomp++] = iu[j];
    }
    cw[ncomp] = c * t->base[ni - 1];
    comp_k[ncomp++] = -1;
    for (int32_t j = 0; j < ncomp; j++) total += cw[j];

    while (got < d && budget-- > 0) {
        double x = irllrec__rng_uniform(r) * total;
        int32_t q = 0, item;
        while (q < ncomp - 1 && x >= cw[q]) x -= cw[q++];
        if (comp_k[q] < 0) {
            item = (int32_t)upper(t->base, ni, irllrec__rng_uniform(r) * t->base[ni - 1]);
        } else {
            int64_t lo = t->koff[comp_k[q]], n = t->koff[comp_k[q] + 1] - lo;
            const double *cum = t->kcum + lo;
            item = t->kitem[lo + upper(cum, n, irllrec__rng_uniform(r) * cum[n - 1])];
        }
        if (wk->stamp[item] == u) continue;
        wk->stamp[item] = u;
        out[got++] = item;
    }
    if (got < d) {
        int32_t n = 0;
        if (wk->keys == NULL) {
            wk->keys =
                (keyed *)irllrec__calloc_fn(ctx, IRLLREC__SYNTH_FN, (size_t)ni, sizeof(keyed));
            if (wk->keys == NULL) return IRLLREC_E_NOMEM;
        }
        for (int32_t i = 0; i < ni; i++) {
            double wgt;
            if (wk->stamp[i] == u) continue;
            wgt = m->pop[i] * (a * sparse_dot(m, u, i) + c);
            wk->keys[n].key = log(1.0 - irllrec__rng_uniform(r)) / wgt;
            wk->keys[n++].id = i;
        }
        qsort(wk->keys, (size_t)n, sizeof(keyed), keyed_desc);
        for (int32_t q = 0; got < d; q++) {
            wk->stamp[wk->keys[q].id] = u;
            out[got++] = wk->keys[q].id;
        }
    }
    return IRLLREC_OK;
}

/* Held-out counts: round(frac * d), at least 1 when frac > 0, then shrunk
 * (val first) until one train item is left. */
static void split_counts(const irllrec_x_synth_spec *s, int32_t d, int32_t *nv, int32_t *nt)
{
    int32_t v = (int32_t)floor(s->val_frac * d + 0.5), t = (int32_t)floor(s->test_frac * d + 0.5);
    if (s->val_frac > 0.0 && v == 0) v = 1;
    if (s->test_frac > 0.0 && t == 0) t = 1;
    while (v + t > d - 1) {
        if (v >= t && v > 0)
            v--;
        else
            t--;
    }
    *nv = v;
    *nt = t;
}

static irllrec_status draw_degrees(irllrec_ctx *ctx, irllrec__synth *m)
{
    irllrec__rng r;
    int32_t nu = m->spec.n_users, ni = m->spec.n_items;
    double extra = m->spec.mean_degree - m->min_degree;
    double l1p = extra > 0.0 ? log1p(-1.0 / (1.0 + extra)) : 0.0;
    irllrec__rng_seed(&r, m->spec.seed, IRLLREC__SYNTH_ST_DEGREE);
    m->offs[0] = 0;
    for (int32_t u = 0; u < nu; u++) {
        double d = m->min_degree;
        /* Geometric extra with mean (mean_degree - min_degree): a long tail of heavy users. */
        if (extra > 0.0) d += floor(log(1.0 - irllrec__rng_uniform(&r)) / l1p);
        if (d > ni) d = ni;
        m->offs[u + 1] = m->offs[u] + (int64_t)d;
    }
    if ((uint64_t)m->offs[nu] > SIZE_MAX / sizeof(int32_t))
        return irllrec__fail(ctx, IRLLREC_E_NOMEM, IRLLREC__SYNTH_FN,
                             "%lld interactions do not fit in memory", (long long)m->offs[nu]);
    return IRLLREC_OK;
}

static irllrec_status draw_interactions(irllrec_ctx *ctx, irllrec__synth *m)
{
    tables t;
    user_work wk;
    irllrec_status st = IRLLREC_OK;
    int32_t nu = m->spec.n_users, ni = m->spec.n_items;
    IRL_TRY(build_tables(ctx, m, &t));
    wk.t = &t;
    wk.keys = NULL;
    wk.stamp = (int32_t *)irllrec__calloc_fn(ctx, IRLLREC__SYNTH_FN, (size_t)ni, sizeof(int32_t));
    if (wk.stamp == NULL) {
        free_tables(ctx, m, &t);
        return IRLLREC_E_NOMEM;
    }
    for (int32_t i = 0; i < ni; i++) wk.stamp[i] = -1;
    for (int32_t u = 0; u < nu && st == IRLLREC_OK; u++) {
        irllrec__rng r;
        int32_t d = (int32_t)(m->offs[u + 1] - m->offs[u]), nv, nt;
        int32_t *it = m->items + m->offs[u];
        irllrec__rng_seed(&r, m->spec.seed, ((uint64_t)IRLLREC__SYNTH_ST_USER << 40) | (uint64_t)u);
        st = draw_user_items(ctx, m, &wk, u, d, &r, it);
        if (st != IRLLREC_OK) break;
        /* Draw order follows the intents, so shuffle before splitting. */
        for (int32_t j = d - 1; j > 0; j--) {
            int32_t q = (int32_t)irllrec__rng_below(&r, (uint64_t)j + 1), tmp = it[j];
            it[j] = it[q];
            it[q] = tmp;
        }
        split_counts(&m->spec, d, &nv, &nt);
        m->cnt[3 * (size_t)u] = d - nv - nt;
        m->cnt[3 * (size_t)u + 1] = nv;
        m->cnt[3 * (size_t)u + 2] = nt;
        qsort(it, (size_t)(d - nv - nt), sizeof(int32_t), cmp_i32);
        qsort(it + d - nv - nt, (size_t)nv, sizeof(int32_t), cmp_i32);
        qsort(it + d - nt, (size_t)nt, sizeof(int32_t), cmp_i32);
        for (int s = 0; s < 3; s++) m->n_split[s] += m->cnt[3 * (size_t)u + (size_t)s];
    }
    irllrec__free(ctx, wk.keys, wk.keys ? (size_t)ni * sizeof(keyed) : 0);
    irllrec__free(ctx, wk.stamp, (size_t)ni * sizeof(int32_t));
    free_tables(ctx, m, &t);
    return st;
}

/* Exactly round(frac * n) rows per side take their text from another random
 * entity of the same side (none when the side has a single entity). */
static irllrec_status draw_misleading(irllrec_ctx *ctx, irllrec__synth *m, int side)
{
    irllrec__rng r;
    int32_t n = side == IRLLREC__SYNTH_USER ? m->spec.n_users : m->spec.n_items;
    int32_t *src = m->src[side], *perm, cnt;
    for (int32_t e = 0; e < n; e++) src[e] = e;
    m->n_misleading[side] = 0;
    if (n < 2) return IRLLREC_OK;
    cnt = (int32_t)floor(m->spec.misleading_frac * n + 0.5);
    if (cnt == 0) return IRLLREC_OK;
    perm = (int32_t *)irllrec__calloc_fn(ctx, IRLLREC__SYNTH_FN, (size_t)n, sizeof(int32_t));
    if (perm == NULL) return IRLLREC_E_NOMEM;
    irllrec__rng_seed(&r, m->spec.seed, IRLLREC__SYNTH_ST_MISLEAD + (uint64_t)side);
    for (int32_t e = 0; e < n; e++) perm[e] = e;
    for (int32_t j = 0; j < cnt; j++) {
        int32_t q = j + (int32_t)irllrec__rng_below(&r, (uint64_t)(n - j)), e, o;
        e = perm[q];
        perm[q] = perm[j];
        perm[j] = e;
        o = (int32_t)irllrec__rng_below(&r, (uint64_t)n - 1);
        src[e] = o >= e ? o + 1 : o;
    }
    m->n_misleading[side] = cnt;
    irllrec__free(ctx, perm, (size_t)n * sizeof(int32_t));
    return IRLLREC_OK;
}

void irllrec__synth_free(irllrec_ctx *ctx, irllrec__synth *m)
{
    size_t nu, ni, ns;
    if (m == NULL) return;
    nu = (size_t)m->spec.n_users;
    ni = (size_t)m->spec.n_items;
    ns = (size_t)m->n_slots;
    irllrec__free(ctx, m->idx[0], nu * ns * sizeof(int32_t));
    irllrec__free(ctx, m->idx[1], ni * ns * sizeof(int32_t));
    irllrec__free(ctx, m->w[0], nu * ns * sizeof(float));
    irllrec__free(ctx, m->w[1], ni * ns * sizeof(float));
    irllrec__free(ctx, m->pop, ni * sizeof(double));
    irllrec__free(ctx, m->cnt, 3 * nu * sizeof(int32_t));
    if (m->offs != NULL) irllrec__free(ctx, m->items, (size_t)m->offs[nu] * sizeof(int32_t));
    irllrec__free(ctx, m->offs, (nu + 1) * sizeof(int64_t));
    irllrec__free(ctx, m->src[0], nu * sizeof(int32_t));
    irllrec__free(ctx, m->src[1], ni * sizeof(int32_t));
    irllrec__free(ctx, m, sizeof *m);
}

irllrec_status irllrec__synth_build(irllrec_ctx *ctx, const irllrec_x_synth_spec *spec,
                                    irllrec__synth **out)
{
    irllrec__synth *m;
    irllrec_status st;
    size_t nu = (size_t)spec->n_users, ni = (size_t)spec->n_items, ns;
    int32_t *perm;
    *out = NULL;
    m = (irllrec__synth *)irllrec__calloc_fn(ctx, IRLLREC__SYNTH_FN, 1, sizeof *m);
    if (m == NULL) return IRLLREC_E_NOMEM;
    m->spec = *spec;
    m->n_slots = spec->max_dominant;
    m->min_degree = spec->min_degree < spec->n_items ? spec->min_degree : spec->n_items;
    if (m->min_degree < 1) m->min_degree = 1;
    ns = (size_t)m->n_slots;
    m->idx[0] = (int32_t *)irllrec__calloc_fn(ctx, IRLLREC__SYNTH_FN, nu * ns, sizeof(int32_t));
    m->idx[1] = (int32_t *)irllrec__calloc_fn(ctx, IRLLREC__SYNTH_FN, ni * ns, sizeof(int32_t));
    m->w[0] = (float *)irllrec__calloc_fn(ctx, IRLLREC__SYNTH_FN, nu * ns, sizeof(float));
    m->w[1] = (float *)irllrec__calloc_fn(ctx, IRLLREC__SYNTH_FN, ni * ns, sizeof(float));
    m->pop = (double *)irllrec__calloc_fn(ctx, IRLLREC__SYNTH_FN, ni, sizeof(double));
    m->cnt = (int32_t *)irllrec__calloc_fn(ctx, IRLLREC__SYNTH_FN, 3 * nu, sizeof(int32_t));
    m->offs = (int64_t *)irllrec__calloc_fn(ctx, IRLLREC__SYNTH_FN, nu + 1, sizeof(int64_t));
    m->src[0] = (int32_t *)irllrec__calloc_fn(ctx, IRLLREC__SYNTH_FN, nu, sizeof(int32_t));
    m->src[1] = (int32_t *)irllrec__calloc_fn(ctx, IRLLREC__SYNTH_FN, ni, sizeof(int32_t));
    if (!m->idx[0] || !m->idx[1] || !m->w[0] || !m->w[1] || !m->pop || !m->cnt || !m->offs ||
        !m->src[0] || !m->src[1]) {
        st = IRLLREC_E_NOMEM;
        goto fail;
    }
    perm = (int32_t *)irllrec__calloc_fn(ctx, IRLLREC__SYNTH_FN, ni, sizeof(int32_t));
    if (perm == NULL) {
        st = IRLLREC_E_NOMEM;
        goto fail;
    }
    draw_popularity(m, perm);
    irllrec__free(ctx, perm, ni * sizeof(int32_t));
    draw_mixtures(m, IRLLREC__SYNTH_USER);
    draw_mixtures(m, IRLLREC__SYNTH_ITEM);
    if ((st = draw_degrees(ctx, m)) != IRLLREC_OK) goto fail;
    m->items =
        (int32_t *)irllrec__calloc_fn(ctx, IRLLREC__SYNTH_FN, (size_t)m->offs[nu], sizeof(int32_t));
    if (m->items == NULL) {
        st = IRLLREC_E_NOMEM;
        goto fail;
    }
    if ((st = draw_interactions(ctx, m)) != IRLLREC_OK) goto fail;
    if ((st = draw_misleading(ctx, m, IRLLREC__SYNTH_USER)) != IRLLREC_OK) goto fail;
    if ((st = draw_misleading(ctx, m, IRLLREC__SYNTH_ITEM)) != IRLLREC_OK) goto fail;
    *out = m;
    return IRLLREC_OK;
fail:
    irllrec__synth_free(ctx, m);
    return st;
}
