/* .npy pieces shared inside the library (never installed). */
#ifndef IRLLREC_IO_NPY_INTERNAL_H
#define IRLLREC_IO_NPY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "../internal.h"

/* Where errors go and how the input is named in them. */
typedef struct irllrec__npy_src {
    irllrec_ctx *ctx;
    const char *func;
    const char *name;   /* the path, or "<memory>" */
} irllrec__npy_src;

typedef struct irllrec__npy_info {
    int f8;             /* elements are float64 */
    int64_t rows, cols; /* a 1-D array of n is n x 1 */
    size_t data_off;    /* byte offset of the first element */
    size_t data_bytes;
} irllrec__npy_info;

/* pre holds the first min(12, file_len) bytes: check magic and version,
 * give where the header dict starts and its length (checked against
 * file_len). E_FORMAT / E_UNSUPPORTED naming the byte offset. */
irllrec_status irllrec__npy_parse_preamble(const irllrec__npy_src *s, const unsigned char *pre,
                                           uint64_t file_len, size_t *hdr_start, size_t *hdr_len);

/* Parse the header dict hdr[0..hdr_len) (at file offset hdr_start): dtype,
 * order, shape, and the data size checked against file_len. */
irllrec_status irllrec__npy_parse_header(const irllrec__npy_src *s, const char *hdr,
                                         size_t hdr_start, size_t hdr_len, uint64_t file_len,
                                         irllrec__npy_info *info);

/* Both of the above over a whole file held in memory. */
irllrec_status irllrec__npy_parse_mem(const irllrec__npy_src *s, const unsigned char *buf,
                                      size_t len, irllrec__npy_info *info);

/* Room for any header irllrec__npy_header writes (int64 dims included). */
#define IRLLREC__NPY_HEADER_CAP 192u

/* The NumPy format 1.0 header of a C-order little-endian float32 rows x cols
 * matrix: magic, version, u16 LE header length, the dict padded with spaces
 * and a final '\n' so that the data starts at a multiple of 64 bytes.
 * Writes into out (IRLLREC__NPY_HEADER_CAP bytes) and returns its length.
 * The one writer of .npy headers (irllrec_npy_write, the synthetic
 * generator). */
size_t irllrec__npy_header(unsigned char out[IRLLREC__NPY_HEADER_CAP], int64_t rows, int64_t cols);

/* Write src (validated) as a whole .npy file, header and rows, to an open
 * atomic writer, which the caller then commits (or finishes with other
 * files first, so that several are replaced together). On failure the
 * writer is already closed and its temporary file removed. */
struct irllrec__atomic;
irllrec_status irllrec__npy_write_to(struct irllrec__atomic *w, irllrec_mat src);

#endif /* IRLLREC_IO_NPY_INTERNAL_H */
