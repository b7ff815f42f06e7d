/* test_reactor.c — timers (manual and real clock), cancel from callbacks,
 * graceful stop, signals, teardown of a reactor with live objects. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "weft.h"

/* ---- timer fixtures --------------------------------------------------- */

static weft_reactor *R;
static int order[32], norder;
static double fired_at[32];
static weft_timer *sibling;

static void rec(void *arg)
{
    int id = (int)(intptr_t)arg;
    fired_at[norder] = weft_reactor_now(R);
    order[norder++] = id;
}

static int setup_manual(void **state)
{
    (void)state;
    R = weft_reactor_new_manual();
    norder = 0;
    sibling = NULL;
    return R ? 0 : -1;
}

static int setup_real(void **state)
{
    (void)state;
    R = weft_reactor_new();
    norder = 0;
    sibling = NULL;
    return R ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    weft_reactor_free(R);
    R = NULL;
    return 0;
}

#define ID(n) ((void *)(intptr_t)(n))

static void test_manual_order_and_ties(void **state)
{
    (void)state;
    weft_call_later(R, 3, rec, ID(3));
    weft_call_later(R, 1, rec, ID(1));
    weft_call_later(R, 2, rec, ID(21));
    weft_call_later(R, 2, rec, ID(22));   /* same deadline: scheduled after */
    assert_true(weft_reactor_now(R) == 0.0);
    weft_reactor_advance(R, 1.5);
    assert_int_equal(norder, 1);
    assert_true(weft_reactor_now(R) == 1.5);
    weft_reactor_advance(R, 0.5);         /* exactly due fires */
    assert_int_equal(norder, 3);
    weft_reactor_advance(R, 10);
    assert_int_equal(norder, 4);
    int want[] = {1, 21, 22, 3};
    for (int i = 0; i < 4; i++)
        assert_int_equal(order[i], want[i]);
    /* each ran with the clock at its own deadline */
    assert_true(fired_at[0] == 1.0 && fired_at[1] == 2.0 && fired_at[3] == 3.0);
    assert_true(weft_reactor_now(R) == 12.0);
}

static void cancel_sibling(void *arg)
{
    rec(arg);
    weft_timer_cancel(sibling);
    sibling = NULL;
}

static void test_manual_cancel_sibling_same_tick(void **state)
{
    (void)state;
    weft_call_later(R, 1, cancel_sibling, ID(1));
    sibling = weft_call_later(R, 1, rec, ID(2));
    weft_call_later(R, 1, rec, ID(3));
    weft_reactor_advance(R, 1);
    assert_int_equal(norder, 2);
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 3);
}

static weft_timer *self_timer;
static void cancel_self(void *arg)
{
    rec(arg);
    weft_timer_cancel(self_timer);      /* own handle: marked, freed after */
    weft_timer_cancel(self_timer);      /* twice is still safe */
}

static void add_more(void *arg)
{
    rec(arg);
    weft_call_later(R, 0.5, rec, ID(99));  /* due inside the same advance */
    weft_call_later(R, 5, rec, ID(100));   /* beyond it */
}

static void test_manual_cancel_self_reset_and_nested(void **state)
{
    (void)state;
    self_timer = weft_call_later(R, 1, cancel_self, ID(1));
    weft_timer *t = weft_call_later(R, 2, rec, ID(2));
    weft_timer *c = weft_call_later(R, 1.5, rec, ID(7));
    weft_timer_cancel(c);
    weft_timer_cancel(NULL);
    weft_timer_reset(t, 4);             /* now due at 4 */
    weft_call_later(R, 3, add_more, ID(3));
    weft_reactor_advance(R, 3.9);
    /* 1 at 1, add_more at 3, 99 at 3.5; 2 moved to 4 */
    assert_int_equal(norder, 3);
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 3);
    assert_int_equal(order[2], 99);
    assert_true(fired_at[2] == 3.5);
    weft_reactor_advance(R, 0.1);
    assert_int_equal(norder, 4);
    assert_int_equal(order[3], 2);
    /* the pending timer at 8 is freed by the reactor (ASan checks) */
}

/* ---- real clock ----------------------------------------------------------- */

static void stop_cb(void *arg)
{
    rec(arg);
    weft_reactor_stop(R);
}

static void test_real_order_and_stop(void **state)
{
    (void)state;
    /* Each deadline is taken when its timer is added, so they are added in
     * deadline order: a stall between two calls (a loaded CI machine) must
     * not let the stop timer overtake the others. */
    weft_call_later(R, 0.02, rec, ID(1));
    weft_call_later(R, 0.04, rec, ID(2));
    weft_call_later(R, 0.06, stop_cb, ID(3));
    double t0 = weft_reactor_now(R);
    assert_int_equal(weft_reactor_run(R), 0);
    double took = weft_reactor_now(R) - t0;
    assert_int_equal(norder, 3);
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 2);
    assert_int_equal(order[2], 3);
    assert_true(took >= 0.055 && took < 2.0);
    assert_true(weft_reactor_stopping(R));
}

static void test_real_cancel_sibling_same_tick(void **state)
{
    (void)state;
    weft_call_later(R, 0.01, cancel_sibling, ID(1));
    sibling = weft_call_later(R, 0.01, rec, ID(2));
    weft_call_later(R, 0.05, stop_cb, ID(3));
    weft_reactor_run(R);
    assert_int_equal(norder, 2);
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 3);
}

static void test_real_cancel_self_and_reset(void **state)
{
    (void)state;
    /* As above, deadlines are taken when a timer is added or reset, so
     * ID(3) is added before the reset: 0.05 s after it cannot come after
     * 0.08 s after the reset, however long the machine stalls between. */
    self_timer = weft_call_later(R, 0.01, cancel_self, ID(1));
    weft_timer *t = weft_call_later(R, 0.02, rec, ID(2));
    weft_call_later(R, 0.05, rec, ID(3));
    weft_timer_reset(t, 0.08);
    weft_call_later(R, 0.12, stop_cb, ID(4));
    weft_reactor_run(R);
    assert_int_equal(norder, 4);
    int want[] = {1, 3, 2, 4};
    for (int i = 0; i < 4; i++)
        assert_int_equal(order[i], want[i]);
}

static void test_run_returns_when_idle(void **state)
{
    (void)state;
    /* nothing to wait for: run returns at once */
    assert_int_equal(weft_reactor_run(R), 0);
    /* stop before run: run returns at once too */
    weft_reactor_stop(R);
    assert_int_equal(weft_reactor_run(R), 0);
}

/* ---- graceful stop with real sockets ---------------------------------------- */

typedef struct reader {
    int port;
    double delay;         /* seconds to wait before reading */
    int gate;             /* if > 0: read end of a pipe; wait for it (at
                             most 10 s) instead of the delay */
    size_t got;
    pthread_t th;
} reader;

static void *reader_main(void *arg)
{
    reader *rd = arg;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in in = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)rd->port)};
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&in, sizeof in) == 0) {
        if (rd->gate > 0) {
            struct pollfd pf = {.fd = rd->gate, .events = POLLIN};
            poll(&pf, 1, 10000);
        } else if (rd->delay > 0) {
            usleep((useconds_t)(rd->delay * 1e6));
        }
        char buf[65536];
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0)
            rd->got += (size_t)n;
    }
    close(fd);
    return NULL;
}

static size_t write_total;
static int disc_count, disc_code;

static void big_writer_connect(weft_conn *c)
{
    char *buf = calloc(1, 1 << 20);
    for (size_t i = 0; i < write_total; i += 1 << 20)
        weft_write(c, buf, 1 << 20);
    free(buf);
    weft_reactor_stop(weft_conn_reactor(c));
}

static void note_disconnect(weft_conn *c, const weft_reason *r)
{
    (void)c;
    disc_count++;
    disc_code = r->code;
}

static const weft_protocol big_writer = {
    .name = "big",
    .on_connect = big_writer_connect,
    .on_disconnect = note_disconnect,
};

static weft_port *listen_any(weft_factory *f)
{
    weft_error err;
    weft_port *p = weft_listen(R, "tcp:0:interface=127.0.0.1", f, &err);
    assert_non_null(p);
    return p;
}

static void test_stop_flushes_then_closes(void **state)
{
    (void)state;
    write_total = 4u << 20;
    disc_count = 0;
    weft_factory *f = weft_factory_new(R, &big_writer, NULL, NULL);
    weft_port *p = listen_any(f);
    reader rd = {.port = weft_port_number(p), .delay = 0.1};
    pthread_create(&rd.th, NULL, reader_main, &rd);
    assert_int_equal(weft_reactor_run(R), 0);
    pthread_join(rd.th, NULL);
    assert_int_equal(rd.got, write_total);
    assert_int_equal(disc_count, 1);
    assert_int_equal(disc_code, WEFT_EDONE);
    assert_int_equal(weft_factory_conn_count(f), 0);
    weft_factory_free(f);
}

static void test_stop_grace_expires_then_aborts(void **state)
{
    (void)state;
    write_total = 64u << 20;    /* more than loopback buffers hold */
    disc_count = 0;
    weft_reactor_set_grace(R, 0.2);
    weft_factory *f = weft_factory_new(R, &big_writer, NULL, NULL);
    weft_port *p = listen_any(f);
    /* The reader reads nothing until the reactor has returned, so the
     * connection can only end by the grace period running out, however
     * slow the machine is. */
    int gate[2];
    assert_int_equal(pipe(gate), 0);
    reader rd = {.port = weft_port_number(p), .gate = gate[0]};
    pthread_create(&rd.th, NULL, reader_main, &rd);
    double t0 = weft_reactor_now(R);
    assert_int_equal(weft_reactor_run(R), 0);
    double took = weft_reactor_now(R) - t0;
    assert_int_equal(write(gate[1], "x", 1), 1);
    assert_int_equal(disc_count, 1);
    assert_int_equal(disc_code, WEFT_EABORTED);
    assert_true(took >= 0.2);   /* waited the grace period first */
    pthread_join(rd.th, NULL);
    close(gate[0]);
    close(gate[1]);
    assert_true(rd.got < write_total);
    weft_factory_free(f);
}

static void raise_term(void *arg)
{
    (void)arg;
    raise(SIGTERM);
}

static int started, stopped;
static void on_start(weft_factory *f) { (void)f; started++; }
static void on_stop(weft_factory *f) { (void)f; stopped++; }

static void test_sigterm_stops(void **state)
{
    (void)state;
    static const weft_protocol nothing = {.name = "nothing"};
    weft_factory_hooks h = {.on_start = on_start, .on_stop = on_stop};
    started = stopped = 0;
    weft_factory *f = weft_factory_new(R, &nothing, &h, NULL);
    listen_any(f);
    assert_int_equal(weft_reactor_handle_signals(R), 0);
    weft_call_later(R, 0.02, raise_term, NULL);
    assert_int_equal(weft_reactor_run(R), 0);
    assert_true(weft_reactor_stopping(R));
    assert_int_equal(started, 1);
    assert_int_equal(stopped, 1);     /* its port was closed */
    weft_factory_free(f);
    signal(SIGTERM, SIG_DFL);
}

static void break_on_connect(weft_conn *c)
{
    event_base_loopbreak(weft_reactor_base(weft_conn_reactor(c)));
}

static void test_free_aborts_live_objects(void **state)
{
    (void)state;
    static const weft_protocol p = {
        .name = "live",
        .on_connect = break_on_connect,
        .on_disconnect = note_disconnect,
    };
    disc_count = 0;
    weft_factory_hooks h = {.on_start = on_start, .on_stop = on_stop};
    started = stopped = 0;
    weft_factory *f = weft_factory_new(R, &p, &h, NULL);
    weft_port *port = listen_any(f);
    reader rd = {.port = weft_port_number(port)};
    pthread_create(&rd.th, NULL, reader_main, &rd);
    weft_call_later(R, 100, rec, ID(1));      /* never fires */
    weft_reactor_run(R);                        /* until on_connect */
    weft_reactor_free(R);
    R = NULL;
    assert_int_equal(disc_count, 1);
    assert_int_equal(disc_code, WEFT_EABORTED);
    assert_int_equal(norder, 0);
    assert_int_equal(stopped, 1);
    pthread_join(rd.th, NULL);                  /* saw EOF */
    weft_factory_free(f);                       /* after its reactor: ok */
    R = weft_reactor_new();                     /* for teardown */
}


/* ---- stop cancels connecting and retrying --------------------------------- */

typedef struct failures {
    int n, code;
    int stop_at;          /* > 0: stop the reactor (from a timer) after
                             this many failures */
} failures;
static void stop_timer(void *arg)
{
    (void)arg;
    weft_reactor_stop(R);
}
static void count_fail(weft_factory *f, const weft_reason *r)
{
    failures *fl = weft_factory_user(f);
    fl->n++;
    fl->code = r->code;
    if (fl->n == fl->stop_at)
        weft_call_later(R, 0, stop_timer, NULL);
}

static void test_stop_cancels_attempts_and_retries(void **state)
{
    (void)state;
    static const weft_protocol nothing = {.name = "nothing"};
    weft_factory_hooks h = {.on_start = on_start, .on_stop = on_stop,
                            .connection_failed = count_fail};
    started = stopped = 0;
    /* Stop after three failed retries, however long they take on a slow
     * machine (a stop 0.2 s after the start could come before them). */
    failures fr = {0, 0, 3}, fh = {0, 0, 0};
    /* one factory retrying against a missing unix socket ... */
    weft_factory *retrying = weft_factory_new(R, &nothing, &h, &fr);
    weft_retry_policy pol = {.initial_delay = 0.01, .factor = 1, .jitter = 0,
                             .max_delay = 1, .max_retries = -1};
    weft_factory_set_retry(retrying, &pol);
    char path[64], ep[96];
    snprintf(path, sizeof path, "/tmp/weft-none-%d.sock", (int)getpid());
    unlink(path);
    snprintf(ep, sizeof ep, "unix:path=%s", path);
    weft_connect(R, ep, retrying, NULL);
    /* ... and one whose connect hangs: a full accept queue on loopback */
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in in = {.sin_family = AF_INET};
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof in;
    bind(lfd, (struct sockaddr *)&in, sizeof in);
    listen(lfd, 0);
    getsockname(lfd, (struct sockaddr *)&in, &sl);
    int fill[3];
    for (int i = 0; i < 3; i++) {
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(fill[i], (struct sockaddr *)&in, sizeof in);
    }
    /* the first filler's handshake fills the queue: wait for it */
    struct pollfd pf = {.fd = fill[0], .events = POLLOUT};
    assert_int_equal(poll(&pf, 1, 10000), 1);
    weft_factory *hanging = weft_factory_new(R, &nothing, &h, &fh);
    snprintf(ep, sizeof ep, "tcp:host=127.0.0.1:port=%d:timeout=10",
             ntohs(in.sin_port));
    weft_connect(R, ep, hanging, NULL);
    assert_int_equal(started, 2);
    weft_call_later(R, 9, stop_timer, NULL);   /* in case: fails below */
    double t0 = weft_reactor_now(R);
    assert_int_equal(weft_reactor_run(R), 0);
    assert_true(weft_reactor_now(R) - t0 < 9);  /* before the fallback */
    /* several retries failed (refused); stop cancelled the pending retry
     * without a callback (or, if a retry was just starting, that attempt,
     * with one), and the hanging attempt with one */
    assert_true(fr.n >= 3);
    assert_true(fr.code == WEFT_EREFUSED || fr.code == WEFT_ECANCELLED);
    assert_int_equal(fh.n, 1);
    assert_int_equal(fh.code, WEFT_ECANCELLED);
    assert_int_equal(stopped, 2);
    int before = fr.n;
    weft_factory_free(retrying);
    weft_factory_free(hanging);
    assert_int_equal(fr.n, before);
    assert_int_equal(fh.n, 1);
    for (int i = 0; i < 3; i++)
        close(fill[i]);
    close(lfd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_manual_order_and_ties,
                                        setup_manual, teardown),
        cmocka_unit_test_setup_teardown(test_manual_cancel_sibling_same_tick,
                                        setup_manual, teardown),
        cmocka_unit_test_setup_teardown(
            test_manual_cancel_self_reset_and_nested, setup_manual, teardown),
        cmocka_unit_test_setup_teardown(test_real_order_and_stop, setup_real,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_real_cancel_sibling_same_tick,
                                        setup_real, teardown),
        cmocka_unit_test_setup_teardown(test_real_cancel_self_and_reset,
                                        setup_real, teardown),
        cmocka_unit_test_setup_teardown(test_run_returns_when_idle,
                                        setup_real, teardown),
        cmocka_unit_test_setup_teardown(test_stop_flushes_then_closes,
                                        setup_real, teardown),
        cmocka_unit_test_setup_teardown(test_stop_grace_expires_then_aborts,
                                        setup_real, teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_stops, setup_real,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_free_aborts_live_objects,
                                        setup_real, teardown),
        cmocka_unit_test_setup_teardown(test_stop_cancels_attempts_and_retries,
                                        setup_real, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
