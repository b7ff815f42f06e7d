/* test_factory.c — factory hooks: start/stop around ports and client
 * connections, build refusal, client hooks. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "weft.h"
#include "run_until.h"

static weft_reactor *R;
static int starts, stops, builds, refused_family, connects, disconnects;
static int started_connecting, failed, lost, lost_code, disc_code;
static bool refuse_all;
static weft_conn *last;

#define RUN_UNTIL(cond) RUN_UNTIL_WITHIN(R, 10, cond)

static void on_start(weft_factory *f)
{
    (void)f;
    starts++;
}
static void on_stop(weft_factory *f)
{
    (void)f;
    stops++;
}
static bool on_build(weft_factory *f, const struct sockaddr *sa, socklen_t l)
{
    (void)f;
    builds++;
    assert_non_null(sa);
    assert_true(l > 0);
    refused_family = sa->sa_family;
    return !refuse_all;
}
static void h_started(weft_factory *f, weft_attempt *a)
{
    (void)f;
    (void)a;
    started_connecting++;
}
static void h_failed(weft_factory *f, const weft_reason *r)
{
    (void)f;
    (void)r;
    failed++;
}
static void h_lost(weft_factory *f, weft_conn *c, const weft_reason *r)
{
    (void)f;
    assert_non_null(c);
    lost++;
    lost_code = r->code;
}

static const weft_factory_hooks hooks = {
    .on_start = on_start, .on_stop = on_stop, .on_build = on_build,
    .started_connecting = h_started, .connection_failed = h_failed,
    .connection_lost = h_lost,
};

static void p_connect(weft_conn *c)
{
    connects++;
    last = c;
}
static void p_disc(weft_conn *c, const weft_reason *r)
{
    (void)c;
    disconnects++;
    disc_code = r->code;
}
static const weft_protocol proto = {
    .name = "p", .on_connect = p_connect, .on_disconnect = p_disc,
};

static int setup(void **state)
{
    (void)state;
    R = weft_reactor_new();
    starts = stops = builds = refused_family = connects = disconnects = 0;
    started_connecting = failed = lost = lost_code = disc_code = 0;
    refuse_all = false;
    last = NULL;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    weft_reactor_free(R);
    return 0;
}

static void test_accessors(void **state)
{
    (void)state;
    int user = 7;
    weft_factory *f = weft_factory_new(R, &proto, NULL, &user);
    assert_ptr_equal(weft_factory_user(f), &user);
    assert_ptr_equal(weft_factory_protocol(f), &proto);
    assert_ptr_equal(weft_factory_reactor(f), R);
    assert_int_equal(weft_factory_conn_count(f), 0);
    weft_factory_free(f);
    weft_factory_free(NULL);
}

static void test_start_stop_with_ports(void **state)
{
    (void)state;
    weft_factory *f = weft_factory_new(R, &proto, &hooks, NULL);
    assert_int_equal(starts, 0);
    weft_port *a = weft_listen(R, "tcp:0:interface=127.0.0.1", f, NULL);
    assert_int_equal(starts, 1);
    weft_port *b = weft_listen(R, "tcp:0:interface=127.0.0.1", f, NULL);
    assert_int_equal(starts, 1);
    /* a failed listen changes nothing */
    char s[64];
    snprintf(s, sizeof s, "tcp:%d:interface=127.0.0.1", weft_port_number(a));
    assert_null(weft_listen(R, s, f, NULL));
    weft_port_stop(a, NULL, NULL);
    assert_int_equal(stops, 0);
    weft_port_stop(b, NULL, NULL);
    assert_int_equal(stops, 1);
    /* and again */
    weft_listen(R, "tcp:0:interface=127.0.0.1", f, NULL);
    assert_int_equal(starts, 2);
    weft_factory_free(f);      /* closes the port: doStop */
    assert_int_equal(stops, 2);
}

static void test_build_refused(void **state)
{
    (void)state;
    refuse_all = true;
    weft_factory *srv = weft_factory_new(R, &proto, &hooks, NULL);
    weft_factory *cli = weft_factory_new(R, &proto, NULL, NULL);
    weft_port *p = weft_listen(R, "tcp:0:interface=127.0.0.1", srv, NULL);
    char s[64];
    snprintf(s, sizeof s, "tcp:host=127.0.0.1:port=%d", weft_port_number(p));
    weft_connect(R, s, cli, NULL);
    /* the client connects, then sees the server close at once */
    RUN_UNTIL(disconnects == 1);
    assert_int_equal(builds, 1);
    assert_int_equal(refused_family, AF_INET);
    assert_int_equal(connects, 1);            /* the client side only */
    assert_int_equal(weft_factory_conn_count(srv), 0);
    weft_factory_free(cli);
    weft_factory_free(srv);
}

static void test_client_hooks_and_start_stop(void **state)
{
    (void)state;
    weft_factory *srv = weft_factory_new(R, &proto, NULL, NULL);
    weft_factory *cli = weft_factory_new(R, &proto, &hooks, NULL);
    weft_port *p = weft_listen(R, "tcp:0:interface=127.0.0.1", srv, NULL);
    char s[64];
    snprintf(s, sizeof s, "tcp:host=127.0.0.1:port=%d", weft_port_number(p));
    assert_non_null(weft_connect(R, s, cli, NULL));
    assert_int_equal(starts, 1);
    assert_int_equal(started_connecting, 1);
    RUN_UNTIL(connects == 2);
    assert_int_equal(builds, 1);              /* client builds too */
    assert_int_equal(weft_factory_conn_count(cli), 1);
    assert_int_equal(stops, 0);               /* its connection keeps it */
    /* the server side closes: the client loses its connection */
    weft_conn *server_side = last;
    (void)server_side;
    weft_port_stop(p, NULL, NULL);
    weft_factory_free(srv);                   /* aborts the server side */
    RUN_UNTIL(lost == 1);
    assert_int_equal(lost_code, WEFT_EDONE);  /* a clean FIN to the client */
    assert_int_equal(failed, 0);
    assert_int_equal(stops, 1);
    weft_factory_free(cli);
    assert_int_equal(stops, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T_(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T_(test_accessors),
        T_(test_start_stop_with_ports),
        T_(test_build_refused),
        T_(test_client_hooks_and_start_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
