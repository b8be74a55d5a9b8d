/** @file
 * libirllrec: the matrix view and the CSR view.
 *
 * Both are frozen plain structs: their layout will never change. They
 * describe caller-owned memory that the library borrows for one call only. */
#ifndef IRLLREC_TENSOR_H
#define IRLLREC_TENSOR_H

#include <stdint.h>
#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A row-major float32 matrix: element (r, c) is data[r * ld + c]; ld >= cols. */
typedef struct irllrec_mat {
    float *data;   /**< first element; never freed by the library */
    int64_t rows;  /**< number of rows (> 0 where a matrix is required) */
    int64_t cols;  /**< number of columns (> 0) */
    int64_t ld;    /**< leading dimension: distance between rows, in floats (>= cols) */
} irllrec_mat;

/** A read-only view of a row-major float32 matrix: what the library only
 *  reads (a host's embeddings) is passed as this, so a host never casts away
 *  const to call it. Same layout as irllrec_mat. */
typedef struct irllrec_cmat {
    const float *data;  /**< first element; never written or freed by the library */
    int64_t rows;       /**< number of rows */
    int64_t cols;       /**< number of columns */
    int64_t ld;         /**< leading dimension, in floats (>= cols) */
} irllrec_cmat;

/** A compressed sparse row pattern: row r holds indices[indptr[r] .. indptr[r+1]). */
typedef struct irllrec_csr {
    int64_t n_rows;          /**< number of rows */
    int64_t n_cols;          /**< number of columns: every index is in [0, n_cols) */
    int64_t nnz;             /**< indptr[n_rows] */
    const int64_t *indptr;   /**< n_rows + 1 offsets, non-decreasing, indptr[0] == 0 */
    const int32_t *indices;  /**< nnz column ids, sorted ascending within each row */
} irllrec_csr;

/** Build a view of a dense row-major matrix with ld == cols.
 *  Nothing is checked or copied: the view only records the arguments.
 *  @param data  first element, caller-owned; may be NULL (a view the library rejects
 *               where data is required, or uses to mean "skip this output")
 *  @param rows  number of rows
 *  @param cols  number of columns (also the leading dimension)
 *  @return the view {data, rows, cols, cols}
 *  @note Thread-safe, never fails, does not allocate. */
IRLLREC_API irllrec_mat irllrec_mat_dense(float *data, int64_t rows, int64_t cols);

/** Build a read-only view of a dense row-major matrix with ld == cols.
 *  Nothing is checked or copied.
 *  @param data  first element, caller-owned (may be NULL: a view the library rejects
 *               where data is required)
 *  @param rows  number of rows
 *  @param cols  number of columns (also the leading dimension)
 *  @return the view {data, rows, cols, cols}
 *  @note Thread-safe, never fails, does not allocate. */
IRLLREC_API irllrec_cmat irllrec_cmat_dense(const float *data, int64_t rows, int64_t cols);

/** The read-only view of a writable one (same data, shape and ld).
 *  @param m  any view
 *  @return {m.data, m.rows, m.cols, m.ld}
 *  @note Thread-safe, never fails, does not allocate. */
IRLLREC_API irllrec_cmat irllrec_mat_const(irllrec_mat m);

#ifdef __cplusplus
}
#endif
#endif /* IRLLREC_TENSOR_H */
