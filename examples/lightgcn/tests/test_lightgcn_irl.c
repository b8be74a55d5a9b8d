/* placeholder, filled below */
#include <check.h>
Suite *lightgcn_irl_suite(void);
Suite *lightgcn_irl_suite(void) { return suite_create("lightgcn_irl"); }
