/* The .irlm loader for untrusted input: every check of
 * docs/file-format.md, in the order listed there, before any byte is
 * interpreted. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model_impl.h"
#include "../io/ropen.h"

/* ---- load ---------------------------------------------------------------- */

typedef struct loader {
    irllrec_ctx *ctx;
    const uint8_t *buf;
    size_t len;
    irllrec_model_load_opts opts;
    const char *fn;   /* the public function messages are reported for */
    const char *name; /* the file's path, or NULL for an in-memory image */
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
    if (L->name != NULL)
        return irllrec__fail(L->ctx, st, L->fn, "%s: at byte %llu: %s", L->name,
                             (unsigned long long)at, msg);
    return irllrec__fail(L->ctx, st, L->fn, "at byte %llu: %s", (unsigned long long)at, msg);
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
    if (memcmp(h, irllrec__irlm_magic, sizeof irllrec__irlm_magic) != 0)
        return lfail(L, IRLLREC_E_FORMAT, 0, "bad magic: not an .irlm model file");
    if (irllrec__irlm_rd16(h + IRLM_H_MAJOR) != IRLLREC__IRLM_MAJOR)
        return lfail(L, IRLLREC_E_VERSION, IRLM_H_MAJOR,
                     "format major version %u (this library reads %u)",
                     irllrec__irlm_rd16(h + IRLM_H_MAJOR), IRLLREC__IRLM_MAJOR);
    if (!all_zero(h + IRLM_H_RESERVED, IRLM_H_HASH - IRLM_H_RESERVED))
        return lfail(L, IRLLREC_E_FORMAT, IRLM_H_RESERVED, "reserved header bytes are not zero");
    flags = irllrec__irlm_rd32(h + IRLM_H_FLAGS);
    if (flags & IRLLREC__IRLM_REQUIRED_BITS)
        return lfail(L, IRLLREC_E_UNSUPPORTED, IRLM_H_FLAGS, "unknown required header flags 0x%x",
                     flags & IRLLREC__IRLM_REQUIRED_BITS);
    if (h[IRLM_H_ALG] != IRLLREC__IRLM_HASH_BLAKE2B256)
        return lfail(L, IRLLREC_E_UNSUPPORTED, IRLM_H_ALG, "unknown hash algorithm %u",
                     h[IRLM_H_ALG]);
    file_size = irllrec__irlm_rd64(h + IRLM_H_FILE);
    if (file_size != (uint64_t)L->len)
        return lfail(L, IRLLREC_E_FORMAT, IRLM_H_FILE, "file_size %llu but the input has %zu bytes",
                     (unsigned long long)file_size, L->len);
    *header_size = irllrec__irlm_rd32(h + IRLM_H_SIZE);
    if (*header_size < IRLLREC__IRLM_HEADER || *header_size > L->len)
        return lfail(L, IRLLREC_E_FORMAT, IRLM_H_SIZE, "header_size %u is not in [%u, %zu]",
                     *header_size, IRLLREC__IRLM_HEADER, L->len);
    *count = irllrec__irlm_rd32(h + IRLM_H_COUNT);
    *table_off = irllrec__irlm_rd64(h + IRLM_H_TABLE);
    table_bytes = (uint64_t)*count * IRLLREC__IRLM_ENTRY; /* < 2^32 * 144: no overflow */
    if (*table_off < *header_size || *table_off > L->len || table_bytes > L->len - *table_off)
        return lfail(
            L, IRLLREC_E_FORMAT, IRLM_H_TABLE,
            "table of %u entries at %llu does not fit between the header and the end (%zu)", *count,
            (unsigned long long)*table_off, L->len);
    return IRLLREC_OK;
}

/* Check (9) for one table entry. *prev_end is where the previous payload
 * (or the table) ended: payloads follow the table in table order, so
 * overlap is impossible and every gap can be required to be zero. */
static irllrec_status check_entry(const loader *L, uint64_t at, uint64_t *prev_end, int *n_meta,
                                  uint64_t *need)
{
    const uint8_t *e = L->buf + at;
    uint32_t kind = irllrec__irlm_rd32(e + IRLM_E_KIND),
             flags = irllrec__irlm_rd32(e + IRLM_E_FLAGS),
             dtype = irllrec__irlm_rd32(e + IRLM_E_DTYPE);
    uint32_t ndim = irllrec__irlm_rd32(e + IRLM_E_NDIM);
    uint64_t off = irllrec__irlm_rd64(e + IRLM_E_OFFSET),
             nbytes = irllrec__irlm_rd64(e + IRLM_E_NBYTES), count = 1, esize;
    size_t nl = 0;
    int known = kind >= IRLLREC_MODEL_META && kind <= IRLLREC_MODEL_TEACHER;
    while (nl < 48 && e[IRLM_E_NAME + nl] != 0) nl++;
    if (nl == 0 || nl > IRLLREC_MODEL_NAME_MAX || !all_zero(e + IRLM_E_NAME + nl, 48 - nl))
        return lfail(L, IRLLREC_E_FORMAT, at + IRLM_E_NAME,
                     "section name is empty, not NUL-terminated or not NUL-padded");
    if (flags & IRLLREC__IRLM_REQUIRED_BITS & ~(uint32_t)IRLLREC_MODEL_REQUIRED)
        return lfail(L, IRLLREC_E_UNSUPPORTED, at + IRLM_E_FLAGS,
                     "unknown required section flags 0x%x", flags);
    if (!known && (flags & IRLLREC_MODEL_REQUIRED))
        return lfail(L, IRLLREC_E_UNSUPPORTED, at + IRLM_E_KIND, "unknown required section kind %u",
                     kind);
    if (off % IRLLREC__IRLM_ALIGN != 0)
        return lfail(L, IRLLREC_E_FORMAT, at + IRLM_E_OFFSET,
                     "payload offset %llu is not %u-aligned", (unsigned long long)off,
                     IRLLREC__IRLM_ALIGN);
    if (off < *prev_end || off > L->len || nbytes > L->len - off)
        return lfail(L, IRLLREC_E_FORMAT, at + IRLM_E_OFFSET,
                     "payload [%llu, +%llu) overlaps the previous one or the table, or passes "
                     "the end (%zu)", (unsigned long long)off, (unsigned long long)nbytes, L->len);
    if (!all_zero(L->buf + *prev_end, off - *prev_end))
        return lfail(L, IRLLREC_E_FORMAT, *prev_end, "padding before a payload is not zero");
    *prev_end = off + nbytes;
    if (!known) return IRLLREC_OK; /* optional section of a later minor version: skipped */
    if (dtype < IRLLREC_MODEL_F32 || dtype > IRLLREC_MODEL_U8)
        return lfail(L, IRLLREC_E_UNSUPPORTED, at + IRLM_E_DTYPE, "unknown dtype %u", dtype);
    if ((kind == IRLLREC_MODEL_META) != (dtype == IRLLREC_MODEL_U8))
        return lfail(L, IRLLREC_E_FORMAT, at + IRLM_E_DTYPE,
                     "dtype %u does not suit section kind %u", dtype, kind);
    if ((kind == IRLLREC_MODEL_META) !=
        (strcmp((const char *)e + IRLM_E_NAME, IRLLREC__IRLM_META_NAME) == 0))
        return lfail(L, IRLLREC_E_FORMAT, at + IRLM_E_NAME,
                     "the metadata section, and only it, is named \"" IRLLREC__IRLM_META_NAME "\"");
    if (kind == IRLLREC_MODEL_META && ++*n_meta > 1)
        return lfail(L, IRLLREC_E_FORMAT, at, "more than one metadata section");
    if (ndim < 1 || ndim > IRLLREC_MODEL_MAX_DIMS || (kind == IRLLREC_MODEL_META && ndim != 1))
        return lfail(L, IRLLREC_E_FORMAT, at + IRLM_E_NDIM, "ndim %u is not allowed", ndim);
    for (uint32_t d = 0; d < IRLLREC_MODEL_MAX_DIMS; d++) {
        uint64_t v = irllrec__irlm_rd64(e + IRLM_E_DIMS + 8 * d);
        if (d >= ndim) {
            if (v != 0)
                return lfail(L, IRLLREC_E_FORMAT, at + IRLM_E_DIMS + 8 * d,
                             "unused dim is not zero");
            continue;
        }
        if (v == 0 || v > (uint64_t)INT64_MAX || count > UINT64_MAX / v)
            return lfail(L, IRLLREC_E_FORMAT, at + IRLM_E_DIMS + 8 * d,
                         "dim %u = %llu is zero or overflows", d, (unsigned long long)v);
        count *= v;
    }
    esize = dtype == IRLLREC_MODEL_F32 ? 4 : dtype == IRLLREC_MODEL_U64 ? 8 : 1;
    if (count > UINT64_MAX / esize || count * esize != nbytes)
        return lfail(L, IRLLREC_E_FORMAT, at + IRLM_E_NBYTES, "nbytes %llu does not match the dims",
                     (unsigned long long)nbytes);
    /* Upper estimate of what the model will hold: payload, its record (the
     * arrays double), and for metadata the per-key records (>= 13 file bytes each). */
    *need += nbytes + 2 * sizeof(irllrec__section);
    if (kind == IRLLREC_MODEL_META)
        *need += nbytes + 2 * (nbytes / 13 + 1) * (sizeof(irllrec__meta) + 1);
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
    count = irllrec__irlm_rd32(p);
    if (count == 0 || count > IRLLREC__IRLM_MAX_META)
        return lfail(L, IRLLREC_E_FORMAT, at, "metadata count %u is not in 1..%d", count,
                     IRLLREC__IRLM_MAX_META);
    for (uint32_t k = 0; k < count; k++) {
        irllrec__meta e;
        uint32_t kl;
        irllrec_status st;
        memset(&e, 0, sizeof e);
        if (n - pos < 4) return lfail(L, IRLLREC_E_FORMAT, at + pos, "metadata truncated");
        kl = irllrec__irlm_rd32(p + pos);
        pos += 4;
        if (kl == 0 || kl > IRLLREC_MODEL_KEY_MAX || n - pos < (size_t)kl + 4 ||
            memchr(p + pos, 0, kl) != NULL)
            return lfail(L, IRLLREC_E_FORMAT, at + pos - 4, "bad metadata key length %u", kl);
        memcpy(e.key, p + pos, kl);
        pos += kl;
        if (irllrec__model_meta_index(m, e.key) >= 0)
            return lfail(L, IRLLREC_E_FORMAT, at + pos - kl, "duplicate metadata key \"%s\"",
                         e.key);
        e.type = irllrec__irlm_rd32(p + pos);
        pos += 4;
        if (e.type == IRLLREC_MODEL_META_I64 || e.type == IRLLREC_MODEL_META_F64) {
            if (n - pos < 8) return lfail(L, IRLLREC_E_FORMAT, at + pos, "metadata truncated");
            if (e.type == IRLLREC_MODEL_META_I64)
                e.i64 = (int64_t)irllrec__irlm_rd64(p + pos);
            else
                e.f64_bits = irllrec__irlm_rd64(p + pos);
            pos += 8;
        } else if (e.type == IRLLREC_MODEL_META_STR) {
            if (n - pos < 4) return lfail(L, IRLLREC_E_FORMAT, at + pos, "metadata truncated");
            e.len = irllrec__irlm_rd32(p + pos);
            pos += 4;
            if (e.len >= ((size_t)1 << 31) || n - pos < e.len || memchr(p + pos, 0, e.len) != NULL)
                return lfail(L, IRLLREC_E_FORMAT, at + pos - 4,
                             "string of %zu bytes is too long or holds a NUL", e.len);
            e.str = (char *)irllrec__alloc_fn(L->ctx, L->fn, e.len + 1);
            if (e.str == NULL) return IRLLREC_E_NOMEM;
            if (e.len > 0) memcpy(e.str, p + pos, e.len);
            e.str[e.len] = '\0';
            pos += e.len;
        } else {
            return lfail(L, IRLLREC_E_FORMAT, at + pos - 4, "unknown metadata type %u", e.type);
        }
        st = irllrec__model_push_meta(m, L->fn, &e);
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
    uint64_t off = irllrec__irlm_rd64(e + IRLM_E_OFFSET);
    memset(&s, 0, sizeof s);
    memcpy(s.name, e + IRLM_E_NAME, 48);
    s.kind = irllrec__irlm_rd32(e + IRLM_E_KIND);
    s.flags = irllrec__irlm_rd32(e + IRLM_E_FLAGS);
    s.dtype = irllrec__irlm_rd32(e + IRLM_E_DTYPE);
    s.ndim = (int32_t)irllrec__irlm_rd32(e + IRLM_E_NDIM);
    for (int d = 0; d < IRLLREC_MODEL_MAX_DIMS; d++)
        s.dims[d] = (int64_t)irllrec__irlm_rd64(e + IRLM_E_DIMS + 8 * d);
    s.nbytes = (size_t)irllrec__irlm_rd64(e + IRLM_E_NBYTES);
    if (L->opts.check_finite && s.dtype == IRLLREC_MODEL_F32) {
        for (size_t i = 0; i < s.nbytes / 4; i++) {
            uint32_t bits = irllrec__irlm_rd32(L->buf + off + 4 * i);
            float v;
            memcpy(&v, &bits, sizeof v);
            if (!isfinite(v))
                return lfail(L, IRLLREC_E_NUMERIC, off + 4 * i, "section \"%s\" holds a NaN or Inf",
                             s.name);
        }
    }
    s.data = irllrec__alloc_fn(L->ctx, L->fn, s.nbytes);
    if (s.data == NULL) return IRLLREC_E_NOMEM;
    memcpy(s.data, L->buf + off, s.nbytes);
    st = irllrec__model_push(m, L->fn, &s);
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
    irllrec__irlm_header_hash(hash, L->buf, header_size, table,
                              (size_t)count * IRLLREC__IRLM_ENTRY); /* (8) */
    if (memcmp(hash, L->buf + IRLM_H_HASH, IRLLREC__IRLM_HASH) != 0)
        return lfail(L, IRLLREC_E_CHECKSUM, IRLM_H_HASH, "header checksum mismatch");
    if (!all_zero(L->buf + header_size, table_off - header_size))
        return lfail(L, IRLLREC_E_FORMAT, header_size,
                     "bytes between header and table are not zero");
    prev_end = table_off + (uint64_t)count * IRLLREC__IRLM_ENTRY;
    for (uint32_t i = 0; i < count; i++)                                          /* (9) */
        IRL_TRY(check_entry(L, table_off + (uint64_t)i * IRLLREC__IRLM_ENTRY, &prev_end, &n_meta,
                            &need));
    if (!all_zero(L->buf + prev_end, L->len - prev_end))
        return lfail(L, IRLLREC_E_FORMAT, prev_end, "bytes after the last payload are not zero");
    need += (uint64_t)count * sizeof *names;
    if (L->opts.max_bytes != 0 && need > L->opts.max_bytes)
        return lfail(L, IRLLREC_E_NOMEM, 0, "the model needs up to %llu bytes, max_bytes is %llu",
                     (unsigned long long)need, (unsigned long long)L->opts.max_bytes);
    if (count > 1) {
        names = (const uint8_t **)irllrec__alloc_fn(L->ctx, L->fn, (size_t)count * sizeof *names);
        if (names == NULL) return IRLLREC_E_NOMEM;
        for (uint32_t i = 0; i < count; i++)
            names[i] = table + (size_t)i * IRLLREC__IRLM_ENTRY + IRLM_E_NAME;
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
        irllrec__irlm_hash(hash, L->buf + irllrec__irlm_rd64(e + IRLM_E_OFFSET),
                           (size_t)irllrec__irlm_rd64(e + IRLM_E_NBYTES));
        if (memcmp(hash, e + IRLM_E_HASH, IRLLREC__IRLM_HASH) != 0)
            return lfail(L, IRLLREC_E_CHECKSUM,
                         table_off + (uint64_t)i * IRLLREC__IRLM_ENTRY + IRLM_E_HASH,
                         "checksum mismatch in section \"%.48s\"", (const char *)e + IRLM_E_NAME);
    }
    IRL_TRY(irllrec_model_create(L->ctx, &m));                                    /* (11) */
    m->hint_flags = irllrec__irlm_rd32(L->buf + IRLM_H_FLAGS) & ~IRLLREC__IRLM_REQUIRED_BITS;
    st = IRLLREC_OK;
    for (uint32_t i = 0; i < count && st == IRLLREC_OK; i++) {
        uint64_t at = table_off + (uint64_t)i * IRLLREC__IRLM_ENTRY;
        uint32_t kind = irllrec__irlm_rd32(L->buf + at + IRLM_E_KIND);
        if (kind == IRLLREC_MODEL_META)
            st = parse_meta(L, m, irllrec__irlm_rd64(L->buf + at + IRLM_E_OFFSET),
                            (size_t)irllrec__irlm_rd64(L->buf + at + IRLM_E_NBYTES));
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

/* Load from a whole image; opts already copied (path loader) or NULL. */
static irllrec_status load_image(irllrec_ctx *ctx, const char *fn, const char *name,
                                 const uint8_t *buf, size_t len,
                                 const irllrec_model_load_opts *opts, irllrec_model **out)
{
    loader L;
    memset(&L, 0, sizeof L);
    L.ctx = ctx;
    L.buf = buf;
    L.len = len;
    L.fn = fn;
    L.name = name;
    L.opts = *opts;
    if (L.opts.max_bytes != 0 && len > L.opts.max_bytes)
        return lfail(&L, IRLLREC_E_NOMEM, 0, "input of %zu bytes exceeds max_bytes %llu", len,
                     (unsigned long long)L.opts.max_bytes);
    return load_checked(&L, out);
}

irllrec_status irllrec_model_load_mem(irllrec_ctx *ctx, const void *buf, size_t len,
                                      const irllrec_model_load_opts *opts, irllrec_model **out)
{
    irllrec_model_load_opts o;
    if (out != NULL) *out = NULL;
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(ctx, out != NULL && (buf != NULL || len == 0), IRLLREC_E_INVALID_ARG,
              "out or buf is NULL");
    if (opts == NULL)
        irllrec_model_load_opts_init(&o, (uint32_t)sizeof o);
    else
        IRL_TRY(irllrec__copy_spec(ctx, __func__, &o, sizeof o, opts));
    return load_image(ctx, __func__, NULL, (const uint8_t *)buf, len, &o, out);
}

irllrec_status irllrec_model_load(irllrec_ctx *ctx, const char *path,
                                  const irllrec_model_load_opts *opts, irllrec_model **out)
{
    irllrec_model_load_opts o;
    FILE *f;
    uint64_t size;
    uint8_t head[IRLLREC__IRLM_HEADER], *buf;
    size_t len, got;
    irllrec_status st;
    if (out != NULL) *out = NULL;
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(ctx, out != NULL && path != NULL, IRLLREC_E_INVALID_ARG, "out or path is NULL");
    if (opts == NULL)
        irllrec_model_load_opts_init(&o, (uint32_t)sizeof o);
    else
        IRL_TRY(irllrec__copy_spec(ctx, __func__, &o, sizeof o, opts));
    IRL_TRY(irllrec__open_regular(ctx, __func__, path, 0, &f, &size));
    if (size > SIZE_MAX) {
        fclose(f);
        return irllrec__fail(ctx, IRLLREC_E_NOMEM, __func__,
                             "%s: %llu bytes do not fit in memory", path,
                             (unsigned long long)size);
    }
    len = (size_t)size;
    if (o.max_bytes != 0 && len > o.max_bytes) {
        fclose(f);
        return irllrec__fail(ctx, IRLLREC_E_NOMEM, __func__, "%s: %zu bytes exceeds max_bytes %llu",
                             path, len, (unsigned long long)o.max_bytes);
    }
    /* The header first: a file that is not a model (bad magic, version,
     * sizes) is refused from its first 96 bytes, before the rest is read or
     * memory for it allocated. Short files still go through the loader so
     * they get its error. */
    got = fread(head, 1, len < sizeof head ? len : sizeof head, f);
    if (got != (len < sizeof head ? len : sizeof head)) {
        fclose(f);
        return irllrec__fail(ctx, IRLLREC_E_IO, __func__, "%s: read %zu of %zu bytes", path, got,
                             len);
    }
    if (len <= sizeof head) {
        fclose(f);
        return load_image(ctx, __func__, path, head, len, &o, out);
    }
    {
        loader L;
        uint32_t hsize, count;
        uint64_t table_off;
        memset(&L, 0, sizeof L);
        L.ctx = ctx;
        L.buf = head;
        L.len = len; /* check_header reads only the header bytes */
        L.opts = o;
        L.fn = __func__;
        L.name = path;
        st = check_header(&L, &hsize, &count, &table_off);
        if (st != IRLLREC_OK) {
            fclose(f);
            return st;
        }
    }
    buf = (uint8_t *)irllrec__alloc_fn(ctx, __func__, len);
    if (buf == NULL) {
        fclose(f);
        return IRLLREC_E_NOMEM;
    }
    memcpy(buf, head, sizeof head);
    got = sizeof head + fread(buf + sizeof head, 1, len - sizeof head, f);
    fclose(f);
    if (got != len)
        st =
            irllrec__fail(ctx, IRLLREC_E_IO, __func__, "%s: read %zu of %zu bytes", path, got, len);
    else
        st = load_image(ctx, __func__, path, buf, len, &o, out);
    irllrec__free(ctx, buf, len);
    return st;
}
