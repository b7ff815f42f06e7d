/* test_conn_alloc.c — request/response traffic over a loopback socket does
 * not allocate an output buffer per reply: the reactor keeps one emptied
 * output buffer and hands it to the next connection that writes.
 *
 * libevent's allocations are counted through event_set_mem_functions (it
 * must be called before any other libevent call, hence a file of its own).
 * An output buffer (struct evbuffer) is a small allocation; the chains
 * that hold the bytes are at least 512 bytes.  Without the reuse every
 * reply costs one small allocation on each side. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "weft.h"
#include "run_until.h"

#define ROUNDS 200
#define SMALL 256              /* below every chain libevent allocates */

static size_t small_allocs;   /* libevent allocations under SMALL bytes */

static void *count_malloc(size_t n)
{
    if (n < SMALL)
        small_allocs++;
    return malloc(n);
}

static void *count_realloc(void *p, size_t n)
{
    if (!p && n < SMALL)
        small_allocs++;
    return realloc(p, n);
}

static weft_reactor *R;
static int rounds;            /* replies the client has read */
static int disconnects;

#define RUN_UNTIL(cond) RUN_UNTIL_WITHIN(R, 20, cond)

/* server: answers every "ping\n" with "pong\n" (not an echo of its input,
 * so the echo fast path does not apply), through the output buffer itself
 * (weft_conn_output); the client writes with weft_write */
static void srv_connect(weft_conn *c) { (void)c; }
static void srv_data(weft_conn *c, const char *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (d[i] == '\n')
            assert_int_equal(evbuffer_add(weft_conn_output(c), "pong\n", 5),
                             0);
}
static void any_disc(weft_conn *c, const weft_reason *r)
{
    (void)c;
    (void)r;
    disconnects++;
}
static const weft_protocol srv = {
    .name = "pong", .on_connect = srv_connect, .on_data = srv_data,
    .on_disconnect = any_disc,
};

/* client: one request in flight; the next goes out when a reply is in */
static void cli_connect(weft_conn *c)
{
    assert_int_equal(weft_write(c, "ping\n", 5), 0);
}
static void cli_data(weft_conn *c, const char *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (d[i] != '\n')
            continue;
        if (++rounds < ROUNDS)
            assert_int_equal(weft_write(c, "ping\n", 5), 0);
        else
            weft_close(c);
    }
}
static const weft_protocol cli = {
    .name = "ping", .on_connect = cli_connect, .on_data = cli_data,
    .on_disconnect = any_disc,
};

static void test_replies_reuse_output_buffer(void **state)
{
    (void)state;
    R = weft_reactor_new();
    assert_non_null(R);
    weft_factory *sf = weft_factory_new(R, &srv, NULL, NULL);
    weft_factory *cf = weft_factory_new(R, &cli, NULL, NULL);
    weft_error err;
    weft_port *p = weft_listen(R, "tcp:0:interface=127.0.0.1", sf, &err);
    if (!p)
        fail_msg("%s", err.msg);
    char ep[96];
    snprintf(ep, sizeof ep, "tcp:host=127.0.0.1:port=%d",
             weft_port_number(p));
    if (!weft_connect(R, ep, cf, &err))
        fail_msg("%s", err.msg);

    /* warm up: connections, events, the first output buffers */
    RUN_UNTIL(rounds >= 10);
    size_t before = small_allocs;
    int from = rounds;
    RUN_UNTIL(rounds >= ROUNDS && disconnects == 2);
    size_t per_run = small_allocs - before;
    int done = rounds - from;
    assert_int_equal(rounds, ROUNDS);
    /* two replies (one each way) per round; a buffer per reply would be
     * 2 * done small allocations.  Allow a few for the close. */
    if (per_run > 16)
        fail_msg("%zu small allocations for %d round trips", per_run, done);

    weft_factory_free(cf);
    weft_factory_free(sf);
    weft_reactor_free(R);
}

int main(void)
{
    event_set_mem_functions(count_malloc, count_realloc, free);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replies_reuse_output_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
