/* A stand-in for libirllrec that reports another version, for the binding's
 * version check (test_binding.py, test_version_checked): its only function,
 * irllrec_version_number(), returns $IRLLREC_VSTUB_NUMBER. A binding that
 * does not check the version first fails later, on a missing symbol.
 * Built for the test only, never installed. */
#include <stdint.h>
#include <stdlib.h>

int32_t irllrec_version_number(void);

int32_t irllrec_version_number(void)
{
    const char *s = getenv("IRLLREC_VSTUB_NUMBER");
    return s != NULL ? (int32_t)strtol(s, NULL, 10) : 0;
}
