/* test_http_parser.c — the HTTP/1.1 request parser generated from
 * spec/http.weft, driven by weft-httpd's framing (examples/httpd/request.c),
 * without sockets.
 *
 * Every case is a byte stream and the exact trace of events it must give.
 * Each is fed whole, cut in two at every split point, and one byte at a
 * time; every piece is copied so that it ends right before an unreadable
 * page, so a read past the end of a feed crashes (picohttpparser's trick).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../examples/httpd/request.h"
#include "http.h"

#define MAX_BODY 1024
#define MAX_HEAD 2048

/* ---- a guarded buffer ------------------------------------------------------ */

static char *guard_base;
static size_t guard_size;    /* readable bytes before the guard page */

static void guard_setup(size_t readable)
{
    long pg = sysconf(_SC_PAGESIZE);
    guard_size = (readable + (size_t)pg - 1) / (size_t)pg * (size_t)pg;
    guard_base = mmap(NULL, guard_size + (size_t)pg, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(guard_base != MAP_FAILED);
    assert_int_equal(mprotect(guard_base + guard_size, (size_t)pg, PROT_NONE), 0);
}

static void guard_teardown(void)
{
    munmap(guard_base, guard_size + (size_t)sysconf(_SC_PAGESIZE));
}

/* Copies a piece so that its last byte is the last readable one. */
static const char *guarded(const char *data, size_t len)
{
    assert_true(len <= guard_size);
    char *p = guard_base + guard_size - len;
    memcpy(p, data, len);
    return p;
}

/* ---- the recording owner ----------------------------------------------------- */

typedef struct rec {
    httpreq rq;                 /* first, like weft-httpd's hconn */
    char trace[16384];
    size_t n;
    char body[4096];
    size_t body_len;
    int head_status;            /* what on_head answers */
} rec;

static void say(rec *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(r->trace + r->n, sizeof r->trace - r->n, fmt, ap);
    va_end(ap);
    if (k > 0)
        r->n += (size_t)k;
    if (r->n >= sizeof r->trace)
        r->n = sizeof r->trace - 1;
}

static int t_head(httpreq *rq)
{
    rec *r = (rec *)rq;
    say(r, "HEAD %s %s 1.%d", rq->method_text, rq->target, rq->minor);
    if (rq->has_content_length)
        say(r, " cl=%llu", (unsigned long long)rq->content_length);
    if (rq->chunked)
        say(r, " chunked");
    if (rq->expect_continue)
        say(r, " continue");
    if (rq->if_modified_since >= 0)
        say(r, " ims=%lld", (long long)rq->if_modified_since);
    say(r, rq->keep_alive ? " keep\n" : " close\n");
    return r->head_status;
}

static void t_body(httpreq *rq, const char *data, size_t len)
{
    rec *r = (rec *)rq;
    if (r->body_len + len <= sizeof r->body) {
        memcpy(r->body + r->body_len, data, len);
        r->body_len += len;
    }
}

static void t_done(httpreq *rq)
{
    rec *r = (rec *)rq;
    say(r, "DONE %zu:%.*s\n", r->body_len, (int)r->body_len, r->body);
    r->body_len = 0;
}

static void t_error(httpreq *rq, int status, const char *why)
{
    say((rec *)rq, "ERROR %d\n", status);
}

static const httpreq_hooks t_hooks = {t_head, t_body, t_done, t_error};

/* Feeds `in` cut at the given piece size (0: whole; SIZE_MAX: split once
 * at `split`) and returns the trace in r. */
static void run(rec *r, const char *in, size_t len, size_t piece,
                size_t split)
{
    http_parser p;
    memset(r, 0, sizeof *r);
    r->rq.hooks = &t_hooks;
    r->rq.parser = &p;
    r->rq.max_body = MAX_BODY;
    r->rq.max_head = MAX_HEAD;
    httpreq_reset(&r->rq);
    http_parser_init(&p, &httpreq_callbacks, r);
    size_t off = 0;
    while (off < len) {
        size_t n;
        if (piece == SIZE_MAX)
            n = off == 0 ? split : len - off;
        else
            n = piece ? piece : len;
        if (n > len - off)
            n = len - off;
        size_t got = http_parser_feed(&p, guarded(in + off, n), n);
        if (got < n) {
            say(r, "FAIL %d\n", http_parser_error(&p));
            break;
        }
        off += n;
    }
    httpreq_free(&r->rq);
    http_parser_free(&p);
}

typedef struct hcase {
    const char *name;
    const char *in;             /* NULL: use big_in */
    const char *want;
} hcase;

static void check_case(const char *name, const char *in, size_t len,
                       const char *want)
{
    rec r;
    run(&r, in, len, 0, 0);
    if (strcmp(r.trace, want) != 0)
        fail_msg("%s (whole): got\n%s\nwant\n%s", name, r.trace, want);
    run(&r, in, len, 1, 0);
    if (strcmp(r.trace, want) != 0)
        fail_msg("%s (byte by byte): got\n%s\nwant\n%s", name, r.trace, want);
    for (size_t s = 1; s < len; s++) {
        run(&r, in, len, SIZE_MAX, s);
        if (strcmp(r.trace, want) != 0)
            fail_msg("%s (split at %zu): got\n%s\nwant\n%s", name, s, r.trace,
                     want);
    }
}

#define H11 "Host: example.com\r\n"

static const hcase good_cases[] = {
    {"simple GET", "GET / HTTP/1.1\r\n" H11 "\r\n",
     "HEAD GET / 1.1 keep\nDONE 0:\n"},
    {"HTTP/1.0 closes", "GET /a?b=c HTTP/1.0\r\n\r\n",
     "HEAD GET /a?b=c 1.0 close\nDONE 0:\n"},
    {"HTTP/1.0 keep-alive", "HEAD /x HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
     "HEAD HEAD /x 1.0 keep\nDONE 0:\n"},
    {"Connection: close", "GET / HTTP/1.1\r\n" H11
     "Connection: keep-alive, close\r\n\r\n",
     "HEAD GET / 1.1 close\nDONE 0:\n"},
    {"browser-like GET",
     "GET /index.html HTTP/1.1\r\nHost: localhost:8080\r\n"
     "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 "
     "Firefox/120.0\r\nAccept: text/html,application/xhtml+xml,"
     "application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.5\r\n"
     "Accept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\n"
     "Cookie: a=b; c=\"d e\"\r\nUpgrade-Insecure-Requests: 1\r\n"
     "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n",
     "HEAD GET /index.html 1.1 ims=784111777 keep\nDONE 0:\n"},
    {"POST with Content-Length", "POST /echo HTTP/1.1\r\n" H11
     "Content-Length: 5\r\n\r\nhello",
     "HEAD POST /echo 1.1 cl=5 keep\nDONE 5:hello\n"},
    {"body holds CRLFs", "PUT /echo HTTP/1.1\r\n" H11
     "Content-Length: 8\r\n\r\n\r\n\r\nab\r\n",
     "HEAD PUT /echo 1.1 cl=8 keep\nDONE 8:\r\n\r\nab\r\n\n"},
    {"Content-Length 0", "POST /echo HTTP/1.1\r\n" H11
     "Content-Length: 0\r\n\r\n",
     "HEAD POST /echo 1.1 cl=0 keep\nDONE 0:\n"},
    {"duplicate equal Content-Length", "POST / HTTP/1.1\r\n" H11
     "Content-Length: 2\r\ncontent-length: 2\r\n\r\nok",
     "HEAD POST / 1.1 cl=2 keep\nDONE 2:ok\n"},
    {"white space around a value", "POST / HTTP/1.1\r\n" H11
     "Content-Length: \t 3 \t\r\n\r\nabc",
     "HEAD POST / 1.1 cl=3 keep\nDONE 3:abc\n"},
    {"chunked with extensions and trailers",
     "POST /echo HTTP/1.1\r\n" H11 "Transfer-Encoding: Chunked\r\n\r\n"
     "5;foo=bar\r\nhello\r\n6 ; q=\"x \\\" y\" ;z\r\n world\r\n"
     "000\r\nX-Checksum: 1\r\nX-Other: two words\r\n\r\n",
     "HEAD POST /echo 1.1 chunked keep\nDONE 11:hello world\n"},
    {"chunked, uppercase hex and CRLF in data",
     "POST /echo HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked\r\n\r\n"
     "A\r\n0123\r\n5678\r\n0\r\n\r\n",
     "HEAD POST /echo 1.1 chunked keep\nDONE 10:0123\r\n5678\n"},
    {"pipelined, empty lines before a request line",
     "\r\n\r\nGET /1 HTTP/1.1\r\n" H11 "\r\nPOST /2 HTTP/1.1\r\n" H11
     "Content-Length: 1\r\n\r\nxGET /3 HTTP/1.1\r\n" H11
     "Connection: close\r\n\r\n",
     "HEAD GET /1 1.1 keep\nDONE 0:\nHEAD POST /2 1.1 cl=1 keep\nDONE 1:x\n"
     "HEAD GET /3 1.1 close\nDONE 0:\n"},
    {"Expect: 100-continue", "PUT /echo HTTP/1.1\r\n" H11
     "Expect: 100-Continue\r\nContent-Length: 2\r\n\r\nhi",
     "HEAD PUT /echo 1.1 cl=2 continue keep\nDONE 2:hi\n"},
    {"empty Host", "OPTIONS * HTTP/1.1\r\nHost:\r\n\r\n",
     "HEAD OPTIONS * 1.1 keep\nDONE 0:\n"},
    {"unknown method token", "BREW /pot HTTP/1.1\r\n" H11 "\r\n",
     "HEAD BREW /pot 1.1 keep\nDONE 0:\n"},
    {"obs-text in a value", "GET / HTTP/1.1\r\n" H11 "X: caf\xc3\xa9\r\n\r\n",
     "HEAD GET / 1.1 keep\nDONE 0:\n"},
    {"bad If-Modified-Since is ignored", "GET / HTTP/1.1\r\n" H11
     "If-Modified-Since: yesterday\r\n\r\n",
     "HEAD GET / 1.1 keep\nDONE 0:\n"},
    {"body exactly max_body", NULL, NULL},   /* built in test_good */
};

static const hcase bad_cases[] = {
    {"HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", "ERROR 400\n"},
    {"two Host fields", "GET / HTTP/1.1\r\n" H11 H11 "\r\n", "ERROR 400\n"},
    {"Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "ERROR 400\n"},
    {"Content-Length with Transfer-Encoding", "POST / HTTP/1.1\r\n" H11
     "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
     "ERROR 400\n"},
    {"Transfer-Encoding then Content-Length", "POST / HTTP/1.1\r\n" H11
     "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", "ERROR 400\n"},
    {"Transfer-Encoding in HTTP/1.0", "POST / HTTP/1.0\r\n"
     "Transfer-Encoding: chunked\r\n\r\n", "ERROR 400\n"},
    {"Transfer-Encoding gzip", "POST / HTTP/1.1\r\n" H11
     "Transfer-Encoding: gzip\r\n\r\n", "ERROR 501\n"},
    {"Transfer-Encoding gzip, chunked", "POST / HTTP/1.1\r\n" H11
     "Transfer-Encoding: gzip, chunked\r\n\r\n", "ERROR 501\n"},
    {"chunked twice", "POST / HTTP/1.1\r\n" H11
     "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
     "ERROR 501\n"},
    {"Content-Length not a number", "POST / HTTP/1.1\r\n" H11
     "Content-Length: abc\r\n\r\n", "ERROR 400\n"},
    {"negative Content-Length", "POST / HTTP/1.1\r\n" H11
     "Content-Length: -1\r\n\r\n", "ERROR 400\n"},
    {"Content-Length with a sign", "POST / HTTP/1.1\r\n" H11
     "Content-Length: +5\r\n\r\n", "ERROR 400\n"},
    {"overflowing Content-Length", "POST / HTTP/1.1\r\n" H11
     "Content-Length: 18446744073709551617\r\n\r\n", "ERROR 400\n"},
    {"Content-Length list", "POST / HTTP/1.1\r\n" H11
     "Content-Length: 5, 5\r\n\r\n", "ERROR 400\n"},
    {"conflicting Content-Length", "POST / HTTP/1.1\r\n" H11
     "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", "ERROR 400\n"},
    {"empty Content-Length", "POST / HTTP/1.1\r\n" H11
     "Content-Length:\r\n\r\n", "ERROR 400\n"},
    {"Content-Length over max_body", "POST / HTTP/1.1\r\n" H11
     "Content-Length: 1025\r\n\r\n", "ERROR 413\n"},
    {"chunks over max_body", "POST / HTTP/1.1\r\n" H11
     "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3fe\r\n",
     "HEAD POST / 1.1 chunked keep\nERROR 413\n"},
    {"bad chunk size", "POST / HTTP/1.1\r\n" H11
     "Transfer-Encoding: chunked\r\n\r\nzz\r\n", "HEAD POST / 1.1 chunked keep\n"
     "ERROR 400\n"},
    {"negative chunk size", "POST / HTTP/1.1\r\n" H11
     "Transfer-Encoding: chunked\r\n\r\n-1\r\n", "HEAD POST / 1.1 chunked keep\n"
     "ERROR 400\n"},
    {"overflowing chunk size", "POST / HTTP/1.1\r\n" H11
     "Transfer-Encoding: chunked\r\n\r\n10000000000000001\r\n", "HEAD POST / 1.1 chunked keep\n"
     "ERROR 400\n"},
    {"bad chunk extension", "POST / HTTP/1.1\r\n" H11
     "Transfer-Encoding: chunked\r\n\r\n1;=x\r\n", "HEAD POST / 1.1 chunked keep\n"
     "ERROR 400\n"},
    {"chunk data not followed by CRLF", "POST / HTTP/1.1\r\n" H11
     "Transfer-Encoding: chunked\r\n\r\n1\r\nabc\r\n", "HEAD POST / 1.1 chunked keep\n"
     "FAIL -12\n"},
    {"white space before the colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
     "ERROR 400\n"},
    {"obs-fold", "GET / HTTP/1.1\r\n" H11 "X-A: one\r\n  two\r\n\r\n",
     "ERROR 400\n"},
    {"control character in a value", "GET / HTTP/1.1\r\n" H11
     "X-A: a\x01z\r\n\r\n", "ERROR 400\n"},
    {"DEL in a value", "GET / HTTP/1.1\r\n" H11 "X-A: a\x7fz\r\n\r\n",
     "ERROR 400\n"},
    {"bare CR in a value", "GET / HTTP/1.1\r\n" H11 "X-A: a\rz\r\n\r\n",
     "ERROR 400\n"},
    {"bare LF ends nothing", "GET / HTTP/1.1\nHost: a\r\n\r\n", "ERROR 400\n"},
    {"empty field name", "GET / HTTP/1.1\r\n" H11 ": x\r\n\r\n", "ERROR 400\n"},
    {"control character in the target", "GET /a\x01z HTTP/1.1\r\n" H11 "\r\n",
     "ERROR 400\n"},
    {"space in the target", "GET /a z HTTP/1.1\r\n" H11 "\r\n", "ERROR 400\n"},
    {"non-ASCII target", "GET /caf\xc3\xa9 HTTP/1.1\r\n" H11 "\r\n",
     "ERROR 400\n"},
    {"two spaces", "GET  / HTTP/1.1\r\n" H11 "\r\n", "ERROR 400\n"},
    {"HTTP/1.2", "GET / HTTP/1.2\r\n" H11 "\r\n", "ERROR 400\n"},
    {"HTTP/2.0", "GET / HTTP/2.0\r\n" H11 "\r\n", "ERROR 400\n"},
    {"lower-case version", "GET / http/1.1\r\n" H11 "\r\n", "ERROR 400\n"},
    {"no version", "GET /\r\n" H11 "\r\n", "ERROR 400\n"},
    {"Expect something else", "GET / HTTP/1.1\r\n" H11
     "Expect: 200-ok\r\n\r\n", "ERROR 417\n"},
    {"bad trailer field", "POST / HTTP/1.1\r\n" H11
     "Transfer-Encoding: chunked\r\n\r\n0\r\nX : y\r\n\r\n", "HEAD POST / 1.1 chunked keep\n"
     "ERROR 400\n"},
};

static void test_good(void **state)
{
    for (size_t i = 0; i < sizeof good_cases / sizeof good_cases[0]; i++) {
        const hcase *c = &good_cases[i];
        if (c->in)
            check_case(c->name, c->in, strlen(c->in), c->want);
    }
    /* A body of exactly max_body bytes is accepted, chunked too. */
    static char in[2048], want[2048], body[MAX_BODY + 1];
    memset(body, 'b', MAX_BODY);
    int n = snprintf(in, sizeof in, "POST /echo HTTP/1.1\r\n" H11
                     "Content-Length: %d\r\n\r\n%s", MAX_BODY, body);
    snprintf(want, sizeof want,
             "HEAD POST /echo 1.1 cl=%d keep\nDONE %d:%s\n", MAX_BODY,
             MAX_BODY, body);
    rec r;
    run(&r, in, (size_t)n, 0, 0);
    assert_string_equal(r.trace, want);
    run(&r, in, (size_t)n, 1, 0);
    assert_string_equal(r.trace, want);
    n = snprintf(in, sizeof in, "POST /echo HTTP/1.1\r\n" H11
                 "Transfer-Encoding: chunked\r\n\r\n200\r\n%.*s\r\n"
                 "200\r\n%.*s\r\n0\r\n\r\n", 512, body, 512, body);
    snprintf(want, sizeof want,
             "HEAD POST /echo 1.1 chunked keep\nDONE %d:%s\n", MAX_BODY, body);
    run(&r, in, (size_t)n, 7, 0);
    assert_string_equal(r.trace, want);
}

static void test_bad(void **state)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const hcase *c = &bad_cases[i];
        check_case(c->name, c->in, strlen(c->in), c->want);
    }
}

/* The request line has its own limit (414), field lines theirs (431), and
 * the whole header block is counted too (431). */
static void test_limits(void **state)
{
    static char in[3 * 8192];
    char pad[8192];
    rec r;

    /* A request line of exactly max_line bytes is accepted... */
    size_t fixed = strlen("GET / HTTP/1.1");
    memset(pad, 'a', sizeof pad);
    int n = snprintf(in, sizeof in, "GET /%.*s HTTP/1.1\r\n" H11 "\r\n",
                     (int)(8190 - fixed), pad);
    run(&r, in, (size_t)n, 0, 0);
    assert_true(strncmp(r.trace, "HEAD GET /aaa", 13) == 0);
    assert_non_null(strstr(r.trace, "DONE 0:"));
    /* ...one more byte is a 414, whole or byte by byte. */
    n = snprintf(in, sizeof in, "GET /%.*s HTTP/1.1\r\n" H11 "\r\n",
                 (int)(8191 - fixed), pad);
    run(&r, in, (size_t)n, 0, 0);
    assert_string_equal(r.trace, "ERROR 414\n");
    run(&r, in, (size_t)n, 1, 0);
    assert_string_equal(r.trace, "ERROR 414\n");
    /* No delimiter at all: rejected once max_line + 2 bytes are buffered. */
    run(&r, in, 8200, 1, 0);
    assert_string_equal(r.trace, "ERROR 414\n");

    /* A field line over max_line is a 431. */
    n = snprintf(in, sizeof in, "GET / HTTP/1.1\r\n" H11 "X-Big: %.*s\r\n\r\n",
                 8190, pad);
    run(&r, in, (size_t)n, 0, 0);
    assert_string_equal(r.trace, "ERROR 431\n");
    run(&r, in, (size_t)n, 1, 0);
    assert_string_equal(r.trace, "ERROR 431\n");

    /* Many small fields adding up to more than MAX_HEAD: 431. */
    size_t o = (size_t)snprintf(in, sizeof in, "GET / HTTP/1.1\r\n" H11);
    for (int i = 0; i < 200; i++)
        o += (size_t)snprintf(in + o, sizeof in - o, "X-F%d: 0123456789\r\n", i);
    o += (size_t)snprintf(in + o, sizeof in - o, "\r\n");
    run(&r, in, o, 0, 0);
    assert_string_equal(r.trace, "ERROR 431\n");
    run(&r, in, o, 3, 0);
    assert_string_equal(r.trace, "ERROR 431\n");
}

/* The owner may refuse at the head; nothing of the body is delivered. */
static void test_head_refusal(void **state)
{
    const char *in = "POST / HTTP/1.1\r\n" H11 "Content-Length: 3\r\n\r\nabc"
                     "GET / HTTP/1.1\r\n" H11 "\r\n";
    http_parser p;
    rec r;
    memset(&r, 0, sizeof r);
    r.rq.hooks = &t_hooks;
    r.rq.parser = &p;
    r.rq.max_body = MAX_BODY;
    r.rq.max_head = MAX_HEAD;
    r.head_status = 405;
    httpreq_reset(&r.rq);
    http_parser_init(&p, &httpreq_callbacks, &r);
    http_parser_feed(&p, in, strlen(in));
    assert_string_equal(r.trace, "HEAD POST / 1.1 cl=3 keep\nERROR 405\n");
    httpreq_free(&r.rq);
    http_parser_free(&p);
}

static void test_path(void **state)
{
    httpreq rq;
    memset(&rq, 0, sizeof rq);
    static const struct { const char *target, *path; } cases[] = {
        {"/a/b?x=1", "/a/b"},
        {"/", "/"},
        {"/?", "/"},
        {"http://example.com/a?b", "/a"},
        {"HTTP://example.com", "/"},
        {"https://h:8/x/y", "/x/y"},
        {"*", NULL},
        {"example.com:80", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rq.target = (char *)cases[i].target;
        rq.target_len = strlen(cases[i].target);
        size_t len = 0;
        const char *p = httpreq_path(&rq, &len);
        if (!cases[i].path) {
            assert_null(p);
            continue;
        }
        assert_non_null(p);
        assert_int_equal(len, strlen(cases[i].path));
        assert_memory_equal(p, cases[i].path, len);
    }
}

static void test_dates(void **state)
{
#define D(s) httpreq_parse_date((s), strlen(s))
    assert_int_equal(D("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
    assert_int_equal(D("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
    assert_int_equal(D("Sun Nov  6 08:49:37 1994"), 784111777);
    assert_int_equal(D("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
    assert_int_equal(D("Sun, 06 Foo 1994 08:49:37 GMT"), -1);
    assert_int_equal(D("Sun, 06 Nov 1994 25:49:37 GMT"), -1);
    assert_int_equal(D(""), -1);
    assert_int_equal(D("garbage"), -1);
#undef D
}

static int setup(void **state)
{
    guard_setup(64 * 1024);
    return 0;
}

static int teardown(void **state)
{
    guard_teardown();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_head_refusal),
        cmocka_unit_test(test_path),
        cmocka_unit_test(test_dates),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
