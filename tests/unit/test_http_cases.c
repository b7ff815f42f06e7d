/* test_http_cases.c — conformance cases of spec/http.weft in the data-file
 * format of tests/unit/cases/echo.cases (the weftc conformance files),
 * replayed through the generated trace harness with a server's framing as
 * hooks (http_trace_hooks.h): whole, split at every point, and in chunks
 * of every size from 1 to 64 bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http_trace_hooks.h"
#include "http_trace.c"

#include "spec_cases.h"

static void test_http_cases(void **state)
{
    (void)state;
    spec_cases_replay("tests/unit/cases/http.cases", 20, http_trace_run);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
