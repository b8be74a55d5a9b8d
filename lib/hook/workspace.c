/* The hook's own buffers as one table: create allocates exactly what the
 * table lists and the memory estimate adds up the same table, so the two
 * cannot drift apart. Module handles size themselves. */
#include <string.h>
#include "hook_impl.h"

typedef struct wsbuf {
    void **slot;
    int64_t count;
    size_t size;
} wsbuf;

/* The buffers for h's shapes; returns how many. */
static int table(irllrec_hook *h, wsbuf *t)
{
    const int64_t U = h->U, I = h->I, N = h->N, d = h->d, B = h->B, S = h->sh_n;
    const int64_t rows_p = U + 2 * B, rows_z = U + (I > 2 * B ? I : 2 * B);
    irllrec_mlp_spec ms;
    int n = 0;
#define W(ptr, cnt, type) t[n++] = (wsbuf){(void **)(void *)&h->ptr, (cnt), sizeof(type)}
    if (h->has_prf) {
        if (h->bf16) {
            W(txh_p, S * h->Dp, uint16_t);
            W(gh_p, 2 * B * h->Dp, uint16_t);
        } else {
            W(txt_p, S * h->Dp, float);
            W(p_gather, 2 * B * h->Dp, float);
        }
        irllrec__hook_mlp_spec(h, 1, &ms);
        if (!h->bf16) W(acc[0], irllrec__mlp_grad_floats(&ms), double);
        W(p_out, rows_p * d, float);
        W(p_dout, rows_p * d, float);
        W(kd_ax, 3 * B * d, float);
        W(kd_dax, 3 * B * d, float);
    }
    if (h->has_int) {
        if (h->bf16) {
            W(txh_t, S * h->Dt, uint16_t);
            W(gh_t, 2 * B * h->Dt, uint16_t);
        } else {
            W(txt_t, S * h->Dt, float);
            W(z_gather, 2 * B * h->Dt, float);
        }
        W(z_out, rows_z * d, float);
        W(z_dout, rows_z * d, float);
        W(e_all, N * d, float);
        W(r, 3 * B * d, float);
        W(dr, 3 * B * d, float);
        W(dxh, N * d, float);
        W(dyh, N * d, float);
        W(sel, N, int32_t);
        W(tdyd, h->T * N * d, double);
        /* the teacher before and after a compute's EMA: the intent tower's shape */
        irllrec__hook_mlp_spec(h, 0, &ms);
        if (!h->bf16) W(acc[1], irllrec__mlp_grad_floats(&ms), double);
        W(teacher_prev, irllrec__mlp_param_count(&ms), float);
        W(teacher_next, irllrec__mlp_param_count(&ms), float);
    }
    W(anchors, 3 * B, int64_t);
    W(anchor_of, 3 * B, int32_t);
    W(role_at, 3 * B, int32_t);
    W(role_cnt, 3 * B, float);
    W(node_slot, N, int32_t);
    W(role_pos, B, int32_t);
    W(xa, B * d, float);
    W(dxa, B * d, float);
    W(ya, B * d, float);
    W(dya, B * d, float);
    W(item_rows, 2 * B, int64_t);
    W(g_final, N * d, float);
    W(touched, N, uint8_t);
    W(touch_list, N, int32_t);
    W(out_uid, U, int32_t);
    W(out_iid, I, int32_t);
    W(out_ug, U * d, float);
    W(out_ig, I * d, float);
    if (h->L > 0) W(g_layers, h->L * N * d, float);
    W(text_have, 4 * S, uint8_t);
    W(segs, h->n_chunks, irllrec__hook_seg);
    W(cuts, h->n_chunks + 1, int64_t);
    if (h->sh_on) {
        W(sh_cnt, 2 * h->sh_p, int64_t);
        W(sh_send, S * d, float);
    }
#undef W
    return n;
}

irllrec_status irllrec__hook_alloc(irllrec_hook *h)
{
    wsbuf t[IRLLREC__HOOK_MAX_BUFS];
    const int n = table(h, t);
    for (int i = 0; i < n; i++) {
        void *p = irllrec__calloc_fn(h->ctx, "irllrec_hook_create", (size_t)t[i].count, t[i].size);
        if (p == NULL)
            return irllrec__fail(h->ctx, IRLLREC_E_NOMEM, "irllrec_hook_create",
                                 "out of memory for the hook's workspaces (%lld bytes in all)",
                                 (long long)irllrec__hook_table_bytes(h));
        *t[i].slot = p;
        h->bufs[h->n_bufs].p = p;
        h->bufs[h->n_bufs].n = (size_t)t[i].count * t[i].size;
        h->n_bufs++;
    }
    return IRLLREC_OK;
}

int64_t irllrec__hook_table_bytes(irllrec_hook *h)
{
    wsbuf t[IRLLREC__HOOK_MAX_BUFS];
    const int n = table(h, t);  /* takes the slots' addresses, writes nothing */
    int64_t sum = 0;
    for (int i = 0; i < n; i++) sum += t[i].count * (int64_t)t[i].size;
    return sum;
}

/* What the module handles, Adam and the teacher snapshots take. */
static int64_t module_bytes(const irllrec_hook *h, int32_t n_threads, int64_t graph_nnz)
{
    irllrec_mlp_spec ms;
    irllrec_intent_spec ts;
    irllrec_align_spec as;
    int64_t b = 0, train = 0;
    int32_t n_train = 0;
    if (h->has_prf) {
        irllrec__hook_mlp_spec(h, 1, &ms);
        b += irllrec__mlp_bytes(&ms, 1) + (h->bf16 ? irllrec__mlp_bf16_bytes(&ms, 1) : 0);
        train += irllrec__mlp_param_count(&ms);
        n_train += 4;
    }
    if (h->has_int) {
        irllrec__hook_mlp_spec(h, 0, &ms);
        const int64_t np = irllrec__mlp_param_count(&ms);
        b += irllrec__mlp_bytes(&ms, 1) + irllrec__itm_bytes(&ms);
        if (h->bf16) b += irllrec__mlp_bf16_bytes(&ms, 1) + irllrec__itm_bf16_extra_bytes(&ms);
        irllrec__hook_intent_spec(h, &ts);
        b += irllrec__intent_bytes(&ts, n_threads, h->L > 0 ? graph_nnz : 0);
        train += np + 2 * h->d * h->K;
        n_train += 6;
    }
    b += n_train > 0 ? irllrec__adam_bytes(n_train, train) : irllrec__adam_bytes(1, 1);
    irllrec__hook_align_spec(h, &as);
    return b + irllrec__align_bytes(&as, n_threads);
}

static irllrec_status estimate(const irllrec_hook_spec *spec, int32_t n_threads,
                               int64_t graph_nnz, int32_t p, int32_t r, int64_t *bytes)
{
    irllrec_hook h;
    if (spec == NULL || bytes == NULL || n_threads < 1 || graph_nnz < 0)
        return IRLLREC_E_INVALID_ARG;
    memset(&h, 0, sizeof h);
    irllrec_hook_spec s;
    /* the rules of create: zero-extend a shorter spec, refuse a longer one's unknown bytes */
    IRL_TRY(irllrec__copy_spec(NULL, "irllrec_hook_memory_estimate", &s, sizeof s, spec));
    if (irllrec__hook_check_spec(NULL, &s) != IRLLREC_OK) return IRLLREC_E_INVALID_ARG;
    irllrec__hook_shapes(&h, &s);
    if (p > 0 && !(r >= 0 && r < p && p <= h.n_chunks)) return IRLLREC_E_INVALID_ARG;
    h.T = irllrec__hook_threads(n_threads);
    irllrec__hook_set_shard(&h, p, r);
    *bytes =
        (int64_t)sizeof h + irllrec__hook_table_bytes(&h) + module_bytes(&h, n_threads, graph_nnz);
    return IRLLREC_OK;
}

irllrec_status irllrec_hook_memory_estimate(const irllrec_hook_spec *spec, int32_t n_threads,
                                            int64_t graph_nnz, int64_t *bytes)
{
    return estimate(spec, n_threads, graph_nnz, 0, 0, bytes);
}

irllrec_status irllrec_hook_memory_estimate_sharded(const irllrec_hook_spec *spec,
                                                    int32_t n_threads, int64_t graph_nnz,
                                                    int32_t n_ranks, int32_t rank,
                                                    int64_t *bytes)
{
    if (n_ranks < 1) return IRLLREC_E_INVALID_ARG;
    return estimate(spec, n_threads, graph_nnz, n_ranks, rank, bytes);
}
