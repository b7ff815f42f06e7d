/* test_endpoint.c — endpoint strings (a table of good and bad strings with
 * exact messages), listening (tcp:0, tcp6, unix, address in use, port stop),
 * connecting (refused, timed out, cancelled, localhost via the hosts file,
 * unix). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/dns.h>

#include "weft.h"
#include "run_until.h"
#include "internal.h"

/* ---- parsing -------------------------------------------------------------- */

typedef struct good {
    const char *s;
    bool server;
    weft_endpoint_kind kind;
    const char *host;
    int port;
    const char *path;
    int backlog;
    double timeout;
    unsigned mode;   /* 0: no mode */
    const char *bind;
} good;

static const good goods[] = {
    {"tcp:8080", true, WEFT_ENDPOINT_TCP, "", 8080, "", 50, 30, 0, ""},
    {"tcp:0", true, WEFT_ENDPOINT_TCP, "", 0, "", 50, 30, 0, ""},
    {"tcp:65535:interface=127.0.0.1:backlog=7", true, WEFT_ENDPOINT_TCP,
     "127.0.0.1", 65535, "", 7, 30, 0, ""},
    {"tcp:port=80:interface=0.0.0.0", true, WEFT_ENDPOINT_TCP, "0.0.0.0", 80,
     "", 50, 30, 0, ""},
    {"tcp:80:10.0.0.1:9", true, WEFT_ENDPOINT_TCP, "10.0.0.1", 80, "", 9, 30,
     0, ""},
    {"tcp6:8080:interface=\\:\\:1", true, WEFT_ENDPOINT_TCP6, "::1", 8080, "",
     50, 30, 0, ""},
    {"tcp:1:interface=\\:\\:", true, WEFT_ENDPOINT_TCP, "::", 1, "", 50, 30,
     0, ""},
    {"unix:/tmp/a.sock", true, WEFT_ENDPOINT_UNIX, "", -1, "/tmp/a.sock", 50,
     30, 0, ""},
    {"unix:/tmp/x\\:y.sock:mode=0660:backlog=3", true, WEFT_ENDPOINT_UNIX, "",
     -1, "/tmp/x:y.sock", 3, 30, 0660, ""},
    {"unix:address=/run/s:lockfile=0", true, WEFT_ENDPOINT_UNIX, "", -1,
     "/run/s", 50, 30, 0, ""},
    {"tcp:host=example.com:port=80", false, WEFT_ENDPOINT_TCP, "example.com",
     80, "", 50, 30, 0, ""},
    {"tcp:example.com:443:timeout=2.5", false, WEFT_ENDPOINT_TCP,
     "example.com", 443, "", 50, 2.5, 0, ""},
    {"tcp:host=127.0.0.1:port=1:timeout=0:bindAddress=127.0.0.2", false,
     WEFT_ENDPOINT_TCP, "127.0.0.1", 1, "", 50, 0, 0, "127.0.0.2"},
    {"tcp:port=7:host=h\\=x", false, WEFT_ENDPOINT_TCP, "h=x", 7, "", 50, 30,
     0, ""},
    {"tcp6:host=\\:\\:1:port=9", false, WEFT_ENDPOINT_TCP6, "::1", 9, "", 50,
     30, 0, ""},
    {"unix:path=/tmp/s:timeout=1", false, WEFT_ENDPOINT_UNIX, "", -1,
     "/tmp/s", 50, 1, 0, ""},
    {"unix:/tmp/s:checkPID=1", false, WEFT_ENDPOINT_UNIX, "", -1, "/tmp/s",
     50, 30, 0, ""},
};

static void test_parse_good(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof goods / sizeof goods[0]; i++) {
        const good *g = &goods[i];
        weft_endpoint ep;
        weft_error err = {0};
        int rc = weft_endpoint_parse(g->s, g->server, &ep, &err);
        if (rc != 0)
            fail_msg("%s: %s", g->s, err.msg);
        assert_int_equal(ep.kind, g->kind);
        assert_int_equal(ep.server, g->server);
        assert_string_equal(ep.host, g->host);
        assert_int_equal(ep.port, g->port);
        assert_string_equal(ep.path, g->path);
        assert_int_equal(ep.backlog, g->backlog);
        assert_true(ep.timeout == g->timeout);
        assert_int_equal(ep.has_mode, g->mode != 0);
        if (g->mode)
            assert_int_equal(ep.mode, g->mode);
        assert_string_equal(ep.bind_address, g->bind);
    }
}

typedef struct badcase {
    const char *s;
    bool server;
    const char *msg;
} badcase;

static const badcase bads[] = {
    {"tcp:notaport", true, "tcp:notaport: port must be a number from 0 to 65535"},
    {"tcp:65536", true, "tcp:65536: port must be a number from 0 to 65535"},
    {"tcp:-1", true, "tcp:-1: port must be a number from 0 to 65535"},
    {"tcp: 80", true, "tcp: 80: port must be a number from 0 to 65535"},
    {"tcp:", true, "tcp:: port must be a number from 0 to 65535"},
    {"tcp", true, "tcp: missing port"},
    {"", true, "empty endpoint string"},
    {"ssl:443", true,
     "ssl:443: unknown endpoint kind 'ssl' (expected tcp, tcp6 or unix)"},
    {"TCP:80", true,
     "TCP:80: unknown endpoint kind 'TCP' (expected tcp, tcp6 or unix)"},
    {"port=80", true,
     "port=80: the endpoint kind (tcp, tcp6 or unix) comes first"},
    {"tcp:80:bogus=1", true,
     "tcp:80:bogus=1: unknown option 'bogus' (tcp servers take port, "
     "interface, backlog)"},
    {"tcp:80:host=x", true,
     "tcp:80:host=x: unknown option 'host' (tcp servers take port, "
     "interface, backlog)"},
    {"tcp:80:port=81", true, "tcp:80:port=81: port given twice"},
    {"tcp:80:127.0.0.1:5:x", true,
     "tcp:80:127.0.0.1:5:x: too many positional arguments (tcp servers take "
     "port, interface, backlog)"},
    {"tcp:80:interface=localhost", true,
     "tcp:80:interface=localhost: interface must be a numeric IP address"},
    {"tcp6:80:interface=127.0.0.1", true,
     "tcp6:80:interface=127.0.0.1: interface must be a numeric IPv6 address"},
    {"tcp:80:interface=::1", true,
     "tcp:80:interface=::1: interface given twice (escape the colons of an "
     "IPv6 address: \\:\\:1)"},
    {"tcp:80:backlog=0", true,
     "tcp:80:backlog=0: backlog must be a number from 1 to 65535"},
    {"tcp:80:backlog=x", true,
     "tcp:80:backlog=x: backlog must be a number from 1 to 65535"},
    {"tcp:80\\", true,
     "tcp:80\\: a backslash at the end escapes nothing"},
    {"unix", true, "unix: missing path"},
    {"unix:", true, "unix:: path must not be empty"},
    {"unix:/tmp/s:mode=999", true,
     "unix:/tmp/s:mode=999: mode must be an octal number such as 0660"},
    {"unix:/tmp/s:lockfile=2", true,
     "unix:/tmp/s:lockfile=2: lockfile must be 0 or 1"},
    {"unix:/" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", true,
     "unix:/" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     ": path is too long (at most 107 bytes)"},
    {"tcp:host=x", false, "tcp:host=x: missing port"},
    {"tcp:port=80", false, "tcp:port=80: missing host"},
    {"tcp:host=:port=80", false, "tcp:host=:port=80: host must not be empty"},
    {"tcp:host=x:port=0", false,
     "tcp:host=x:port=0: port must be a number from 1 to 65535"},
    {"tcp:host=x:port=80:timeout=-1", false,
     "tcp:host=x:port=80:timeout=-1: timeout must be a number of seconds"},
    {"tcp:host=x:port=80:timeout=abc", false,
     "tcp:host=x:port=80:timeout=abc: timeout must be a number of seconds"},
    {"tcp:host=x:port=80:timeout=", false,
     "tcp:host=x:port=80:timeout=: timeout must be a number of seconds"},
    {"tcp:host=x:port=80:bindAddress=nohost", false,
     "tcp:host=x:port=80:bindAddress=nohost: bindAddress must be a numeric "
     "IP address"},
    {"tcp:host=x:port=80:interface=1.2.3.4", false,
     "tcp:host=x:port=80:interface=1.2.3.4: unknown option 'interface' (tcp "
     "clients take host, port, timeout, bindAddress)"},
    {"tcp:8080", false, "tcp:8080: missing port"},
    {"unix:path=/s:mode=0600", false,
     "unix:path=/s:mode=0600: unknown option 'mode' (unix clients take "
     "path, timeout)"},
    {"unix:timeout=1", false, "unix:timeout=1: missing path"},
};

static void test_parse_bad(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        weft_endpoint ep;
        weft_error err = {0};
        int rc = weft_endpoint_parse(bads[i].s, bads[i].server, &ep, &err);
        if (rc != WEFT_EENDPOINT)
            fail_msg("accepted: %s", bads[i].s);
        assert_int_equal(err.code, WEFT_EENDPOINT);
        if (strcmp(err.msg, bads[i].msg) != 0)
            fail_msg("%s:\n got  %s\n want %s", bads[i].s, err.msg,
                     bads[i].msg);
    }
    /* NULL err is allowed */
    weft_endpoint ep;
    assert_int_equal(weft_endpoint_parse("tcp:x", true, &ep, NULL),
                     WEFT_EENDPOINT);
}

/* ---- listening and connecting ----------------------------------------------- */

static weft_reactor *R;
static int connects, disconnects, fails, fail_code, lost, started_conn;
static char fail_text[256];
static weft_conn *last_conn;

static void on_connect(weft_conn *c)
{
    connects++;
    last_conn = c;
}

static void on_disconnect(weft_conn *c, const weft_reason *r)
{
    (void)c;
    (void)r;
    disconnects++;
}

static const weft_protocol plain = {
    .name = "plain",
    .on_connect = on_connect,
    .on_disconnect = on_disconnect,
};

static void stop_now(void)
{
    event_base_loopbreak(weft_reactor_base(R));
}

static void stop_cb(void *arg)
{
    (void)arg;
    stop_now();
}

static void conn_failed(weft_factory *f, const weft_reason *r)
{
    (void)f;
    fails++;
    fail_code = r->code;
    snprintf(fail_text, sizeof fail_text, "%s", r->text);
    stop_now();
}

static void conn_lost(weft_factory *f, weft_conn *c, const weft_reason *r)
{
    (void)f;
    (void)c;
    (void)r;
    lost++;
}

static void started(weft_factory *f, weft_attempt *a)
{
    (void)f;
    assert_non_null(a);
    started_conn++;
}

static const weft_factory_hooks client_hooks = {
    .started_connecting = started,
    .connection_failed = conn_failed,
    .connection_lost = conn_lost,
};

static int setup(void **state)
{
    (void)state;
    R = weft_reactor_new();
    connects = disconnects = fails = fail_code = lost = started_conn = 0;
    fail_text[0] = '\0';
    last_conn = NULL;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    weft_reactor_free(R);
    return 0;
}

/* Runs the loop until `cond` holds; fails after 20 s (a generous bound
 * for an ASan build on a loaded machine; passing tests take far less). */
#define RUN_UNTIL(cond) RUN_UNTIL_WITHIN(R, 20, cond)

static void test_listen_tcp0_and_in_use(void **state)
{
    (void)state;
    weft_factory *f = weft_factory_new(R, &plain, NULL, NULL);
    weft_error err;
    weft_port *p = weft_listen(R, "tcp:0:interface=127.0.0.1", f, &err);
    assert_non_null(p);
    int port = weft_port_number(p);
    assert_true(port > 0);
    char want[64], s[64];
    snprintf(want, sizeof want, "tcp:127.0.0.1:%d", port);
    assert_string_equal(weft_port_text(p), want);
    snprintf(s, sizeof s, "tcp:%d:interface=127.0.0.1", port);
    assert_null(weft_listen(R, s, f, &err));
    assert_int_equal(err.code, WEFT_EADDRINUSE);
    char msg[128];
    snprintf(msg, sizeof msg, "%s: address already in use", s);
    assert_string_equal(err.msg, msg);
    /* a bad string fails before touching the network */
    assert_null(weft_listen(R, "tcp:notaport", f, &err));
    assert_string_equal(err.msg,
                        "tcp:notaport: port must be a number from 0 to 65535");
    /* several ports per factory */
    weft_port *p2 = weft_listen(R, "tcp:0:interface=127.0.0.1", f, &err);
    assert_non_null(p2);
    assert_int_not_equal(weft_port_number(p2), port);
    weft_port_stop(p2, NULL, NULL);
    weft_factory_free(f);
}

static void mark(void *arg) { *(int *)arg = 1; }

static void test_connect_and_port_stop(void **state)
{
    (void)state;
    weft_factory *srv = weft_factory_new(R, &plain, NULL, NULL);
    weft_factory *cli = weft_factory_new(R, &plain, &client_hooks, NULL);
    weft_error err;
    weft_port *p = weft_listen(R, "tcp:0:interface=127.0.0.1", srv, &err);
    char s[96];
    snprintf(s, sizeof s, "tcp:host=127.0.0.1:port=%d:timeout=5",
             weft_port_number(p));
    assert_non_null(weft_connect(R, s, cli, &err));
    assert_int_equal(started_conn, 1);
    RUN_UNTIL(connects == 2);
    assert_int_equal(weft_factory_conn_count(srv), 1);
    assert_int_equal(weft_factory_conn_count(cli), 1);
    /* stopping the port leaves its connection alone */
    int done = 0;
    weft_port_stop(p, mark, &done);
    assert_int_equal(done, 1);
    assert_int_equal(weft_factory_conn_count(srv), 1);
    weft_close(last_conn);
    RUN_UNTIL(disconnects == 2);
    assert_int_equal(lost, 1);
    assert_int_equal(fails, 0);
    weft_factory_free(cli);
    weft_factory_free(srv);
}

static int closed_port(void)
{
    /* bind a port, then close it: nothing listens there now */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in in = {.sin_family = AF_INET};
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof in;
    bind(fd, (struct sockaddr *)&in, sizeof in);
    getsockname(fd, (struct sockaddr *)&in, &sl);
    close(fd);
    return ntohs(in.sin_port);
}

static void test_connect_refused(void **state)
{
    (void)state;
    weft_factory *cli = weft_factory_new(R, &plain, &client_hooks, NULL);
    char s[96];
    snprintf(s, sizeof s, "tcp:host=127.0.0.1:port=%d", closed_port());
    weft_error err;
    assert_non_null(weft_connect(R, s, cli, &err));
    assert_int_equal(fails, 0);       /* never from inside weft_connect */
    RUN_UNTIL(fails == 1);
    assert_int_equal(fail_code, WEFT_EREFUSED);
    assert_string_equal(fail_text, "connection refused");
    assert_int_equal(connects, 0);
    weft_factory_free(cli);
}

static void test_connect_timeout_full_backlog(void **state)
{
    (void)state;
    /* A listener that never accepts, with its accept queue filled: Linux
     * drops further SYNs, so a connect stays pending on loopback. */
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in in = {.sin_family = AF_INET};
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof in;
    assert_int_equal(bind(lfd, (struct sockaddr *)&in, sizeof in), 0);
    assert_int_equal(listen(lfd, 0), 0);
    getsockname(lfd, (struct sockaddr *)&in, &sl);
    int fill[4];
    for (int i = 0; i < 4; i++) {
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(fill[i], (struct sockaddr *)&in, sizeof in);
    }
    /* the first filler's handshake fills the queue: wait for it */
    struct pollfd pf = {.fd = fill[0], .events = POLLOUT};
    assert_int_equal(poll(&pf, 1, 10000), 1);
    weft_factory *cli = weft_factory_new(R, &plain, &client_hooks, NULL);
    char s[96];
    snprintf(s, sizeof s, "tcp:host=127.0.0.1:port=%d:timeout=0.3",
             ntohs(in.sin_port));
    double t0 = weft_reactor_now(R);
    assert_non_null(weft_connect(R, s, cli, NULL));
    RUN_UNTIL(fails == 1);
    double took = weft_reactor_now(R) - t0;
    assert_int_equal(fail_code, WEFT_ETIMEDOUT);
    assert_string_equal(fail_text, "timed out");
    assert_true(took >= 0.29 && took < 10);  /* not early; 30 times late */
    assert_int_equal(connects, 0);
    weft_factory_free(cli);
    for (int i = 0; i < 4; i++)
        close(fill[i]);
    close(lfd);
}

static void test_connect_cancel(void **state)
{
    (void)state;
    weft_factory *srv = weft_factory_new(R, &plain, NULL, NULL);
    weft_factory *cli = weft_factory_new(R, &plain, &client_hooks, NULL);
    weft_port *p = weft_listen(R, "tcp:0:interface=127.0.0.1", srv, NULL);
    char s[96];
    snprintf(s, sizeof s, "tcp:host=127.0.0.1:port=%d", weft_port_number(p));
    weft_attempt *a = weft_connect(R, s, cli, NULL);
    weft_attempt_cancel(a);
    assert_int_equal(fails, 1);
    assert_int_equal(fail_code, WEFT_ECANCELLED);
    assert_string_equal(fail_text, "cancelled");
    /* nothing more happens for it */
    weft_call_later(R, 0.1, stop_cb, NULL);
    weft_reactor_run(R);
    assert_int_equal(connects, 0);
    assert_int_equal(fails, 1);
    weft_factory_free(cli);
    weft_factory_free(srv);
}

/* A UDP socket on loopback that never answers plays the name server, so
 * a lookup stays pending without any packet leaving the machine. */
static int mute_dns(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in in = {.sin_family = AF_INET};
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof in;
    bind(fd, (struct sockaddr *)&in, sizeof in);
    getsockname(fd, (struct sockaddr *)&in, &sl);
    R->dns = evdns_base_new(R->base, 0);
    char ns[64];
    snprintf(ns, sizeof ns, "127.0.0.1:%d", ntohs(in.sin_port));
    assert_int_equal(evdns_base_nameserver_ip_add(R->dns, ns), 0);
    return fd;
}

static void cancel_it(void *arg) { weft_attempt_cancel(arg); }

static void test_cancel_and_timeout_during_dns(void **state)
{
    (void)state;
    int dfd = mute_dns();
    weft_factory *cli = weft_factory_new(R, &plain, &client_hooks, NULL);
    weft_attempt *a = weft_connect(R, "tcp:host=no-such-host.test:port=80",
                                   cli, NULL);
    weft_call_later(R, 0.1, cancel_it, a);
    RUN_UNTIL(fails == 1);
    assert_int_equal(fail_code, WEFT_ECANCELLED);
    assert_non_null(weft_connect(
        R, "tcp:host=no-such-host.test:port=80:timeout=0.2", cli, NULL));
    RUN_UNTIL(fails == 2);
    assert_int_equal(fail_code, WEFT_ETIMEDOUT);
    weft_factory_free(cli);
    close(dfd);
}

static void test_localhost_from_hosts_file(void **state)
{
    (void)state;
    weft_factory *srv = weft_factory_new(R, &plain, NULL, NULL);
    weft_factory *cli = weft_factory_new(R, &plain, &client_hooks, NULL);
    weft_port *p = weft_listen(R, "tcp:0:interface=127.0.0.1", srv, NULL);
    char s[96];
    snprintf(s, sizeof s, "tcp:host=localhost:port=%d:timeout=3",
             weft_port_number(p));
    assert_non_null(weft_connect(R, s, cli, NULL));
    RUN_UNTIL(connects == 2 || fails > 0);
    if (fails)
        fail_msg("localhost: %s", fail_text);
    weft_close(last_conn);
    RUN_UNTIL(disconnects == 2);
    weft_factory_free(cli);
    weft_factory_free(srv);
}

static void test_unix_listen_connect_remove(void **state)
{
    (void)state;
    char path[64], s[96], cs[96];
    snprintf(path, sizeof path, "/tmp/weft-test-%d.sock", (int)getpid());
    unlink(path);
    snprintf(s, sizeof s, "unix:%s:mode=0600", path);
    snprintf(cs, sizeof cs, "unix:path=%s:timeout=2", path);
    weft_factory *srv = weft_factory_new(R, &plain, NULL, NULL);
    weft_factory *cli = weft_factory_new(R, &plain, &client_hooks, NULL);
    weft_error err;
    weft_port *p = weft_listen(R, s, srv, &err);
    assert_non_null(p);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(weft_port_number(p), -1);
    char want[96];
    snprintf(want, sizeof want, "unix:%s", path);
    assert_string_equal(weft_port_text(p), want);
    /* a live socket is in use */
    assert_null(weft_listen(R, s, srv, &err));
    assert_int_equal(err.code, WEFT_EADDRINUSE);
    assert_non_null(weft_connect(R, cs, cli, NULL));
    RUN_UNTIL(connects == 2);
    weft_port_stop(p, NULL, NULL);
    assert_int_equal(stat(path, &st), -1);    /* removed on stop */
    /* connecting now: refused (no such file) */
    assert_non_null(weft_connect(R, cs, cli, NULL));
    RUN_UNTIL(fails == 1);
    assert_int_equal(fail_code, WEFT_EREFUSED);
    /* a stale socket file (no server) is replaced */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    strcpy(un.sun_path, path);
    assert_int_equal(bind(fd, (struct sockaddr *)&un, sizeof un), 0);
    close(fd);
    p = weft_listen(R, s, srv, &err);
    assert_non_null(p);
    weft_port_stop(p, NULL, NULL);
    /* a regular file is never removed */
    FILE *fp = fopen(path, "w");
    fclose(fp);
    assert_null(weft_listen(R, s, srv, &err));
    assert_int_equal(err.code, WEFT_EADDRINUSE);
    unlink(path);
    weft_abort(last_conn);
    RUN_UNTIL(disconnects == 2);
    weft_factory_free(cli);
    weft_factory_free(srv);
}

static void test_tcp6_loopback(void **state)
{
    (void)state;
    int probe = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6,
                               .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    bool have6 = probe >= 0
                 && bind(probe, (struct sockaddr *)&in6, sizeof in6) == 0;
    if (probe >= 0)
        close(probe);
    if (!have6) {
        skip();   /* no ::1 on this machine */
        return;
    }
    weft_factory *srv = weft_factory_new(R, &plain, NULL, NULL);
    weft_factory *cli = weft_factory_new(R, &plain, &client_hooks, NULL);
    weft_port *p = weft_listen(R, "tcp6:0:interface=\\:\\:1", srv, NULL);
    assert_non_null(p);
    char want[64], s[96];
    snprintf(want, sizeof want, "tcp6:[::1]:%d", weft_port_number(p));
    assert_string_equal(weft_port_text(p), want);
    snprintf(s, sizeof s, "tcp6:host=\\:\\:1:port=%d", weft_port_number(p));
    assert_non_null(weft_connect(R, s, cli, NULL));
    RUN_UNTIL(connects == 2);
    assert_memory_equal(weft_conn_peer_text(last_conn), "[::1]:", 6);
    socklen_t sl;
    assert_int_equal(weft_conn_host(last_conn, &sl)->sa_family, AF_INET6);
    weft_close(last_conn);
    RUN_UNTIL(disconnects == 2);
    weft_factory_free(cli);
    weft_factory_free(srv);
}


/* ---- bindAddress ---------------------------------------------------------- */

static char peer_text[64];
static void note_peer(weft_conn *c)
{
    connects++;
    snprintf(peer_text, sizeof peer_text, "%s", weft_conn_peer_text(c));
}

static void test_bind_address(void **state)
{
    (void)state;
    static const weft_protocol noting = {
        .name = "noting", .on_connect = note_peer,
        .on_disconnect = on_disconnect,
    };
    weft_factory *srv = weft_factory_new(R, &noting, NULL, NULL);
    weft_factory *cli = weft_factory_new(R, &plain, &client_hooks, NULL);
    weft_port *p = weft_listen(R, "tcp:0:interface=127.0.0.1", srv, NULL);
    char s[128];
    /* all of 127/8 is loopback on Linux */
    snprintf(s, sizeof s, "tcp:host=127.0.0.1:port=%d:bindAddress=127.0.0.2",
             weft_port_number(p));
    weft_connect(R, s, cli, NULL);
    RUN_UNTIL(connects == 2 || fails > 0);
    if (fails)
        fail_msg("%s", fail_text);
    assert_memory_equal(peer_text, "127.0.0.2:", 10);
    weft_factory_free(cli);
    weft_factory_free(srv);
}

/* ---- out of descriptors while accepting ------------------------------------- */

static int emfile_conns;
static void abort_later(void *arg) { weft_abort(arg); }
static void stop_reactor(void *arg) { weft_reactor_stop(arg); }
static void emfile_connect(weft_conn *c)
{
    weft_reactor *r = weft_conn_reactor(c);
    /* the last of the six: done (whatever time it took to get here) */
    if (++emfile_conns == 6)
        weft_call_later(r, 0, stop_reactor, r);
    else
        weft_call_later(r, 0.3, abort_later, c);
}

static void test_accept_out_of_descriptors(void **state)
{
    (void)state;
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* child: a server allowed only a couple of spare descriptors */
        static const weft_protocol p = {.name = "e", .on_connect = emfile_connect};
        weft_reactor_free(R);
        weft_reactor *r = weft_reactor_new();
        weft_factory *f = weft_factory_new(r, &p, NULL, NULL);
        weft_port *port = weft_listen(r, "tcp:0:interface=127.0.0.1", f, NULL);
        int number = weft_port_number(port);
        /* new descriptors take the lowest free number, which must stay
         * below the limit: leave room for two accepted connections */
        int lowest = dup(0);
        close(lowest);
        struct rlimit rl = {(rlim_t)lowest + 2, (rlim_t)lowest + 2};  /* in practice one at a time */
        setrlimit(RLIMIT_NOFILE, &rl);
        write(pfd[1], &number, sizeof number);
        weft_call_later(r, 60, stop_reactor, r);   /* in case: fails */
        weft_reactor_run(r);
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
                     + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
        write(pfd[1], &emfile_conns, sizeof emfile_conns);
        write(pfd[1], &cpu, sizeof cpu);
        _exit(0);
    }
    close(pfd[1]);
    int number = 0, conns = -1;
    double cpu = -1;
    assert_int_equal(read(pfd[0], &number, sizeof number), sizeof number);
    int fds[6];
    struct sockaddr_in in = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)number)};
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < 6; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        assert_int_equal(connect(fds[i], (struct sockaddr *)&in, sizeof in), 0);
    }
    assert_int_equal(read(pfd[0], &conns, sizeof conns), sizeof conns);
    assert_int_equal(read(pfd[0], &cpu, sizeof cpu), sizeof cpu);
    int status;
    waitpid(pid, &status, 0);
    for (int i = 0; i < 6; i++)
        close(fds[i]);
    close(pfd[0]);
    /* every connection was accepted as descriptors came free, and the
     * server did not spin on the readable listening socket meanwhile */
    assert_int_equal(conns, 6);
    assert_true(cpu < 0.15);   /* spinning costs ~0.45 s here */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_bad),
#define T_(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T_(test_listen_tcp0_and_in_use),
        T_(test_connect_and_port_stop),
        T_(test_connect_refused),
        T_(test_connect_timeout_full_backlog),
        T_(test_connect_cancel),
        T_(test_cancel_and_timeout_during_dns),
        T_(test_localhost_from_hosts_file),
        T_(test_unix_listen_connect_remove),
        T_(test_tcp6_loopback),
        T_(test_bind_address),
        T_(test_accept_out_of_descriptors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
