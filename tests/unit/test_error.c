/* test_error.c — the error list: names, messages, weft__fail. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "weft.h"
#include "internal.h"

static void test_names_and_messages(void **state)
{
    (void)state;
    assert_string_equal(weft_err_name(WEFT_EOK), "OK");
    assert_string_equal(weft_err_name(WEFT_EADDRINUSE), "ADDRINUSE");
    assert_string_equal(weft_err_name(WEFT_EDONE), "DONE");
    assert_string_equal(weft_err_name(12345), "UNKNOWN");
    assert_string_equal(weft_strerror(WEFT_EREFUSED), "connection refused");
    assert_string_equal(weft_strerror(WEFT_ETIMEDOUT), "timed out");
    assert_string_equal(weft_strerror(-999), "unknown error");
    /* every code in the list has a distinct name and a message */
    int codes[] = {
#define C(name, value, msg) value,
        WEFT_ERRORS(C)
#undef C
    };
    size_t n = sizeof codes / sizeof codes[0];
    assert_int_equal(n, 17);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(codes[i], -(int)i);
        assert_string_not_equal(weft_err_name(codes[i]), "UNKNOWN");
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(weft_err_name(codes[i]),
                                    weft_err_name(codes[j]));
    }
}

static void test_fail_fills(void **state)
{
    (void)state;
    weft_error e;
    memset(&e, 0x55, sizeof e);
    assert_int_equal(weft__fail(&e, WEFT_EENDPOINT, 0, "%s: %s", "tcp:x",
                                "bad"),
                     WEFT_EENDPOINT);
    assert_int_equal(e.code, WEFT_EENDPOINT);
    assert_int_equal(e.sys_errno, 0);
    assert_string_equal(e.msg, "tcp:x: bad");
    assert_int_equal(weft__fail(NULL, WEFT_ENOMEM, 0, "x"), WEFT_ENOMEM);
    /* long messages are truncated, still terminated */
    char big[600];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    weft__fail(&e, WEFT_EINVAL, EINVAL, "%s", big);
    assert_int_equal(strlen(e.msg), sizeof e.msg - 1);
    assert_int_equal(e.sys_errno, EINVAL);
}

static void test_reason_text(void **state)
{
    (void)state;
    char buf[128];
    assert_string_equal(weft__reason_text(WEFT_EDONE, 0, buf, sizeof buf),
                        "connection closed cleanly");
    assert_string_equal(weft__reason_text(WEFT_ELOST, ECONNRESET, buf,
                                          sizeof buf),
                        "connection lost: connection reset by peer");
    assert_string_equal(weft__reason_text(WEFT_EREFUSED, ECONNREFUSED, buf,
                                          sizeof buf),
                        "connection refused");
    char tiny[8];
    weft__reason_text(WEFT_ELOST, EPIPE, tiny, sizeof tiny);
    assert_int_equal(strlen(tiny), 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_messages),
        cmocka_unit_test(test_fail_fills),
        cmocka_unit_test(test_reason_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
