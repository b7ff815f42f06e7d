/* weft-nc — a netcat-like client on libweft: stdin to the socket, the
 * socket to stdout.
 *
 * Flow control both ways: when the socket's output crosses its high-water
 * mark, stdin is no longer read until it drains (the connection's
 * producer); when stdout cannot take more than STDOUT_HIGH bytes, reading
 * from the socket pauses until it can.
 *
 * End of stdin: weft has no half-close (shutdown(SHUT_WR)), so stdin's EOF
 * ends nothing by itself: weft-nc keeps copying the socket to stdout until
 * the peer closes, the idle timeout fires, or a signal arrives — the
 * behaviour of OpenBSD's nc without -N.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/epoll.h>
#endif

#include <event2/buffer.h>
#include <event2/event.h>

#include "../common/cli.h"
#include "weft.h"

#define READ_CHUNK (64 * 1024)
#define STDOUT_HIGH (256 * 1024)   /* pause the socket above this */
#define STDOUT_LOW (64 * 1024)     /* and resume it below this */
#define SOCK_HIGH (64 * 1024)      /* stop reading stdin above this */
#define SOCK_LOW (16 * 1024)       /* and read it again below this */

static const char usage[] =
    "usage: weft-nc --connect ENDPOINT [--timeout SECONDS]\n"
    "\n"
    "Connects to ENDPOINT, copies stdin to the connection and the\n"
    "connection to stdout, and exits when the peer closes.\n"
    "\n"
    "  -c, --connect ENDPOINT  a client endpoint, e.g.\n"
    "                          tcp:host=127.0.0.1:port=8080,\n"
    "                          tcp:host=example.org:port=80:timeout=5,\n"
    "                          unix:path=/tmp/echo.sock\n"
    "  -t, --timeout SECONDS   give up when connecting takes longer, and\n"
    "                          close the connection after SECONDS with no\n"
    "                          traffic either way (like nc -w); default: a\n"
    "                          30 s connect timeout (or the endpoint's\n"
    "                          timeout=), no idle timeout\n"
    "  -h, --help              this text\n"
    "\n"
    "weft has no half-close, so the end of stdin does not end the\n"
    "connection: weft-nc keeps printing what the peer sends until the peer\n"
    "closes (or --timeout, or SIGINT/SIGTERM).\n"
    "\n"
    "Exit status: 0 when the peer closed cleanly (or SIGINT/SIGTERM stopped\n"
    "weft-nc after flushing), 1 when the connection failed or ended badly\n"
    "(\"connection refused\", \"timed out\", host name lookup failed, reset),\n"
    "2 on a usage error (bad option or endpoint string).\n";

/* The whole program's state; there is one connection. */
static struct nc {
    weft_reactor *r;
    const char *endpoint;      /* as the user wrote it, for messages */
    double timeout;            /* --timeout, or 0 */
    weft_conn *conn;           /* NULL before connect and after disconnect */
    bool done;                 /* connection over: stop once stdout drains */
    int rc;                    /* exit status */

    struct event *in_ev;       /* stdin readable (or a manual wake-up) */
    bool in_pollable;          /* false: regular file or /dev/null */
    bool in_eof;
    bool in_paused;            /* socket output above its high-water mark */

    struct evbuffer *out;      /* socket bytes not yet on stdout */
    struct event *out_ev;      /* stdout writable */
    bool out_pollable;
    int out_flags;             /* stdout's original fcntl flags */
    bool sock_paused;          /* we paused the socket for stdout */
} nc = { .rc = CLI_EXIT_OK, .out_flags = -1 };

/* True if fd can be watched by the event loop: epoll refuses regular files
 * and some devices (/dev/null), which are always "ready" anyway. */
static bool fd_pollable(int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
        return false;
#ifdef __linux__
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        return true;
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT };
    bool ok = epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0 || errno != EPERM;
    close(ep);
    return ok;
#else
    return true;
#endif
}

static void finish_if_done(void)
{
    if (nc.done && evbuffer_get_length(nc.out) == 0)
        weft_reactor_stop(nc.r);
}

/* ---- stdin -> socket ---------------------------------------------------- */

static void stdin_stop(void)
{
    if (nc.in_ev)
        event_del(nc.in_ev);
}

/* Arms the stdin event: a pollable fd waits for readiness, anything else is
 * read at the next loop iteration. */
static void stdin_start(void)
{
    if (nc.in_eof || nc.in_paused || nc.done)
        return;
    if (nc.in_pollable)
        event_add(nc.in_ev, NULL);
    else
        event_active(nc.in_ev, EV_READ, 0);
}

static void producer_pause(weft_conn *c, void *arg)
{
    nc.in_paused = true;
    stdin_stop();
}

static void producer_resume(weft_conn *c, void *arg)
{
    weft_conn_set_producer(c, NULL, NULL);
    nc.in_paused = false;
    stdin_start();
}

static void producer_stop(weft_conn *c, void *arg)
{
    nc.in_eof = true;
    stdin_stop();
    weft_conn_set_producer(c, NULL, NULL);
}

static const weft_producer stdin_producer = {
    .pause_producing = producer_pause,
    .resume_producing = producer_resume,
    .stop_producing = producer_stop,
};

static void stdin_readable(evutil_socket_t fd, short what, void *arg)
{
    static char buf[READ_CHUNK];
    if (!nc.conn || nc.in_eof || nc.in_paused)
        return;
    if (weft_conn_closing(nc.conn)) {   /* stopping: nothing more to send */
        stdin_stop();
        return;
    }
    ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        if (n < 0)
            cli_error("reading stdin: %s", strerror(errno));
        nc.in_eof = true;
        stdin_stop();
        return;
    }
    /* The producer is registered only around a pause (as a push producer
     * it never holds back weft_close).  Registered before a write that
     * crosses the high-water mark, the write itself calls producer_pause. */
    if (weft_conn_pending(nc.conn) + (size_t)n > SOCK_HIGH) {
        weft_conn_set_watermarks(nc.conn, SOCK_HIGH, SOCK_LOW);
        weft_conn_set_producer(nc.conn, &stdin_producer, NULL);
    }
    weft_write(nc.conn, buf, (size_t)n);
    /* A pollable fd stays armed (EV_PERSIST); a file is read again on the
     * next iteration unless the write above paused us. */
    if (!nc.in_pollable)
        stdin_start();
}

/* ---- socket -> stdout --------------------------------------------------- */

/* Writes what stdout takes now; returns false on a write error. */
static bool stdout_flush(void)
{
    while (evbuffer_get_length(nc.out) > 0) {
        int n = evbuffer_write(nc.out, STDOUT_FILENO);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
            nc.out_pollable) {
            event_add(nc.out_ev, NULL);
            return true;
        }
        if (n <= 0) {
            cli_error("writing stdout: %s", n < 0 ? strerror(errno) : "EOF");
            return false;
        }
    }
    return true;
}

/* Called whenever stdout may have drained: resume the socket, finish. */
static void stdout_progress(void)
{
    size_t left = evbuffer_get_length(nc.out);
    if (nc.sock_paused && left <= STDOUT_LOW && nc.conn) {
        nc.sock_paused = false;
        weft_conn_resume(nc.conn);
    }
    finish_if_done();
}

static void stdout_failed(void)
{
    evbuffer_drain(nc.out, evbuffer_get_length(nc.out));
    nc.rc = CLI_EXIT_FAIL;
    if (nc.conn)
        weft_abort(nc.conn);
    else
        finish_if_done();
}

static void stdout_writable(evutil_socket_t fd, short what, void *arg)
{
    if (!stdout_flush())
        stdout_failed();
    else
        stdout_progress();
}

/* ---- the protocol and the factory -------------------------------------- */

static void nc_connect(weft_conn *c)
{
    nc.conn = c;
    if (nc.timeout > 0)
        weft_conn_set_idle_timeout(c, nc.timeout);
    stdin_start();
}

static void nc_data(weft_conn *c, const char *data, size_t len)
{
    if (evbuffer_add(nc.out, data, len) < 0 || !stdout_flush()) {
        stdout_failed();
        return;
    }
    if (evbuffer_get_length(nc.out) > STDOUT_HIGH && !nc.sock_paused) {
        nc.sock_paused = true;
        weft_conn_pause(c);
    }
}

static void nc_disconnect(weft_conn *c, const weft_reason *reason)
{
    nc.conn = NULL;
    nc.done = true;
    stdin_stop();
    if (reason->code != WEFT_EDONE && nc.rc == CLI_EXIT_OK) {
        cli_error("%s", reason->text);
        nc.rc = CLI_EXIT_FAIL;
    }
    finish_if_done();
}

static void nc_connection_failed(weft_factory *f, const weft_reason *reason)
{
    /* SIGINT/SIGTERM while connecting cancels the attempt: a clean stop. */
    bool stopped = reason->code == WEFT_ECANCELLED &&
                   weft_reactor_stopping(nc.r);
    if (!stopped) {
        cli_error("%s: %s", nc.endpoint, reason->text);
        nc.rc = CLI_EXIT_FAIL;
    }
    nc.done = true;
    finish_if_done();
}

static const weft_protocol nc_protocol = {
    .name = "nc",
    .on_connect = nc_connect,
    .on_data = nc_data,
    .on_disconnect = nc_disconnect,
};

static const weft_factory_hooks nc_hooks = {
    .connection_failed = nc_connection_failed,
};

/* ---- main ----------------------------------------------------------------- */

static void parse_args(int argc, char **argv)
{
    static const struct option opts[] = {
        {"connect", required_argument, NULL, 'c'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    int ch;
    while ((ch = cli_getopt(argc, argv, ":hc:t:", opts)) != -1) {
        if (ch == 'c')
            nc.endpoint = optarg;
        else if (ch == 't' && (!cli_parse_seconds(optarg, &nc.timeout) ||
                               nc.timeout <= 0))
            cli_usage_error("--timeout: '%s' is not a positive number of "
                            "seconds", optarg);
    }
    if (!nc.endpoint)
        cli_usage_error("--connect ENDPOINT is required");
    weft_endpoint ep;
    weft_error err = {0};
    if (weft_endpoint_parse(nc.endpoint, false, &ep, &err) < 0)
        cli_usage_error("%s", err.msg);
}

/* The endpoint string to connect to: with --timeout, the endpoint's own
 * timeout= fields (if any) are dropped and --timeout's appended, since the
 * endpoint parser refuses a key given twice.  Fields are separated by
 * colons not escaped with a backslash. */
static char *connect_string(void)
{
    size_t n = strlen(nc.endpoint);
    char *s = malloc(n + 64);
    if (!s) {
        cli_error("out of memory");
        exit(CLI_EXIT_FAIL);
    }
    if (nc.timeout <= 0) {
        memcpy(s, nc.endpoint, n + 1);
        return s;
    }
    size_t o = 0;
    bool first = true;
    for (const char *p = nc.endpoint;;) {
        const char *q = p;
        while (*q && *q != ':')
            q += (*q == '\\' && q[1]) ? 2 : 1;
        if (first || strncmp(p, "timeout=", 8) != 0) {
            if (!first)
                s[o++] = ':';
            memcpy(s + o, p, (size_t)(q - p));
            o += (size_t)(q - p);
        }
        first = false;
        if (!*q)
            break;
        p = q + 1;
    }
    snprintf(s + o, 64, ":timeout=%.6f", nc.timeout);
    return s;
}

static void setup_stdio(struct event_base *base)
{
    nc.out = evbuffer_new();
    nc.in_pollable = fd_pollable(STDIN_FILENO);
    nc.in_ev = event_new(base, nc.in_pollable ? STDIN_FILENO : -1,
                         nc.in_pollable ? EV_READ | EV_PERSIST : 0,
                         stdin_readable, NULL);
    /* Only a pipe or socket is made non-blocking, so a slow reader of
     * stdout never stalls the loop; a terminal, whose flags the shell
     * shares, and files are written to directly.  The original flags are
     * put back before exiting. */
    struct stat st;
    nc.out_pollable = fstat(STDOUT_FILENO, &st) == 0 &&
                      (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) &&
                      fd_pollable(STDOUT_FILENO);
    if (nc.out_pollable) {
        nc.out_flags = fcntl(STDOUT_FILENO, F_GETFL);
        if (nc.out_flags >= 0)
            fcntl(STDOUT_FILENO, F_SETFL, nc.out_flags | O_NONBLOCK);
        nc.out_ev = event_new(base, STDOUT_FILENO, EV_WRITE, stdout_writable,
                              NULL);
    }
    if (!nc.out || !nc.in_ev || (nc.out_pollable && !nc.out_ev)) {
        cli_error("out of memory");
        exit(CLI_EXIT_FAIL);
    }
}

static void cleanup_stdio(void)
{
    if (nc.out_ev)
        event_free(nc.out_ev);
    event_free(nc.in_ev);
    evbuffer_free(nc.out);
}

int main(int argc, char **argv)
{
    cli_init("weft-nc", usage);
    parse_args(argc, argv);
    /* A closed stdout shows up as EPIPE from write, reported as an error. */
    signal(SIGPIPE, SIG_IGN);

    nc.r = cli_reactor_new();
    setup_stdio(weft_reactor_base(nc.r));
    weft_factory *f = weft_factory_new(nc.r, &nc_protocol, &nc_hooks, NULL);
    char *target = connect_string();
    weft_error err = {0};
    if (!f) {
        cli_error("out of memory");
        nc.rc = CLI_EXIT_FAIL;
    } else if (!weft_connect(nc.r, target, f, &err)) {
        cli_error("%s", err.msg);
        nc.rc = cli_exit_code(err.code);
    } else {
        int rc = weft_reactor_run(nc.r);
        if (rc < 0) {
            cli_error("event loop failed: %s", weft_strerror(rc));
            nc.rc = CLI_EXIT_FAIL;
        }
    }
    /* Whatever the peer sent before a signal stopped us still goes out:
     * stdout is made blocking again, then written out. */
    if (nc.out_flags >= 0)
        fcntl(STDOUT_FILENO, F_SETFL, nc.out_flags);
    nc.out_flags = -1;
    nc.out_pollable = false;
    if (!stdout_flush())
        nc.rc = CLI_EXIT_FAIL;
    free(target);
    /* Our events live on the reactor's event_base: free them first. */
    cleanup_stdio();
    weft_reactor_free(nc.r);
    if (f)
        weft_factory_free(f);
    return nc.rc;
}
