/* Gathers of the batch, and the store of the host's gradients: g_final is
 * a dense N x d array, but only the rows a compute touched are non-zero,
 * listed in touch_list, cleared, checked and delivered, so a compute whose
 * terms touch the batch's rows costs the host O(rows), not O(N). */
#include <stdlib.h>
#include <string.h>
#include "hook_impl.h"
#include "../ops/ops.h"

/* Not full: the batch's distinct items follow the users in the tower's
 * rows in the order they follow them in anchors (ascending), so pos/neg
 * slot s sits at U + (its anchor index - the distinct users). */
void irllrec__hook_item_rows(irllrec_hook *h, const irllrec_hook_batch *b, int full)
{
    const int64_t B = b->count, nu = h->n_anchors - h->n_uniq;
    for (int64_t k = 0; k < B; k++) {
        h->item_rows[k] = full ? h->U + b->pos[k] : h->U + h->anchor_of[B + k] - nu;
        h->item_rows[B + k] = full ? h->U + b->neg[k] : h->U + h->anchor_of[2 * B + k] - nu;
    }
}

static int64_t anchor_node(const irllrec_hook_batch *b, int64_t U, int64_t s)
{
    const int64_t B = b->count;
    return s < B ? b->users[s] : s < 2 * B ? U + b->pos[s - B] : U + b->neg[s - 2 * B];
}

/* Per role, its distinct nodes (first draw) and how often it drew each. */
static void count_roles(irllrec_hook *h, const irllrec_hook_batch *b)
{
    const int64_t B = b->count;
    for (int64_t role = 0; role < 3; role++) {
        int32_t *at = h->role_at + role * B;
        float *cnt = h->role_cnt + role * B;
        int64_t m = 0;
        for (int64_t k = 0; k < B; k++) {
            const int64_t node = anchor_node(b, h->U, role * B + k);
            if (h->node_slot[node] < 0) {
                h->node_slot[node] = (int32_t)m;
                at[m] = (int32_t)k;
                cnt[m++] = 0.0f;
            }
            cnt[h->node_slot[node]] += 1.0f;
        }
        for (int64_t k = 0; k < m; k++) h->node_slot[anchor_node(b, h->U, role * B + at[k])] = -1;
        h->role_n[role] = m;
    }
}

/* The batch's distinct items ascending (after the users in anchors), so
 * that a reduction chunk's gathered rows are contiguous in every layout
 * (reduce.c); anchor_of follows the new order. */
static int cmp_i64(const void *a, const void *b)
{
    const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void sort_items(irllrec_hook *h, const irllrec_hook_batch *b)
{
    const int64_t B = b->count, nu = h->n_anchors - h->n_uniq;
    int64_t *items = h->anchors + nu;
    qsort(items, (size_t)h->n_uniq, sizeof *items, cmp_i64);
    for (int64_t k = 0; k < h->n_uniq; k++) h->node_slot[items[k]] = (int32_t)(nu + k);
    for (int64_t s = B; s < 3 * B; s++) h->anchor_of[s] = h->node_slot[anchor_node(b, h->U, s)];
    for (int64_t k = 0; k < h->n_uniq; k++) h->node_slot[items[k]] = -1;
}

/* node_slot is -1 on entry and on return (filled with -1 at create). */
void irllrec__hook_batch_nodes(irllrec_hook *h, const irllrec_hook_batch *b)
{
    const int64_t B = b->count;
    int64_t n = 0;
    for (int64_t s = 0; s < 3 * B; s++) {
        const int64_t node = anchor_node(b, h->U, s);
        if (h->node_slot[node] < 0) {
            h->node_slot[node] = (int32_t)n;
            h->anchors[n++] = node;
        }
        h->anchor_of[s] = h->node_slot[node];
    }
    for (int64_t k = 0; k < n; k++) h->node_slot[h->anchors[k]] = -1;
    h->n_anchors = n;
    count_roles(h, b);
    /* Users are scanned first, so the distinct items follow them in anchors:
     * the text towers' batch rows, put in ascending order (reduce.c). */
    h->n_uniq = n - h->role_n[0];
    sort_items(h, b);
}

const float *irllrec__hook_final_row(const irllrec_hook_inputs *in, int64_t U, int64_t n)
{
    return n < U ? in->user_final.data + n * in->user_final.ld
                 : in->item_final.data + (n - U) * in->item_final.ld;
}

void irllrec__hook_gather_final(irllrec_hook *h, const irllrec_hook_inputs *in)
{
    const size_t row = (size_t)h->d * sizeof(float);
    for (int64_t n = 0; n < h->N; n++)
        memcpy(h->e_all + n * h->d, irllrec__hook_final_row(in, h->U, n), row);
}

void irllrec__hook_rows_reset(irllrec_hook *h)
{
    const int64_t d = h->d;
    if (h->touch_all) {
        memset(h->g_final, 0, (size_t)(h->N * d) * sizeof(float));
        memset(h->touched, 0, (size_t)h->N);
    } else {
        for (int64_t k = 0; k < h->n_touch; k++) {
            const int64_t n = h->touch_list[k];
            memset(h->g_final + n * d, 0, (size_t)d * sizeof(float));
            h->touched[n] = 0;
        }
    }
    h->n_touch = 0;
    h->touch_all = 0;
    h->rows_valid = 0;
    if (h->L > 0) memset(h->g_layers, 0, (size_t)(h->L * h->N * d) * sizeof(float));
}

void irllrec__hook_touch(irllrec_hook *h, int64_t node)
{
    if (h->touched[node]) return;
    h->touched[node] = 1;
    h->touch_list[h->n_touch++] = (int32_t)node;
}

void irllrec__hook_touch_all(irllrec_hook *h)
{
    for (int64_t n = 0; n < h->N; n++) {
        h->touched[n] = 1;
        h->touch_list[n] = (int32_t)n;
    }
    h->n_touch = h->N;
    h->touch_all = 1;
}

int irllrec__hook_grads_finite(const irllrec_hook *h)
{
    const int64_t d = h->d;
    int ok = 1;
    for (int64_t k = 0; k < h->n_touch && ok; k++)
        ok = irllrec__all_finite(h->g_final + (int64_t)h->touch_list[k] * d, d);
    if (ok && h->L > 0) ok = irllrec__all_finite(h->g_layers, h->L * h->N * d);
    return ok;
}

/* ROWS mode: the touched rows, users and items apart, copied out compact. */
static void copy_rows(irllrec_hook *h)
{
    const int64_t d = h->d, U = h->U;
    const size_t row = (size_t)d * sizeof(float);
    h->out_nu = h->out_ni = 0;
    for (int64_t k = 0; k < h->n_touch; k++) {
        const int64_t n = h->touch_list[k];
        const float *src = h->g_final + n * d;
        if (n < U) {
            h->out_uid[h->out_nu] = (int32_t)n;
            memcpy(h->out_ug + h->out_nu++ * d, src, row);
        } else {
            h->out_iid[h->out_ni] = (int32_t)(n - U);
            memcpy(h->out_ig + h->out_ni++ * d, src, row);
        }
    }
    h->rows_valid = 1;
}

static void add_layers(irllrec_hook *h, const irllrec_mat *lg)
{
    const int64_t N = h->N, d = h->d;
    for (int64_t l = 0; l < h->L; l++)
        for (int64_t n = 0; n < N; n++)
            irllrec__vadd(lg[l].data + n * lg[l].ld, h->g_layers + (l * N + n) * d, d);
}

void irllrec__hook_deliver(irllrec_hook *h, const irllrec_hook_grads *g)
{
    const int64_t d = h->d, U = h->U;
    if (g->mode == IRLLREC_HOOK_GRAD_ROWS) {
        copy_rows(h);
    } else {
        for (int64_t k = 0; k < h->n_touch; k++) {
            const int64_t n = h->touch_list[k];
            float *dst = n < U ? g->user_grad.data + n * g->user_grad.ld
                               : g->item_grad.data + (n - U) * g->item_grad.ld;
            irllrec__vadd(dst, h->g_final + n * d, d);
        }
    }
    if (g->layer_grads != NULL) add_layers(h, g->layer_grads);
}
