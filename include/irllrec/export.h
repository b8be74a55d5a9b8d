/** @file
 * libirllrec: symbol export macro.
 *
 * Every public declaration carries IRLLREC_API. The library builds with hidden
 * visibility, so only what is marked here leaves the shared object. Define
 * IRLLREC_STATIC when linking the static archive on Windows. */
#ifndef IRLLREC_EXPORT_H
#define IRLLREC_EXPORT_H

/** @def IRLLREC_API
 *  Marks a public declaration: `__declspec(dllexport)` while building the DLL
 *  (IRLLREC_BUILDING), nothing for the static archive on Windows
 *  (IRLLREC_STATIC), `__declspec(dllimport)` for other Windows users, and
 *  default visibility with GCC and Clang. */
#if defined(_WIN32) || defined(__CYGWIN__)
#  if defined(IRLLREC_BUILDING)
#    define IRLLREC_API __declspec(dllexport)
#  elif defined(IRLLREC_STATIC)
#    define IRLLREC_API
#  else
#    define IRLLREC_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) || defined(__clang__)
#  define IRLLREC_API __attribute__((visibility("default")))
#else
#  define IRLLREC_API
#endif

#endif /* IRLLREC_EXPORT_H */
