/* test_memconn.c — the in-memory transport, and through it the shared
 * connection logic of conn.c: writes, close/abort ordering, pause/resume
 * with partial feeds, idle timeout on the manual clock, watermarks and
 * producers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <event2/buffer.h>

#include "weft.h"

/* What the test protocol saw, shared by every connection of a test. */
typedef struct trace {
    int connects, eofs, disconnects, last_reason;
    char reason_text[256];
    char fed[4096];           /* bytes accepted by feed, concatenated */
    size_t fed_len;
    size_t take;              /* feed consumes at most this much per call;
                                 SIZE_MAX = all */
    int pause_after;          /* pause the connection after N feeds, -1 never */
    int close_after;          /* close after N feeds, -1 never */
    int abort_after;
    int feeds;
    bool write_in_disconnect;
    int pauses, resumes, stops;   /* producer calls */
    int disconnect_depth_check;   /* state_ok observed in on_disconnect */
    weft_conn *conn;
} trace;

static trace T;

static void on_connect(weft_conn *c)
{
    T.connects++;
    T.conn = c;
    weft_printf(c, "hello %d\n", 42);
}

static size_t feed(weft_conn *c, const char *d, size_t n)
{
    size_t k = n < T.take ? n : T.take;
    T.feeds++;
    assert_true(T.fed_len + k <= sizeof T.fed);
    memcpy(T.fed + T.fed_len, d, k);
    T.fed_len += k;
    if (T.feeds == T.pause_after)
        weft_conn_pause(c);
    if (T.feeds == T.close_after)
        weft_close(c);
    if (T.feeds == T.abort_after) {
        weft_abort(c);
        /* on_disconnect is deferred until this callback returns */
        assert_int_equal(T.disconnects, 0);
    }
    return k;
}

static void on_eof(weft_conn *c)
{
    T.eofs++;
    weft_write(c, "bye\n", 4);
}

static void on_disconnect(weft_conn *c, const weft_reason *r)
{
    T.disconnects++;
    T.last_reason = r->code;
    snprintf(T.reason_text, sizeof T.reason_text, "%s", r->text);
    if (T.write_in_disconnect)
        assert_int_equal(weft_write(c, "x", 1), WEFT_ECLOSED);
}

static const weft_protocol proto = {
    .name = "trace",
    .state_size = 64,
    .on_connect = on_connect,
    .feed = feed,
    .on_eof = on_eof,
    .on_disconnect = on_disconnect,
};

typedef struct fx {
    weft_reactor *r;
    weft_factory *f;
    weft_conn *c;
} fx;

static int setup(void **state)
{
    memset(&T, 0, sizeof T);
    T.take = SIZE_MAX;
    T.pause_after = T.close_after = T.abort_after = -1;
    fx *x = calloc(1, sizeof *x);
    x->r = weft_reactor_new_manual();
    x->f = weft_factory_new(x->r, &proto, NULL, NULL);
    x->c = weft_memconn_new(x->f);
    assert_non_null(x->c);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    fx *x = *state;
    weft_memconn_free(x->c);
    assert_int_equal(weft_factory_conn_count(x->f), 0);
    weft_factory_free(x->f);
    weft_reactor_free(x->r);
    free(x);
    return 0;
}

static void expect_written(weft_conn *c, const char *want)
{
    size_t len;
    const char *w = weft_memconn_written(c, &len);
    assert_int_equal(len, strlen(want));
    assert_string_equal(w, want);
}

static void test_connect_writes(void **state)
{
    fx *x = *state;
    assert_int_equal(T.connects, 1);
    expect_written(x->c, "hello 42\n");
    unsigned char *st = weft_conn_state(x->c);
    for (int i = 0; i < 64; i++)
        assert_int_equal(st[i], 0);
    assert_int_equal(weft_factory_conn_count(x->f), 1);
    weft_memconn_clear(x->c);
    struct iovec iov[2] = {{"ab", 2}, {"cd", 2}};
    assert_int_equal(weft_writev(x->c, iov, 2), 0);
    assert_int_equal(weft_send_line(x->c, "line", 4), 0);
    weft_conn_set_delimiter(x->c, "\n", 1);
    assert_int_equal(weft_send_line(x->c, "l2", 2), 0);
    expect_written(x->c, "abcdline\r\nl2\n");
    assert_null(weft_conn_peer(x->c, NULL));
    assert_string_equal(weft_conn_peer_text(x->c), "memory");
    assert_int_equal(weft_memconn_reason(x->c), 0);
}

static void test_receive_and_eof(void **state)
{
    fx *x = *state;
    weft_memconn_receive(x->c, "abc", 3);
    weft_memconn_receive(x->c, "def", 3);
    assert_int_equal(T.fed_len, 6);
    assert_memory_equal(T.fed, "abcdef", 6);
    weft_memconn_eof(x->c);
    assert_int_equal(T.eofs, 1);
    assert_int_equal(T.disconnects, 1);
    assert_int_equal(T.last_reason, WEFT_EDONE);
    assert_true(weft_memconn_closed(x->c));
    assert_false(weft_memconn_aborted(x->c));
    assert_int_equal(weft_memconn_reason(x->c), WEFT_EDONE);
    expect_written(x->c, "hello 42\nbye\n");
    /* after the end nothing more is delivered */
    weft_memconn_receive(x->c, "zzz", 3);
    assert_int_equal(T.fed_len, 6);
}

static void test_close_flushes_then_disconnects(void **state)
{
    fx *x = *state;
    weft_memconn_set_slow_reader(x->c, true);
    weft_write(x->c, "pending", 7);
    weft_close(x->c);
    assert_true(weft_memconn_closed(x->c));
    assert_int_equal(T.disconnects, 0);       /* still flushing */
    assert_int_equal(weft_write(x->c, "late", 4), WEFT_ECLOSED);
    weft_memconn_drain(x->c);
    assert_int_equal(T.disconnects, 1);
    assert_int_equal(T.last_reason, WEFT_EDONE);
    assert_string_equal(T.reason_text, "connection closed cleanly");
    expect_written(x->c, "hello 42\npending");
}

static void test_abort_drops_output(void **state)
{
    fx *x = *state;
    weft_memconn_set_slow_reader(x->c, true);
    weft_write(x->c, "dropped", 7);
    T.write_in_disconnect = true;
    weft_abort(x->c);
    assert_int_equal(T.disconnects, 1);
    assert_int_equal(T.last_reason, WEFT_EABORTED);
    assert_true(weft_memconn_aborted(x->c));
    weft_memconn_drain(x->c);
    expect_written(x->c, "hello 42\n");      /* sent before; "dropped" not */
    weft_abort(x->c);          /* idempotent */
    weft_close(x->c);
    assert_int_equal(T.disconnects, 1);
}

static void test_abort_inside_feed_is_deferred(void **state)
{
    fx *x = *state;
    T.abort_after = 1;         /* feed asserts disconnects == 0 inside */
    weft_memconn_receive(x->c, "abc", 3);
    assert_int_equal(T.disconnects, 1);
    assert_int_equal(T.last_reason, WEFT_EABORTED);
}

static void test_close_reason_text(void **state)
{
    fx *x = *state;
    weft_close_reason(x->c, WEFT_ELINE_TOO_LONG, "line too long: 9000 bytes");
    assert_int_equal(T.disconnects, 1);
    assert_int_equal(T.last_reason, WEFT_ELINE_TOO_LONG);
    assert_string_equal(T.reason_text, "line too long: 9000 bytes");
}

static void test_close_inside_feed_stops_delivery(void **state)
{
    fx *x = *state;
    T.take = 2;                /* consumes two bytes per call */
    T.close_after = 2;
    weft_memconn_receive(x->c, "abcdefgh", 8);
    /* feed 1 takes "ab" (returns short without pausing: offered again),
     * feed 2 takes "cd" and closes: nothing more is offered. */
    assert_int_equal(T.feeds, 2);
    assert_int_equal(T.fed_len, 4);
    assert_int_equal(T.disconnects, 1);
    assert_int_equal(T.eofs, 0);
}

static void test_partial_feed_pause_resume(void **state)
{
    fx *x = *state;
    T.take = 3;
    T.pause_after = 1;
    weft_memconn_receive(x->c, "0123456789", 10);
    assert_int_equal(T.fed_len, 3);
    assert_true(weft_conn_paused(x->c));
    weft_memconn_receive(x->c, "ab", 2);      /* buffered while paused */
    assert_int_equal(T.fed_len, 3);
    weft_memconn_eof(x->c);                    /* also held back */
    assert_int_equal(T.eofs, 0);
    weft_conn_resume(x->c);                    /* outside feed: at once */
    assert_int_equal(T.fed_len, 12);
    assert_memory_equal(T.fed, "0123456789ab", 12);
    assert_int_equal(T.eofs, 1);
    assert_int_equal(T.disconnects, 1);
}

static void test_idle_timeout(void **state)
{
    fx *x = *state;
    weft_conn_set_idle_timeout(x->c, 10);
    weft_reactor_advance(x->r, 6);
    weft_memconn_receive(x->c, "a", 1);       /* activity resets it */
    weft_reactor_advance(x->r, 6);
    assert_int_equal(T.disconnects, 0);
    weft_write(x->c, "b", 1);
    weft_reactor_advance(x->r, 9.5);
    assert_int_equal(T.disconnects, 0);
    weft_reactor_advance(x->r, 0.6);
    assert_int_equal(T.disconnects, 1);
    assert_int_equal(T.last_reason, WEFT_ETIMEDOUT);
}

static void test_idle_timeout_disabled(void **state)
{
    fx *x = *state;
    weft_conn_set_idle_timeout(x->c, 1);
    weft_conn_set_idle_timeout(x->c, 0);
    weft_reactor_advance(x->r, 100);
    assert_int_equal(T.disconnects, 0);
}

static void p_pause(weft_conn *c, void *arg) { (void)c; (void)arg; T.pauses++; }
static void p_resume(weft_conn *c, void *arg) { (void)c; (void)arg; T.resumes++; }
static void p_stop(weft_conn *c, void *arg) { (void)c; (void)arg; T.stops++; }
static const weft_producer producer = {p_pause, p_resume, p_stop};

static void test_watermarks_and_producer(void **state)
{
    fx *x = *state;
    char buf[1000];
    memset(buf, 'z', sizeof buf);
    weft_memconn_set_slow_reader(x->c, true);
    weft_memconn_drain(x->c);
    weft_conn_set_watermarks(x->c, 4000, 1000);
    weft_conn_set_producer(x->c, &producer, NULL);
    for (int i = 0; i < 4; i++)
        weft_write(x->c, buf, sizeof buf);
    assert_int_equal(weft_conn_pending(x->c), 4000);
    assert_int_equal(T.pauses, 0);            /* at the mark, not above */
    weft_write(x->c, buf, 1);
    assert_int_equal(T.pauses, 1);
    weft_write(x->c, buf, sizeof buf);
    assert_int_equal(T.pauses, 1);            /* once per crossing */
    weft_memconn_drain(x->c);
    assert_int_equal(weft_conn_pending(x->c), 0);
    assert_int_equal(T.resumes, 1);
    /* close waits for the output only, not for the (push) producer to
     * unregister, as Twisted's loseConnection with a streaming producer;
     * the producer, still registered, is stopped */
    weft_write(x->c, buf, 10);
    weft_close(x->c);
    assert_int_equal(T.disconnects, 0);       /* 10 bytes pending */
    weft_memconn_drain(x->c);
    assert_int_equal(T.disconnects, 1);
    assert_int_equal(T.last_reason, WEFT_EDONE);
    assert_int_equal(T.stops, 1);
}

static void test_producer_stopped_on_abort(void **state)
{
    fx *x = *state;
    weft_conn_set_producer(x->c, &producer, NULL);
    weft_abort(x->c);
    assert_int_equal(T.stops, 1);
    assert_int_equal(T.disconnects, 1);
}

static void test_output_buffer_direct(void **state)
{
    fx *x = *state;
    weft_memconn_clear(x->c);
    struct evbuffer *out = weft_conn_output(x->c);
    assert_non_null(out);
    assert_int_equal(evbuffer_add(out, "direct", 6), 0);
    expect_written(x->c, "direct");
}

static bool refuse(weft_factory *f, const struct sockaddr *sa, socklen_t l)
{
    (void)f;
    (void)sa;
    (void)l;
    return false;
}

static void test_factory_refuses(void **state)
{
    fx *x = *state;
    weft_factory_hooks h = {.on_build = refuse};
    weft_factory *f = weft_factory_new(x->r, &proto, &h, NULL);
    int before = T.connects;
    weft_conn *c = weft_memconn_new(f);
    assert_non_null(c);
    assert_int_equal(T.connects, before);
    assert_int_equal(weft_memconn_reason(c), WEFT_EREFUSED_BUILD);
    assert_int_equal(weft_factory_conn_count(f), 0);
    weft_memconn_free(c);
    assert_int_equal(T.disconnects, 0);       /* never connected */
    weft_factory_free(f);
}

static void test_free_open_is_lost(void **state)
{
    fx *x = *state;
    weft_memconn_free(x->c);
    x->c = weft_memconn_new(x->f);            /* teardown frees this one */
    assert_int_equal(T.disconnects, 1);
    assert_int_equal(T.last_reason, WEFT_ELOST);
}


/* ---- random operations -------------------------------------------------- */

/* A protocol whose callbacks pick random actions, driven by random
 * operations from outside; checks that bytes arrive in order without loss
 * or duplication until the connection closes, that no callback runs after
 * on_disconnect, and that on_disconnect runs exactly once. */
typedef struct rnd {
    uint64_t seed;
    char sent[1 << 16];
    size_t sent_len;           /* bytes given to weft_memconn_receive */
    size_t fed;                /* bytes the protocol consumed */
    int disconnects, eofs, after;
    bool closed_by_us;
} rnd;

static rnd RS;

static unsigned rnd_next(void)
{
    RS.seed ^= RS.seed << 13;
    RS.seed ^= RS.seed >> 7;
    RS.seed ^= RS.seed << 17;
    return (unsigned)(RS.seed >> 11);
}

static size_t rnd_feed(weft_conn *c, const char *d, size_t n)
{
    if (RS.disconnects)
        RS.after++;
    assert_false(weft_conn_closing(c));
    size_t k = n;
    switch (rnd_next() % 10) {
    case 0: k = rnd_next() % (n + 1); weft_conn_pause(c); break;
    case 1: k = rnd_next() % (n + 1); if (k < n) weft_conn_pause(c); break;
    case 2: weft_write(c, d, n); break;
    case 3: k = rnd_next() % (n + 1); weft_close(c); break;
    case 4: if (rnd_next() % 4 == 0) { k = rnd_next() % (n + 1); weft_abort(c); } break;
    case 5: weft_conn_pause(c); weft_conn_resume(c); break;
    default: break;
    }
    /* consumed bytes must be exactly the next ones sent */
    assert_true(RS.fed + k <= RS.sent_len);
    assert_memory_equal(RS.sent + RS.fed, d, k);
    RS.fed += k;
    return k;
}

static void rnd_eof(weft_conn *c)
{
    (void)c;
    if (RS.disconnects)
        RS.after++;
    RS.eofs++;
}

static void rnd_disc(weft_conn *c, const weft_reason *r)
{
    (void)c;
    (void)r;
    RS.disconnects++;
}

static void rp_pause(weft_conn *c, void *a) { (void)c; (void)a; }
static void rp_resume(weft_conn *c, void *a)
{
    (void)a;
    if (rnd_next() % 3 == 0)
        weft_write(c, "more", 4);
}
static const weft_producer rnd_producer = {rp_pause, rp_resume, NULL};

static const weft_protocol rnd_proto = {
    .name = "random", .feed = rnd_feed, .on_eof = rnd_eof,
    .on_disconnect = rnd_disc,
};

static void test_random_operations(void **state)
{
    fx *x = *state;
    for (uint64_t seed = 1; seed <= 400; seed++) {
        memset(&RS, 0, sizeof RS);
        RS.seed = seed * 0x9E3779B97F4A7C15ULL;
        weft_factory *f = weft_factory_new(x->r, &rnd_proto, NULL, NULL);
        weft_conn *c = weft_memconn_new(f);
        weft_conn_set_watermarks(c, 64, 16);
        for (int step = 0; step < 60; step++) {
            char buf[64];
            size_t n = 1 + rnd_next() % sizeof buf;
            switch (rnd_next() % 12) {
            case 0: case 1: case 2: case 3:
                for (size_t i = 0; i < n; i++)
                    buf[i] = (char)('a' + rnd_next() % 26);
                if (!weft_conn_closing(c) && RS.sent_len + n <= sizeof RS.sent) {
                    memcpy(RS.sent + RS.sent_len, buf, n);
                    RS.sent_len += n;
                }
                else
                    break;
                weft_memconn_receive(c, buf, n);
                break;
            case 4: weft_conn_resume(c); break;
            case 5: weft_conn_pause(c); break;
            case 6: weft_memconn_set_slow_reader(c, rnd_next() % 2); break;
            case 7: weft_memconn_drain(c); break;
            case 8:
                weft_conn_set_producer(c, rnd_next() % 2 ? &rnd_producer : NULL,
                                       NULL);
                break;
            case 9: weft_write(c, "outside", 7); break;
            case 10:
                if (rnd_next() % 6 == 0)
                    weft_close(c);
                else if (rnd_next() % 6 == 0)
                    weft_memconn_eof(c);
                break;
            case 11:
                weft_conn_set_idle_timeout(c, 1 + rnd_next() % 3);
                weft_reactor_advance(x->r, rnd_next() % 3);
                break;
            }
            assert_true(RS.disconnects <= 1);
            assert_int_equal(RS.after, 0);
        }
        /* a closed connection with nothing pending has ended */
        weft_conn_set_producer(c, NULL, NULL);
        weft_memconn_set_slow_reader(c, false);
        if (weft_memconn_closed(c))
            assert_int_equal(RS.disconnects, 1);
        weft_memconn_free(c);
        assert_int_equal(RS.disconnects, 1);
        assert_int_equal(RS.after, 0);
        assert_true(RS.eofs <= 1);
        assert_int_equal(weft_factory_conn_count(f), 0);
        weft_factory_free(f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T_(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T_(test_connect_writes),
        T_(test_receive_and_eof),
        T_(test_close_flushes_then_disconnects),
        T_(test_abort_drops_output),
        T_(test_abort_inside_feed_is_deferred),
        T_(test_close_reason_text),
        T_(test_close_inside_feed_stops_delivery),
        T_(test_partial_feed_pause_resume),
        T_(test_idle_timeout),
        T_(test_idle_timeout_disabled),
        T_(test_watermarks_and_producer),
        T_(test_producer_stopped_on_abort),
        T_(test_output_buffer_direct),
        T_(test_factory_refuses),
        T_(test_free_open_is_lost),
        T_(test_random_operations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
