/* Minimal .npy writer (version 1.0, '<f4'). Kept until the tool can rely on
 * the library's irllrec_npy_write; the format is the NumPy one: magic,
 * version, u16 header length, a Python-literal dict padded with spaces and a
 * newline so that the data starts at a multiple of 64 bytes. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "textembed.h"
#include "te_private.h"

static int write_all(FILE *f, const void *p, size_t n)
{
    return fwrite(p, 1, n, f) == n ? 0 : -1;
}

static int write_data(FILE *f, const float *x, size_t count)
{
    unsigned char buf[4096];
    size_t k = 0;
    for (size_t i = 0; i < count; i++) {
        uint32_t b;
        memcpy(&b, &x[i], 4);
        buf[k++] = (unsigned char)(b & 0xff);
        buf[k++] = (unsigned char)((b >> 8) & 0xff);
        buf[k++] = (unsigned char)((b >> 16) & 0xff);
        buf[k++] = (unsigned char)(b >> 24);
        if (k == sizeof buf) {
            if (write_all(f, buf, k) != 0) return -1;
            k = 0;
        }
    }
    return k > 0 ? write_all(f, buf, k) : 0;
}

irllrec_status te_write_npy(const char *path, const float *x, int64_t rows, int64_t cols,
                            te_err *err)
{
    char head[256], *tmp;
    int hl, total;
    size_t plen = strlen(path);
    FILE *f;
    int bad;

    if (rows < 0 || cols <= 0) {
        te__seterr(err, "%s: bad shape %lld x %lld", path, (long long)rows, (long long)cols);
        return IRLLREC_E_SHAPE;
    }
    hl = snprintf(head + 10, sizeof head - 10,
                  "{'descr': '<f4', 'fortran_order': False, 'shape': (%lld, %lld), }",
                  (long long)rows, (long long)cols);
    total = 10 + hl + 1;
    while (total % 64 != 0) head[10 + hl++] = ' ', total++;
    head[10 + hl++] = '\n';
    memcpy(head, "\x93NUMPY\x01\x00", 8);
    head[8] = (char)(hl & 0xff);
    head[9] = (char)(hl >> 8);

    tmp = malloc(plen + 5);
    if (tmp == NULL) {
        te__seterr(err, "%s: out of memory", path);
        return IRLLREC_E_NOMEM;
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    f = fopen(tmp, "wb");
    if (f == NULL) {
        te__seterr(err, "%s: cannot create: %s", tmp, strerror(errno));
        free(tmp);
        return IRLLREC_E_IO;
    }
    bad = write_all(f, head, (size_t)(10 + hl)) != 0 ||
          write_data(f, x, (size_t)rows * (size_t)cols) != 0 || fflush(f) != 0 ||
          fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        te__seterr(err, "%s: write failed: %s", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return IRLLREC_E_IO;
    }
    free(tmp);
    return IRLLREC_OK;
}
