/* NumPy .npy files (format versions 1.0, 2.0, 3.0) holding float32/float64
 * matrices: the public read and write calls, element conversion and file
 * access. The file is hostile input: every length is checked against the
 * file size before it is used; the header is parsed in npy_header.c. */
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
#include "ropen.h"

#define NPY_BUF_BYTES 65536u          /* conversion buffer for path reads */
#define NPY_DIRECT_CHUNK (64u << 20)  /* bytes per fread straight into dst */

static int host_le(void)
{
    const uint16_t one = 1;
    unsigned char c;
    memcpy(&c, &one, 1);
    return c == 1;
}

/* ---- conversion -------------------------------------------------------- */

/* The first finite <f8 value beyond the float32 range, in row-major order,
 * so that a refusal can say it overflowed rather than show the inf it became. */
typedef struct npy_overflow {
    int found;
    int64_t row, col;
    double value;
} npy_overflow;

static float f64_to_f32(double d)
{
    /* Out-of-range conversions are undefined in C; make them infinities. */
    if (d > (double)FLT_MAX) return INFINITY;
    if (d < -(double)FLT_MAX) return -INFINITY;
    return (float)d;
}

/* Decode n elements that start at (row, col) of the matrix; for <f8, note in
 * ov (if not NULL) the first finite value that overflows float32. */
static void decode(const unsigned char *src, size_t n, int f8, float *restrict dst,
                   npy_overflow *ov, int64_t row, int64_t col)
{
    if (f8) {
        for (size_t i = 0; i < n; i++) {
            uint64_t u;
            double d;
            memcpy(&u, src + 8 * i, 8);
            if (!host_le()) u = __builtin_bswap64(u);
            memcpy(&d, &u, 8);
            dst[i] = f64_to_f32(d);
            if (ov != NULL && !ov->found && isfinite(d) && !isfinite(dst[i])) {
                ov->found = 1;
                ov->row = row;
                ov->col = col + (int64_t)i;
                ov->value = d;
            }
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
                    int64_t *c, npy_overflow *ov)
{
    size_t es = f8 ? 8u : 4u;
    while (n > 0) {
        size_t m = (size_t)(dst.cols - *c);
        if (m > n) m = n;
        decode(src, m, f8, dst.data + *r * dst.ld + *c, ov, *r, *c);
        src += m * es;
        n -= m;
        *c += (int64_t)m;
        if (*c == dst.cols) {
            *c = 0;
            ++*r;
        }
    }
}

static irllrec_status check_finite(const irllrec__npy_src *s, irllrec_mat m,
                                   const npy_overflow *ov)
{
    for (int64_t r = 0; r < m.rows; r++) {
        const float *row = m.data + r * m.ld;
        int bad = 0;
        for (int64_t c = 0; c < m.cols; c++) bad |= !isfinite(row[c]);
        if (!bad) continue;
        for (int64_t c = 0; c < m.cols; c++) {
            if (isfinite(row[c])) continue;
            if (ov->found && ov->row == r && ov->col == c)
                return irllrec__fail(s->ctx, IRLLREC_E_NUMERIC, s->func,
                                     "%s: <f8 value %.17g at (row %lld, col %lld) overflows "
                                     "float32 (largest finite %.9g)",
                                     s->name, ov->value, (long long)r, (long long)c,
                                     (double)FLT_MAX);
            return irllrec__fail(s->ctx, IRLLREC_E_NUMERIC, s->func,
                                     "%s: non-finite value %g at (row %lld, col %lld)", s->name,
                                     (double)row[c], (long long)r, (long long)c);
        }
    }
    return IRLLREC_OK;
}

static irllrec_status check_dst(const irllrec__npy_src *s, const irllrec__npy_info *info,
                                irllrec_mat dst)
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
    irllrec__npy_src s = {ctx, __func__, "<memory>"};
    irllrec__npy_info info;
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(ctx, buf != NULL && rows != NULL && cols != NULL, IRLLREC_E_INVALID_ARG,
              "buf, rows and cols must not be NULL");
    IRL_TRY(irllrec__npy_parse_mem(&s, (const unsigned char *)buf, len, &info));
    *rows = info.rows;
    *cols = info.cols;
    return IRLLREC_OK;
}

irllrec_status irllrec_npy_read_mem(irllrec_ctx *ctx, const void *buf, size_t len, irllrec_mat dst,
                                    uint32_t flags)
{
    irllrec__npy_src s = {ctx, __func__, "<memory>"};
    irllrec__npy_info info;
    int64_t r = 0, c = 0;
    npy_overflow ov = {0, 0, 0, 0.0};
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(ctx, buf != NULL, IRLLREC_E_INVALID_ARG, "buf is NULL");
    IRL_CHECK(ctx, (flags & ~(uint32_t)IRLLREC_NPY_CHECK_FINITE) == 0, IRLLREC_E_INVALID_ARG,
              "unknown flags 0x%x", (unsigned)flags);
    IRL_TRY(irllrec__npy_parse_mem(&s, (const unsigned char *)buf, len, &info));
    IRL_TRY(check_dst(&s, &info, dst));
    scatter((const unsigned char *)buf + info.data_off, (size_t)(info.rows * info.cols), info.f8,
            dst, &r, &c, &ov);
    if (flags & IRLLREC_NPY_CHECK_FINITE) IRL_TRY(check_finite(&s, dst, &ov));
    return IRLLREC_OK;
}

/* ---- public: files ------------------------------------------------------ */

typedef struct npy_file {
    FILE *f;
    uint64_t size;
} npy_file;

static irllrec_status io_fail(const irllrec__npy_src *s, int err, const char *what)
{
    char eb[128];
    return irllrec__fail(s->ctx, IRLLREC_E_IO, s->func, "%s: %s: %s", s->name, what,
                         irllrec__errtext(err, eb, sizeof eb));
}

static irllrec_status file_open(const irllrec__npy_src *s, npy_file *nf)
{
    return irllrec__open_regular(s->ctx, s->func, s->name, 0, &nf->f, &nf->size);
}

/* Read exactly n bytes at the current position, which is byte off. */
static irllrec_status file_read(const irllrec__npy_src *s, FILE *f, void *dst, size_t n,
                                uint64_t off)
{
    if (n == 0 || fread(dst, 1, n, f) == n) return IRLLREC_OK;
    if (ferror(f)) return io_fail(s, errno, "read failed");
    return irllrec__fail(s->ctx, IRLLREC_E_FORMAT, s->func,
                         "%s: truncated while reading at byte %llu (the file "
                         "shrank)",
                         s->name, (unsigned long long)off);
}

/* Preamble and header; leaves the stream at the first data byte. */
static irllrec_status file_header(const irllrec__npy_src *s, npy_file *nf, irllrec__npy_info *info)
{
    unsigned char pre[12];
    size_t hs = 0, hl = 0, np = nf->size < 12 ? (size_t)nf->size : 12;
    char *hdr;
    irllrec_status st;
    IRL_TRY(file_read(s, nf->f, pre, np, 0));
    IRL_TRY(irllrec__npy_parse_preamble(s, pre, nf->size, &hs, &hl));
    if (fseek(nf->f, (long)hs, SEEK_SET) != 0) return io_fail(s, errno, "seek failed");
    hdr = (char *)irllrec__alloc_fn(s->ctx, s->func, hl);
    if (hdr == NULL) return IRLLREC_E_NOMEM;
    st = file_read(s, nf->f, hdr, hl, hs);
    if (st == IRLLREC_OK) st = irllrec__npy_parse_header(s, hdr, hs, hl, nf->size, info);
    irllrec__free(s->ctx, hdr, hl);
    return st;
}

irllrec_status irllrec_npy_shape(irllrec_ctx *ctx, const char *path, int64_t *rows, int64_t *cols)
{
    irllrec__npy_src s = {ctx, __func__, path};
    npy_file nf;
    irllrec__npy_info info;
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
static irllrec_status file_data(const irllrec__npy_src *s, FILE *f, const irllrec__npy_info *info,
                                irllrec_mat dst, npy_overflow *ov)
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
    buf = (unsigned char *)irllrec__alloc_fn(s->ctx, s->func, NPY_BUF_BYTES);
    if (buf == NULL) return IRLLREC_E_NOMEM;
    while (done < total && st == IRLLREC_OK) {
        size_t n = total - done < NPY_BUF_BYTES ? total - done : NPY_BUF_BYTES;
        st = file_read(s, f, buf, n, info->data_off + done);
        if (st == IRLLREC_OK) scatter(buf, n / es, info->f8, dst, &r, &c, ov);
        done += n;
    }
    irllrec__free(s->ctx, buf, NPY_BUF_BYTES);
    return st;
}

irllrec_status irllrec_npy_read(irllrec_ctx *ctx, const char *path, irllrec_mat dst,
                                uint32_t flags)
{
    irllrec__npy_src s = {ctx, __func__, path};
    npy_file nf;
    irllrec__npy_info info;
    irllrec_status st;
    npy_overflow ov = {0, 0, 0, 0.0};
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(ctx, path != NULL, IRLLREC_E_INVALID_ARG, "path is NULL");
    IRL_CHECK(ctx, (flags & ~(uint32_t)IRLLREC_NPY_CHECK_FINITE) == 0, IRLLREC_E_INVALID_ARG,
              "unknown flags 0x%x", (unsigned)flags);
    IRL_TRY(file_open(&s, &nf));
    st = file_header(&s, &nf, &info);
    if (st == IRLLREC_OK) st = check_dst(&s, &info, dst);
    if (st == IRLLREC_OK) st = file_data(&s, nf.f, &info, dst, &ov);
    fclose(nf.f);
    if (st == IRLLREC_OK && (flags & IRLLREC_NPY_CHECK_FINITE)) st = check_finite(&s, dst, &ov);
    return st;
}

/* ---- public: write ------------------------------------------------------- */

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
            decode((const unsigned char *)(row + c0), n, 0, tmp, NULL, 0, 0);
            IRL_TRY(irllrec__atomic_write(w, tmp, n * 4u));
        }
    }
    return IRLLREC_OK;
}

irllrec_status irllrec__npy_write_to(irllrec__atomic *w, irllrec_mat src)
{
    unsigned char hdr[IRLLREC__NPY_HEADER_CAP];
    size_t hn = irllrec__npy_header(hdr, src.rows, src.cols);
    IRL_TRY(irllrec__atomic_write(w, hdr, hn));
    return write_rows(w, src);
}

irllrec_status irllrec_npy_write(irllrec_ctx *ctx, const char *path, irllrec_mat src)
{
    irllrec__atomic w;
    irllrec_status st;
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(ctx, path != NULL && path[0] != '\0', IRLLREC_E_INVALID_ARG, "path is NULL or empty");
    IRL_TRY(irllrec__check_mat(ctx, __func__, "src", src));
    IRL_TRY(irllrec__atomic_open(ctx, __func__, path, &w));
    st = irllrec__npy_write_to(&w, src);
    if (st == IRLLREC_OK) return irllrec__atomic_commit(&w);
    irllrec__atomic_abort(&w);
    return st;
}
