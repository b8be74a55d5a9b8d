/* Shared between the textembed sources; not part of the tool's interface. */
#ifndef TE_PRIVATE_H
#define TE_PRIVATE_H

#include "textembed.h"

#if defined(__GNUC__) || defined(__clang__)
#define TE_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define TE_PRINTF(a, b)
#endif

/* Format a message into err (may be NULL). */
void te__seterr(te_err *err, const char *fmt, ...) TE_PRINTF(2, 3);

#endif
