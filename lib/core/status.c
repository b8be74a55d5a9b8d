#include "../internal.h"

const char *irllrec_status_str(irllrec_status s)
{
    switch (s) {
    case IRLLREC_OK: return "ok";
    case IRLLREC_E_INVALID_ARG: return "invalid argument";
    case IRLLREC_E_NOMEM: return "out of memory";
    case IRLLREC_E_SHAPE: return "shape mismatch";
    case IRLLREC_E_STATE: return "call made in the wrong order";
    case IRLLREC_E_NUMERIC: return "non-finite value";
    case IRLLREC_E_IO: return "input/output error";
    case IRLLREC_E_FORMAT: return "malformed input";
    case IRLLREC_E_CHECKSUM: return "checksum mismatch";
    case IRLLREC_E_VERSION: return "unsupported version";
    case IRLLREC_E_UNSUPPORTED: return "unsupported feature";
    case IRLLREC_E_COMM: return "collective operation failed";
    case IRLLREC_E_INTERNAL: return "internal error";
    default: return "unknown status";
    }
}

int32_t irllrec_version_number(void) { return IRLLREC_VERSION_NUMBER; }

const char *irllrec_version_string(void) { return IRLLREC_VERSION_STRING; }

irllrec_mat irllrec_mat_dense(float *data, int64_t rows, int64_t cols)
{
    const irllrec_mat m = {data, rows, cols, cols};
    return m;
}

irllrec_cmat irllrec_cmat_dense(const float *data, int64_t rows, int64_t cols)
{
    const irllrec_cmat m = {data, rows, cols, cols};
    return m;
}

irllrec_cmat irllrec_mat_const(irllrec_mat m)
{
    const irllrec_cmat c = {m.data, m.rows, m.cols, m.ld};
    return c;
}
