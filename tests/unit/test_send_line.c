/* test_send_line.c — CONFORMANCE.md item 17: send_line writes the line
 * plus the current mode's delimiter, in one write.
 *
 * spec/netstring.weft is the shipped spec whose modes have different
 * delimiters: the line mode `length` ends at ":", the raw mode `payload`
 * has none of its own, so netstring_send_line uses the protocol default
 * "\r\n" there (docs/spec-language.md).  Over a memconn and a manual
 * reactor we check the exact bytes written after connect, after
 * netstring_set_mode from outside any callback and from inside one, and
 * when the parser switches by itself (`next length`).
 *
 * "One write" is made observable through output flow control: with a
 * slow reader and a high-water mark of 0, the first write that queues
 * bytes pauses the registered producer, which records how many bytes were
 * pending at that moment.  One write of line + delimiter shows the whole
 * line and delimiter there; a line and a delimiter written separately
 * would show the line alone (the negative control below checks that the
 * measurement tells the two apart).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "netstring.h"
#include "weft.h"

/* ---- shared state ------------------------------------------------------ */

enum variant {
    V_BYTES,        /* callbacks echo with send_line: exact bytes checked */
    V_ONE_WRITE,    /* one send_line per event: write atomicity checked */
};

typedef struct fixture {
    weft_reactor *r;
    weft_factory *f;
    weft_protocol proto;
    weft_conn *c;
} fixture;

static struct {
    enum variant v;
    netstring_parser *p;        /* set by on_connect */
    int rc[16];                 /* send_line results inside callbacks */
    int nrc;
    enum netstring_mode end_mode;   /* netstring_mode() in on_payload_end */
    /* producer */
    size_t pause_pending[16];
    int pauses, resumes;
} st;

static void keep_rc(int rc)
{
    if (st.nrc < (int)(sizeof st.rc / sizeof st.rc[0]))
        st.rc[st.nrc++] = rc;
}

static uint64_t span_number(weft_span s)
{
    uint64_t n = 0;

    for (size_t i = 0; i < s.len; i++)
        n = n * 10 + (uint64_t)(s.p[i] - '0');
    return n;
}

/* ---- callbacks --------------------------------------------------------- */

static void cb_connect(netstring_parser *p)
{
    st.p = p;
    if (st.v == V_BYTES)
        keep_rc(netstring_send_line(p, "C", 1));    /* initial mode: ":" */
}

static void cb_length(netstring_parser *p, const netstring_length *m)
{
    uint64_t n = span_number(m->len);

    if (st.v == V_BYTES) {
        /* Echo of the captured span (it points into the input, right
         * before the ":" of the input): still mode length. */
        keep_rc(netstring_send_line(p, m->len.p, m->len.len));
        netstring_set_mode(p, NETSTRING_MODE_PAYLOAD, n);
        /* Same span after the switch: the payload mode's delimiter. */
        keep_rc(netstring_send_line(p, m->len.p, m->len.len));
    } else {
        netstring_set_mode(p, NETSTRING_MODE_PAYLOAD, n);
        keep_rc(netstring_send_line(p, m->len.p, m->len.len));
    }
}

static void cb_payload(netstring_parser *p, const char *data, size_t len)
{
    if (st.v == V_BYTES)
        keep_rc(netstring_send_line(p, data, len));
}

static void cb_payload_end(netstring_parser *p)
{
    st.end_mode = netstring_mode(p);
    if (st.v == V_BYTES)
        keep_rc(netstring_send_line(p, "E", 1));
}

static const netstring_callbacks callbacks = {
    .on_connect = cb_connect,
    .on_length = cb_length,
    .on_payload = cb_payload,
    .on_payload_end = cb_payload_end,
};

static void pr_pause(weft_conn *c, void *arg)
{
    if (st.pauses < (int)(sizeof st.pause_pending / sizeof st.pause_pending[0]))
        st.pause_pending[st.pauses] = weft_conn_pending(c);
    st.pauses++;
}

static void pr_resume(weft_conn *c, void *arg)
{
    st.resumes++;
}

static const weft_producer producer = {
    .pause_producing = pr_pause,
    .resume_producing = pr_resume,
};

/* ---- fixtures ---------------------------------------------------------- */

static int setup(void **state, enum variant v)
{
    fixture *fx = calloc(1, sizeof *fx);

    if (!fx)
        return -1;
    memset(&st, 0, sizeof st);
    st.v = v;
    st.end_mode = NETSTRING_MODE__COUNT;
    fx->r = weft_reactor_new_manual();
    netstring_protocol_init(&fx->proto, &callbacks, 0);
    fx->f = weft_factory_new(fx->r, &fx->proto, NULL, NULL);
    if (!fx->r || !fx->f)
        return -1;
    fx->c = weft_memconn_new(fx->f);
    *state = fx;
    return fx->c && st.p ? 0 : -1;
}

static int setup_bytes(void **state) { return setup(state, V_BYTES); }
static int setup_one_write(void **state) { return setup(state, V_ONE_WRITE); }

static int teardown(void **state)
{
    fixture *fx = *state;

    weft_memconn_free(fx->c);
    weft_factory_free(fx->f);
    weft_reactor_free(fx->r);
    free(fx);
    return 0;
}

/* Bytes for a failure message: non-printables as \xHH, truncated. */
static const char *shown(const char *s, size_t len, char *buf, size_t size)
{
    size_t o = 0;

    for (size_t i = 0; i < len && o + 5 < size; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '\\')
            buf[o++] = (char)ch;
        else
            o += (size_t)snprintf(buf + o, size - o, "\\x%02x", ch);
    }
    buf[o] = '\0';
    return buf;
}

/* Asserts that what was written since the last call is exactly `want`
 * (want_len bytes), then forgets it. */
static void expect_new(weft_conn *c, const char *want, size_t want_len)
{
    size_t len;
    const char *out = weft_memconn_written(c, &len);
    char a[256], b[256];

    if (len != want_len || memcmp(out, want, len) != 0)
        fail_msg("written %zu bytes \"%s\", want %zu bytes \"%s\"", len,
                 shown(out, len, a, sizeof a), want_len,
                 shown(want, want_len, b, sizeof b));
    weft_memconn_clear(c);
}
#define EXPECT_NEW(c, lit) expect_new((c), (lit), sizeof(lit) - 1)

static void expect_rcs_ok(int n)
{
    assert_int_equal(st.nrc, n);
    for (int i = 0; i < n; i++)
        assert_int_equal(st.rc[i], 0);
    st.nrc = 0;
}

/* ---- exact bytes ------------------------------------------------------- */

/* After connect (inside on_connect and from outside), the initial mode's
 * delimiter; weft_send_line on the connection agrees in a line mode. */
static void test_after_connect(void **state)
{
    fixture *fx = *state;

    expect_rcs_ok(1);
    EXPECT_NEW(fx->c, "C:");
    assert_int_equal(netstring_mode(st.p), NETSTRING_MODE_LENGTH);
    assert_int_equal(netstring_send_line(st.p, "hello", 5), 0);
    EXPECT_NEW(fx->c, "hello:");
    assert_int_equal(weft_send_line(fx->c, "conn", 4), 0);
    EXPECT_NEW(fx->c, "conn:");
    /* An empty line is the delimiter alone. */
    assert_int_equal(netstring_send_line(st.p, "", 0), 0);
    EXPECT_NEW(fx->c, ":");
}

/* netstring_set_mode from outside any callback: the next send_line uses
 * the new mode's delimiter, and switching back restores the old one. */
static void test_set_mode_outside(void **state)
{
    fixture *fx = *state;

    weft_memconn_clear(fx->c);
    st.nrc = 0;
    netstring_set_mode(st.p, NETSTRING_MODE_PAYLOAD, 4);
    assert_int_equal(netstring_mode(st.p), NETSTRING_MODE_PAYLOAD);
    assert_int_equal(netstring_send_line(st.p, "raw", 3), 0);
    EXPECT_NEW(fx->c, "raw\r\n");

    /* Part of the block: on_payload echoes it with "\r\n". */
    weft_memconn_receive(fx->c, "ab", 2);
    expect_rcs_ok(1);
    EXPECT_NEW(fx->c, "ab\r\n");

    /* Back to length from outside, in the middle of the block. */
    netstring_set_mode(st.p, NETSTRING_MODE_LENGTH, 0);
    assert_int_equal(netstring_send_line(st.p, "len", 3), 0);
    EXPECT_NEW(fx->c, "len:");
    assert_int_equal(weft_send_line(fx->c, "conn", 4), 0);
    EXPECT_NEW(fx->c, "conn:");

    /* And once more to payload: the delimiter follows every switch. */
    netstring_set_mode(st.p, NETSTRING_MODE_PAYLOAD, 1);
    assert_int_equal(netstring_send_line(st.p, "again", 5), 0);
    EXPECT_NEW(fx->c, "again\r\n");
    assert_int_equal(st.nrc, 0);
}

/* netstring_set_mode inside a callback takes effect for send_line at once,
 * within the same callback; on_payload and on_payload_end still run in
 * mode payload; after the block (`next length`) it is ":" again. */
static void test_set_mode_inside(void **state)
{
    fixture *fx = *state;

    weft_memconn_clear(fx->c);
    st.nrc = 0;
    weft_memconn_receive(fx->c, "3:abc,", 6);
    expect_rcs_ok(4);
    EXPECT_NEW(fx->c, "3:"         /* on_length before the switch */
                      "3\r\n"      /* on_length after set_mode(payload) */
                      "abc\r\n"    /* on_payload */
                      "E\r\n");    /* on_payload_end, still payload */
    assert_int_equal(st.end_mode, NETSTRING_MODE_PAYLOAD);
    assert_int_equal(netstring_mode(st.p), NETSTRING_MODE_LENGTH);
    assert_int_equal(netstring_send_line(st.p, "x", 1), 0);
    EXPECT_NEW(fx->c, "x:");

    /* Two netstrings in one read, the second split over two reads, and an
     * empty one: the delimiter follows every switch. */
    weft_memconn_receive(fx->c, "2:hi,10:01234", 13);
    expect_rcs_ok(7);
    EXPECT_NEW(fx->c, "2:" "2\r\n" "hi\r\n" "E\r\n"
                      "10:" "10\r\n" "01234\r\n");
    assert_int_equal(netstring_send_line(st.p, "mid", 3), 0);
    EXPECT_NEW(fx->c, "mid\r\n");
    weft_memconn_receive(fx->c, "56789,0:,", 9);
    expect_rcs_ok(5);
    EXPECT_NEW(fx->c, "56789\r\n" "E\r\n" "0:" "0\r\n" "E\r\n");
    assert_int_equal(netstring_send_line(st.p, "", 0), 0);
    EXPECT_NEW(fx->c, ":");
    assert_false(weft_memconn_closed(fx->c));
}

/* After close, send_line writes nothing at all: neither line nor
 * delimiter. */
static void test_after_close(void **state)
{
    fixture *fx = *state;

    weft_memconn_clear(fx->c);
    weft_close(fx->c);
    assert_int_equal(netstring_send_line(st.p, "late", 4), WEFT_ECLOSED);
    EXPECT_NEW(fx->c, "");
}

/* ---- one write --------------------------------------------------------- */

static void arm_producer(weft_conn *c)
{
    weft_memconn_set_slow_reader(c, true);
    weft_conn_set_watermarks(c, 0, 0);     /* any pending byte pauses */
    weft_conn_set_producer(c, &producer, NULL);
    st.pauses = st.resumes = 0;
}

/* Lets the peer read everything; the producer resumes. */
static void drain(weft_conn *c)
{
    int resumes = st.resumes;

    weft_memconn_drain(c);
    assert_int_equal(weft_conn_pending(c), 0);
    assert_int_equal(st.resumes, resumes + 1);
}

/* The old way, for the negative control: line, then delimiter. */
static void two_writes(weft_conn *c, const char *line, const char *delim)
{
    assert_int_equal(weft_write(c, line, strlen(line)), 0);
    assert_int_equal(weft_write(c, delim, strlen(delim)), 0);
}

/* The measurement tells one write from two: written separately, the
 * producer is paused with only the line pending. */
static void test_negative_control(void **state)
{
    fixture *fx = *state;

    weft_memconn_clear(fx->c);
    arm_producer(fx->c);
    two_writes(fx->c, "abcde", ":");
    assert_int_equal(st.pauses, 1);
    assert_int_equal(st.pause_pending[0], 5);      /* not 6 */
    drain(fx->c);
    EXPECT_NEW(fx->c, "abcde:");
}

/* Outside callbacks: the producer pauses once, with line + delimiter
 * already pending, in either mode. */
static void test_one_write_outside(void **state)
{
    fixture *fx = *state;

    weft_memconn_clear(fx->c);
    arm_producer(fx->c);
    assert_int_equal(netstring_send_line(st.p, "abcde", 5), 0);
    assert_int_equal(st.pauses, 1);
    assert_int_equal(st.pause_pending[0], 6);      /* "abcde:" */
    drain(fx->c);
    EXPECT_NEW(fx->c, "abcde:");

    netstring_set_mode(st.p, NETSTRING_MODE_PAYLOAD, 3);
    assert_int_equal(netstring_send_line(st.p, "abcde", 5), 0);
    assert_int_equal(st.pauses, 2);
    assert_int_equal(st.pause_pending[1], 7);      /* "abcde\r\n" */
    drain(fx->c);
    EXPECT_NEW(fx->c, "abcde\r\n");

    netstring_set_mode(st.p, NETSTRING_MODE_LENGTH, 0);
    assert_int_equal(weft_send_line(fx->c, "abcde", 5), 0);
    assert_int_equal(st.pauses, 3);
    assert_int_equal(st.pause_pending[2], 6);      /* "abcde:" */
    drain(fx->c);
    EXPECT_NEW(fx->c, "abcde:");
}

/* Inside a callback, after set_mode there: the echo of the captured
 * length is one write of span + "\r\n". */
static void test_one_write_inside(void **state)
{
    fixture *fx = *state;

    weft_memconn_clear(fx->c);
    arm_producer(fx->c);
    weft_memconn_receive(fx->c, "12345:", 6);
    expect_rcs_ok(1);
    assert_int_equal(st.pauses, 1);
    assert_int_equal(st.pause_pending[0], 7);      /* "12345\r\n" */
    drain(fx->c);
    EXPECT_NEW(fx->c, "12345\r\n");
    assert_int_equal(netstring_mode(st.p), NETSTRING_MODE_PAYLOAD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_after_connect, setup_bytes,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_set_mode_outside, setup_bytes,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_set_mode_inside, setup_bytes,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_after_close, setup_bytes,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_negative_control,
                                        setup_one_write, teardown),
        cmocka_unit_test_setup_teardown(test_one_write_outside,
                                        setup_one_write, teardown),
        cmocka_unit_test_setup_teardown(test_one_write_inside,
                                        setup_one_write, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
