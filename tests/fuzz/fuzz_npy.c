/* libFuzzer target: arbitrary bytes into irllrec_npy_shape_mem() and
 * irllrec_npy_read_mem().
 *
 * Invariants (a violation aborts, which libFuzzer records as a crash):
 * - both calls agree: the shape call succeeds exactly when the header is
 *   valid, and a read into a matrix of that shape fails only for values
 *   (never for the header) and only with IRLLREC_NPY_CHECK_FINITE;
 * - a failure returns one of E_FORMAT, E_UNSUPPORTED, E_NUMERIC, E_SHAPE,
 *   and leaves a message in the context;
 * - the read writes every element of the shape and nothing in the padding
 *   columns of a matrix with ld > cols;
 * - a read with IRLLREC_NPY_CHECK_FINITE fails with E_NUMERIC exactly when
 *   the plain read produced a NaN or an infinity;
 * - a destination of the wrong shape is refused with E_SHAPE. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "irllrec/irllrec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PAD 3 /* padding columns after each row */
#define GUARD 0x7fc0dead /* a NaN bit pattern no read produces from nothing */

static void require(int cond)
{
    if (!cond) abort();
}

static int known_failure(irllrec_status st)
{
    return st == IRLLREC_E_FORMAT || st == IRLLREC_E_UNSUPPORTED || st == IRLLREC_E_NUMERIC ||
           st == IRLLREC_E_SHAPE;
}

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    irllrec_ctx *ctx = NULL;
    int64_t rows = -1, cols = -1;
    irllrec_status st;
    float *buf;
    size_t n, ld;
    int nonfinite = 0;
    const uint8_t one = 1;
    if (irllrec_ctx_create(NULL, &ctx) != IRLLREC_OK) abort();
    /* An empty input still needs a valid pointer. */
    st = irllrec_npy_shape_mem(ctx, size ? (const void *)data : (const void *)&one, size, &rows,
                               &cols);
    if (st != IRLLREC_OK) {
        irllrec_mat m = {NULL, 0, 0, 0};
        float x = 0.0f;
        require(known_failure(st) && st != IRLLREC_E_NUMERIC);
        require(irllrec_ctx_errmsg(ctx)[0] != '\0');
        /* The read refuses the same header (dst is 1 x 1 so only the file is wrong). */
        m.data = &x;
        m.rows = m.cols = m.ld = 1;
        st = irllrec_npy_read_mem(ctx, size ? (const void *)data : (const void *)&one, size, m, 0);
        require(st != IRLLREC_OK && known_failure(st) && st != IRLLREC_E_NUMERIC);
        irllrec_ctx_free(ctx);
        return 0;
    }
    require(rows >= 0 && cols >= 0);
    /* An empty array has a shape but no matrix to read it into. */
    if (rows == 0 || cols == 0) {
        irllrec_ctx_free(ctx);
        return 0;
    }
    /* The data must fit in the input, so the element count is bounded by it. */
    require((uint64_t)rows * (uint64_t)cols <= size / 4);
    n = (size_t)rows;
    ld = (size_t)cols + PAD;
    buf = (float *)malloc(n * ld * sizeof *buf);
    require(buf != NULL);
    for (size_t i = 0; i < n * ld; i++) {
        uint32_t g = GUARD;
        memcpy(buf + i, &g, 4);
    }
    {
        irllrec_mat m = {buf, rows, cols, (int64_t)ld};
        st = irllrec_npy_read_mem(ctx, data, size, m, 0);
        require(st == IRLLREC_OK);
        for (size_t r = 0; r < n; r++)
            for (size_t c = 0; c < ld; c++) {
                float v = buf[r * ld + c];
                if (c >= (size_t)cols) require(bits(v) == GUARD);
                else nonfinite |= !isfinite(v);
            }
        st = irllrec_npy_read_mem(ctx, data, size, m, IRLLREC_NPY_CHECK_FINITE);
        require(nonfinite ? st == IRLLREC_E_NUMERIC : st == IRLLREC_OK);
        if (st != IRLLREC_OK) require(irllrec_ctx_errmsg(ctx)[0] != '\0');
        /* A destination one column short is refused before anything is read. */
        if (cols > 1) {
            m.cols = cols - 1;
            st = irllrec_npy_read_mem(ctx, data, size, m, 0);
            require(st == IRLLREC_E_SHAPE && irllrec_ctx_errmsg(ctx)[0] != '\0');
        }
    }
    free(buf);
    irllrec_ctx_free(ctx);
    return 0;
}
