/* test_smtp_parser.c — the parser generated from spec/smtp.weft, with
 * weft-smtpd's DATA handling as trace hooks (smtp_trace_hooks.h), against
 * the cases in tests/unit/cases/smtp.cases: each replayed whole, split at
 * every offset and in chunks of every size up to 64 (so the end-of-data
 * mark is cut at every offset, the empty message included).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp_trace_hooks.h"

#include "spec_cases.h"

static void smtp_cases(void **state)
{
    (void)state;
    spec_cases_replay("tests/unit/cases/smtp.cases", 10, smtp_trace_run);
}

/* The mode enum and names follow the spec. */
static void smtp_modes(void **state)
{
    assert_int_equal(SMTP_MODE__COUNT, 3);
    assert_string_equal(smtp_mode_name(SMTP_MODE_COMMAND), "command");
    assert_string_equal(smtp_mode_name(SMTP_MODE_DATA_START), "data_start");
    assert_string_equal(smtp_mode_name(SMTP_MODE_DATA), "data");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(smtp_cases),
        cmocka_unit_test(smtp_modes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
