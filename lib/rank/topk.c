/* One query's running top K (kernel.h, irllrec__sel): a bounded heap of
 * (score, id) whose root is the worst kept entry. Ties go to the lower id;
 * NaN ranks as -inf. The vectorised filters (fused.c, fused_x86.c) call
 * irllrec__sel_take only for tiles holding a lane above the root, so with
 * scores in random order this file sees about K (1 + ln(n / K)) candidates
 * per query in expectation (about 120 for K = 20 of 9,332), not every item.
 *
 * A first version kept a buffer of K + 128 candidates under a stale bar
 * and cut it with a quickselect when full: fewer instructions per
 * candidate, but the cuts (3.6 per query, ~126 entries each, branchy)
 * cost twice the filter (perf, Amazon-book shapes); the heap's bar is
 * always exact, so fewer candidates get through at all. */
#include <math.h>
#include <string.h>
#include "kernel.h"

int32_t irllrec__sel_cap(int32_t k, int64_t n_cand)
{
    return (int32_t)(k < n_cand ? k : (n_cand > 0 ? n_cand : 1));
}

void irllrec__sel_init(irllrec__sel *q, uint64_t *key, int32_t k, const int32_t *mk,
                       int64_t n_mk)
{
    q->thr = -INFINITY;
    q->pass_all = 0xFFFFFFFFu;
    q->n = 0;
    q->k = k;
    q->key = key;
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

float irllrec__sel_score(const irllrec__sel *q, int32_t j)
{
    uint32_t b = (uint32_t)(q->key[j] >> 32);
    float v;
    b = (b & 0x80000000u) ? b & 0x7FFFFFFFu : ~b;
    memcpy(&v, &b, sizeof v);
    return v;
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

/* A candidate that passed the bar and is not excluded: while fewer than k
 * are kept it is added (NaN as -inf), then it replaces the root. */
static void add(irllrec__sel *q, float v, int64_t id)
{
    if (q->pass_all) {
        q->key[q->n] = key_of(v, id);
        sift_up(q->key, q->n);
        if (++q->n < q->k) return;
        q->pass_all = 0;
    } else {
        q->key[0] = key_of(v, id);
        sift_down(q->key, q->n, 0);
    }
    q->thr = irllrec__sel_score(q, 0);
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

/* Heap sort: the root (the worst) is swapped to the end each round, so
 * the keys end up best first. */
void irllrec__sel_finish(irllrec__sel *q)
{
    for (int32_t m = q->n - 1; m > 0; m--) {
        const uint64_t t = q->key[0];
        q->key[0] = q->key[m];
        q->key[m] = t;
        sift_down(q->key, m, 0);
    }
}
