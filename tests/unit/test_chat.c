/* test_chat.c — the weft-chat room (examples/chat/room.c) over memconn:
 * naming, refused names, broadcast, leaving, over-long lines, and input
 * cut at every offset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../examples/chat/room.h"
#include "weft.h"

typedef struct fixture {
    weft_reactor *r;
    weft_factory *f;
    weft_protocol proto;
    room *rm;
} fixture;

static int setup(void **state)
{
    fixture *x = test_calloc(1, sizeof *x);

    x->r = weft_reactor_new_manual();
    x->rm = room_new();
    room_protocol_init(&x->proto);
    x->f = weft_factory_new(x->r, &x->proto, NULL, x->rm);
    *state = x;
    return x->r && x->rm && x->f ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *x = *state;

    weft_factory_free(x->f);
    weft_reactor_free(x->r);
    room_free(x->rm);
    test_free(x);
    return 0;
}

/* What c was sent since the last call. */
static void expect_out(weft_conn *c, const char *want)
{
    assert_string_equal(weft_memconn_written(c, NULL), want);
    weft_memconn_clear(c);
}

static void send_str(weft_conn *c, const char *s)
{
    weft_memconn_receive(c, s, strlen(s));
}

static void test_join_talk_leave(void **state)
{
    fixture *x = *state;
    weft_conn *a = weft_memconn_new(x->f), *b = weft_memconn_new(x->f);

    expect_out(a, "What's your name?\n");
    expect_out(b, "What's your name?\n");
    send_str(a, "alice\r\n");
    expect_out(a, "Welcome, alice!\n");
    send_str(b, "bob\n");
    expect_out(b, "Welcome, bob!\n");
    expect_out(a, "* bob has joined\n");
    assert_int_equal(room_members(x->rm), 2);
    send_str(a, "hi bob\r\nhow are you?\n");
    expect_out(b, "<alice> hi bob\n<alice> how are you?\n");
    expect_out(a, "");                   /* not echoed to the sender */
    weft_memconn_free(b);
    expect_out(a, "* bob has left\n");
    assert_int_equal(room_members(x->rm), 1);
    weft_memconn_free(a);
    assert_int_equal(room_members(x->rm), 0);
}

static void test_refused_names(void **state)
{
    fixture *x = *state;
    weft_conn *a = weft_memconn_new(x->f), *b = weft_memconn_new(x->f);

    send_str(a, "alice\n");
    weft_memconn_clear(a);
    weft_memconn_clear(b);
    send_str(b, "alice\n");
    expect_out(b, "Name taken, please choose another.\n");
    send_str(b, "not a name\n");
    expect_out(b, "Names are letters, digits, '_' and '-'; please choose "
                  "another.\n");
    send_str(b, "a234567890123456789012345678901234\n");
    expect_out(b, "Name too long, please choose another.\n");
    expect_out(a, "");
    send_str(b, "carol\nhello\n");
    expect_out(b, "Welcome, carol!\n");
    expect_out(a, "* carol has joined\n<carol> hello\n");
    send_str(b, "bad\rline\n");
    expect_out(b, "Lines may not contain a carriage return; not sent.\n");
    expect_out(a, "");
    weft_memconn_free(a);
    weft_memconn_free(b);
}

static void test_too_long_closes(void **state)
{
    fixture *x = *state;
    weft_conn *a = weft_memconn_new(x->f);
    char big[1100];

    send_str(a, "dave\n");
    memset(big, 'x', sizeof big);
    weft_memconn_receive(a, big, sizeof big);
    assert_true(weft_memconn_closed(a));
    assert_int_equal(weft_memconn_reason(a), WEFT_ELINE_TOO_LONG);
    assert_int_equal(room_members(x->rm), 0);
    weft_memconn_free(a);
}

/* The same session cut at every offset gives the same output. */
static void test_every_split(void **state)
{
    static const char in[] = "bob2\r\nhello\nmore text\r\n";
    static const char want[] = "* bob2 has joined\n<bob2> hello\n"
                               "<bob2> more text\n";
    fixture *x = *state;
    size_t k, n = sizeof in - 1;

    for (k = 0; k <= n; k++) {
        weft_conn *a = weft_memconn_new(x->f), *b = weft_memconn_new(x->f);

        send_str(a, "amy\n");
        weft_memconn_clear(a);
        weft_memconn_receive(b, in, k);
        weft_memconn_receive(b, in + k, n - k);
        expect_out(a, want);
        weft_memconn_free(b);
        weft_memconn_free(a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_join_talk_leave, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_refused_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_long_closes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_every_split, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
