/* Top-K selection: a bounded heap over one score row with a chunk-maximum
 * prefilter. Ties go to the lower id; NaN ranks as -inf. Used once per
 * query by the evaluator (lib/eval/evaluator.c) and the ranking functions
 * (lib/serve/rank.c). */
#include <math.h>
#include <string.h>
#include "kernel.h"

/* Heap ordered so the root is the worst kept entry: lower score, or equal
 * score and higher item id (ties go to the lower id). */
static int worse(float sa, int32_t ia, float sb, int32_t ib)
{
    return sa < sb || (sa == sb && ia > ib);
}

static void sift_down(float *hs, int32_t *hi, int32_t m, int32_t p)
{
    float s = hs[p];
    int32_t id = hi[p];
    for (;;) {
        int32_t c = 2 * p + 1;
        if (c >= m) break;
        if (c + 1 < m && worse(hs[c + 1], hi[c + 1], hs[c], hi[c])) c++;
        if (!worse(hs[c], hi[c], s, id)) break;
        hs[p] = hs[c];
        hi[p] = hi[c];
        p = c;
    }
    hs[p] = s;
    hi[p] = id;
}

static void sift_up(float *hs, int32_t *hi, int32_t p)
{
    float s = hs[p];
    int32_t id = hi[p];
    while (p > 0) {
        int32_t q = (p - 1) / 2;
        if (!worse(s, id, hs[q], hi[q])) break;
        hs[p] = hs[q];
        hi[p] = hi[q];
        p = q;
    }
    hs[p] = s;
    hi[p] = id;
}

/* Largest score of every IRLLREC__TOPK_CHUNK-wide slice of the row. Eight independent
 * lanes make it an element-wise max the compiler vectorises (a plain float
 * max reduction would not be, without -ffast-math). NaN never wins a
 * comparison, so it is ignored here as it is everywhere else. */
static void chunk_max(const float *s, int64_t n, float *cmax)
{
    for (int64_t a = 0, c = 0; a < n; a += IRLLREC__TOPK_CHUNK, c++) {
        int64_t e = a + IRLLREC__TOPK_CHUNK < n ? a + IRLLREC__TOPK_CHUNK : n, q = a;
        float l[8], mx = -INFINITY;
        for (int t = 0; t < 8; t++) l[t] = -INFINITY;
        for (; q + 8 <= e; q += 8)
            for (int t = 0; t < 8; t++) l[t] = s[q + t] > l[t] ? s[q + t] : l[t];
        for (int t = 0; t < 8; t++) mx = l[t] > mx ? l[t] : mx;
        for (; q < e; q++) mx = s[q] > mx ? s[q] : mx;
        cmax[c] = mx;
    }
}

/* The k-th largest (0-based) of a[0..n), n > k, by Hoare partitioning in
 * place (a holds no NaN). */
static float kth_largest(float *a, int64_t n, int64_t k)
{
    int64_t lo = 0, hi = n - 1;
    while (lo < hi) {
        float pivot = a[lo + (hi - lo) / 2];
        int64_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] > pivot) i++;
            while (a[j] < pivot) j--;
            if (i <= j) {
                float t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            break;
    }
    return a[k];
}

/* Excluded scores become -inf so the chunk maxima ignore them; a select
 * rather than a branch, so the pass vectorises. */
static void mask_bytes(float *s, int64_t n, const uint8_t *ex)
{
    for (int64_t q = 0; q < n; q++) s[q] = ex[q] ? -INFINITY : s[q];
}

/* Top-K of one query's row. Excluded ids are never ranked (set to -inf in
 * our score buffer only so the chunk maxima ignore them, and skipped: an
 * excluded id must not come back even when fewer than K others are left).
 * Items are offered in ascending id order: once the heap is full a later
 * item only enters with a strictly greater score, which is the tie rule
 * because its id is higher than every kept one. NaN never compares greater
 * and is stored as -inf while filling: NaN ranks as -inf.
 *
 * Speed: the K-th largest chunk maximum lo is a lower bound of the K-th
 * largest score (K chunks each hold an unmasked item >= lo), so items
 * below lo cannot be in the top K and whole chunks whose maximum is below
 * the current bar are skipped. On random scores only ~K chunks are read
 * item by item and the heap sees ~K insertions instead of K(1 + ln(n/K)). */
void irllrec__topk_select(irllrec__topk *t, float *s, int64_t n, const int32_t *mk,
                          int64_t n_mask, const uint8_t *ex, float *cmax, float *scratch)
{
    const int64_t nc = (n + IRLLREC__TOPK_CHUNK - 1) / IRLLREC__TOPK_CHUNK;
    int64_t mp = 0;
    float lo = -INFINITY;
    int filter = 0;
    for (int64_t q = 0; q < n_mask; q++) s[mk[q]] = -INFINITY;
    if (ex != NULL) mask_bytes(s, n, ex);
    chunk_max(s, n, cmax);
    if (nc > t->k) {
        memcpy(scratch, cmax, (size_t)nc * sizeof(float));
        lo = kth_largest(scratch, nc, t->k - 1);
        filter = lo > -INFINITY;
    }
    for (int64_t c = 0; c < nc; c++) {
        const int64_t a = c * IRLLREC__TOPK_CHUNK,
                      e = a + IRLLREC__TOPK_CHUNK < n ? a + IRLLREC__TOPK_CHUNK : n;
        if (t->m < t->k ? (filter && cmax[c] < lo) : !(cmax[c] > t->hs[0])) continue;
        while (mp < n_mask && mk[mp] < a) mp++;
        for (int64_t q = a; q < e; q++) {
            float x = s[q];
            if (mp < n_mask && mk[mp] == q) {
                mp++;
                continue;
            }
            if (ex != NULL && ex[q]) continue;
            if (t->m < t->k) {
                if (filter && !(x >= lo)) continue;
                t->hs[t->m] = isnan(x) ? -INFINITY : x;
                t->hi[t->m] = (int32_t)q;
                sift_up(t->hs, t->hi, t->m);
                t->m++;
            } else if (x > t->hs[0]) {
                t->hs[0] = x;
                t->hi[0] = (int32_t)q;
                sift_down(t->hs, t->hi, t->m, 0);
            }
        }
    }
}

/* Heap sort in place: afterwards entry 0 is the best. */
void irllrec__topk_sort(irllrec__topk *t)
{
    for (int32_t m = t->m - 1; m > 0; m--) {
        float s = t->hs[0];
        int32_t id = t->hi[0];
        t->hs[0] = t->hs[m];
        t->hi[0] = t->hi[m];
        t->hs[m] = s;
        t->hi[m] = id;
        sift_down(t->hs, t->hi, m, 0);
    }
}
