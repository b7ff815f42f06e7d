/* test_gen_glue.c — the generated libweft glue over real loopback sockets,
 * where the runtime frees a connection that ends outside its callbacks.
 *
 * A weft timer (outside every callback of the connection) calls
 * NAME_resume or NAME_set_mode; the line or block delivered next has a
 * handler that aborts or closes the connection.  The glue must not touch
 * the parser or the connection after the call that may free them (run under
 * ASan by make test: a use-after-free fails the test).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "chat.h"
#include "netstring.h"
#include "weft.h"
#include "run_until.h"

static weft_reactor *R;

#define RUN_UNTIL(cond) RUN_UNTIL_WITHIN(R, 10, cond)

/* What the server saw; lives outside the (freed) connection. */
static struct {
    int connects, disconnects, reason;
    int resumed, switched;          /* the timer ran */
    char got[64];                   /* lines / payload bytes, in order */
    size_t got_len;
    void *parser;                   /* the connection's parser */
    int use_abort;
} S;

static void got(const char *d, size_t len)
{
    assert_true(S.got_len + len < sizeof S.got);
    memcpy(S.got + S.got_len, d, len);
    S.got_len += len;
    S.got[S.got_len] = 0;
}

static void end_conn(weft_conn *c)
{
    if (S.use_abort)
        weft_abort(c);
    else
        weft_close(c);
}

/* A blocking client socket connected to the server's port. */
static int client_to(weft_port *port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)weft_port_number(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static void send_all(int fd, const char *s)
{
    size_t n = strlen(s);

    assert_int_equal(write(fd, s, n), (ssize_t)n);
}

static weft_port *listen_local(weft_factory *f)
{
    weft_error err;
    weft_port *p = weft_listen(R, "tcp:0:interface=127.0.0.1", f, &err);

    if (!p)
        fail_msg("%s", err.msg);
    return p;
}

static int setup(void **state)
{
    (void)state;
    memset(&S, 0, sizeof S);
    R = weft_reactor_new();
    return R ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    weft_reactor_free(R);
    return 0;
}

/* ---- chat: pause in a callback, resume from a timer --------------------- */

static void c_connect(chat_parser *p)
{
    S.connects++;
    S.parser = p;
}

static void c_nick(chat_parser *p, const chat_nick *m)
{
    (void)p;
    got(m->name.p, m->name.len);
    got("|", 1);
}

static void resume_later(void *arg)
{
    (void)arg;
    S.resumed++;
    chat_resume(S.parser);          /* may free the connection */
}

static void c_message(chat_parser *p, const chat_message *m)
{
    got(m->text.p, m->text.len);
    got("|", 1);
    if (m->text.len == 5 && memcmp(m->text.p, "pause", 5) == 0) {
        chat_pause(p);
        weft_call_later(R, 0.01, resume_later, NULL);
    } else if (m->text.len == 4 && memcmp(m->text.p, "quit", 4) == 0) {
        end_conn(chat_conn(p));
    }
}

static void c_disconnect(chat_parser *p, const weft_reason *r)
{
    (void)p;
    S.disconnects++;
    S.reason = r->code;
    S.parser = NULL;
}

static const chat_callbacks chat_cb = {
    .on_connect = c_connect,
    .on_nick = c_nick,
    .on_message = c_message,
    .on_disconnect = c_disconnect,
};

static void resume_then_end(int use_abort)
{
    weft_protocol proto;
    weft_factory *f;
    weft_port *port;
    int fd;

    S.use_abort = use_abort;
    chat_protocol_init(&proto, &chat_cb, 0);
    f = weft_factory_new(R, &proto, NULL, NULL);
    port = listen_local(f);
    fd = client_to(port);
    /* One write: "quit" waits in the runtime's buffer while paused. */
    send_all(fd, "bob\npause\nquit\nnever\n");
    RUN_UNTIL(S.disconnects == 1);
    assert_int_equal(S.resumed, 1);
    assert_string_equal(S.got, "bob|pause|quit|");
    assert_int_equal(S.reason, use_abort ? WEFT_EABORTED : WEFT_EDONE);
    close(fd);
    weft_factory_free(f);
}

static void test_resume_from_timer_then_abort(void **state)
{
    (void)state;
    resume_then_end(1);
}

static void test_resume_from_timer_then_close(void **state)
{
    (void)state;
    resume_then_end(0);
}

/* ---- netstring: switch mode from a timer over a held partial line -------- */

static void n_connect(netstring_parser *p)
{
    S.connects++;
    S.parser = p;
}

static void n_length(netstring_parser *p, const netstring_length *m)
{
    char num[24];                   /* the capture is not NUL-terminated */

    assert_true(m->len.len < sizeof num);
    memcpy(num, m->len.p, m->len.len);
    num[m->len.len] = '\0';
    got(m->len.p, m->len.len);
    got(":", 1);
    netstring_set_mode(p, NETSTRING_MODE_PAYLOAD, strtoull(num, NULL, 10));
}

static void n_payload(netstring_parser *p, const char *d, size_t len)
{
    got(d, len);
    if (len > 0 && d[len - 1] == 'Q')
        end_conn(netstring_conn(p));
}

static void n_end(netstring_parser *p)
{
    (void)p;
    got(",", 1);
}

static void n_disconnect(netstring_parser *p, const weft_reason *r)
{
    (void)p;
    S.disconnects++;
    S.reason = r->code;
    S.parser = NULL;
}

static const netstring_callbacks ns_cb = {
    .on_connect = n_connect,
    .on_length = n_length,
    .on_payload = n_payload,
    .on_payload_end = n_end,
    .on_disconnect = n_disconnect,
};

static void switch_later(void *arg)
{
    (void)arg;
    S.switched++;
    /* "aQ" is held as a partial length line; as payload its handler ends
     * the connection. */
    netstring_set_mode(S.parser, NETSTRING_MODE_PAYLOAD, 2);
}

static void switch_then_end(int use_abort)
{
    weft_protocol proto;
    weft_factory *f;
    weft_port *port;
    int fd;

    S.use_abort = use_abort;
    netstring_protocol_init(&proto, &ns_cb, 0);
    f = weft_factory_new(R, &proto, NULL, NULL);
    port = listen_local(f);
    fd = client_to(port);
    send_all(fd, "2:ok,aQ");
    RUN_UNTIL(S.got_len == 5);                /* "2:ok," parsed, "aQ" held */
    assert_string_equal(S.got, "2:ok,");
    weft_call_later(R, 0.001, switch_later, NULL);
    RUN_UNTIL(S.switched == 1);
    /* The held bytes are re-parsed as payload with the next read. */
    send_all(fd, ",");
    RUN_UNTIL(S.disconnects == 1);
    assert_string_equal(S.got, "2:ok,aQ");
    assert_int_equal(S.reason, use_abort ? WEFT_EABORTED : WEFT_EDONE);
    close(fd);
    weft_factory_free(f);
}

static void test_switch_from_timer_then_abort(void **state)
{
    (void)state;
    switch_then_end(1);
}

static void test_switch_from_timer_then_close(void **state)
{
    (void)state;
    switch_then_end(0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_resume_from_timer_then_abort,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_from_timer_then_close,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_switch_from_timer_then_abort,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_switch_from_timer_then_close,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
