/* test_echo_slice.c — the echo fast path of conn.c keeps output that
 * repeats the input being fed as a slice of that input (no copy) and hands
 * it over when the feed returns or before any other output.  Whatever mix
 * of echoed and other writes a protocol makes, the peer must see exactly
 * the bytes in the order written.
 *
 * The protocol here reads a script, one command per CRLF line, keeping a
 * partial line in its own buffer between feeds (so the same command is
 * sometimes written from the input, sometimes from that buffer):
 *   e...   weft_send_line(line)            (echo: joins the slice)
 *   l...   weft_write_line(line, "\r\n")   (echo with an explicit delim)
 *   n...   weft_write_line(line, "\n")     (delimiter differs from input)
 *   r...   weft_write(line + CRLF)         (raw echo, delimiter included)
 *   v...   weft_writev(line, CRLF)         (echo by writev)
 *   w...   weft_write("<w>")               (other memory)
 *   p...   weft_printf("<p%zu>", len)
 *   s...   weft_send_line(copy of line)    (same bytes, other memory)
 *   h...   the first half of the line alone, then the rest + CRLF
 *   c      weft_close: later writes return WEFT_ECLOSED and send nothing
 * A model computes the expected output; it is checked over a memconn for
 * every split of the input in two and byte by byte, and over loopback TCP
 * (where the slice goes to the socket with send()).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/event.h>

#include "weft.h"
#include "run_until.h"

typedef struct {
    char part[512];        /* partial line between feeds */
    size_t plen;
    int closed_writes;     /* writes refused after close */
    int disconnected;
} st;

/* Runs one command; line excludes the CRLF, crlf points at it when the
 * line lies in the fed input (so the echo can continue the input). */
static void command(weft_conn *c, st *s, const char *line, size_t len)
{
    char copy[512];
    int rc = 0;
    if (!len)
        return;
    switch (line[0]) {
    case 'e':
        rc = weft_send_line(c, line, len);
        break;
    case 'l':
        rc = weft_write_line(c, line, len, "\r\n", 2);
        break;
    case 'n':
        rc = weft_write_line(c, line, len, "\n", 1);
        break;
    case 'r':
        /* line and its CRLF are contiguous wherever line lives */
        rc = weft_write(c, line, len + 2);
        break;
    case 'v': {
        struct iovec iov[2] = {{(void *)(uintptr_t)line, len},
                               {(void *)(uintptr_t)"\r\n", 2}};
        rc = weft_writev(c, iov, 2);
        break;
    }
    case 'w':
        rc = weft_write(c, "<w>", 3);
        break;
    case 'p':
        rc = weft_printf(c, "<p%zu>", len);
        break;
    case 's':
        memcpy(copy, line, len);
        rc = weft_send_line(c, copy, len);
        break;
    case 'h':
        rc = weft_write(c, line, len / 2);
        if (!rc)
            rc = weft_send_line(c, line + len / 2, len - len / 2);
        break;
    case 'c':
        weft_close(c);
        break;
    }
    if (rc == WEFT_ECLOSED)
        s->closed_writes++;
    else
        assert_int_equal(rc, 0);
}

static size_t feed(weft_conn *c, const char *d, size_t n)
{
    st *s = weft_conn_state(c);
    size_t i = 0;
    while (i < n) {
        const char *nl = memchr(d + i, '\n', n - i);
        size_t take = nl ? (size_t)(nl - (d + i)) + 1 : n - i;
        if (s->plen || !nl) {
            /* The line continues one from the last feed, or is partial:
             * it is run from our buffer. */
            assert_true(s->plen + take <= sizeof s->part);
            memcpy(s->part + s->plen, d + i, take);
            s->plen += take;
            if (nl) {
                /* r... writes len + 2 bytes: keep the CRLF after it */
                command(c, s, s->part, s->plen - 2);
                s->plen = 0;
            }
        } else {
            command(c, s, d + i, take - 2);
        }
        i += take;
    }
    return n;
}

static void on_disconnect(weft_conn *c, const weft_reason *r)
{
    st *s = weft_conn_state(c);
    (void)r;
    s->disconnected = 1;
}

static const weft_protocol proto = {
    .name = "script", .state_size = sizeof(st), .feed = feed,
    .on_disconnect = on_disconnect,
};

/* The script: every command, some twice in a row, lines of several
 * lengths, then a close and writes after it. */
static const char script[] =
    "e1\r\neecho two\r\nl-explicit\r\nn-newline\r\nrraw\r\nvvec\r\n"
    "eafter vec\r\nw\r\neafter write\r\np12345\r\neafter printf\r\n"
    "scopy\r\neafter copy\r\nhhalf and half\r\neafter half\r\n"
    "e\r\nee\r\neee\r\neeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee\r\n"
    "rr\r\nvv\r\nll\r\nnn\r\nww\r\npp\r\nss\r\nhh\r\ne-last\r\n"
    "c\r\neclosed\r\nwclosed\r\n";

/* Expected output of the script. */
static char *model(size_t *outlen)
{
    static char out[4096];
    size_t o = 0;
    const char *p = script, *end = script + sizeof script - 1;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)(nl - p) - 1;
        char buf[64];
        int k;
        switch (p[0]) {
        case 'e': case 'l': case 'r': case 'v': case 's': case 'h':
            memcpy(out + o, p, len);
            memcpy(out + o + len, "\r\n", 2);
            o += len + 2;
            break;
        case 'n':
            memcpy(out + o, p, len);
            out[o + len] = '\n';
            o += len + 1;
            break;
        case 'w':
            memcpy(out + o, "<w>", 3);
            o += 3;
            break;
        case 'p':
            k = snprintf(buf, sizeof buf, "<p%zu>", len);
            memcpy(out + o, buf, (size_t)k);
            o += (size_t)k;
            break;
        case 'c':
            *outlen = o;
            return out;
        }
        p = nl + 1;
    }
    *outlen = o;
    return out;
}

static void check_output(const char *got, size_t glen)
{
    size_t wlen;
    const char *want = model(&wlen);
    if (glen != wlen || memcmp(got, want, wlen) != 0) {
        fprintf(stderr, "--- want (%zu)\n%.*s\n--- got (%zu)\n%.*s\n", wlen,
                (int)wlen, want, glen, (int)glen, got);
        fail();
    }
}

/* Feeds the script over a memconn cut at cuts[0..nc). */
static void over_memconn(const size_t *cuts, size_t nc, bool slow)
{
    weft_reactor *r = weft_reactor_new_manual();
    assert_non_null(r);
    weft_factory *f = weft_factory_new(r, &proto, NULL, NULL);
    assert_non_null(f);
    weft_conn *c = weft_memconn_new(f);
    assert_non_null(c);
    weft_memconn_set_slow_reader(c, slow);
    size_t n = sizeof script - 1, at = 0;
    for (size_t i = 0; i <= nc; i++) {
        size_t to = i < nc ? cuts[i] : n;
        /* Each piece in its own buffer, freed after the call, as a read
         * buffer would be reused. */
        char *piece = malloc(to - at + 1);
        assert_non_null(piece);
        memcpy(piece, script + at, to - at);
        weft_memconn_receive(c, piece, to - at);
        memset(piece, '#', to - at);
        free(piece);
        at = to;
    }
    if (slow)
        weft_memconn_drain(c);
    size_t glen;
    const char *got = weft_memconn_written(c, &glen);
    check_output(got, glen);
    st *s = weft_conn_state(c);
    assert_true(weft_memconn_closed(c));
    /* Input after the close is not delivered once its feed returned. */
    if (nc == 0)
        assert_int_equal(s->closed_writes, 2);
    else
        assert_true(s->closed_writes <= 2);
    weft_memconn_free(c);
    weft_factory_free(f);
    weft_reactor_free(r);
}

static void test_memconn_whole(void **unused)
{
    (void)unused;
    over_memconn(NULL, 0, false);
    over_memconn(NULL, 0, true);
}

static void test_memconn_every_split(void **unused)
{
    (void)unused;
    for (size_t i = 1; i < sizeof script - 1; i++) {
        over_memconn(&i, 1, false);
        over_memconn(&i, 1, true);
    }
}

static void test_memconn_bytewise(void **unused)
{
    (void)unused;
    size_t cuts[sizeof script];
    size_t nc = 0;
    for (size_t i = 1; i < sizeof script - 1; i++)
        cuts[nc++] = i;
    over_memconn(cuts, nc, false);
}

static void seen_disconnect(weft_conn *c, const weft_reason *r)
{
    on_disconnect(c, r);
    weft_reactor_stop(weft_conn_reactor(c));
}

/* Over loopback TCP: the script is written in one go before the server
 * reads, so it arrives in one feed (the slice goes out with send()). */
static void test_tcp(void **unused)
{
    (void)unused;
    static const weft_protocol tproto = {
        .name = "script", .state_size = sizeof(st), .feed = feed,
        .on_disconnect = seen_disconnect,
    };
    weft_reactor *r = weft_reactor_new();
    assert_non_null(r);
    weft_factory *f = weft_factory_new(r, &tproto, NULL, NULL);
    assert_non_null(f);
    weft_error err;
    weft_port *port = weft_listen(r, "tcp:0:interface=127.0.0.1", f, &err);
    assert_non_null(port);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)
                                               weft_port_number(port))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    size_t n = sizeof script - 1;
    assert_int_equal(write(fd, script, n), (ssize_t)n);
    weft_timer *t = weft_call_later(r, 20, deadline, NULL);
    weft_reactor_run(r);                 /* until the server closed */
    weft_timer_cancel(t);
    char got[4096];
    size_t glen = 0;
    for (;;) {
        ssize_t k = read(fd, got + glen, sizeof got - glen);
        assert_true(k >= 0);
        if (k == 0)
            break;
        glen += (size_t)k;
        assert_true(glen < sizeof got);
    }
    close(fd);
    check_output(got, glen);
    weft_factory_free(f);
    weft_reactor_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memconn_whole),
        cmocka_unit_test(test_memconn_every_split),
        cmocka_unit_test(test_memconn_bytewise),
        cmocka_unit_test(test_tcp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
