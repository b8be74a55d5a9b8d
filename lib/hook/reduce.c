/* Reduction chunks: why one process and P ranks give the same bits.
 *
 * Users [0, U) and items [U, N) are each cut every C rows from their start
 * (C = spec.reduce_rows). Every sum over rows that feeds a parameter (the
 * text towers' dW and db, translation's dY) is formed per chunk in fp32, by
 * the same calls on the same rows whatever P is, and the chunk partials are
 * added in double; a sharded hook's blocks are whole chunks, and the ranks'
 * double sums are added in double too. A double sum of fp32 partials is
 * exact unless their exponents span more than 29 bits, so the order in which
 * ranks, threads or chunks meet does not reach the fp32 result (a rounding
 * of the double sum could still move one ulp; none was seen). Without this,
 * Adam's sign-like first steps turned last-bit differences of near-zero
 * gradients into 8e-5 parameter differences after 20 steps.
 * docs/distributed.md, "Reductions that do not depend on P". */
#include <string.h>
#include "hook_impl.h"
#include "../ops/ops.h"

int64_t irllrec__hook_n_chunks(int64_t U, int64_t I, int64_t C)
{
    return (U + C - 1) / C + (I + C - 1) / C;
}

int64_t irllrec__hook_chunk_lo(int64_t U, int64_t I, int64_t C, int64_t k)
{
    const int64_t nu = (U + C - 1) / C;
    if (k <= nu) return k * C < U ? k * C : U;
    const int64_t r = U + (k - nu) * C;
    return r < U + I ? r : U + I;
}

/* First index k in [0, n) with a[k] >= v (a ascending). */
static int64_t lower_bound(const int64_t *a, int64_t n, int64_t v)
{
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (a[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The tower row of node boundary v: full, the node itself; gathered, the
 * users keep theirs and the batch's distinct items (ascending) follow. */
static int64_t out_row(const irllrec_hook *h, int full, int64_t v)
{
    if (full || v <= h->U) return v;
    return h->U + lower_bound(irllrec__hook_uniq_nodes(h), h->n_uniq, v);
}

void irllrec__hook_held_out(const irllrec_hook *h, int full, int32_t r, int64_t *lo, int64_t *hi)
{
    int64_t a = 0, n = h->N;
    if (h->sh_on) irllrec__hook_shard_bounds(h, h->coll_size, r, &a, &n);
    *lo = out_row(h, full, a);
    *hi = out_row(h, full, a + n);
}

/* The rank's chunks as segments of tower rows: users and full items read
 * the held text at node - sh_lo; gathered items read the gather buffer,
 * whose row 0 is the rank's first held batch item. */
int64_t irllrec__hook_segments(irllrec_hook *h, int full)
{
    const int64_t U = h->U, I = h->I, C = h->C;
    const int64_t k0 = h->sh_c0, k1 = h->sh_c1;
    const int64_t item0 = out_row(h, full, h->sh_lo > U ? h->sh_lo : U);
    int64_t olo, ohi, n = 0;
    irllrec__hook_held_out(h, full, h->sh_on ? h->coll_rank : 0, &olo, &ohi);
    for (int64_t k = k0; k < k1; k++) {
        const int64_t a = irllrec__hook_chunk_lo(U, I, C, k);
        const int64_t b = irllrec__hook_chunk_lo(U, I, C, k + 1);
        irllrec__hook_seg *s = &h->segs[n];
        s->out_row = out_row(h, full, a);
        s->rows = out_row(h, full, b) - s->out_row;
        s->cache_row = s->out_row - olo;
        s->gathered = !full && a >= U;
        s->x_row = s->gathered ? s->out_row - item0 : a - h->sh_lo;
        if (s->rows > 0) n++;
    }
    return n;
}

void irllrec__hook_cuts(irllrec_hook *h)
{
    for (int64_t k = h->sh_c0; k <= h->sh_c1; k++)
        h->cuts[k - h->sh_c0] = irllrec__hook_chunk_lo(h->U, h->I, h->C, k) - h->sh_lo;
    h->n_cuts = h->sh_c1 - h->sh_c0;
}

/* Into acc (double) the fp32 partial the MLP's gradient buffer holds, which
 * is then zeroed for the next chunk. */
void irllrec__hook_acc_add(double *acc, float *g, int64_t n)
{
    irllrec__vadd_d(acc, g, n);
    memset(g, 0, (size_t)n * sizeof(float));
}

int irllrec__hook_is_text_block(const irllrec__param *p)
{
    return strncmp(p->name, "prf.", 4) == 0 || strncmp(p->name, "int.", 4) == 0;
}

void irllrec__hook_reg_towers(irllrec_hook *h)
{
    const float g2 = (float)(2.0 * h->reg);
    for (int i = 0; i < h->n_train; i++) {
        irllrec__param *p = &h->blocks[i];
        if (irllrec__hook_is_text_block(p)) irllrec__vaxpy(p->grad, g2, p->data, p->rows * p->cols);
    }
}
