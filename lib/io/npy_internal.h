/* .npy pieces shared inside the library (never installed). */
#ifndef IRLLREC_IO_NPY_INTERNAL_H
#define IRLLREC_IO_NPY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* Room for any header irllrec__npy_header writes (int64 dims included). */
#define IRLLREC__NPY_HEADER_CAP 192u

/* The NumPy format 1.0 header of a C-order little-endian float32 rows x cols
 * matrix: magic, version, u16 LE header length, the dict padded with spaces
 * and a final '\n' so that the data starts at a multiple of 64 bytes.
 * Writes into out (IRLLREC__NPY_HEADER_CAP bytes) and returns its length.
 * The one writer of .npy headers (irllrec_npy_write, the synthetic
 * generator). */
size_t irllrec__npy_header(unsigned char out[IRLLREC__NPY_HEADER_CAP], int64_t rows, int64_t cols);

#endif /* IRLLREC_IO_NPY_INTERNAL_H */
