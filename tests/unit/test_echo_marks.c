/* test_echo_marks.c — a generated line echo (spec/lineecho.weft, the
 * server of bench/echo) over memconn: the echo fast path of conn.c
 * (slice_fast, bounded by echo.lim) must keep every rule the slow path
 * keeps (it runs inline in the generated lineecho_send_line).
 *
 * - Watermarks: with a producer registered, pause_producing runs right
 *   after the very echo that takes the output over the high-water mark,
 *   whatever the input's split, and a line echo never gets further than
 *   one line over it; resume_producing at the low mark; all lines come
 *   back in order.
 * - Bytes added through weft_conn_output count at the next echo.
 * - A producer registered while the output is over the mark pauses at the
 *   next echo.
 * - close, close_reason and abort from a line callback stop delivery at
 *   once (the connection stops the bound parser: weft_conn_bind_lines),
 *   also when called from on_connect, and an echo after close returns
 *   WEFT_ECLOSED and sends nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <event2/buffer.h>

#include "lineecho.h"
#include "weft.h"

#define HIGH 1000
#define LOW 200
#define LINE 34                 /* 32 bytes + CRLF */
#define NLINES 200

static struct {
    size_t high, low;           /* watermarks set on connect (0: none) */
    bool producer;              /* register the producer on connect */
    int register_at;            /* register it at this line instead (>0) */
    int output_at;              /* add `extra` bytes via weft_conn_output */
    size_t extra;
    int lines;                  /* on_text calls */
    int pauses, resumes;
    size_t max_pending;         /* output pending at any pause_producing */
    size_t pending_at_pause;    /* at the last pause */
    int lines_at_pause;         /* lines seen at the last pause */
    int closed_writes;          /* send_line refused after close */
    const char *close_on;       /* line text that closes, see on_text */
    int close_how;              /* 0 close, 1 close_reason, 2 abort */
    bool close_on_connect;
} S;

static void le_pause(weft_conn *c, void *arg)
{
    size_t q = weft_conn_pending(c);
    S.pauses++;
    S.pending_at_pause = q;
    S.lines_at_pause = S.lines;
    if (q > S.max_pending)
        S.max_pending = q;
    lineecho_pause(arg);
}

static void le_resume(weft_conn *c, void *arg)
{
    S.resumes++;
    assert_true(weft_conn_pending(c) <= S.low);
    lineecho_resume(arg);
}

static const weft_producer producer = {
    .pause_producing = le_pause,
    .resume_producing = le_resume,
};

static void start_flow(lineecho_parser *p)
{
    weft_conn *c = lineecho_conn(p);
    if (S.high)
        weft_conn_set_watermarks(c, S.high, S.low);
    weft_conn_set_producer(c, &producer, p);
}

static void shut(weft_conn *c)
{
    if (S.close_how == 0)
        weft_close(c);
    else if (S.close_how == 1)
        weft_close_reason(c, WEFT_EPROTOCOL, "told to");
    else
        weft_abort(c);
}

static void on_connect(lineecho_parser *p)
{
    if (S.producer)
        start_flow(p);
    if (S.close_on_connect)
        shut(lineecho_conn(p));
}

static void on_text(lineecho_parser *p, const char *line, size_t len)
{
    weft_conn *c = lineecho_conn(p);
    S.lines++;
    if (S.register_at == S.lines)
        start_flow(p);
    if (S.output_at == S.lines) {
        struct evbuffer *out = weft_conn_output(c);
        char *junk = malloc(S.extra);
        assert_non_null(junk);
        memset(junk, '#', S.extra);
        assert_int_equal(evbuffer_add(out, junk, S.extra), 0);
        free(junk);
    }
    if (S.close_on && len == strlen(S.close_on) &&
        memcmp(line, S.close_on, len) == 0) {
        shut(c);
        /* The fast path refuses too: nothing joins the output. */
        if (lineecho_send_line(p, line, len) == WEFT_ECLOSED)
            S.closed_writes++;
        return;
    }
    assert_int_equal(lineecho_send_line(p, line, len), 0);
}

static const lineecho_callbacks callbacks = {
    .on_connect = on_connect,
    .on_text = on_text,
};

typedef struct fixture {
    weft_reactor *r;
    weft_factory *f;
    weft_protocol proto;
} fixture;

/* The default test state: a producer with marks HIGH / LOW. */
static void reset_state(void)
{
    memset(&S, 0, sizeof S);
    S.high = HIGH;
    S.low = LOW;
    S.producer = true;
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    reset_state();
    fx->r = weft_reactor_new_manual();
    lineecho_protocol_init(&fx->proto, &callbacks, 0);
    fx->f = weft_factory_new(fx->r, &fx->proto, NULL, NULL);
    *state = fx;
    return fx->r && fx->f ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    weft_factory_free(fx->f);
    weft_reactor_free(fx->r);
    free(fx);
    return 0;
}

static char *make_input(int nlines, size_t *len)
{
    char *in = malloc((size_t)nlines * LINE + 1);
    assert_non_null(in);
    for (int i = 0; i < nlines; i++)
        snprintf(in + (size_t)i * LINE, LINE + 1,
                 "line %08d...................\r\n", i);
    *len = (size_t)nlines * LINE;
    return in;
}

/* A connection with a slow reader (it drains only when told), fed
 * in[0..len) in one piece. */
static weft_conn *feed_whole(fixture *fx, const char *in, size_t len)
{
    weft_conn *c = weft_memconn_new(fx->f);
    weft_memconn_set_slow_reader(c, true);
    weft_memconn_receive(c, in, len);
    return c;
}

/* Feeds in[0..len) in pieces ending at the cuts, with a slow reader that
 * drains only while the parser is paused; checks that each pause came
 * right after the echo that crossed HIGH.  Returns the output. */
static void run_split(fixture *fx, const char *in, size_t len,
                      const size_t *cuts, size_t nc)
{
    weft_conn *c = weft_memconn_new(fx->f);
    weft_memconn_set_slow_reader(c, true);
    size_t pos = 0;
    int pauses_seen = 0;
    for (size_t k = 0; k <= nc; k++) {
        size_t to = k < nc ? cuts[k] : len;
        weft_memconn_receive(c, in + pos, to - pos);
        pos = to;
        /* Drain while paused: resume_producing re-offers what waits. */
        while (weft_conn_paused(c)) {
            assert_true(S.pauses > pauses_seen);
            pauses_seen = S.pauses;
            /* The echo that crossed the mark was the last line seen, and
             * nothing after it: output is over HIGH by less than a line
             * (the line's own echo). */
            assert_true(S.pending_at_pause > HIGH);
            assert_true(S.pending_at_pause <= HIGH + LINE);
            weft_memconn_drain(c);
        }
    }
    weft_memconn_drain(c);
    size_t olen;
    const char *out = weft_memconn_written(c, &olen);
    assert_int_equal(olen, len);
    assert_memory_equal(out, in, len);
    assert_int_equal(S.lines, (int)(len / LINE));
    assert_int_equal(S.resumes, S.pauses);
    weft_memconn_free(c);
}

/* One feed of 200 lines: the first pause comes after line 30 (30 * 34 =
 * 1020 > 1000), at exactly 1020 bytes pending. */
static void test_pause_right_after_crossing(void **state)
{
    fixture *fx = *state;
    size_t len;
    char *in = make_input(NLINES, &len);
    weft_conn *c = feed_whole(fx, in, len);
    assert_int_equal(S.pauses, 1);
    assert_int_equal(S.lines_at_pause, 30);
    assert_int_equal(S.lines, 30);
    assert_int_equal(S.pending_at_pause, 30 * LINE);
    assert_true(weft_conn_paused(c));
    weft_memconn_drain(c);
    assert_int_equal(S.resumes, 1);
    /* Drained at once (no data pending), then another 30 lines. */
    assert_int_equal(S.pauses, 2);
    assert_int_equal(S.lines, 60);
    weft_memconn_free(c);
    free(in);
}

static void test_marks_every_split(void **state)
{
    fixture *fx = *state;
    size_t len;
    char *in = make_input(60, &len);
    for (size_t cut = 1; cut < len; cut += 7) {
        reset_state();
        size_t cuts[1] = {cut};
        run_split(fx, in, len, cuts, 1);
    }
    free(in);
}

static void test_marks_bytewise(void **state)
{
    fixture *fx = *state;
    size_t len;
    char *in = make_input(60, &len);
    size_t *cuts = malloc(len * sizeof *cuts);
    for (size_t i = 0; i + 1 < len; i++)
        cuts[i] = i + 1;
    run_split(fx, in, len, cuts, len - 1);
    free(cuts);
    free(in);
}

/* Default marks (64 KiB): a whole feed of 2000 lines (68000 bytes) pauses
 * after line 1928 (65552 bytes > 65536). */
static void test_default_marks(void **state)
{
    fixture *fx = *state;
    S.high = 0;
    S.low = 16384;
    size_t len;
    char *in = make_input(2000, &len);
    weft_conn *c = feed_whole(fx, in, len);
    assert_int_equal(S.pauses, 1);
    assert_int_equal(S.lines, 1928);
    assert_int_equal(S.pending_at_pause, 1928 * LINE);
    weft_memconn_drain(c);
    weft_memconn_drain(c);
    size_t olen;
    const char *out = weft_memconn_written(c, &olen);
    assert_int_equal(olen, len);
    assert_memory_equal(out, in, len);
    weft_memconn_free(c);
    free(in);
}

/* Bytes added through weft_conn_output count toward the mark at the next
 * echo: line 5 adds 2000 bytes, so its own echo pauses. */
static void test_output_buffer_counts(void **state)
{
    fixture *fx = *state;
    S.output_at = 5;
    S.extra = 2000;
    size_t len;
    char *in = make_input(NLINES, &len);
    weft_conn *c = feed_whole(fx, in, len);
    assert_int_equal(S.pauses, 1);
    assert_int_equal(S.lines_at_pause, 5);
    assert_int_equal(S.lines, 5);
    assert_int_equal(S.pending_at_pause, 5 * LINE + 2000);
    weft_memconn_free(c);
    free(in);
}

/* A producer registered while the output is over the mark already pauses
 * at the next echo (line 11, HIGH 100 < 10 * 34). */
static void test_register_late(void **state)
{
    fixture *fx = *state;
    S.producer = false;
    S.register_at = 10;
    S.high = 100;
    S.low = 50;
    size_t len;
    char *in = make_input(NLINES, &len);
    weft_conn *c = feed_whole(fx, in, len);
    assert_int_equal(S.pauses, 1);
    assert_int_equal(S.lines, 10);
    assert_int_equal(S.pending_at_pause, 10 * LINE);
    weft_memconn_free(c);
    free(in);
}

static void close_from_callback(fixture *fx, int how)
{
    S.close_on = "stop";
    S.close_how = how;
    weft_conn *c = weft_memconn_new(fx->f);
    static const char in[] = "a\r\nb\r\nstop\r\nc\r\nd\r\n";
    weft_memconn_receive(c, in, sizeof in - 1);
    assert_int_equal(S.lines, 3);           /* nothing after "stop" */
    assert_int_equal(S.closed_writes, 1);
    assert_true(weft_memconn_closed(c));
    if (how == 2) {
        assert_true(weft_memconn_aborted(c));
        assert_int_equal(weft_memconn_reason(c), WEFT_EABORTED);
    } else {
        assert_string_equal(weft_memconn_written(c, NULL), "a\r\nb\r\n");
        assert_int_equal(weft_memconn_reason(c),
                         how ? WEFT_EPROTOCOL : WEFT_EDONE);
    }
    weft_memconn_free(c);
}

static void test_close_stops_delivery(void **state)
{
    close_from_callback(*state, 0);
}

static void test_close_reason_stops_delivery(void **state)
{
    close_from_callback(*state, 1);
}

static void test_abort_stops_delivery(void **state)
{
    close_from_callback(*state, 2);
}

/* Without a producer too (the fast path then has no mark to mind). */
static void test_close_stops_delivery_no_producer(void **state)
{
    S.producer = false;
    close_from_callback(*state, 0);
}

static void test_close_on_connect(void **state)
{
    fixture *fx = *state;
    S.close_on_connect = true;
    weft_conn *c = weft_memconn_new(fx->f);
    weft_memconn_receive(c, "a\r\nb\r\n", 6);
    assert_int_equal(S.lines, 0);
    assert_true(weft_memconn_closed(c));
    weft_memconn_free(c);
}

/* The standalone parser of the same spec has no connection: send_line
 * refuses, and weft_conn_bind_lines refuses a parser that is not the
 * connection's state. */
static void test_bind_needs_state(void **state)
{
    fixture *fx = *state;
    S.producer = false;
    weft_conn *c = weft_memconn_new(fx->f);
    lineecho_parser other;
    lineecho_parser_init(&other, &callbacks, NULL);
    assert_int_equal(weft_conn_bind_lines(c, &other.lines), WEFT_EINVAL);
    assert_int_equal(lineecho_send_line(&other, "x", 1), WEFT_EINVAL);
    /* The echo state of a standalone parser takes nothing, not even an
     * empty line at NULL. */
    assert_int_equal(lineecho_send_line(&other, NULL, 0), WEFT_EINVAL);
    assert_int_equal(weft_conn_bind_lines(c, weft_conn_state(c)), 0);
    lineecho_parser_free(&other);
    weft_memconn_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pause_right_after_crossing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_marks_every_split, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_marks_bytewise, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_default_marks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_buffer_counts, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_register_late, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_stops_delivery, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_close_reason_stops_delivery,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_stops_delivery, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_close_stops_delivery_no_producer,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_on_connect, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bind_needs_state, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
