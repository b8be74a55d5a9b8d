/** @file
 * libirllrec: status codes.
 *
 * Every fallible function returns an irllrec_status. The values are pinned:
 * they never change meaning and are never renumbered. Details of the last
 * failure of a context are in irllrec_ctx_errmsg(). */
#ifndef IRLLREC_STATUS_H
#define IRLLREC_STATUS_H

#include <stdint.h>
#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Result of a fallible call: IRLLREC_OK (0) or a negative error code. */
typedef int32_t irllrec_status;

/** Pinned status values. New codes may be added; existing ones never change. */
enum irllrec_status_code {
    IRLLREC_OK            = 0,   /**< success */
    IRLLREC_E_INVALID_ARG = -1,  /**< NULL pointer, bad id or out-of-range value */
    IRLLREC_E_NOMEM       = -2,  /**< an allocation failed */
    IRLLREC_E_SHAPE       = -3,  /**< dimensions disagree or overflow */
    IRLLREC_E_STATE       = -4,  /**< call made in the wrong order */
    IRLLREC_E_NUMERIC     = -5,  /**< non-finite input, loss or gradient */
    IRLLREC_E_IO          = -6,  /**< the operating system refused a file operation */
    IRLLREC_E_FORMAT      = -7,  /**< malformed file or text */
    IRLLREC_E_CHECKSUM    = -8,  /**< checksum mismatch */
    IRLLREC_E_VERSION     = -9,  /**< unsupported version or struct size */
    IRLLREC_E_UNSUPPORTED = -10, /**< valid but unsupported feature */
    IRLLREC_E_COMM        = -11, /**< a collective operation failed or timed out */
    IRLLREC_E_INTERNAL    = -99  /**< a library bug: please report it */
};

/** Static English description of a status code (the code only; the details of a
 *  failure are in irllrec_ctx_errmsg()).
 *  @param s  any value; it need not be one of irllrec_status_code
 *  @return a static string, never NULL, that must not be freed; "unknown status"
 *          for values not listed in irllrec_status_code
 *  @note Thread-safe, never fails, does not allocate. */
IRLLREC_API const char *irllrec_status_str(irllrec_status s);

#ifdef __cplusplus
}
#endif
#endif /* IRLLREC_STATUS_H */
