/* One query's running top K (kernel.h, irllrec__sel): the kept (score, id)
 * keys with the worst first. Ties go to the lower id; NaN ranks as -inf.
 * The vectorised filters (fused.c, fused_x86.c) call irllrec__sel_take only
 * for tiles holding a lane above the worst, so with scores in random order
 * this file sees about K (1 + ln(n / K)) entrants per query in expectation
 * (about 140 for K = 20 of 9,332), not every item.
 *
 * Up to K = 32 the keys are one ascending array: an entrant drops the first
 * and is put in order, on AVX-512 by one branch-free pass over four vectors
 * (fused_x86.c). A heap did that in ~4 levels of sift-down whose exit
 * branch the CPU cannot predict; perf on Amazon-book shapes put it at 40%
 * of the evaluation. Above 32 an array costs O(K) per entrant, so larger
 * lists keep the heap. Both give the same lists: keys are unique.
 *
 * A first version kept a buffer of K + 128 candidates under a stale bar
 * and cut it with a quickselect when full: fewer instructions per
 * candidate, but the cuts (3.6 per query, ~126 entries each, branchy)
 * cost twice the filter (perf, Amazon-book shapes); an exact bar lets
 * fewer candidates through at all. */
#include <math.h>
#include <string.h>
#include "kernel.h"

int32_t irllrec__sel_cap(int32_t k, int64_t n_cand)
{
    const int32_t m = (int32_t)(k < n_cand ? k : (n_cand > 0 ? n_cand : 1));
    return m <= IRLLREC__SEL_SORTED_MAX ? (m + 7) / 8 * 8 : m;
}

void irllrec__sel_init(irllrec__sel *q, uint64_t *key, int32_t k, const int32_t *mk,
                       int64_t n_mk)
{
    q->thr = -INFINITY;
    q->pass_all = 0xFFFFFFFFu;
    q->n = 0;
    q->k = k;
    q->vec = 0;
    q->key = key;
    /* the sorted layout's slots past k hold the largest key, which the
     * vector insert reads as "no entry" and never moves */
    for (int32_t j = k; k <= IRLLREC__SEL_SORTED_MAX && j < (k + 7) / 8 * 8; j++)
        key[j] = UINT64_MAX;
    q->mk = mk;
    q->n_mk = n_mk;
    q->mp = 0;
}

/* The heap orders one integer per entry: the score's bits made monotone
 * (sign bit set for positives, all bits flipped for negatives; -0 is
 * first made +0 so the two tie), above the complement of the id, so a
 * larger key is a higher score or the same score and a lower id. One
 * unsigned compare per step instead of two float compares and a branch. */
static uint64_t key_of(float v, int64_t id)
{
    uint32_t b;
    v = isnan(v) ? -INFINITY : v + 0.0f;
    memcpy(&b, &v, sizeof b);
    b = (b & 0x80000000u) ? ~b : b | 0x80000000u;
    return (uint64_t)b << 32 | (uint32_t)~(uint32_t)id;
}

static float score_of(uint64_t key)
{
    uint32_t b = (uint32_t)(key >> 32);
    float v;
    b = (b & 0x80000000u) ? b & 0x7FFFFFFFu : ~b;
    memcpy(&v, &b, sizeof v);
    return v;
}

float irllrec__sel_score(const irllrec__sel *q, int32_t j)
{
    return score_of(q->key[j]);
}

int32_t irllrec__sel_id(const irllrec__sel *q, int32_t j)
{
    return (int32_t)~(uint32_t)q->key[j];
}

static int ctz32(uint32_t m)
{
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_ctz(m);
#else
    int j = 0;
    while (!(m & 1u)) m >>= 1, j++;
    return j;
#endif
}

/* Is id among the query's exclusions? Ids arrive ascending, so a cursor. */
static int excluded(irllrec__sel *q, int64_t id)
{
    while (q->mp < q->n_mk && q->mk[q->mp] < id) q->mp++;
    return q->mp < q->n_mk && q->mk[q->mp] == id;
}

/* A min-heap of keys: the root is the worst kept entry. */
static void sift_down(uint64_t *h, int32_t n, int32_t p)
{
    const uint64_t x = h[p];
    for (;;) {
        int32_t c = 2 * p + 1;
        if (c >= n) break;
        c += c + 1 < n && h[c + 1] < h[c];
        if (h[c] >= x) break;
        h[p] = h[c];
        p = c;
    }
    h[p] = x;
}

static void sift_up(uint64_t *h, int32_t p)
{
    const uint64_t x = h[p];
    while (p > 0 && h[(p - 1) / 2] > x) {
        h[p] = h[(p - 1) / 2];
        p = (p - 1) / 2;
    }
    h[p] = x;
}

/* The sorted layout: insert x among the n ascending keys (while filling),
 * or drop s[0] < x and put x in order (once full). */
static void sorted_insert(uint64_t *s, int32_t n, uint64_t x)
{
    int32_t j = n;
    for (; j > 0 && s[j - 1] > x; j--) s[j] = s[j - 1];
    s[j] = x;
}

static void sorted_replace(uint64_t *s, int32_t n, uint64_t x)
{
    int32_t i = 0;
    for (; i + 1 < n && s[i + 1] < x; i++) s[i] = s[i + 1];
    s[i] = x;
}

static int sorted_layout(const irllrec__sel *q)
{
    return q->k <= IRLLREC__SEL_SORTED_MAX;
}

/* A candidate that passed the bar and is not excluded: while fewer than k
 * are kept it is added (NaN as -inf), then it replaces the worst. */
static void add(irllrec__sel *q, float v, int64_t id)
{
    const uint64_t x = key_of(v, id);
    if (q->vec && !q->pass_all && sorted_layout(q)) {
        q->thr = score_of(irllrec__sorted_replace_avx512(q->key, q->n, x));
        return;
    }
    if (q->pass_all) {
        if (sorted_layout(q))
            sorted_insert(q->key, q->n, x);
        else
            q->key[q->n] = x, sift_up(q->key, q->n);
        if (++q->n < q->k) return;
        q->pass_all = 0;
    } else if (sorted_layout(q)) {
        sorted_replace(q->key, q->n, x);
    } else {
        q->key[0] = x;
        sift_down(q->key, q->n, 0);
    }
    q->thr = score_of(q->key[0]);
}

/* Until k entries are kept every candidate enters (pass_all); then only a
 * score strictly above the root's. The bar is re-read per lane: an entry
 * earlier in this tile may have raised it. */
void irllrec__sel_take(irllrec__sel *q, const float *x, uint32_t m, int64_t a)
{
    while (m != 0) {
        const int j = ctz32(m);
        const float v = x[j];
        m &= m - 1;
        if ((q->pass_all || v > q->thr) && (q->n_mk == 0 || !excluded(q, a + j))) add(q, v, a + j);
    }
}

/* Best first: the sorted layout is reversed; the heap is heap-sorted, the
 * root (the worst) swapped to the end each round. */
void irllrec__sel_finish(irllrec__sel *q)
{
    if (sorted_layout(q)) {
        for (int32_t i = 0, j = q->n - 1; i < j; i++, j--) {
            const uint64_t t = q->key[i];
            q->key[i] = q->key[j];
            q->key[j] = t;
        }
        return;
    }
    for (int32_t m = q->n - 1; m > 0; m--) {
        const uint64_t t = q->key[0];
        q->key[0] = q->key[m];
        q->key[m] = t;
        sift_down(q->key, m, 0);
    }
}
