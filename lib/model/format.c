/* The .irlm codec: save (memory or atomic file) and the untrusted-input
 * loader. docs/file-format.md is the normative description; the loader's
 * checks run in the order listed there. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "model_impl.h"
#include "../io/atomic.h"

static const uint8_t irlm_magic[8] = {0x89, 'I', 'R', 'L', 0x0D, 0x0A, 0x1A, 0x0A};
static const uint8_t zeros[IRLLREC__IRLM_ALIGN];

/* ---- little-endian byte assembly -------------------------------------- */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32); }
static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void wr64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static size_t align_up(size_t x) { return (x + (IRLLREC__IRLM_ALIGN - 1)) & ~(size_t)(IRLLREC__IRLM_ALIGN - 1); }

/* Header and table entry field offsets. */
enum {
    H_MAJOR = 8, H_MINOR = 10, H_SIZE = 12, H_FLAGS = 16, H_COUNT = 20, H_TABLE = 24,
    H_FILE = 32, H_ALG = 40, H_RESERVED = 41, H_HASH = 64,
    E_KIND = 0, E_FLAGS = 4, E_NAME = 8, E_DTYPE = 56, E_NDIM = 60, E_DIMS = 64,
    E_OFFSET = 96, E_NBYTES = 104, E_HASH = 112
};

static void hash_bytes(uint8_t out[IRLLREC__IRLM_HASH], const uint8_t *p, size_t n)
{
    crypto_generichash(out, IRLLREC__IRLM_HASH, p, (unsigned long long)n, NULL, 0);
}

/* BLAKE2b-256 of the header with its hash field zeroed, then the table. */
static void header_hash(uint8_t out[IRLLREC__IRLM_HASH], const uint8_t *head, size_t header_size,
                        const uint8_t *table, size_t table_bytes)
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, IRLLREC__IRLM_HASH);
    crypto_generichash_update(&st, head, H_HASH);
    crypto_generichash_update(&st, zeros, IRLLREC__IRLM_HASH);
    crypto_generichash_update(&st, head + IRLLREC__IRLM_HEADER, header_size - IRLLREC__IRLM_HEADER);
    crypto_generichash_update(&st, table, table_bytes);
    crypto_generichash_final(&st, out, IRLLREC__IRLM_HASH);
}

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
        off = align_up(off);
        if (off > SIZE_MAX - IRLLREC__IRLM_ALIGN - nb)
            return irllrec__fail(m->ctx, IRLLREC_E_NOMEM, func, "file size overflows");
        off += nb;
    }
    p->file_bytes = off;
    return IRLLREC_OK;
}

static void write_meta(const irllrec_model *m, uint8_t *p)
{
    wr32(p, (uint32_t)m->n_meta);
    p += 4;
    for (int32_t i = 0; i < m->n_meta; i++) {
        const irllrec__meta *e = &m->meta[i];
        size_t kl = strlen(e->key);
        wr32(p, (uint32_t)kl);
        memcpy(p + 4, e->key, kl);
        p += 4 + kl;
        wr32(p, e->type);
        p += 4;
        if (e->type == IRLLREC_MODEL_META_I64) {
            wr64(p, (uint64_t)e->i64);
            p += 8;
        } else if (e->type == IRLLREC_MODEL_META_F64) {
            wr64(p, e->f64_bits);
            p += 8;
        } else {
            wr32(p, (uint32_t)e->len);
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
        off = align_up(off);
        if (has_meta && i == 0) {
            wr32(e + E_KIND, IRLLREC_MODEL_META);
            memcpy(e + E_NAME, IRLLREC__IRLM_META_NAME, sizeof IRLLREC__IRLM_META_NAME - 1);
            wr32(e + E_DTYPE, IRLLREC_MODEL_U8);
            wr32(e + E_NDIM, 1);
            wr64(e + E_DIMS, p->meta_bytes);
            wr64(e + E_NBYTES, p->meta_bytes);
            hash_bytes(e + E_HASH, meta, p->meta_bytes);
            wr64(e + E_OFFSET, off);
            off += p->meta_bytes;
            continue;
        }
        {
            const irllrec__section *s = &m->secs[i - (size_t)has_meta];
            wr32(e + E_KIND, s->kind);
            wr32(e + E_FLAGS, s->flags);
            memcpy(e + E_NAME, s->name, strlen(s->name));
            wr32(e + E_DTYPE, s->dtype);
            wr32(e + E_NDIM, (uint32_t)s->ndim);
            for (int d = 0; d < IRLLREC_MODEL_MAX_DIMS; d++) wr64(e + E_DIMS + 8 * d, (uint64_t)s->dims[d]);
            wr64(e + E_OFFSET, off);
            wr64(e + E_NBYTES, s->nbytes);
            hash_bytes(e + E_HASH, (const uint8_t *)s->data, s->nbytes);
            off += s->nbytes;
        }
    }
    memcpy(head, irlm_magic, sizeof irlm_magic);
    wr16(head + H_MAJOR, IRLLREC__IRLM_MAJOR);
    wr16(head + H_MINOR, IRLLREC__IRLM_MINOR);
    wr32(head + H_SIZE, IRLLREC__IRLM_HEADER);
    wr32(head + H_FLAGS, m->hint_flags);
    wr32(head + H_COUNT, (uint32_t)p->n);
    wr64(head + H_TABLE, IRLLREC__IRLM_HEADER);
    wr64(head + H_FILE, p->file_bytes);
    head[H_ALG] = IRLLREC__IRLM_HASH_BLAKE2B256;
    header_hash(head + H_HASH, head, IRLLREC__IRLM_HEADER, head + IRLLREC__IRLM_HEADER,
                p->n * IRLLREC__IRLM_ENTRY);
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
        meta = out + align_up(p.head_bytes);
        write_meta(m, meta);
    }
    write_head(m, &p, meta, out);
    off = p.head_bytes;
    for (size_t i = 0; i < p.n; i++) {
        size_t nb, a = align_up(off);
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
    IRL_CHECK(m->ctx, path != NULL && path[0] != '\0', IRLLREC_E_INVALID_ARG, "path is NULL or empty");
    IRL_TRY(make_plan(m, __func__, &p));
    head = (uint8_t *)irllrec__alloc(m->ctx, p.head_bytes);
    if (head == NULL) return IRLLREC_E_NOMEM;
    if (p.meta_bytes > 0) {
        meta = (uint8_t *)irllrec__alloc(m->ctx, p.meta_bytes);
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
        size_t nb, a = align_up(off);
        const uint8_t *src = payload(m, meta, i, &nb, p.meta_bytes);
        st = irllrec__atomic_write(&w, zeros, a - off);
        if (st == IRLLREC_OK) st = irllrec__atomic_write(&w, src, nb);
        off = a + nb;
    }
    if (st == IRLLREC_OK) st = irllrec__atomic_commit(&w);
    irllrec__atomic_abort(&w);
    irllrec__free(m->ctx, meta, p.meta_bytes);
    irllrec__free(m->ctx, head, p.head_bytes);
    return st;
}

/* ---- load ---------------------------------------------------------------- */

typedef struct loader {
    irllrec_ctx *ctx;
    const uint8_t *buf;
    size_t len;
    irllrec_model_load_opts opts;
} loader;

/* Every loader failure names the byte offset of the offending field. */
static irllrec_status lfail(const loader *L, irllrec_status st, uint64_t at, const char *fmt, ...)
    IRLLREC__PRINTF(4, 5);
static irllrec_status lfail(const loader *L, irllrec_status st, uint64_t at, const char *fmt, ...)
{
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return irllrec__fail(L->ctx, st, "irllrec_model_load_mem", "at byte %llu: %s",
                         (unsigned long long)at, msg);
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0) return 0;
    return 1;
}

void irllrec_model_load_opts_init(irllrec_model_load_opts *opts, uint32_t struct_size)
{
    irllrec_model_load_opts d;
    if (opts == NULL) return;
    memset(&d, 0, sizeof d);
    d.struct_size = (uint32_t)sizeof d;
    if (struct_size > sizeof d) struct_size = (uint32_t)sizeof d;
    memcpy(opts, &d, struct_size);
    if (struct_size >= sizeof(uint32_t)) opts->struct_size = struct_size;
}

/* Checks (1)-(7) of docs/file-format.md: everything the header claims,
 * against the input length, before any allocation. */
static irllrec_status check_header(const loader *L, uint32_t *header_size, uint32_t *count,
                                   uint64_t *table_off)
{
    const uint8_t *h = L->buf;
    uint64_t file_size, table_bytes;
    uint32_t flags;
    if (L->len < IRLLREC__IRLM_HEADER)
        return lfail(L, IRLLREC_E_FORMAT, 0, "%zu bytes is shorter than the %u-byte header",
                     L->len, IRLLREC__IRLM_HEADER);
    if (memcmp(h, irlm_magic, sizeof irlm_magic) != 0)
        return lfail(L, IRLLREC_E_FORMAT, 0, "bad magic: not an .irlm model file");
    if (rd16(h + H_MAJOR) != IRLLREC__IRLM_MAJOR)
        return lfail(L, IRLLREC_E_VERSION, H_MAJOR, "format major version %u (this library reads %u)",
                     rd16(h + H_MAJOR), IRLLREC__IRLM_MAJOR);
    if (!all_zero(h + H_RESERVED, H_HASH - H_RESERVED))
        return lfail(L, IRLLREC_E_FORMAT, H_RESERVED, "reserved header bytes are not zero");
    flags = rd32(h + H_FLAGS);
    if (flags & IRLLREC__IRLM_REQUIRED_BITS)
        return lfail(L, IRLLREC_E_UNSUPPORTED, H_FLAGS, "unknown required header flags 0x%x",
                     flags & IRLLREC__IRLM_REQUIRED_BITS);
    if (h[H_ALG] != IRLLREC__IRLM_HASH_BLAKE2B256)
        return lfail(L, IRLLREC_E_UNSUPPORTED, H_ALG, "unknown hash algorithm %u", h[H_ALG]);
    file_size = rd64(h + H_FILE);
    if (file_size != (uint64_t)L->len)
        return lfail(L, IRLLREC_E_FORMAT, H_FILE, "file_size %llu but the input has %zu bytes",
                     (unsigned long long)file_size, L->len);
    *header_size = rd32(h + H_SIZE);
    if (*header_size < IRLLREC__IRLM_HEADER || *header_size > L->len)
        return lfail(L, IRLLREC_E_FORMAT, H_SIZE, "header_size %u is not in [%u, %zu]",
                     *header_size, IRLLREC__IRLM_HEADER, L->len);
    *count = rd32(h + H_COUNT);
    *table_off = rd64(h + H_TABLE);
    table_bytes = (uint64_t)*count * IRLLREC__IRLM_ENTRY; /* < 2^32 * 144: no overflow */
    if (*table_off < *header_size || *table_off > L->len || table_bytes > L->len - *table_off)
        return lfail(L, IRLLREC_E_FORMAT, H_TABLE,
                     "table of %u entries at %llu does not fit between the header and the end (%zu)",
                     *count, (unsigned long long)*table_off, L->len);
    return IRLLREC_OK;
}

/* Check (9) for one table entry. *prev_end is where the previous payload
 * (or the table) ended: payloads follow the table in table order, so
 * overlap is impossible and every gap can be required to be zero. */
static irllrec_status check_entry(const loader *L, uint64_t at, uint64_t *prev_end, int *n_meta,
                                  uint64_t *need)
{
    const uint8_t *e = L->buf + at;
    uint32_t kind = rd32(e + E_KIND), flags = rd32(e + E_FLAGS), dtype = rd32(e + E_DTYPE);
    uint32_t ndim = rd32(e + E_NDIM);
    uint64_t off = rd64(e + E_OFFSET), nbytes = rd64(e + E_NBYTES), count = 1, esize;
    size_t nl = 0;
    int known = kind >= IRLLREC_MODEL_META && kind <= IRLLREC_MODEL_TEACHER;
    while (nl < 48 && e[E_NAME + nl] != 0) nl++;
    if (nl == 0 || nl > IRLLREC_MODEL_NAME_MAX || !all_zero(e + E_NAME + nl, 48 - nl))
        return lfail(L, IRLLREC_E_FORMAT, at + E_NAME,
                     "section name is empty, not NUL-terminated or not NUL-padded");
    if (flags & IRLLREC__IRLM_REQUIRED_BITS & ~(uint32_t)IRLLREC_MODEL_REQUIRED)
        return lfail(L, IRLLREC_E_UNSUPPORTED, at + E_FLAGS, "unknown required section flags 0x%x",
                     flags);
    if (!known && (flags & IRLLREC_MODEL_REQUIRED))
        return lfail(L, IRLLREC_E_UNSUPPORTED, at + E_KIND, "unknown required section kind %u", kind);
    if (off % IRLLREC__IRLM_ALIGN != 0)
        return lfail(L, IRLLREC_E_FORMAT, at + E_OFFSET, "payload offset %llu is not %u-aligned",
                     (unsigned long long)off, IRLLREC__IRLM_ALIGN);
    if (off < *prev_end || off > L->len || nbytes > L->len - off)
        return lfail(L, IRLLREC_E_FORMAT, at + E_OFFSET,
                     "payload [%llu, +%llu) overlaps the previous one or the table, or passes "
                     "the end (%zu)", (unsigned long long)off, (unsigned long long)nbytes, L->len);
    if (!all_zero(L->buf + *prev_end, off - *prev_end))
        return lfail(L, IRLLREC_E_FORMAT, *prev_end, "padding before a payload is not zero");
    *prev_end = off + nbytes;
    if (!known) return IRLLREC_OK; /* optional section of a later minor version: skipped */
    if (dtype < IRLLREC_MODEL_F32 || dtype > IRLLREC_MODEL_U8)
        return lfail(L, IRLLREC_E_UNSUPPORTED, at + E_DTYPE, "unknown dtype %u", dtype);
    if ((kind == IRLLREC_MODEL_META) != (dtype == IRLLREC_MODEL_U8))
        return lfail(L, IRLLREC_E_FORMAT, at + E_DTYPE, "dtype %u does not suit section kind %u",
                     dtype, kind);
    if ((kind == IRLLREC_MODEL_META) != (strcmp((const char *)e + E_NAME, IRLLREC__IRLM_META_NAME) == 0))
        return lfail(L, IRLLREC_E_FORMAT, at + E_NAME,
                     "the metadata section, and only it, is named \"" IRLLREC__IRLM_META_NAME "\"");
    if (kind == IRLLREC_MODEL_META && ++*n_meta > 1)
        return lfail(L, IRLLREC_E_FORMAT, at, "more than one metadata section");
    if (ndim < 1 || ndim > IRLLREC_MODEL_MAX_DIMS || (kind == IRLLREC_MODEL_META && ndim != 1))
        return lfail(L, IRLLREC_E_FORMAT, at + E_NDIM, "ndim %u is not allowed", ndim);
    for (uint32_t d = 0; d < IRLLREC_MODEL_MAX_DIMS; d++) {
        uint64_t v = rd64(e + E_DIMS + 8 * d);
        if (d >= ndim) {
            if (v != 0) return lfail(L, IRLLREC_E_FORMAT, at + E_DIMS + 8 * d, "unused dim is not zero");
            continue;
        }
        if (v == 0 || v > (uint64_t)INT64_MAX || count > UINT64_MAX / v)
            return lfail(L, IRLLREC_E_FORMAT, at + E_DIMS + 8 * d,
                         "dim %u = %llu is zero or overflows", d, (unsigned long long)v);
        count *= v;
    }
    esize = dtype == IRLLREC_MODEL_F32 ? 4 : dtype == IRLLREC_MODEL_U64 ? 8 : 1;
    if (count > UINT64_MAX / esize || count * esize != nbytes)
        return lfail(L, IRLLREC_E_FORMAT, at + E_NBYTES, "nbytes %llu does not match the dims",
                     (unsigned long long)nbytes);
    /* Upper estimate of what the model will hold: payload, its record (the
     * arrays double), and for metadata the per-key records (>= 13 file bytes each). */
    *need += nbytes + 2 * sizeof(irllrec__section);
    if (kind == IRLLREC_MODEL_META) *need += nbytes + 2 * (nbytes / 13 + 1) * (sizeof(irllrec__meta) + 1);
    return IRLLREC_OK;
}

/* Ties are broken by position so a duplicate is reported at its later entry. */
static int name_cmp(const void *a, const void *b)
{
    const uint8_t *x = *(const uint8_t *const *)a, *y = *(const uint8_t *const *)b;
    int c = memcmp(x, y, 48);
    return c != 0 ? c : (x > y) - (x < y);
}

/* Parse the metadata payload (already hash-checked) into m. */
static irllrec_status parse_meta(const loader *L, irllrec_model *m, uint64_t at, size_t n)
{
    const uint8_t *p = L->buf + at;
    size_t pos = 4;
    uint32_t count;
    if (n < 4) return lfail(L, IRLLREC_E_FORMAT, at, "metadata shorter than its count");
    count = rd32(p);
    if (count == 0 || count > IRLLREC__IRLM_MAX_META)
        return lfail(L, IRLLREC_E_FORMAT, at, "metadata count %u is not in 1..%d", count,
                     IRLLREC__IRLM_MAX_META);
    for (uint32_t k = 0; k < count; k++) {
        irllrec__meta e;
        uint32_t kl;
        irllrec_status st;
        memset(&e, 0, sizeof e);
        if (n - pos < 4) return lfail(L, IRLLREC_E_FORMAT, at + pos, "metadata truncated");
        kl = rd32(p + pos);
        pos += 4;
        if (kl == 0 || kl > IRLLREC_MODEL_KEY_MAX || n - pos < (size_t)kl + 4 ||
            memchr(p + pos, 0, kl) != NULL)
            return lfail(L, IRLLREC_E_FORMAT, at + pos - 4, "bad metadata key length %u", kl);
        memcpy(e.key, p + pos, kl);
        pos += kl;
        if (irllrec__model_meta_index(m, e.key) >= 0)
            return lfail(L, IRLLREC_E_FORMAT, at + pos - kl, "duplicate metadata key \"%s\"", e.key);
        e.type = rd32(p + pos);
        pos += 4;
        if (e.type == IRLLREC_MODEL_META_I64 || e.type == IRLLREC_MODEL_META_F64) {
            if (n - pos < 8) return lfail(L, IRLLREC_E_FORMAT, at + pos, "metadata truncated");
            if (e.type == IRLLREC_MODEL_META_I64)
                e.i64 = (int64_t)rd64(p + pos);
            else
                e.f64_bits = rd64(p + pos);
            pos += 8;
        } else if (e.type == IRLLREC_MODEL_META_STR) {
            if (n - pos < 4) return lfail(L, IRLLREC_E_FORMAT, at + pos, "metadata truncated");
            e.len = rd32(p + pos);
            pos += 4;
            if (e.len >= ((size_t)1 << 31) || n - pos < e.len || memchr(p + pos, 0, e.len) != NULL)
                return lfail(L, IRLLREC_E_FORMAT, at + pos - 4,
                             "string of %zu bytes is too long or holds a NUL", e.len);
            e.str = (char *)irllrec__alloc(L->ctx, e.len + 1);
            if (e.str == NULL) return IRLLREC_E_NOMEM;
            if (e.len > 0) memcpy(e.str, p + pos, e.len);
            e.str[e.len] = '\0';
            pos += e.len;
        } else {
            return lfail(L, IRLLREC_E_FORMAT, at + pos - 4, "unknown metadata type %u", e.type);
        }
        st = irllrec__model_push_meta(m, &e);
        if (st != IRLLREC_OK) {
            if (e.str != NULL) irllrec__free(L->ctx, e.str, e.len + 1);
            return st;
        }
    }
    if (pos != n) return lfail(L, IRLLREC_E_FORMAT, at + pos, "trailing bytes after the metadata");
    return IRLLREC_OK;
}

/* Check (11) and the copy of one known tensor section into m. */
static irllrec_status take_tensor(const loader *L, irllrec_model *m, uint64_t at)
{
    const uint8_t *e = L->buf + at;
    irllrec__section s;
    irllrec_status st;
    uint64_t off = rd64(e + E_OFFSET);
    memset(&s, 0, sizeof s);
    memcpy(s.name, e + E_NAME, 48);
    s.kind = rd32(e + E_KIND);
    s.flags = rd32(e + E_FLAGS);
    s.dtype = rd32(e + E_DTYPE);
    s.ndim = (int32_t)rd32(e + E_NDIM);
    for (int d = 0; d < IRLLREC_MODEL_MAX_DIMS; d++) s.dims[d] = (int64_t)rd64(e + E_DIMS + 8 * d);
    s.nbytes = (size_t)rd64(e + E_NBYTES);
    if (L->opts.check_finite && s.dtype == IRLLREC_MODEL_F32) {
        for (size_t i = 0; i < s.nbytes / 4; i++) {
            uint32_t bits = rd32(L->buf + off + 4 * i);
            float v;
            memcpy(&v, &bits, sizeof v);
            if (!isfinite(v))
                return lfail(L, IRLLREC_E_NUMERIC, off + 4 * i, "section \"%s\" holds a NaN or Inf",
                             s.name);
        }
    }
    s.data = irllrec__alloc(L->ctx, s.nbytes);
    if (s.data == NULL) return IRLLREC_E_NOMEM;
    memcpy(s.data, L->buf + off, s.nbytes);
    st = irllrec__model_push(m, &s);
    if (st != IRLLREC_OK) irllrec__free(L->ctx, s.data, s.nbytes);
    return st;
}

static irllrec_status load_checked(loader *L, irllrec_model **out)
{
    uint32_t header_size = 0, count = 0;
    uint64_t table_off = 0, prev_end, need = sizeof(irllrec_model);
    const uint8_t *table;
    const uint8_t **names = NULL;
    uint8_t hash[IRLLREC__IRLM_HASH];
    irllrec_model *m = NULL;
    irllrec_status st;
    int n_meta = 0;

    IRL_TRY(check_header(L, &header_size, &count, &table_off));                   /* (1)-(7) */
    table = L->buf + table_off;
    header_hash(hash, L->buf, header_size, table, (size_t)count * IRLLREC__IRLM_ENTRY); /* (8) */
    if (memcmp(hash, L->buf + H_HASH, IRLLREC__IRLM_HASH) != 0)
        return lfail(L, IRLLREC_E_CHECKSUM, H_HASH, "header checksum mismatch");
    if (!all_zero(L->buf + header_size, table_off - header_size))
        return lfail(L, IRLLREC_E_FORMAT, header_size, "bytes between header and table are not zero");
    prev_end = table_off + (uint64_t)count * IRLLREC__IRLM_ENTRY;
    for (uint32_t i = 0; i < count; i++)                                          /* (9) */
        IRL_TRY(check_entry(L, table_off + (uint64_t)i * IRLLREC__IRLM_ENTRY, &prev_end, &n_meta, &need));
    if (!all_zero(L->buf + prev_end, L->len - prev_end))
        return lfail(L, IRLLREC_E_FORMAT, prev_end, "bytes after the last payload are not zero");
    need += (uint64_t)count * sizeof *names;
    if (L->opts.max_bytes != 0 && need > L->opts.max_bytes)
        return lfail(L, IRLLREC_E_NOMEM, 0, "the model needs up to %llu bytes, max_bytes is %llu",
                     (unsigned long long)need, (unsigned long long)L->opts.max_bytes);
    if (count > 1) {
        names = (const uint8_t **)irllrec__alloc(L->ctx, (size_t)count * sizeof *names);
        if (names == NULL) return IRLLREC_E_NOMEM;
        for (uint32_t i = 0; i < count; i++) names[i] = table + (size_t)i * IRLLREC__IRLM_ENTRY + E_NAME;
        qsort(names, count, sizeof *names, name_cmp);
        for (uint32_t i = 1; i < count; i++)
            if (memcmp(names[i - 1], names[i], 48) == 0) {
                uint64_t at = (uint64_t)(names[i] - L->buf);
                irllrec__free(L->ctx, names, (size_t)count * sizeof *names);
                return lfail(L, IRLLREC_E_FORMAT, at, "duplicate section name \"%.48s\"",
                             (const char *)L->buf + at);
            }
        irllrec__free(L->ctx, names, (size_t)count * sizeof *names);
    }
    for (uint32_t i = 0; i < count; i++) {                                        /* (10) */
        const uint8_t *e = table + (size_t)i * IRLLREC__IRLM_ENTRY;
        hash_bytes(hash, L->buf + rd64(e + E_OFFSET), (size_t)rd64(e + E_NBYTES));
        if (memcmp(hash, e + E_HASH, IRLLREC__IRLM_HASH) != 0)
            return lfail(L, IRLLREC_E_CHECKSUM, table_off + (uint64_t)i * IRLLREC__IRLM_ENTRY + E_HASH,
                         "checksum mismatch in section \"%.48s\"", (const char *)e + E_NAME);
    }
    IRL_TRY(irllrec_model_create(L->ctx, &m));                                    /* (11) */
    m->hint_flags = rd32(L->buf + H_FLAGS) & ~IRLLREC__IRLM_REQUIRED_BITS;
    st = IRLLREC_OK;
    for (uint32_t i = 0; i < count && st == IRLLREC_OK; i++) {
        uint64_t at = table_off + (uint64_t)i * IRLLREC__IRLM_ENTRY;
        uint32_t kind = rd32(L->buf + at + E_KIND);
        if (kind == IRLLREC_MODEL_META)
            st = parse_meta(L, m, rd64(L->buf + at + E_OFFSET), (size_t)rd64(L->buf + at + E_NBYTES));
        else if (kind >= IRLLREC_MODEL_TENSOR && kind <= IRLLREC_MODEL_TEACHER)
            st = take_tensor(L, m, at);
    }
    if (st != IRLLREC_OK) {
        irllrec_model_free(m);
        return st;
    }
    *out = m;
    return IRLLREC_OK;
}

irllrec_status irllrec_model_load_mem(irllrec_ctx *ctx, const void *buf, size_t len,
                                      const irllrec_model_load_opts *opts, irllrec_model **out)
{
    loader L;
    if (out != NULL) *out = NULL;
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(ctx, out != NULL && (buf != NULL || len == 0), IRLLREC_E_INVALID_ARG,
              "out or buf is NULL");
    memset(&L, 0, sizeof L);
    L.ctx = ctx;
    L.buf = (const uint8_t *)buf;
    L.len = len;
    if (opts == NULL)
        irllrec_model_load_opts_init(&L.opts, (uint32_t)sizeof L.opts);
    else
        IRL_TRY(irllrec__copy_spec(ctx, __func__, &L.opts, sizeof L.opts, opts));
    if (L.opts.max_bytes != 0 && len > L.opts.max_bytes)
        return lfail(&L, IRLLREC_E_NOMEM, 0, "input of %zu bytes exceeds max_bytes %llu", len,
                     (unsigned long long)L.opts.max_bytes);
    return load_checked(&L, out);
}

irllrec_status irllrec_model_load(irllrec_ctx *ctx, const char *path,
                                  const irllrec_model_load_opts *opts, irllrec_model **out)
{
    irllrec_model_load_opts o;
    FILE *f;
    struct stat sb;
    uint8_t small[IRLLREC__IRLM_HEADER], *buf;
    size_t len, got;
    irllrec_status st;
    if (out != NULL) *out = NULL;
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(ctx, out != NULL && path != NULL, IRLLREC_E_INVALID_ARG, "out or path is NULL");
    if (opts == NULL)
        irllrec_model_load_opts_init(&o, (uint32_t)sizeof o);
    else
        IRL_TRY(irllrec__copy_spec(ctx, __func__, &o, sizeof o, opts));
    f = fopen(path, "rb");
    if (f == NULL)
        return irllrec__fail(ctx, IRLLREC_E_IO, __func__, "%s: cannot open (errno %d)", path, errno);
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size < 0 ||
        (uint64_t)sb.st_size > SIZE_MAX) {
        fclose(f);
        return irllrec__fail(ctx, IRLLREC_E_IO, __func__, "%s: not a readable regular file", path);
    }
    len = (size_t)sb.st_size;
    if (o.max_bytes != 0 && len > o.max_bytes) {
        fclose(f);
        return irllrec__fail(ctx, IRLLREC_E_NOMEM, __func__, "%s: %zu bytes exceeds max_bytes %llu",
                             path, len, (unsigned long long)o.max_bytes);
    }
    /* Short files still go through the loader so they get its error. */
    buf = len <= sizeof small ? small : (uint8_t *)irllrec__alloc(ctx, len);
    if (buf == NULL) {
        fclose(f);
        return IRLLREC_E_NOMEM;
    }
    got = len == 0 ? 0 : fread(buf, 1, len, f);
    fclose(f);
    if (got != len)
        st = irllrec__fail(ctx, IRLLREC_E_IO, __func__, "%s: read %zu of %zu bytes", path, got, len);
    else
        st = irllrec_model_load_mem(ctx, buf, len, &o, out);
    if (buf != small) irllrec__free(ctx, buf, len);
    return st;
}
