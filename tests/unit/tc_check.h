/* tc_check.h - run a Check suite with TAP output on stdout.
 *
 * Every unit test program ends with `return tc_check_run(suite);` so that the
 * automake TAP driver counts each Check test case as one result.
 */
#ifndef TC_CHECK_H
#define TC_CHECK_H

#include <check.h>
#include <stdlib.h>

static inline int
tc_check_run(Suite *suite)
{
    SRunner *runner = srunner_create(suite);
    int failed;

    srunner_set_tap(runner, "-");
    srunner_run_all(runner, CK_SILENT);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
