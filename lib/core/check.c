/* Argument validation shared by every public entry point: matrix views,
 * finiteness, CSR patterns and id arrays. One owner, one mapping from defect
 * to status code (the table in docs/error-handling.md):
 *   NULL view or array, negative count, malformed offsets, id out of range
 *                                          -> IRLLREC_E_INVALID_ARG
 *   dimensions that disagree or overflow   -> IRLLREC_E_SHAPE
 *   non-finite values                      -> IRLLREC_E_NUMERIC
 * Every message reads "<func>: <name>...", func being the public function
 * the caller reports for. */
#include <math.h>
#include <stdint.h>
#include "../internal.h"

irllrec_status irllrec__check_mat(irllrec_ctx *ctx, const char *func, const char *name,
                                  irllrec_mat m)
{
    size_t n;
    if (m.data == NULL)
        return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, func, "%s.data is NULL", name);
    if (m.rows <= 0 || m.cols <= 0)
        return irllrec__fail(ctx, IRLLREC_E_SHAPE, func, "%s is %lld x %lld: both must be > 0",
                             name, (long long)m.rows, (long long)m.cols);
    if (m.ld < m.cols)
        return irllrec__fail(ctx, IRLLREC_E_SHAPE, func, "%s.ld = %lld < cols = %lld", name,
                             (long long)m.ld, (long long)m.cols);
    if ((uint64_t)m.rows > SIZE_MAX / sizeof(float) ||
        irllrec__mul_overflow((size_t)m.rows, (size_t)m.ld, &n) || n > SIZE_MAX / sizeof(float))
        return irllrec__fail(ctx, IRLLREC_E_SHAPE, func, "%s: rows * ld overflows", name);
    return IRLLREC_OK;
}

int irllrec__all_finite(const float *x, int64_t n)
{
    int ok = 1;
    for (int64_t k = 0; k < n; k++) ok &= isfinite(x[k]) != 0;
    return ok;
}

int irllrec__all_finite_d(const double *x, int64_t n)
{
    int ok = 1;
    for (int64_t k = 0; k < n; k++) ok &= isfinite(x[k]) != 0;
    return ok;
}

int irllrec__all_finite_mat(irllrec_mat m)
{
    int ok = 1;
    for (int64_t i = 0; i < m.rows; i++) ok &= irllrec__all_finite(m.data + i * m.ld, m.cols);
    return ok;
}

irllrec_status irllrec__check_finite_mat(irllrec_ctx *ctx, const char *func, const char *name,
                                         irllrec_mat m)
{
    if (irllrec__all_finite_mat(m)) return IRLLREC_OK;
    for (int64_t r = 0; r < m.rows; r++)
        for (int64_t j = 0; j < m.cols; j++)
            if (!isfinite(m.data[r * m.ld + j]))
                return irllrec__fail(ctx, IRLLREC_E_NUMERIC, func, "%s[%lld][%lld] is not finite",
                                     name, (long long)r, (long long)j);
    return IRLLREC_OK;
}

/* The offsets: indptr[0] == 0, non-decreasing, indptr[n_rows] == nnz. After
 * this every indptr[r] is in [0, nnz], so the index pass stays in bounds. */
static irllrec_status check_indptr(irllrec_ctx *ctx, const char *func, const char *name,
                                   const irllrec_csr *m)
{
    const int64_t *p = m->indptr;
    if (p[0] != 0)
        return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, func, "%s.indptr[0] = %lld, not 0",
                             name, (long long)p[0]);
    for (int64_t r = 0; r < m->n_rows; r++)
        if (p[r + 1] < p[r])
            return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, func,
                                 "%s.indptr decreases at row %lld", name, (long long)r);
    if (p[m->n_rows] != m->nnz)
        return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, func,
                             "%s.indptr[%lld] = %lld, not nnz = %lld", name,
                             (long long)m->n_rows, (long long)p[m->n_rows], (long long)m->nnz);
    return IRLLREC_OK;
}

/* Everything but the indices: shape, nnz, the pointers, the offsets. */
static irllrec_status check_csr_frame(irllrec_ctx *ctx, const char *func, const char *name,
                                      const irllrec_csr *m, int64_t n_rows, int64_t n_cols)
{
    if (m == NULL) return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, func, "%s is NULL", name);
    if (m->n_rows != n_rows || m->n_cols != n_cols)
        return irllrec__fail(ctx, IRLLREC_E_SHAPE, func, "%s is %lld x %lld, expected %lld x %lld",
                             name, (long long)m->n_rows, (long long)m->n_cols, (long long)n_rows,
                             (long long)n_cols);
    if (m->nnz < 0)
        return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, func, "%s.nnz = %lld < 0", name,
                             (long long)m->nnz);
    if (m->indptr == NULL)
        return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, func, "%s.indptr is NULL", name);
    if (m->nnz > 0 && m->indices == NULL)
        return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, func, "%s.indices is NULL with nnz = %lld",
                             name, (long long)m->nnz);
    return check_indptr(ctx, func, name, m);
}

static irllrec_status check_csr_row(irllrec_ctx *ctx, const char *func, const char *name,
                                    const irllrec_csr *m, int64_t r)
{
    for (int64_t q = m->indptr[r]; q < m->indptr[r + 1]; q++)
        if (m->indices[q] < 0 || m->indices[q] >= m->n_cols)
            return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, func,
                                 "%s row %lld: indices[%lld] = %d not in [0, %lld)", name,
                                 (long long)r, (long long)q, (int)m->indices[q],
                                 (long long)m->n_cols);
    return IRLLREC_OK;
}

irllrec_status irllrec__check_csr(irllrec_ctx *ctx, const char *func, const char *name,
                                  const irllrec_csr *m, int64_t n_rows, int64_t n_cols)
{
    IRL_TRY(check_csr_frame(ctx, func, name, m, n_rows, n_cols));
    for (int64_t r = 0; r < n_rows; r++) IRL_TRY(check_csr_row(ctx, func, name, m, r));
    return IRLLREC_OK;
}

irllrec_status irllrec__check_csr_rows(irllrec_ctx *ctx, const char *func, const char *name,
                                       const irllrec_csr *m, int64_t n_rows, int64_t n_cols,
                                       const int32_t *rows, int64_t n)
{
    if (rows == NULL) return irllrec__check_csr(ctx, func, name, m, n_rows, n_cols);
    IRL_TRY(check_csr_frame(ctx, func, name, m, n_rows, n_cols));
    for (int64_t k = 0; k < n; k++) IRL_TRY(check_csr_row(ctx, func, name, m, rows[k]));
    return IRLLREC_OK;
}

irllrec_status irllrec__check_csr_sorted(irllrec_ctx *ctx, const char *func, const char *name,
                                         const irllrec_csr *m, int64_t n_rows, int64_t n_cols)
{
    IRL_TRY(irllrec__check_csr(ctx, func, name, m, n_rows, n_cols));
    for (int64_t r = 0; r < n_rows; r++)
        for (int64_t q = m->indptr[r] + 1; q < m->indptr[r + 1]; q++)
            if (m->indices[q] <= m->indices[q - 1])
                return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, func,
                                     "%s row %lld: indices[%lld] = %d is not above the one "
                                     "before (rows must be strictly ascending)",
                                     name, (long long)r, (long long)q, (int)m->indices[q]);
    return IRLLREC_OK;
}

irllrec_status irllrec__check_ids(irllrec_ctx *ctx, const char *func, const char *name,
                                  const int32_t *ids, int64_t n, int64_t bound)
{
    int bad = 0;
    if (n < 0)
        return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, func, "%s: count %lld < 0", name,
                             (long long)n);
    if (n == 0) return IRLLREC_OK;
    if (ids == NULL) return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, func, "%s is NULL", name);
    /* Branch-free scan first (it vectorises); locate the culprit only on failure. */
    for (int64_t k = 0; k < n; k++) bad |= (ids[k] < 0) | ((int64_t)ids[k] >= bound);
    if (!bad) return IRLLREC_OK;
    for (int64_t k = 0; k < n; k++)
        if (ids[k] < 0 || (int64_t)ids[k] >= bound)
            return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, func, "%s[%lld] = %d not in [0, %lld)",
                                 name, (long long)k, (int)ids[k], (long long)bound);
    return IRLLREC_OK;
}
