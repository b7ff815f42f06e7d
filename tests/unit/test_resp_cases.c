/* test_resp_cases.c — parser cases of spec/resp.weft in the data-file
 * format of tests/unit/cases/echo.cases (the weftc conformance files),
 * replayed through the generated trace harness with weft-redis' mode walk
 * as hooks (resp_trace_hooks.h): whole, split at every point, and in chunks
 * of every size from 1 to 64 bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "resp_trace_hooks.h"
#include "resp_trace.c"

#include "spec_cases.h"

static void test_resp_cases(void **state)
{
    (void)state;
    spec_cases_replay("tests/unit/cases/resp.cases", 20, resp_trace_run);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resp_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
