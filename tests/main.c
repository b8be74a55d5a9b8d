/* Runs every Check suite, or the one named by CK_RUN_SUITE (as ctest does). */
#include <stdlib.h>
#include <check.h>
#include "suites.inc"

int main(void)
{
    SRunner *sr = srunner_create(NULL);
    int failed;
    for (size_t i = 0; i < sizeof all_suites / sizeof all_suites[0]; i++)
        srunner_add_suite(sr, all_suites[i]());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
