/** @file
 * libirllrec: float32 .npy files (NumPy format versions 1, 2 and 3).
 *
 * Reading accepts little-endian '<f4' and '<f8' (converted to float32) in C
 * order with one or two dimensions; a 1-D array of n values reads as n x 1.
 * Everything else (Fortran order, other dtypes, big-endian, truncated data,
 * headers over 64 KiB) is refused with IRLLREC_E_FORMAT or
 * IRLLREC_E_UNSUPPORTED. Writing produces version 1.0 '<f4' files atomically
 * (temporary file, fsync, rename). A path that is not a regular file (a FIFO,
 * a device, a directory) is refused with IRLLREC_E_IO without blocking. */
#ifndef IRLLREC_NPY_H
#define IRLLREC_NPY_H

#include <stddef.h>
#include <stdint.h>
#include "export.h"
#include "status.h"
#include "ctx.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Read flags (bits; pinned values). */
enum irllrec_npy_flags {
    IRLLREC_NPY_CHECK_FINITE = 1u /**< refuse NaN/Inf values with IRLLREC_E_NUMERIC */
};

/** Shape of the array in a .npy file, from its header alone.
 *  @param ctx   context (allocator, errors); must not be NULL
 *  @param path  file name, borrowed for this call
 *  @param[out] rows  receives the number of rows (n for a 1-D array of n values)
 *  @param[out] cols  receives the number of columns (1 for a 1-D array)
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL argument), IRLLREC_E_IO,
 *          IRLLREC_E_FORMAT, IRLLREC_E_UNSUPPORTED. The outputs are unspecified on failure.
 *  @note Not thread-safe on one context tree. Format errors name the file and the byte offset. */
IRLLREC_API irllrec_status irllrec_npy_shape(irllrec_ctx *ctx, const char *path,
                                             int64_t *rows, int64_t *cols);

/** Read a .npy file into a caller-owned matrix whose rows and cols equal the file's.
 *  @param ctx    context (allocator, errors); must not be NULL
 *  @param path   file name, borrowed for this call
 *  @param dst    caller-owned matrix of exactly the file's shape (any ld >= cols)
 *  @param flags  0 or IRLLREC_NPY_CHECK_FINITE (other bits: IRLLREC_E_INVALID_ARG)
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_IO, IRLLREC_E_FORMAT,
 *          IRLLREC_E_UNSUPPORTED, IRLLREC_E_SHAPE, IRLLREC_E_NUMERIC, IRLLREC_E_NOMEM.
 *          On failure the contents of @p dst are unspecified. */
IRLLREC_API irllrec_status irllrec_npy_read(irllrec_ctx *ctx, const char *path, irllrec_mat dst,
                                            uint32_t flags);

/** As irllrec_npy_shape() over an in-memory file image.
 *  @param ctx   context (errors); must not be NULL
 *  @param buf   the file's bytes, borrowed for this call; must not be NULL
 *  @param len   number of bytes in @p buf
 *  @param[out] rows  receives the number of rows
 *  @param[out] cols  receives the number of columns
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_FORMAT, IRLLREC_E_UNSUPPORTED
 *  @note Safe on untrusted bytes: every length is checked against @p len. */
IRLLREC_API irllrec_status irllrec_npy_shape_mem(irllrec_ctx *ctx, const void *buf, size_t len,
                                                 int64_t *rows, int64_t *cols);

/** As irllrec_npy_read() over an in-memory file image.
 *  @param ctx    context (errors); must not be NULL
 *  @param buf    the file's bytes, borrowed for this call; must not be NULL
 *  @param len    number of bytes in @p buf
 *  @param dst    caller-owned matrix of exactly the array's shape
 *  @param flags  0 or IRLLREC_NPY_CHECK_FINITE
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_FORMAT, IRLLREC_E_UNSUPPORTED,
 *          IRLLREC_E_SHAPE, IRLLREC_E_NUMERIC. On failure the contents of @p dst are unspecified.
 *  @note Safe on untrusted bytes: every length is checked against @p len. */
IRLLREC_API irllrec_status irllrec_npy_read_mem(irllrec_ctx *ctx, const void *buf, size_t len,
                                                irllrec_mat dst, uint32_t flags);

/** Write @p src as a 2-D '<f4' version 1.0 file, atomically. The bytes go to
 *  a new file "<path>.tmp.<pid>.<8 hex digits>" in the same directory
 *  (created with O_EXCL and a random suffix, so concurrent writers never
 *  share one), which is flushed to disk (fsync) and renamed over @p path;
 *  then the directory is synced. Readers never see a half-written file. On
 *  a failure before the rename the temporary file is removed and @p path is
 *  unchanged; if only the final directory sync fails, @p path already holds
 *  the new file and the call still returns IRLLREC_E_IO. An existing target
 *  keeps its permission bits, a symbolic link is written through to the
 *  file it names, and stale temporaries of @p path left by killed writers
 *  are removed (docs/npy.md, "Writing").
 *  @param ctx   context (allocator, errors); must not be NULL
 *  @param path  file name, non-empty, borrowed for this call
 *  @param src   the matrix, read only
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL or empty path, NULL data),
 *          IRLLREC_E_SHAPE, IRLLREC_E_IO (message names the path), IRLLREC_E_NOMEM
 *  @note Not thread-safe on one context tree. */
IRLLREC_API irllrec_status irllrec_npy_write(irllrec_ctx *ctx, const char *path, irllrec_mat src);

#ifdef __cplusplus
}
#endif
#endif /* IRLLREC_NPY_H */
