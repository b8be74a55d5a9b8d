/* The .npy header: the preamble (magic, version, header length), the
 * header dict, parsed by a small recursive-descent reader that accepts
 * exactly what NumPy's writer produces plus the harmless variations
 * (whitespace, key order, trailing commas), and the one header writer. */
#include <stdio.h>
#include <string.h>
#include "npy_internal.h"

#define NPY_MAX_HEADER 65536u

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

/* ---- preamble -------------------------------------------------------- */

/* pre holds the first min(12, file_len) bytes. */
irllrec_status irllrec__npy_parse_preamble(const irllrec__npy_src *s, const unsigned char *pre,
                                           uint64_t file_len, size_t *hdr_start, size_t *hdr_len)
{
    uint32_t hl;
    if (file_len < 10)
        return irllrec__fail(s->ctx, IRLLREC_E_FORMAT, s->func,
                             "%s: %llu bytes is shorter than the 10-byte .npy preamble", s->name,
                             (unsigned long long)file_len);
    if (memcmp(pre, npy_magic, sizeof npy_magic) != 0)
        return irllrec__fail(s->ctx, IRLLREC_E_FORMAT, s->func,
                             "%s: not a .npy file (bad magic at byte 0)", s->name);
    if (pre[6] < 1 || pre[6] > 3 || pre[7] != 0)
        return irllrec__fail(s->ctx, IRLLREC_E_UNSUPPORTED, s->func,
                             "%s: .npy format version %u.%u at byte 6 (supported: 1.0, 2.0, 3.0)",
                             s->name, (unsigned)pre[6], (unsigned)pre[7]);
    if (pre[6] == 1) {
        hl = (uint32_t)pre[8] | (uint32_t)pre[9] << 8;
        *hdr_start = 10;
    } else {
        if (file_len < 12)
            return irllrec__fail(s->ctx, IRLLREC_E_FORMAT, s->func,
                                 "%s: %llu bytes is shorter than the 12-byte version %u preamble",
                                 s->name, (unsigned long long)file_len, (unsigned)pre[6]);
        hl = (uint32_t)pre[8] | (uint32_t)pre[9] << 8 | (uint32_t)pre[10] << 16 |
             (uint32_t)pre[11] << 24;
        *hdr_start = 12;
    }
    if (hl == 0)
        return irllrec__fail(s->ctx, IRLLREC_E_FORMAT, s->func, "%s: header length at byte 8 is 0",
                             s->name);
    if (hl > NPY_MAX_HEADER)
        return irllrec__fail(s->ctx, IRLLREC_E_FORMAT, s->func,
                             "%s: header length %lu at byte 8 exceeds the 64 KiB limit", s->name,
                             (unsigned long)hl);
    if ((uint64_t)*hdr_start + hl > file_len)
        return irllrec__fail(s->ctx, IRLLREC_E_FORMAT, s->func,
                             "%s: header of %lu bytes at byte %zu runs past the end of the file "
                             "(%llu bytes)",
                             s->name, (unsigned long)hl, *hdr_start, (unsigned long long)file_len);
    *hdr_len = hl;
    return IRLLREC_OK;
}

/* ---- header dict ------------------------------------------------------ */

typedef struct pcur {
    const irllrec__npy_src *s;
    const char *p, *end, *base;
    size_t base_off; /* file offset of base */
} pcur;

static size_t cur_off(const pcur *c) { return c->base_off + (size_t)(c->p - c->base); }

static irllrec_status syntax(const pcur *c, const char *what)
{
    return irllrec__fail(c->s->ctx, IRLLREC_E_FORMAT, c->s->func, "%s: header dict: %s at byte %zu",
                         c->s->name, what, cur_off(c));
}

static void skip_ws(pcur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int at(const pcur *c, char ch) { return c->p < c->end && *c->p == ch; }

/* A quoted Python string without escapes; *str points into the header. */
static irllrec_status parse_str(pcur *c, const char **str, size_t *len)
{
    char q;
    const char *start;
    if (!at(c, '\'') && !at(c, '"')) return syntax(c, "expected a quoted string");
    q = *c->p++;
    start = c->p;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || *c->p == '\n') return syntax(c, "escape or newline inside a string");
        c->p++;
    }
    if (c->p >= c->end) return syntax(c, "unterminated string");
    *str = start;
    *len = (size_t)(c->p - start);
    c->p++;
    return IRLLREC_OK;
}

static int take_word(pcur *c, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0) return 0;
    c->p += n;
    return 1;
}

static irllrec_status parse_bool(pcur *c, int *v)
{
    if (take_word(c, "True"))
        *v = 1;
    else if (take_word(c, "False"))
        *v = 0;
    else
        return syntax(c, "expected True or False");
    return IRLLREC_OK;
}

/* A tuple of non-negative integers; a one-element tuple needs its comma, as
 * in Python. Python 2 writers may add an 'L' suffix. */
static irllrec_status parse_shape(pcur *c, int64_t dims[2], int *ndim)
{
    int n = 0, comma_after_last = 0;
    if (!at(c, '(')) return syntax(c, "expected '(' starting the shape");
    c->p++;
    for (;;) {
        int64_t v = 0;
        skip_ws(c);
        if (at(c, ')')) break;
        if (n > 0 && !comma_after_last) return syntax(c, "expected ',' between dimensions");
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
            return syntax(c, "expected a non-negative integer dimension");
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            int d = *c->p - '0';
            if (v > (INT64_MAX - d) / 10)
                return irllrec__fail(c->s->ctx, IRLLREC_E_SHAPE, c->s->func,
                                     "%s: dimension at byte %zu overflows int64", c->s->name,
                                     cur_off(c));
            v = v * 10 + d;
            c->p++;
        }
        if (at(c, 'L')) c->p++;
        if (n < 2) dims[n] = v;
        if (n < 64) n++;
        skip_ws(c);
        comma_after_last = at(c, ',');
        if (comma_after_last) c->p++;
    }
    if (n == 1 && !comma_after_last) return syntax(c, "one-element shape without its comma");
    c->p++; /* ')' */
    *ndim = n;
    return IRLLREC_OK;
}

typedef struct npy_dict {
    const char *descr;
    size_t descr_len;
    int fortran;
    int64_t dims[2];
    int ndim;
    int seen_descr, seen_fortran, seen_shape;
} npy_dict;

static irllrec_status parse_entry(pcur *c, npy_dict *d)
{
    const char *key;
    size_t klen;
    IRL_TRY(parse_str(c, &key, &klen));
    skip_ws(c);
    if (!at(c, ':')) return syntax(c, "expected ':' after a key");
    c->p++;
    skip_ws(c);
#define KEY_IS(k) (klen == sizeof(k) - 1 && memcmp(key, k, klen) == 0)
    if (KEY_IS("descr")) {
        if (d->seen_descr++) return syntax(c, "duplicate key 'descr'");
        if (at(c, '['))
            return irllrec__fail(c->s->ctx, IRLLREC_E_UNSUPPORTED, c->s->func,
                                 "%s: structured dtype at byte %zu: only '<f4' and '<f8' are read",
                                 c->s->name, cur_off(c));
        return parse_str(c, &d->descr, &d->descr_len);
    }
    if (KEY_IS("fortran_order")) {
        if (d->seen_fortran++) return syntax(c, "duplicate key 'fortran_order'");
        return parse_bool(c, &d->fortran);
    }
    if (KEY_IS("shape")) {
        if (d->seen_shape++) return syntax(c, "duplicate key 'shape'");
        return parse_shape(c, d->dims, &d->ndim);
    }
#undef KEY_IS
    c->p = key - 1;
    return syntax(c, "unknown key (only 'descr', 'fortran_order', 'shape' are allowed)");
}

static irllrec_status parse_dict(pcur *c, npy_dict *d)
{
    memset(d, 0, sizeof *d);
    skip_ws(c);
    if (!at(c, '{')) return syntax(c, "expected '{'");
    c->p++;
    for (;;) {
        skip_ws(c);
        if (at(c, '}')) break;
        IRL_TRY(parse_entry(c, d));
        skip_ws(c);
        if (at(c, ','))
            c->p++;
        else if (!at(c, '}'))
            return syntax(c, "expected ',' or '}'");
    }
    c->p++;
    skip_ws(c);
    if (c->p != c->end) return syntax(c, "unexpected byte after the dict");
    if (!d->seen_descr || !d->seen_fortran || !d->seen_shape) {
        c->p = c->base;
        return syntax(c, "missing 'descr', 'fortran_order' or 'shape' in the dict starting");
    }
    return IRLLREC_OK;
}

/* '<f4' and '<f8'; '=' (native) and '|' (not applicable) are read as
 * little-endian, as is a descr without a byte-order character. */
static irllrec_status check_descr(const irllrec__npy_src *s, const npy_dict *d, int *f8)
{
    const char *t = d->descr;
    size_t n = d->descr_len;
    char order = '=';
    if (n > 0 && (t[0] == '<' || t[0] == '>' || t[0] == '|' || t[0] == '=')) {
        order = t[0];
        t++;
        n--;
    }
    if (n == 2 && t[0] == 'f' && (t[1] == '4' || t[1] == '8')) {
        if (order == '>')
            return irllrec__fail(s->ctx, IRLLREC_E_UNSUPPORTED, s->func,
                                 "%s: big-endian dtype '%.*s' is not supported (use '<f4')",
                                 s->name, (int)d->descr_len, d->descr);
        *f8 = t[1] == '8';
        return IRLLREC_OK;
    }
    return irllrec__fail(s->ctx, IRLLREC_E_UNSUPPORTED, s->func,
                         "%s: dtype '%.*s' is not supported (only '<f4' and '<f8')", s->name,
                         (int)(d->descr_len > 32 ? 32 : d->descr_len), d->descr);
}

/* Everything after the preamble: dict, dtype, shape, sizes. */
irllrec_status irllrec__npy_parse_header(const irllrec__npy_src *s, const char *hdr,
                                         size_t hdr_start, size_t hdr_len, uint64_t file_len,
                                         irllrec__npy_info *info)
{
    pcur c;
    npy_dict d;
    size_t n_elem, nbytes;
    uint64_t have;
    c.s = s;
    c.p = c.base = hdr;
    c.end = hdr + hdr_len;
    c.base_off = hdr_start;
    IRL_TRY(parse_dict(&c, &d));
    IRL_TRY(check_descr(s, &d, &info->f8));
    if (d.fortran)
        return irllrec__fail(s->ctx, IRLLREC_E_UNSUPPORTED, s->func,
                             "%s: fortran_order is True: save a C-ordered array "
                             "(numpy.ascontiguousarray) instead",
                             s->name);
    if (d.ndim == 0)
        return irllrec__fail(s->ctx, IRLLREC_E_UNSUPPORTED, s->func,
                             "%s: shape () is a scalar, not a matrix", s->name);
    if (d.ndim > 2)
        return irllrec__fail(s->ctx, IRLLREC_E_UNSUPPORTED, s->func,
                             "%s: %d dimensions: only 1-D and 2-D arrays are read", s->name,
                             d.ndim);
    info->rows = d.dims[0];
    info->cols = d.ndim == 2 ? d.dims[1] : 1;
    if ((uint64_t)info->rows > SIZE_MAX || (uint64_t)info->cols > SIZE_MAX ||
        irllrec__mul_overflow((size_t)info->rows, (size_t)info->cols, &n_elem) ||
        irllrec__mul_overflow(n_elem, info->f8 ? 8u : 4u, &nbytes) ||
        (uint64_t)nbytes > (uint64_t)INT64_MAX || nbytes > SIZE_MAX - (hdr_start + hdr_len))
        return irllrec__fail(s->ctx, IRLLREC_E_SHAPE, s->func,
                             "%s: shape %lld x %lld overflows the address space", s->name,
                             (long long)info->rows, (long long)info->cols);
    info->data_off = hdr_start + hdr_len;
    info->data_bytes = nbytes;
    have = file_len - info->data_off;
    if (have < nbytes)
        return irllrec__fail(
            s->ctx, IRLLREC_E_FORMAT, s->func,
            "%s: truncated: %lld x %lld needs %zu data bytes from byte %zu, the file "
            "ends at byte %llu",
            s->name, (long long)info->rows, (long long)info->cols, nbytes, info->data_off,
            (unsigned long long)file_len);
    if (have > nbytes)
        return irllrec__fail(s->ctx, IRLLREC_E_FORMAT, s->func,
                             "%s: %llu trailing bytes after the data, at byte %llu", s->name,
                             (unsigned long long)(have - nbytes),
                             (unsigned long long)(info->data_off + nbytes));
    return IRLLREC_OK;
}

irllrec_status irllrec__npy_parse_mem(const irllrec__npy_src *s, const unsigned char *buf,
                                      size_t len, irllrec__npy_info *info)
{
    size_t hs = 0, hl = 0;
    IRL_TRY(irllrec__npy_parse_preamble(s, buf, len, &hs, &hl));
    return irllrec__npy_parse_header(s, (const char *)buf + hs, hs, hl, len, info);
}

/* ---- writing ------------------------------------------------------------ */

size_t irllrec__npy_header(unsigned char out[IRLLREC__NPY_HEADER_CAP], int64_t rows, int64_t cols)
{
    char dict[128];
    int n = snprintf(dict, sizeof dict,
                     "{'descr': '<f4', 'fortran_order': False, 'shape': (%lld, %lld), }",
                     (long long)rows, (long long)cols);
    size_t total = ((size_t)10 + (size_t)n + 1 + 63) / 64 * 64, hl = total - 10;
    memcpy(out, npy_magic, 6);
    out[6] = 1;
    out[7] = 0;
    out[8] = (unsigned char)(hl & 0xff);
    out[9] = (unsigned char)(hl >> 8);
    memcpy(out + 10, dict, (size_t)n);
    memset(out + 10 + n, ' ', hl - (size_t)n - 1);
    out[total - 1] = '\n';
    return total;
}
