/* Saving an .irlm model: to memory or atomically to a file
 * (docs/file-format.md). */
#include <string.h>
#include "model_impl.h"
#include "../io/atomic.h"

/* ---- save ---------------------------------------------------------------- */

typedef struct plan {
    size_t meta_bytes;  /* 0 when there is no metadata */
    size_t n;           /* sections in the file (metadata included) */
    size_t head_bytes;  /* header + table */
    size_t file_bytes;
} plan;

static size_t meta_entry_bytes(const irllrec__meta *e)
{
    size_t n = 4 + strlen(e->key) + 4;
    return n + (e->type == IRLLREC_MODEL_META_STR ? 4 + e->len : 8);
}

static irllrec_status make_plan(const irllrec_model *m, const char *func, plan *p)
{
    size_t off;
    memset(p, 0, sizeof *p);
    if (m->n_meta > 0) {
        p->meta_bytes = 4;
        for (int32_t i = 0; i < m->n_meta; i++) {
            size_t e = meta_entry_bytes(&m->meta[i]);
            if (p->meta_bytes > SIZE_MAX - e)
                return irllrec__fail(m->ctx, IRLLREC_E_NOMEM, func, "metadata size overflows");
            p->meta_bytes += e;
        }
    }
    p->n = (size_t)m->n_secs + (m->n_meta > 0);
    if (p->n > UINT32_MAX || p->n > (SIZE_MAX - 2 * IRLLREC__IRLM_ALIGN) / IRLLREC__IRLM_ENTRY)
        return irllrec__fail(m->ctx, IRLLREC_E_NOMEM, func, "too many sections");
    p->head_bytes = IRLLREC__IRLM_HEADER + p->n * IRLLREC__IRLM_ENTRY;
    off = p->head_bytes;
    for (size_t i = 0; i < p->n; i++) {
        size_t nb = (m->n_meta > 0 && i == 0) ? p->meta_bytes
                                              : m->secs[i - (m->n_meta > 0)].nbytes;
        off = irllrec__irlm_align_up(off);
        if (off > SIZE_MAX - IRLLREC__IRLM_ALIGN - nb)
            return irllrec__fail(m->ctx, IRLLREC_E_NOMEM, func, "file size overflows");
        off += nb;
    }
    p->file_bytes = off;
    return IRLLREC_OK;
}

static void write_meta(const irllrec_model *m, uint8_t *p)
{
    irllrec__irlm_wr32(p, (uint32_t)m->n_meta);
    p += 4;
    for (int32_t i = 0; i < m->n_meta; i++) {
        const irllrec__meta *e = &m->meta[i];
        size_t kl = strlen(e->key);
        irllrec__irlm_wr32(p, (uint32_t)kl);
        memcpy(p + 4, e->key, kl);
        p += 4 + kl;
        irllrec__irlm_wr32(p, e->type);
        p += 4;
        if (e->type == IRLLREC_MODEL_META_I64) {
            irllrec__irlm_wr64(p, (uint64_t)e->i64);
            p += 8;
        } else if (e->type == IRLLREC_MODEL_META_F64) {
            irllrec__irlm_wr64(p, e->f64_bits);
            p += 8;
        } else {
            irllrec__irlm_wr32(p, (uint32_t)e->len);
            if (e->len > 0) memcpy(p + 4, e->str, e->len);
            p += 4 + e->len;
        }
    }
}

/* Fill header and table (head, p->head_bytes) given the metadata payload. */
static void write_head(const irllrec_model *m, const plan *p, const uint8_t *meta, uint8_t *head)
{
    size_t off = p->head_bytes;
    int has_meta = m->n_meta > 0;
    memset(head, 0, p->head_bytes);
    for (size_t i = 0; i < p->n; i++) {
        uint8_t *e = head + IRLLREC__IRLM_HEADER + i * IRLLREC__IRLM_ENTRY;
        off = irllrec__irlm_align_up(off);
        if (has_meta && i == 0) {
            irllrec__irlm_wr32(e + IRLM_E_KIND, IRLLREC_MODEL_META);
            memcpy(e + IRLM_E_NAME, IRLLREC__IRLM_META_NAME, sizeof IRLLREC__IRLM_META_NAME - 1);
            irllrec__irlm_wr32(e + IRLM_E_DTYPE, IRLLREC_MODEL_U8);
            irllrec__irlm_wr32(e + IRLM_E_NDIM, 1);
            irllrec__irlm_wr64(e + IRLM_E_DIMS, p->meta_bytes);
            irllrec__irlm_wr64(e + IRLM_E_NBYTES, p->meta_bytes);
            irllrec__irlm_hash(e + IRLM_E_HASH, meta, p->meta_bytes);
            irllrec__irlm_wr64(e + IRLM_E_OFFSET, off);
            off += p->meta_bytes;
            continue;
        }
        {
            const irllrec__section *s = &m->secs[i - (size_t)has_meta];
            irllrec__irlm_wr32(e + IRLM_E_KIND, s->kind);
            irllrec__irlm_wr32(e + IRLM_E_FLAGS, s->flags);
            memcpy(e + IRLM_E_NAME, s->name, strlen(s->name));
            irllrec__irlm_wr32(e + IRLM_E_DTYPE, s->dtype);
            irllrec__irlm_wr32(e + IRLM_E_NDIM, (uint32_t)s->ndim);
            for (int d = 0; d < IRLLREC_MODEL_MAX_DIMS; d++)
                irllrec__irlm_wr64(e + IRLM_E_DIMS + 8 * d, (uint64_t)s->dims[d]);
            irllrec__irlm_wr64(e + IRLM_E_OFFSET, off);
            irllrec__irlm_wr64(e + IRLM_E_NBYTES, s->nbytes);
            irllrec__irlm_hash(e + IRLM_E_HASH, (const uint8_t *)s->data, s->nbytes);
            off += s->nbytes;
        }
    }
    memcpy(head, irllrec__irlm_magic, sizeof irllrec__irlm_magic);
    irllrec__irlm_wr16(head + IRLM_H_MAJOR, IRLLREC__IRLM_MAJOR);
    irllrec__irlm_wr16(head + IRLM_H_MINOR, IRLLREC__IRLM_MINOR);
    irllrec__irlm_wr32(head + IRLM_H_SIZE, IRLLREC__IRLM_HEADER);
    irllrec__irlm_wr32(head + IRLM_H_FLAGS, m->hint_flags);
    irllrec__irlm_wr32(head + IRLM_H_COUNT, (uint32_t)p->n);
    irllrec__irlm_wr64(head + IRLM_H_TABLE, IRLLREC__IRLM_HEADER);
    irllrec__irlm_wr64(head + IRLM_H_FILE, p->file_bytes);
    head[IRLM_H_ALG] = IRLLREC__IRLM_HASH_BLAKE2B256;
    irllrec__irlm_header_hash(head + IRLM_H_HASH, head, IRLLREC__IRLM_HEADER,
                              head + IRLLREC__IRLM_HEADER, p->n * IRLLREC__IRLM_ENTRY);
}

/* Payload i of the file (metadata first). */
static const uint8_t *payload(const irllrec_model *m, const uint8_t *meta, size_t i, size_t *nb,
                              size_t meta_bytes)
{
    if (m->n_meta > 0) {
        if (i == 0) {
            *nb = meta_bytes;
            return meta;
        }
        i--;
    }
    *nb = m->secs[i].nbytes;
    return (const uint8_t *)m->secs[i].data;
}

irllrec_status irllrec_model_save_mem(const irllrec_model *m, void *buf, size_t cap, size_t *size)
{
    plan p;
    uint8_t *out = (uint8_t *)buf, *meta = NULL;
    size_t off;
    if (m == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(m->ctx, size != NULL, IRLLREC_E_INVALID_ARG, "size is NULL");
    IRL_TRY(make_plan(m, __func__, &p));
    *size = p.file_bytes;
    if (buf == NULL) return IRLLREC_OK;
    IRL_CHECK(m->ctx, cap >= p.file_bytes, IRLLREC_E_INVALID_ARG,
              "cap %zu is smaller than the file size %zu", cap, p.file_bytes);
    if (p.meta_bytes > 0) {
        /* The payload goes straight to its place in the output. */
        meta = out + irllrec__irlm_align_up(p.head_bytes);
        write_meta(m, meta);
    }
    write_head(m, &p, meta, out);
    off = p.head_bytes;
    for (size_t i = 0; i < p.n; i++) {
        size_t nb, a = irllrec__irlm_align_up(off);
        const uint8_t *src = payload(m, meta, i, &nb, p.meta_bytes);
        memset(out + off, 0, a - off);
        if (src != out + a) memcpy(out + a, src, nb);
        off = a + nb;
    }
    return IRLLREC_OK;
}

irllrec_status irllrec_model_save(const irllrec_model *m, const char *path)
{
    plan p;
    uint8_t *head = NULL, *meta = NULL;
    irllrec__atomic w;
    irllrec_status st = IRLLREC_OK;
    size_t off;
    if (m == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(m->ctx, path != NULL && path[0] != '\0', IRLLREC_E_INVALID_ARG,
              "path is NULL or empty");
    IRL_TRY(make_plan(m, __func__, &p));
    head = (uint8_t *)irllrec__alloc_fn(m->ctx, __func__, p.head_bytes);
    if (head == NULL) return IRLLREC_E_NOMEM;
    if (p.meta_bytes > 0) {
        meta = (uint8_t *)irllrec__alloc_fn(m->ctx, __func__, p.meta_bytes);
        if (meta == NULL) {
            irllrec__free(m->ctx, head, p.head_bytes);
            return IRLLREC_E_NOMEM;
        }
        write_meta(m, meta);
    }
    write_head(m, &p, meta, head);
    st = irllrec__atomic_open(m->ctx, __func__, path, &w);
    if (st == IRLLREC_OK) st = irllrec__atomic_write(&w, head, p.head_bytes);
    off = p.head_bytes;
    for (size_t i = 0; i < p.n && st == IRLLREC_OK; i++) {
        size_t nb, a = irllrec__irlm_align_up(off);
        const uint8_t *src = payload(m, meta, i, &nb, p.meta_bytes);
        st = irllrec__atomic_write(&w, irllrec__irlm_zeros, a - off);
        if (st == IRLLREC_OK) st = irllrec__atomic_write(&w, src, nb);
        off = a + nb;
    }
    if (st == IRLLREC_OK) st = irllrec__atomic_commit(&w);
    irllrec__atomic_abort(&w);
    irllrec__free(m->ctx, meta, p.meta_bytes);
    irllrec__free(m->ctx, head, p.head_bytes);
    return st;
}
