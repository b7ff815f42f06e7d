/* test_retry.c — ReconnectingClientFactory semantics on a manual clock:
 * delay growth and cap, max retries, jitter spread, reset on a successful
 * connection, stop_retrying. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "weft.h"

static weft_reactor *R;
static int fails, last_code, starts, stops, connects, disconnects, lost;
static weft_conn *last;
static char missing[64], ep[96];

static void h_failed(weft_factory *f, const weft_reason *r)
{
    (void)f;
    fails++;
    last_code = r->code;
}
static void h_start(weft_factory *f) { (void)f; starts++; }
static void h_stop(weft_factory *f) { (void)f; stops++; }
static void h_lost(weft_factory *f, weft_conn *c, const weft_reason *r)
{
    (void)f;
    (void)c;
    (void)r;
    lost++;
}
static const weft_factory_hooks hooks = {
    .on_start = h_start, .on_stop = h_stop, .connection_failed = h_failed,
    .connection_lost = h_lost,
};
static void p_connect(weft_conn *c) { connects++; last = c; }
static void p_disc(weft_conn *c, const weft_reason *r)
{
    (void)c;
    (void)r;
    disconnects++;
}
static const weft_protocol proto = {
    .name = "p", .on_connect = p_connect, .on_disconnect = p_disc,
};

/* Lets the socket side run (connect attempts start from the loop) without
 * touching the manual clock. */
static void spin(void)
{
    for (int i = 0; i < 20; i++)
        event_base_loop(weft_reactor_base(R), EVLOOP_NONBLOCK);
}

static int setup(void **state)
{
    (void)state;
    R = weft_reactor_new_manual();
    fails = last_code = starts = stops = connects = disconnects = lost = 0;
    last = NULL;
    snprintf(missing, sizeof missing, "/tmp/weft-retry-%d.sock", (int)getpid());
    unlink(missing);
    snprintf(ep, sizeof ep, "unix:path=%s:timeout=0", missing);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    weft_reactor_free(R);
    unlink(missing);
    return 0;
}

static void test_defaults_are_twisted(void **state)
{
    (void)state;
    assert_true(weft_retry_default.initial_delay == 1.0);
    assert_true(weft_retry_default.factor > 2.718 &&
                weft_retry_default.factor < 2.7183);
    assert_true(weft_retry_default.jitter > 0.1196 &&
                weft_retry_default.jitter < 0.1197);
    assert_true(weft_retry_default.max_delay == 3600);
    assert_true(weft_retry_default.max_retries < 0);
}

static void test_delays_grow_cap_and_give_up(void **state)
{
    (void)state;
    weft_factory *f = weft_factory_new(R, &proto, &hooks, NULL);
    weft_retry_policy pol = {.initial_delay = 1, .factor = 2, .jitter = 0,
                             .max_delay = 5, .max_retries = 4};
    weft_factory_set_retry(f, &pol);
    assert_true(weft_factory_retry_delay(f) == 1);
    assert_non_null(weft_connect(R, ep, f, NULL));
    assert_int_equal(starts, 1);
    spin();
    assert_int_equal(fails, 1);
    assert_int_equal(last_code, WEFT_EREFUSED);
    double want[] = {2, 4, 5, 5};
    for (int i = 0; i < 4; i++) {
        assert_true(weft_factory_retry_delay(f) == want[i]);
        weft_reactor_advance(R, want[i] - 0.01);
        spin();
        assert_int_equal(fails, i + 1);       /* not yet */
        weft_reactor_advance(R, 0.01);
        spin();
        assert_int_equal(fails, i + 2);       /* retried and failed */
    }
    /* retries exhausted: nothing more, and the factory stopped */
    weft_reactor_advance(R, 1000);
    spin();
    assert_int_equal(fails, 5);
    assert_int_equal(stops, 1);
    assert_int_equal(starts, 1);              /* never stopped in between */
    weft_factory_free(f);
}

static void test_jitter_spreads(void **state)
{
    (void)state;
    weft_factory *f = weft_factory_new(R, &proto, &hooks, NULL);
    weft_retry_policy pol = {.initial_delay = 10, .factor = 1, .jitter = 0.1,
                             .max_delay = 1e9, .max_retries = -1};
    weft_factory_set_retry(f, &pol);
    weft_connect(R, ep, f, NULL);
    spin();
    double lo = 1e9, hi = 0;
    for (int i = 0; i < 30; i++) {
        double d = weft_factory_retry_delay(f);
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
        weft_reactor_advance(R, d);
        spin();
        assert_int_equal(fails, i + 2);
    }
    /* factor 1: each delay is the previous one spread by ~10 % */
    assert_true(lo > 0);
    assert_true(hi > lo);
    weft_factory_stop_retrying(f);
    weft_factory_free(f);
}

static void test_reset_on_connect_and_stop_retrying(void **state)
{
    (void)state;
    weft_factory *srv = weft_factory_new(R, &proto, NULL, NULL);
    weft_factory *f = weft_factory_new(R, &proto, &hooks, NULL);
    weft_retry_policy pol = {.initial_delay = 1, .factor = 3, .jitter = 0,
                             .max_delay = 100, .max_retries = -1};
    weft_factory_set_retry(f, &pol);
    weft_connect(R, ep, f, NULL);
    spin();
    weft_reactor_advance(R, 3);
    spin();
    assert_int_equal(fails, 2);
    assert_true(weft_factory_retry_delay(f) == 9);
    /* a server appears; the next retry connects and resets the delay */
    char s[96];
    snprintf(s, sizeof s, "unix:%s", missing);
    weft_port *p = weft_listen(R, s, srv, NULL);
    assert_non_null(p);
    weft_reactor_advance(R, 9);
    for (int i = 0; i < 100 && connects < 2; i++)
        event_base_loop(weft_reactor_base(R), EVLOOP_ONCE);
    assert_int_equal(connects, 2);
    assert_true(weft_factory_retry_delay(f) == 1);
    /* the connection is lost: a retry is scheduled at initial * factor */
    weft_port_stop(p, NULL, NULL);
    weft_factory_free(srv);                   /* aborts the server side */
    for (int i = 0; i < 100 && lost < 1; i++)
        event_base_loop(weft_reactor_base(R), EVLOOP_ONCE);
    assert_int_equal(lost, 1);
    assert_true(weft_factory_retry_delay(f) == 3);
    assert_int_equal(stops, 0);               /* the pending retry keeps it */
    /* stopTrying: the pending retry is cancelled */
    weft_factory_stop_retrying(f);
    assert_int_equal(stops, 1);
    weft_reactor_advance(R, 100);
    spin();
    assert_int_equal(fails, 2);
    assert_int_equal(connects, 2);
    weft_factory_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_twisted),
#define T_(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T_(test_delays_grow_cap_and_give_up),
        T_(test_jitter_spreads),
        T_(test_reset_on_connect_and_stop_retrying),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
