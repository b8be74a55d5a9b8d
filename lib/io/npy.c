/* NumPy .npy files (format versions 1.0, 2.0, 3.0) holding float32/float64
 * matrices. The file is hostile input: every length is checked against the
 * file size before it is used, and the header dict is parsed by a small
 * recursive-descent reader that accepts exactly what NumPy's writer produces
 * plus the harmless variations (whitespace, key order, trailing commas). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include "../internal.h"
#include "atomic.h"
#include "npy_internal.h"

#define NPY_MAX_HEADER 65536u
#define NPY_BUF_BYTES 65536u          /* conversion buffer for path reads */
#define NPY_DIRECT_CHUNK (64u << 20)  /* bytes per fread straight into dst */

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

/* Where errors go and how the input is named in them. */
typedef struct npy_src {
    irllrec_ctx *ctx;
    const char *func;
    const char *name;   /* the path, or "<memory>" */
} npy_src;

typedef struct npy_info {
    int f8;             /* elements are float64 */
    int64_t rows, cols; /* a 1-D array of n is n x 1 */
    size_t data_off;    /* byte offset of the first element */
    size_t data_bytes;
} npy_info;

static int host_le(void)
{
    const uint16_t one = 1;
    unsigned char c;
    memcpy(&c, &one, 1);
    return c == 1;
}

/* ---- preamble -------------------------------------------------------- */

/* pre holds the first min(12, file_len) bytes. */
static irllrec_status parse_preamble(const npy_src *s, const unsigned char *pre,
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
    const npy_src *s;
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
static irllrec_status check_descr(const npy_src *s, const npy_dict *d, int *f8)
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
static irllrec_status parse_header(const npy_src *s, const char *hdr, size_t hdr_start,
                                   size_t hdr_len, uint64_t file_len, npy_info *info)
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

static irllrec_status parse_mem(const npy_src *s, const unsigned char *buf, size_t len,
                                npy_info *info)
{
    size_t hs = 0, hl = 0;
    IRL_TRY(parse_preamble(s, buf, len, &hs, &hl));
    return parse_header(s, (const char *)buf + hs, hs, hl, len, info);
}

/* ---- conversion -------------------------------------------------------- */

static float f64_to_f32(double d)
{
    /* Out-of-range conversions are undefined in C; make them infinities. */
    if (d > (double)FLT_MAX) return INFINITY;
    if (d < -(double)FLT_MAX) return -INFINITY;
    return (float)d;
}

static void decode(const unsigned char *src, size_t n, int f8, float *restrict dst)
{
    if (f8) {
        for (size_t i = 0; i < n; i++) {
            uint64_t u;
            double d;
            memcpy(&u, src + 8 * i, 8);
            if (!host_le()) u = __builtin_bswap64(u);
            memcpy(&d, &u, 8);
            dst[i] = f64_to_f32(d);
        }
    } else if (host_le()) {
        memcpy(dst, src, 4 * n);
    } else {
        for (size_t i = 0; i < n; i++) {
            uint32_t u;
            memcpy(&u, src + 4 * i, 4);
            u = __builtin_bswap32(u);
            memcpy(dst + i, &u, 4);
        }
    }
}

static void swap32(unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char *e = b + 4 * i, t0 = e[0], t1 = e[1];
        e[0] = e[3];
        e[1] = e[2];
        e[2] = t1;
        e[3] = t0;
    }
}

/* Scatter a contiguous run of elements into dst, advancing (r, c). */
static void scatter(const unsigned char *src, size_t n, int f8, irllrec_mat dst, int64_t *r,
                    int64_t *c)
{
    size_t es = f8 ? 8u : 4u;
    while (n > 0) {
        size_t m = (size_t)(dst.cols - *c);
        if (m > n) m = n;
        decode(src, m, f8, dst.data + *r * dst.ld + *c);
        src += m * es;
        n -= m;
        *c += (int64_t)m;
        if (*c == dst.cols) {
            *c = 0;
            ++*r;
        }
    }
}

static irllrec_status check_finite(const npy_src *s, irllrec_mat m)
{
    for (int64_t r = 0; r < m.rows; r++) {
        const float *row = m.data + r * m.ld;
        int bad = 0;
        for (int64_t c = 0; c < m.cols; c++) bad |= !isfinite(row[c]);
        if (!bad) continue;
        for (int64_t c = 0; c < m.cols; c++)
            if (!isfinite(row[c]))
                return irllrec__fail(s->ctx, IRLLREC_E_NUMERIC, s->func,
                                     "%s: non-finite value %g at (row %lld, col %lld)", s->name,
                                     (double)row[c], (long long)r, (long long)c);
    }
    return IRLLREC_OK;
}

static irllrec_status check_dst(const npy_src *s, const npy_info *info, irllrec_mat dst)
{
    IRL_TRY(irllrec__check_mat(s->ctx, s->func, "dst", dst));
    if (dst.rows != info->rows || dst.cols != info->cols)
        return irllrec__fail(s->ctx, IRLLREC_E_SHAPE, s->func,
                             "%s: holds %lld x %lld but dst is %lld x %lld", s->name,
                             (long long)info->rows, (long long)info->cols, (long long)dst.rows,
                             (long long)dst.cols);
    return IRLLREC_OK;
}

/* ---- public: memory ---------------------------------------------------- */

irllrec_status irllrec_npy_shape_mem(irllrec_ctx *ctx, const void *buf, size_t len, int64_t *rows,
                                     int64_t *cols)
{
    npy_src s = {ctx, __func__, "<memory>"};
    npy_info info;
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(ctx, buf != NULL && rows != NULL && cols != NULL, IRLLREC_E_INVALID_ARG,
              "buf, rows and cols must not be NULL");
    IRL_TRY(parse_mem(&s, (const unsigned char *)buf, len, &info));
    *rows = info.rows;
    *cols = info.cols;
    return IRLLREC_OK;
}

irllrec_status irllrec_npy_read_mem(irllrec_ctx *ctx, const void *buf, size_t len, irllrec_mat dst,
                                    uint32_t flags)
{
    npy_src s = {ctx, __func__, "<memory>"};
    npy_info info;
    int64_t r = 0, c = 0;
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(ctx, buf != NULL, IRLLREC_E_INVALID_ARG, "buf is NULL");
    IRL_CHECK(ctx, (flags & ~(uint32_t)IRLLREC_NPY_CHECK_FINITE) == 0, IRLLREC_E_INVALID_ARG,
              "unknown flags 0x%x", (unsigned)flags);
    IRL_TRY(parse_mem(&s, (const unsigned char *)buf, len, &info));
    IRL_TRY(check_dst(&s, &info, dst));
    scatter((const unsigned char *)buf + info.data_off, (size_t)(info.rows * info.cols), info.f8,
            dst, &r, &c);
    if (flags & IRLLREC_NPY_CHECK_FINITE) IRL_TRY(check_finite(&s, dst));
    return IRLLREC_OK;
}

/* ---- public: files ------------------------------------------------------ */

typedef struct npy_file {
    FILE *f;
    uint64_t size;
} npy_file;

static irllrec_status io_fail(const npy_src *s, int err, const char *what)
{
    char eb[128];
    if (strerror_r(err, eb, sizeof eb) != 0) snprintf(eb, sizeof eb, "errno %d", err);
    return irllrec__fail(s->ctx, IRLLREC_E_IO, s->func, "%s: %s: %s", s->name, what, eb);
}

static irllrec_status file_open(const npy_src *s, npy_file *nf)
{
    struct stat st;
    nf->f = fopen(s->name, "rb");
    if (nf->f == NULL) return io_fail(s, errno, "cannot open");
    if (fstat(fileno(nf->f), &st) != 0) {
        int err = errno;
        fclose(nf->f);
        return io_fail(s, err, "cannot stat");
    }
    if (!S_ISREG(st.st_mode)) {
        fclose(nf->f);
        return irllrec__fail(s->ctx, IRLLREC_E_IO, s->func, "%s: not a regular file", s->name);
    }
    nf->size = (uint64_t)st.st_size;
    return IRLLREC_OK;
}

/* Read exactly n bytes at the current position, which is byte off. */
static irllrec_status file_read(const npy_src *s, FILE *f, void *dst, size_t n, uint64_t off)
{
    if (n == 0 || fread(dst, 1, n, f) == n) return IRLLREC_OK;
    if (ferror(f)) return io_fail(s, errno, "read failed");
    return irllrec__fail(s->ctx, IRLLREC_E_FORMAT, s->func,
                         "%s: truncated while reading at byte %llu (the file "
                         "shrank)",
                         s->name, (unsigned long long)off);
}

/* Preamble and header; leaves the stream at the first data byte. */
static irllrec_status file_header(const npy_src *s, npy_file *nf, npy_info *info)
{
    unsigned char pre[12];
    size_t hs = 0, hl = 0, np = nf->size < 12 ? (size_t)nf->size : 12;
    char *hdr;
    irllrec_status st;
    IRL_TRY(file_read(s, nf->f, pre, np, 0));
    IRL_TRY(parse_preamble(s, pre, nf->size, &hs, &hl));
    if (fseek(nf->f, (long)hs, SEEK_SET) != 0) return io_fail(s, errno, "seek failed");
    hdr = (char *)irllrec__alloc(s->ctx, hl);
    if (hdr == NULL) return IRLLREC_E_NOMEM;
    st = file_read(s, nf->f, hdr, hl, hs);
    if (st == IRLLREC_OK) st = parse_header(s, hdr, hs, hl, nf->size, info);
    irllrec__free(s->ctx, hdr, hl);
    return st;
}

irllrec_status irllrec_npy_shape(irllrec_ctx *ctx, const char *path, int64_t *rows, int64_t *cols)
{
    npy_src s = {ctx, __func__, path};
    npy_file nf;
    npy_info info;
    irllrec_status st;
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(ctx, path != NULL && rows != NULL && cols != NULL, IRLLREC_E_INVALID_ARG,
              "path, rows and cols must not be NULL");
    IRL_TRY(file_open(&s, &nf));
    st = file_header(&s, &nf, &info);
    fclose(nf.f);
    if (st != IRLLREC_OK) return st;
    *rows = info.rows;
    *cols = info.cols;
    return IRLLREC_OK;
}

/* Stream the data into dst: straight into its memory when it is dense
 * float32, else through a fixed buffer, so a multi-GB file is never held
 * twice. */
static irllrec_status file_data(const npy_src *s, FILE *f, const npy_info *info, irllrec_mat dst)
{
    size_t es = info->f8 ? 8u : 4u, total = info->data_bytes, done = 0;
    unsigned char *buf;
    int64_t r = 0, c = 0;
    irllrec_status st = IRLLREC_OK;
    if (!info->f8 && dst.ld == dst.cols) {
        unsigned char *out = (unsigned char *)dst.data;
        while (done < total) {
            size_t n = total - done < NPY_DIRECT_CHUNK ? total - done : NPY_DIRECT_CHUNK;
            IRL_TRY(file_read(s, f, out + done, n, info->data_off + done));
            if (!host_le()) swap32(out + done, n / 4);
            done += n;
        }
        return IRLLREC_OK;
    }
    buf = (unsigned char *)irllrec__alloc(s->ctx, NPY_BUF_BYTES);
    if (buf == NULL) return IRLLREC_E_NOMEM;
    while (done < total && st == IRLLREC_OK) {
        size_t n = total - done < NPY_BUF_BYTES ? total - done : NPY_BUF_BYTES;
        st = file_read(s, f, buf, n, info->data_off + done);
        if (st == IRLLREC_OK) scatter(buf, n / es, info->f8, dst, &r, &c);
        done += n;
    }
    irllrec__free(s->ctx, buf, NPY_BUF_BYTES);
    return st;
}

irllrec_status irllrec_npy_read(irllrec_ctx *ctx, const char *path, irllrec_mat dst,
                                uint32_t flags)
{
    npy_src s = {ctx, __func__, path};
    npy_file nf;
    npy_info info;
    irllrec_status st;
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(ctx, path != NULL, IRLLREC_E_INVALID_ARG, "path is NULL");
    IRL_CHECK(ctx, (flags & ~(uint32_t)IRLLREC_NPY_CHECK_FINITE) == 0, IRLLREC_E_INVALID_ARG,
              "unknown flags 0x%x", (unsigned)flags);
    IRL_TRY(file_open(&s, &nf));
    st = file_header(&s, &nf, &info);
    if (st == IRLLREC_OK) st = check_dst(&s, &info, dst);
    if (st == IRLLREC_OK) st = file_data(&s, nf.f, &info, dst);
    fclose(nf.f);
    if (st == IRLLREC_OK && (flags & IRLLREC_NPY_CHECK_FINITE)) st = check_finite(&s, dst);
    return st;
}

/* ---- public: write ------------------------------------------------------- */

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

static irllrec_status write_rows(irllrec__atomic *w, irllrec_mat src)
{
    if (host_le() && src.ld == src.cols)
        return irllrec__atomic_write(w, src.data, (size_t)(src.rows * src.cols) * 4u);
    for (int64_t r = 0; r < src.rows; r++) {
        const float *row = src.data + r * src.ld;
        if (host_le()) {
            IRL_TRY(irllrec__atomic_write(w, row, (size_t)src.cols * 4u));
            continue;
        }
        for (int64_t c0 = 0; c0 < src.cols; c0 += 256) {
            float tmp[256];
            size_t n = (size_t)(src.cols - c0 < 256 ? src.cols - c0 : 256);
            decode((const unsigned char *)(row + c0), n, 0, tmp);
            IRL_TRY(irllrec__atomic_write(w, tmp, n * 4u));
        }
    }
    return IRLLREC_OK;
}

irllrec_status irllrec_npy_write(irllrec_ctx *ctx, const char *path, irllrec_mat src)
{
    unsigned char hdr[IRLLREC__NPY_HEADER_CAP];
    size_t hn;
    irllrec__atomic w;
    irllrec_status st;
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(ctx, path != NULL && path[0] != '\0', IRLLREC_E_INVALID_ARG, "path is NULL or empty");
    IRL_TRY(irllrec__check_mat(ctx, __func__, "src", src));
    hn = irllrec__npy_header(hdr, src.rows, src.cols);
    IRL_TRY(irllrec__atomic_open(ctx, __func__, path, &w));
    st = irllrec__atomic_write(&w, hdr, hn);
    if (st == IRLLREC_OK) st = write_rows(&w, src);
    if (st == IRLLREC_OK) return irllrec__atomic_commit(&w);
    irllrec__atomic_abort(&w);
    return st;
}
