/* test_gen_specs.c — the generated parsers of spec/echo.weft, chat.weft and
 * netstring.weft, standalone and over memconn.
 *
 * Conformance cases come from tests/unit/cases/NAME.cases (format in
 * echo.cases) and are replayed through the generated trace harness whole,
 * split in two at every offset, and cut into chunks of every size from 1
 * byte up.  The API tests check what the cases cannot: defaults of NULL
 * callbacks, pause/resume, clear_line_buffer, mode switches from C, and the
 * libweft glue (connection state, delimiters, close reasons).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "spec_cases.h"
#include "weft.h"

#define NETSTRING_TRACE_LENGTH(t, p, m)                                   \
    do {                                                                  \
        uint64_t n_;                                                      \
        if (netstring_trace_number((m)->len, 10, &n_) == 0)               \
            netstring_set_mode((p), NETSTRING_MODE_PAYLOAD, n_);          \
    } while (0)
#include "chat_trace.c"
#include "echo_trace.c"
#include "netstring_trace.c"

/* ---- case files -------------------------------------------------------- */

static void test_cases_echo(void **state)
{
    spec_cases_replay("tests/unit/cases/echo.cases", 2, echo_trace_run);
}

static void test_cases_chat(void **state)
{
    spec_cases_replay("tests/unit/cases/chat.cases", 9, chat_trace_run);
}

static void test_cases_netstring(void **state)
{
    spec_cases_replay("tests/unit/cases/netstring.cases", 7,
                      netstring_trace_run);
}

/* ---- standalone API ---------------------------------------------------- */

typedef struct rec {
    int lines, mismatches, ends;
    char last[64];
    int pause_on;                   /* pause after this many lines, or 0 */
    int clear_on;                   /* clear after this many lines, or 0 */
    int switch_on;                  /* set raw mode after this many, or 0 */
} rec;

static void rec_message(chat_parser *p, const chat_message *m)
{
    rec *r = chat_user(p);

    r->lines++;
    snprintf(r->last, sizeof r->last, "%.*s", (int)m->text.len, m->text.p);
    if (r->pause_on == r->lines)
        chat_pause(p);
    if (r->clear_on == r->lines)
        chat_clear_line_buffer(p);
}

static void rec_nick(chat_parser *p, const chat_nick *m)
{
    rec *r = chat_user(p);

    r->lines++;
    snprintf(r->last, sizeof r->last, "%.*s", (int)m->name.len, m->name.p);
}

static const chat_callbacks rec_cb = {
    .on_nick = rec_nick,
    .on_message = rec_message,
};

static void test_standalone_basics(void **state)
{
    chat_parser p;
    rec r = { 0 };

    chat_parser_init(&p, &rec_cb, &r);
    assert_ptr_equal(chat_user(&p), &r);
    assert_null(chat_conn(&p));
    assert_null(chat_state(&p));
    assert_int_equal(chat_mode(&p), CHAT_MODE_NICK);
    assert_string_equal(chat_mode_name(CHAT_MODE_MESSAGE), "message");
    assert_int_equal(chat_send_line(&p, "x", 1), WEFT_EINVAL);
    assert_int_equal(chat_parser_feed(&p, "ann\r\nhi", 7), 7);
    assert_int_equal(chat_mode(&p), CHAT_MODE_MESSAGE);   /* static next */
    assert_string_equal(r.last, "ann");
    assert_int_equal(chat_parser_feed(&p, " there\n", 7), 7);
    assert_string_equal(r.last, "hi there");
    assert_int_equal(chat_parser_finish(&p), 0);
    chat_parser_free(&p);
}

/* No on_mismatch / on_line_too_long: the parser fails with the code. */
static void test_default_failures(void **state)
{
    static const chat_callbacks none = { 0 };
    chat_parser p;
    char big[1100];

    chat_parser_init(&p, &none, NULL);
    assert_true(chat_parser_feed(&p, "bad nick\nok\n", 12) < 12);
    assert_int_equal(chat_parser_error(&p), WEFT_EPROTOCOL);
    chat_parser_free(&p);

    memset(big, 'a', sizeof big);
    chat_parser_init(&p, &none, NULL);
    assert_true(chat_parser_feed(&p, big, sizeof big) < sizeof big);
    assert_int_equal(chat_parser_error(&p), WEFT_ELINE_TOO_LONG);
    chat_parser_free(&p);
}

static void rec_mismatch(chat_parser *p, enum chat_mode m, const char *line,
                         size_t len)
{
    rec *r = chat_user(p);

    r->mismatches++;
    assert_int_equal(m, CHAT_MODE_NICK);
    snprintf(r->last, sizeof r->last, "%.*s", (int)len, line);
}

/* A mismatched line does not follow `next`: nick stays until a good one. */
static void test_mismatch_stays(void **state)
{
    static const chat_callbacks cb = {
        .on_nick = rec_nick,
        .on_message = rec_message,
        .on_mismatch = rec_mismatch,
    };
    chat_parser p;
    rec r = { 0 };

    chat_parser_init(&p, &cb, &r);
    assert_int_equal(chat_parser_feed(&p, "bad nick\nok\nhi\n", 15), 15);
    assert_int_equal(r.mismatches, 1);
    assert_int_equal(r.lines, 2);                  /* nick "ok", "hi" */
    assert_string_equal(r.last, "hi");
    assert_int_equal(chat_mode(&p), CHAT_MODE_MESSAGE);
    assert_int_equal(chat_parser_error(&p), 0);
    chat_parser_free(&p);
}

static void test_pause_resume(void **state)
{
    static const char in[] = "nick\none\ntwo\nthree\n";
    chat_parser p;
    rec r = { .pause_on = 2 };
    size_t n;

    chat_parser_init(&p, &rec_cb, &r);
    n = chat_parser_feed(&p, in, sizeof in - 1);
    assert_int_equal(n, strlen("nick\none\n"));
    assert_int_equal(r.lines, 2);
    assert_int_equal(chat_parser_feed(&p, in + n, sizeof in - 1 - n), 0);
    chat_resume(&p);
    assert_int_equal(chat_parser_feed(&p, in + n, sizeof in - 1 - n),
                     sizeof in - 1 - n);
    assert_int_equal(r.lines, 4);
    assert_string_equal(r.last, "three");
    chat_parser_free(&p);
}

static void test_clear_line_buffer(void **state)
{
    static const char in[] = "nick\none\ntwo\nthr";
    chat_parser p;
    rec r = { .clear_on = 2 };

    chat_parser_init(&p, &rec_cb, &r);
    assert_int_equal(chat_parser_feed(&p, in, sizeof in - 1), sizeof in - 1);
    assert_int_equal(r.lines, 2);              /* "two" was discarded */
    assert_int_equal(chat_parser_feed(&p, "next\n", 5), 5);
    assert_string_equal(r.last, "next");
    assert_int_equal(chat_parser_finish(&p), 0);
    chat_parser_free(&p);
}

/* netstring without the trace hook: the C code enters the counted mode. */
typedef struct ns {
    char data[64];
    size_t len;
    int ends;
} ns;

static void ns_length(netstring_parser *p, const netstring_length *m)
{
    char num[24];                   /* the capture is not NUL-terminated */

    assert_true(m->len.len < sizeof num);
    memcpy(num, m->len.p, m->len.len);
    num[m->len.len] = '\0';
    netstring_set_mode(p, NETSTRING_MODE_PAYLOAD, strtoull(num, NULL, 10));
}

static void ns_payload(netstring_parser *p, const char *d, size_t len)
{
    ns *s = netstring_user(p);

    assert_true(s->len + len <= sizeof s->data);
    memcpy(s->data + s->len, d, len);
    s->len += len;
}

static void ns_end(netstring_parser *p)
{
    ns *s = netstring_user(p);

    s->ends++;
    assert_int_equal(netstring_mode(p), NETSTRING_MODE_PAYLOAD);
}

static const netstring_callbacks ns_cb = {
    .on_length = ns_length,
    .on_payload = ns_payload,
    .on_payload_end = ns_end,
};

static void test_netstring_set_mode(void **state)
{
    static const char in[] = "3:abc,2:de,";
    netstring_parser p;
    ns s = { .len = 0 };
    size_t i;

    for (i = 0; i < sizeof in - 1; i++) {        /* one byte at a time */
        if (i == 0)
            netstring_parser_init(&p, &ns_cb, &s);
        assert_int_equal(netstring_parser_feed(&p, in + i, 1), 1);
    }
    assert_int_equal(s.ends, 2);
    assert_int_equal(s.len, 5);
    assert_memory_equal(s.data, "abcde", 5);
    assert_int_equal(netstring_mode(&p), NETSTRING_MODE_LENGTH);
    assert_int_equal(netstring_parser_finish(&p), 0);
    netstring_parser_free(&p);
}

/* ---- libweft glue over memconn ------------------------------------------ */

typedef struct ustate {
    int connects, eofs, disconnects, reason;
    char text[128];                 /* reason text */
} ustate;

/* Connection-wide counters live outside the (freed) connection. */
static ustate glue_seen;

static void g_connect(chat_parser *p)
{
    ustate *u = chat_state(p);

    assert_non_null(u);
    assert_ptr_equal(chat_conn(p), chat_user(p));
    assert_int_equal(u->connects, 0);              /* zeroed */
    u->connects = 1;
    glue_seen.connects++;
}

static void g_nick(chat_parser *p, const chat_nick *m)
{
    chat_send_line(p, m->name.p, m->name.len);
}

static void g_message(chat_parser *p, const chat_message *m)
{
    if (m->text.len == 5 && memcmp(m->text.p, "pause", 5) == 0) {
        chat_pause(p);
        return;
    }
    if (m->text.len == 4 && memcmp(m->text.p, "quit", 4) == 0) {
        weft_close(chat_conn(p));
        return;
    }
    weft_send_line(chat_conn(p), m->text.p, m->text.len);
}

static void g_eof(chat_parser *p)
{
    glue_seen.eofs++;
}

static void g_disconnect(chat_parser *p, const weft_reason *r)
{
    glue_seen.disconnects++;
    glue_seen.reason = r->code;
    snprintf(glue_seen.text, sizeof glue_seen.text, "%s", r->text);
}

static const chat_callbacks glue_cb = {
    .on_connect = g_connect,
    .on_nick = g_nick,
    .on_message = g_message,
    .on_eof = g_eof,
    .on_disconnect = g_disconnect,
};

typedef struct glue {
    weft_reactor *r;
    weft_factory *f;
    weft_protocol proto;
} glue;

static int glue_setup(void **state)
{
    glue *g = calloc(1, sizeof *g);

    memset(&glue_seen, 0, sizeof glue_seen);
    g->r = weft_reactor_new_manual();
    chat_protocol_init(&g->proto, &glue_cb, sizeof(ustate));
    g->f = weft_factory_new(g->r, &g->proto, NULL, NULL);
    *state = g;
    return g->r && g->f ? 0 : -1;
}

static int glue_teardown(void **state)
{
    glue *g = *state;

    weft_factory_free(g->f);
    weft_reactor_free(g->r);
    free(g);
    return 0;
}

static void test_glue_lines_and_delimiter(void **state)
{
    glue *g = *state;
    weft_conn *c = weft_memconn_new(g->f);
    size_t len;
    const char *out;

    assert_int_equal(glue_seen.connects, 1);
    weft_memconn_receive(c, "al", 2);
    weft_memconn_receive(c, "ice\r\nhello\nwor", 14);
    weft_memconn_receive(c, "ld\r\n", 4);
    out = weft_memconn_written(c, &len);
    /* chat's delimiter is "\n": both send_line paths use it. */
    assert_string_equal(out, "alice\nhello\nworld\n");
    weft_memconn_eof(c);
    assert_int_equal(glue_seen.eofs, 1);
    assert_int_equal(glue_seen.disconnects, 1);
    assert_int_equal(glue_seen.reason, WEFT_EDONE);
    weft_memconn_free(c);
}

static void test_glue_mismatch_closes(void **state)
{
    glue *g = *state;
    weft_conn *c = weft_memconn_new(g->f);

    weft_memconn_receive(c, "bad nick\nhello\n", 15);
    assert_true(weft_memconn_closed(c));
    assert_string_equal(weft_memconn_written(c, NULL), "");
    weft_memconn_free(c);
    assert_int_equal(glue_seen.disconnects, 1);
    assert_int_equal(glue_seen.reason, WEFT_EPROTOCOL);
    assert_string_equal(glue_seen.text, "line does not match mode 'nick'");
}

static void test_glue_too_long_closes(void **state)
{
    glue *g = *state;
    weft_conn *c = weft_memconn_new(g->f);
    char big[2000];

    memset(big, 'a', sizeof big);
    weft_memconn_receive(c, big, sizeof big);
    assert_true(weft_memconn_closed(c));
    weft_memconn_free(c);
    assert_int_equal(glue_seen.reason, WEFT_ELINE_TOO_LONG);
    assert_string_equal(glue_seen.text, "line too long in mode 'nick'");
}

static void test_glue_pause_resume(void **state)
{
    glue *g = *state;
    weft_conn *c = weft_memconn_new(g->f);
    chat_parser *p = weft_conn_state(c);

    weft_memconn_receive(c, "bo\nb\npause\nafter\n", 17);
    assert_string_equal(weft_memconn_written(c, NULL), "bo\nb\n");
    assert_true(weft_conn_paused(c));
    chat_resume(p);
    assert_false(weft_conn_paused(c));
    assert_string_equal(weft_memconn_written(c, NULL), "bo\nb\nafter\n");
    weft_memconn_free(c);
}

/* CONFORMANCE 15: after close from a callback, no further callback runs,
 * whatever is left in the chunk. */
static void test_glue_close_stops_callbacks(void **state)
{
    glue *g = *state;
    weft_conn *c = weft_memconn_new(g->f);

    weft_memconn_receive(c, "bo\nquit\nafter\nbad line\n", 23);
    assert_string_equal(weft_memconn_written(c, NULL), "bo\n");
    assert_true(weft_memconn_closed(c));
    weft_memconn_free(c);
    assert_int_equal(glue_seen.disconnects, 1);
    assert_int_equal(glue_seen.reason, WEFT_EDONE);
}

/* echo over memconn: raw data as it arrives, then at EOF the until-close
 * block ends (on_data_end) before on_eof and on_disconnect. */
static char echo_order[8];

static void e_data(echo_parser *p, const char *d, size_t len)
{
    weft_write(echo_conn(p), d, len);
}

static void e_mark(char c)
{
    size_t n = strlen(echo_order);

    if (n + 1 < sizeof echo_order)
        echo_order[n] = c;
}

static void e_end(echo_parser *p) { e_mark('E'); }
static void e_eof(echo_parser *p) { e_mark('F'); }
static void e_disc(echo_parser *p, const weft_reason *r) { e_mark('D'); }

static void test_glue_echo(void **state)
{
    static const echo_callbacks cb = {
        .on_data = e_data, .on_data_end = e_end, .on_eof = e_eof,
        .on_disconnect = e_disc,
    };
    weft_reactor *r = weft_reactor_new_manual();
    weft_protocol proto;
    weft_factory *f;
    weft_conn *c;
    size_t len;
    const char *out;

    memset(echo_order, 0, sizeof echo_order);
    echo_protocol_init(&proto, &cb, 0);
    f = weft_factory_new(r, &proto, NULL, NULL);
    c = weft_memconn_new(f);
    weft_memconn_receive(c, "a\r\nb", 4);
    weft_memconn_receive(c, "\0c", 2);
    out = weft_memconn_written(c, &len);
    assert_int_equal(len, 6);
    assert_memory_equal(out, "a\r\nb\0c", 6);
    assert_string_equal(echo_order, "");
    weft_memconn_eof(c);
    assert_string_equal(echo_order, "EFD");
    weft_memconn_free(c);
    weft_factory_free(f);
    weft_reactor_free(r);
}

/* A mode switch made outside any callback re-parses the bytes the parser
 * holds (here a partial length line) in the new mode with the next feed the
 * runtime makes: the glue never feeds the parser outside the runtime's own
 * delivery (a handler could end and free the connection under it). */
static netstring_callbacks nsg_cb;

static void test_glue_switch_outside_callback(void **state)
{
    weft_reactor *r = weft_reactor_new_manual();
    weft_protocol proto;
    weft_factory *f;
    weft_conn *c;
    netstring_parser *p;
    ns s = { .len = 0 };

    nsg_cb = ns_cb;
    netstring_protocol_init(&proto, &nsg_cb, sizeof(ns *));
    f = weft_factory_new(r, &proto, NULL, NULL);
    c = weft_memconn_new(f);
    p = weft_conn_state(c);
    p->user = &s;                /* netstring_user() for the callbacks */
    weft_memconn_receive(c, "ab", 2);      /* a partial length line */
    assert_int_equal(s.len, 0);
    netstring_set_mode(p, NETSTRING_MODE_PAYLOAD, 2);
    assert_int_equal(s.len, 0);             /* nothing fed outside */
    weft_memconn_receive(c, ",", 1);
    assert_int_equal(s.len, 2);
    assert_memory_equal(s.data, "ab", 2);   /* re-parsed as payload */
    assert_int_equal(s.ends, 1);
    assert_int_equal(netstring_mode(p), NETSTRING_MODE_LENGTH);
    assert_false(weft_memconn_closed(c));
    weft_memconn_free(c);
    weft_factory_free(f);
    weft_reactor_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases_echo),
        cmocka_unit_test(test_cases_chat),
        cmocka_unit_test(test_cases_netstring),
        cmocka_unit_test(test_standalone_basics),
        cmocka_unit_test(test_default_failures),
        cmocka_unit_test(test_mismatch_stays),
        cmocka_unit_test(test_pause_resume),
        cmocka_unit_test(test_clear_line_buffer),
        cmocka_unit_test(test_netstring_set_mode),
        cmocka_unit_test_setup_teardown(test_glue_lines_and_delimiter,
                                        glue_setup, glue_teardown),
        cmocka_unit_test_setup_teardown(test_glue_mismatch_closes,
                                        glue_setup, glue_teardown),
        cmocka_unit_test_setup_teardown(test_glue_too_long_closes,
                                        glue_setup, glue_teardown),
        cmocka_unit_test_setup_teardown(test_glue_pause_resume,
                                        glue_setup, glue_teardown),
        cmocka_unit_test_setup_teardown(test_glue_close_stops_callbacks,
                                        glue_setup, glue_teardown),
        cmocka_unit_test(test_glue_switch_outside_callback),
        cmocka_unit_test(test_glue_echo),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
