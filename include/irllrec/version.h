/** @file
 * libirllrec: version numbers.
 *
 * This header is the single source of truth: CMake parses the three macros
 * below. Compare IRLLREC_VERSION_MAJOR with irllrec_version_number() / 10000
 * at start-up to catch a header/library mismatch. */
#ifndef IRLLREC_VERSION_H
#define IRLLREC_VERSION_H

#include <stdint.h>
#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Major version: incompatible API changes after 1.0. */
#define IRLLREC_VERSION_MAJOR 0
/** Minor version: while 0.x, any minor may change the ABI (SOVERSION 0.minor). */
#define IRLLREC_VERSION_MINOR 2
/** Patch version: bug fixes only. */
#define IRLLREC_VERSION_PATCH 0

/** MAJOR*10000 + MINOR*100 + PATCH. */
#define IRLLREC_VERSION_NUMBER \
    (IRLLREC_VERSION_MAJOR * 10000 + IRLLREC_VERSION_MINOR * 100 + IRLLREC_VERSION_PATCH)

/** Helper of IRLLREC_STRINGIFY: turns its argument into a string literal unexpanded. */
#define IRLLREC_STRINGIFY_(x) #x
/** Expands @p x, then turns the result into a string literal (used for IRLLREC_VERSION_STRING). */
#define IRLLREC_STRINGIFY(x) IRLLREC_STRINGIFY_(x)
/** "MAJOR.MINOR.PATCH" of the headers being compiled against, as a string literal. */
#define IRLLREC_VERSION_STRING                                          \
    IRLLREC_STRINGIFY(IRLLREC_VERSION_MAJOR) "."                        \
    IRLLREC_STRINGIFY(IRLLREC_VERSION_MINOR) "."                        \
    IRLLREC_STRINGIFY(IRLLREC_VERSION_PATCH)

/** Version of the library actually linked, as IRLLREC_VERSION_NUMBER.
 *  Compare it with the IRLLREC_VERSION_NUMBER of the headers at start-up to
 *  catch a header/library mismatch (the major part must agree).
 *  @return MAJOR*10000 + MINOR*100 + PATCH of the linked library
 *  @note Thread-safe, never fails, does not allocate. */
IRLLREC_API int32_t irllrec_version_number(void);

/** Version of the library actually linked, as a string.
 *  @return a static "MAJOR.MINOR.PATCH" string, never NULL; it must not be freed
 *  @note Thread-safe, never fails, does not allocate. */
IRLLREC_API const char *irllrec_version_string(void);

#ifdef __cplusplus
}
#endif
#endif /* IRLLREC_VERSION_H */
