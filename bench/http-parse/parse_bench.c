/* parse_bench.c — HTTP/1.1 request parsing in one process, on one corpus:
 * the parser weftc generates from spec/http.weft against picohttpparser
 * (phr_parse_request, from Debian's libh2o-evloop) and joyent/nodejs
 * http-parser (libhttp-parser).
 *
 * bench/http-parse/run generates the weft parser from spec/http.weft under
 * the protocol name `wh` (http-parser already owns the http_parser_*
 * names), so this file includes "wh.h".
 *
 * Each parser does what a server needs: method, target, version, every
 * header name and value as (pointer, length) into an array, and the body
 * of a request with Content-Length skipped.  Requests are parsed one call
 * per request (pico's granularity); weft is also timed on the whole
 * corpus as one stream, printed for information.
 *
 * Throughput is bytes per second of this thread's CPU time.
 *
 * Output: one line per parser and round, then "median NAME MB/s" and
 * "ratio NAME WEFT/NAME" lines (medians over the rounds).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <http_parser.h>

#include "wh.h"

/* picohttpparser's API; Debian ships the library but not its header. */
struct phr_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};
int phr_parse_request(const char *buf, size_t len, const char **method,
                      size_t *method_len, const char **path, size_t *path_len,
                      int *minor_version, struct phr_header *headers,
                      size_t *num_headers, size_t last_len);

#define MAX_HEADERS 64

/* ---- the corpus ------------------------------------------------------- */

static const char *corpus_reqs[] = {
    /* Chrome, a page */
    "GET /articles/2024/weft-parsers.html?ref=home HTTP/1.1\r\n"
    "Host: www.example.com\r\n"
    "Connection: keep-alive\r\n"
    "sec-ch-ua: \"Chromium\";v=\"118\", \"Google Chrome\";v=\"118\", \"Not=A?Brand\";v=\"99\"\r\n"
    "sec-ch-ua-mobile: ?0\r\n"
    "sec-ch-ua-platform: \"Linux\"\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7\r\n"
    "Sec-Fetch-Site: same-origin\r\n"
    "Sec-Fetch-Mode: navigate\r\n"
    "Sec-Fetch-User: ?1\r\n"
    "Sec-Fetch-Dest: document\r\n"
    "Referer: https://www.example.com/\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Accept-Language: en-GB,en-US;q=0.9,en;q=0.8\r\n"
    "Cookie: session=8f2a6c1e9b7d4e3f; theme=dark; _ga=GA1.2.1234567890.1700000000\r\n"
    "\r\n",
    /* Firefox, a stylesheet */
    "GET /static/css/site.min.css?v=3.2.1 HTTP/1.1\r\n"
    "Host: www.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
    "Accept: text/css,*/*;q=0.1\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Connection: keep-alive\r\n"
    "Referer: https://www.example.com/articles/2024/weft-parsers.html\r\n"
    "Cookie: session=8f2a6c1e9b7d4e3f; theme=dark\r\n"
    "Sec-Fetch-Dest: style\r\n"
    "Sec-Fetch-Mode: no-cors\r\n"
    "Sec-Fetch-Site: same-origin\r\n"
    "If-Modified-Since: Tue, 14 Nov 2023 08:12:31 GMT\r\n"
    "\r\n",
    /* Safari, an image */
    "GET /img/logo-2x.png HTTP/1.1\r\n"
    "Host: cdn.example.com\r\n"
    "Accept: image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5\r\n"
    "Sec-Fetch-Site: same-site\r\n"
    "Accept-Language: en-GB,en;q=0.9\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Sec-Fetch-Mode: no-cors\r\n"
    "User-Agent: Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15\r\n"
    "Referer: https://www.example.com/\r\n"
    "Connection: keep-alive\r\n"
    "Sec-Fetch-Dest: image\r\n"
    "\r\n",
    /* XHR POST with a small JSON body */
    "POST /api/v1/comments HTTP/1.1\r\n"
    "Host: www.example.com\r\n"
    "Connection: keep-alive\r\n"
    "Content-Length: 58\r\n"
    "sec-ch-ua: \"Chromium\";v=\"118\", \"Google Chrome\";v=\"118\"\r\n"
    "Content-Type: application/json\r\n"
    "X-Requested-With: XMLHttpRequest\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36\r\n"
    "Accept: application/json, text/javascript, */*; q=0.01\r\n"
    "Origin: https://www.example.com\r\n"
    "Sec-Fetch-Site: same-origin\r\n"
    "Sec-Fetch-Mode: cors\r\n"
    "Referer: https://www.example.com/articles/2024/weft-parsers.html\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Cookie: session=8f2a6c1e9b7d4e3f; theme=dark\r\n"
    "\r\n"
    "{\"article\":4711,\"text\":\"Nice write-up, thanks!\",\"reply\":0}",
    /* a form POST */
    "POST /login HTTP/1.1\r\n"
    "Host: www.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Content-Type: application/x-www-form-urlencoded\r\n"
    "Content-Length: 44\r\n"
    "Origin: https://www.example.com\r\n"
    "Connection: keep-alive\r\n"
    "Referer: https://www.example.com/login\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "\r\n"
    "user=alice&password=correct+horse&remember=1",
    /* a short API GET */
    "GET /api/v1/status HTTP/1.1\r\n"
    "Host: api.example.com\r\n"
    "User-Agent: curl/7.88.1\r\n"
    "Accept: */*\r\n"
    "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl\r\n"
    "X-Request-Id: 6f1c2b3a-9d8e-4f7a-b6c5-d4e3f2a1b0c9\r\n"
    "Accept-Encoding: gzip\r\n"
    "Connection: keep-alive\r\n"
    "\r\n",
};
#define NREQ (sizeof corpus_reqs / sizeof corpus_reqs[0])

static char *corpus;            /* all requests, back to back */
static size_t corpus_len;
static size_t req_off[NREQ], req_len[NREQ];

/* Results land here so the compiler cannot drop the work. */
static volatile size_t sink;

/* ---- weft ----------------------------------------------------------- */

typedef struct wctx {
    weft_span method, target;
    int minor;
    struct phr_header headers[MAX_HEADERS];
    size_t nheaders;
    uint64_t content_length;
    int done;
} wctx;

static void w_request_line(wh_parser *p, const wh_request_line *m)
{
    wctx *c = wh_user(p);
    c->method = m->method;
    c->target = m->target;
    c->minor = m->minor.p[0] - '0';
    c->nheaders = 0;
    c->content_length = 0;
}

static void w_header(wh_parser *p, const wh_header *m)
{
    wctx *c = wh_user(p);
    if (c->nheaders < MAX_HEADERS) {
        struct phr_header *h = &c->headers[c->nheaders++];
        h->name = m->name.p;
        h->name_len = m->name.len;
        h->value = m->value.p;
        h->value_len = m->value.len;
    }
    if (m->name.len == 14 && strncasecmp(m->name.p, "content-length", 14) == 0) {
        uint64_t v = 0;
        for (size_t i = 0; i < m->value.len; i++)
            v = v * 10 + (uint64_t)(m->value.p[i] - '0');
        c->content_length = v;
    }
}

static void w_header_empty(wh_parser *p)
{
    wctx *c = wh_user(p);
    sink += c->nheaders + c->target.len;
    if (c->content_length)
        wh_set_mode(p, WH_MODE_BODY, c->content_length);
    else {
        c->done++;
        wh_set_mode(p, WH_MODE_REQUEST_LINE, 0);
    }
}

static void w_body(wh_parser *p, const char *data, size_t len)
{
    sink += len;
}

static void w_body_end(wh_parser *p)
{
    ((wctx *)wh_user(p))->done++;
}

static const wh_callbacks w_cb = {
    .on_request_line = w_request_line,
    .on_header = w_header,
    .on_header_empty = w_header_empty,
    .on_body = w_body,
    .on_body_end = w_body_end,
};

static wh_parser wp;
static wctx wc;

static void weft_init(void)
{
    wh_parser_init(&wp, &w_cb, &wc);
}

static int weft_pass(void)
{
    for (size_t i = 0; i < NREQ; i++)
        if (wh_parser_feed(&wp, corpus + req_off[i], req_len[i]) != req_len[i])
            return -1;
    return 0;
}

static int weft_stream_pass(void)
{
    return wh_parser_feed(&wp, corpus, corpus_len) == corpus_len ? 0 : -1;
}

/* ---- picohttpparser ------------------------------------------------------ */

static int pico_pass(void)
{
    for (size_t i = 0; i < NREQ; i++) {
        const char *buf = corpus + req_off[i];
        const char *method, *path;
        size_t method_len, path_len, nh = MAX_HEADERS;
        int minor;
        struct phr_header h[MAX_HEADERS];
        int n = phr_parse_request(buf, req_len[i], &method, &method_len, &path,
                                  &path_len, &minor, h, &nh, 0);
        if (n < 0)
            return -1;
        uint64_t cl = 0;
        for (size_t k = 0; k < nh; k++)
            if (h[k].name_len == 14 &&
                strncasecmp(h[k].name, "content-length", 14) == 0)
                for (size_t j = 0; j < h[k].value_len; j++)
                    cl = cl * 10 + (uint64_t)(h[k].value[j] - '0');
        if ((size_t)n + cl != req_len[i])
            return -1;
        sink += nh + path_len + cl;
    }
    return 0;
}

/* ---- http-parser -------------------------------------------------------- */

typedef struct hctx {
    const char *url;
    size_t url_len;
    struct phr_header headers[MAX_HEADERS];
    size_t nheaders;
    int done;
} hctx;

static int hp_url(http_parser *p, const char *at, size_t len)
{
    hctx *c = p->data;
    c->url = at;
    c->url_len = len;
    c->nheaders = 0;
    return 0;
}

static int hp_field(http_parser *p, const char *at, size_t len)
{
    hctx *c = p->data;
    if (c->nheaders < MAX_HEADERS) {
        c->headers[c->nheaders].name = at;
        c->headers[c->nheaders].name_len = len;
    }
    return 0;
}

static int hp_value(http_parser *p, const char *at, size_t len)
{
    hctx *c = p->data;
    if (c->nheaders < MAX_HEADERS) {
        c->headers[c->nheaders].value = at;
        c->headers[c->nheaders].value_len = len;
        c->nheaders++;
    }
    return 0;
}

static int hp_headers_complete(http_parser *p)
{
    hctx *c = p->data;
    sink += c->nheaders + c->url_len;
    return 0;
}

static int hp_body(http_parser *p, const char *at, size_t len)
{
    sink += len;
    return 0;
}

static int hp_complete(http_parser *p)
{
    ((hctx *)p->data)->done++;
    return 0;
}

static http_parser_settings hp_settings = {
    .on_url = hp_url,
    .on_header_field = hp_field,
    .on_header_value = hp_value,
    .on_headers_complete = hp_headers_complete,
    .on_body = hp_body,
    .on_message_complete = hp_complete,
};
static http_parser hp;
static hctx hc;

static void hp_init(void)
{
    http_parser_init(&hp, HTTP_REQUEST);
    hp.data = &hc;
}

static int hp_pass(void)
{
    for (size_t i = 0; i < NREQ; i++) {
        size_t n = http_parser_execute(&hp, &hp_settings, corpus + req_off[i],
                                       req_len[i]);
        if (n != req_len[i] || HTTP_PARSER_ERRNO(&hp) != HPE_OK)
            return -1;
    }
    return 0;
}

/* ---- timing ----------------------------------------------------------- */

/* CPU time of this thread: the machines are shared, and wall time would
 * count the moments another process had the CPU. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs `pass` for about `seconds`, adding the passes made and the CPU time
 * taken to *iters and *spent. */
static void measure(int (*pass)(void), double seconds, size_t *iters,
                    double *spent)
{
    double t0 = now(), t;
    do {
        for (int k = 0; k < 64; k++)
            if (pass() < 0) {
                fprintf(stderr, "parse failed\n");
                exit(1);
            }
        *iters += 64;
        t = now();
    } while (t - t0 < seconds);
    *spent += t - t0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* --count NAME N: N passes of one parser and nothing else, for counting
 * instructions (valgrind --tool=callgrind); run it twice with different N
 * and the difference over the requests parsed is the cost per request
 * without the set-up. */
static int count_only(const char *name, long n, const char *const *names,
                      int (*const *passes)(void), int npass)
{
    for (int k = 0; k < npass; k++) {
        if (strcmp(names[k], name) != 0)
            continue;
        for (long i = 0; i < n; i++)
            if (passes[k]() < 0) {
                fprintf(stderr, "parse failed\n");
                return 1;
            }
        return 0;
    }
    fprintf(stderr, "parse_bench: no parser '%s'\n", name);
    return 2;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 3;
    double seconds = argc > 2 ? atof(argv[2]) : 1.0;
    int counting = argc == 4 && strcmp(argv[1], "--count") == 0;
    if (!counting && (rounds < 1 || rounds > 99 || seconds <= 0)) {
        fprintf(stderr, "usage: parse_bench [ROUNDS [SECONDS]] | --count NAME N\n");
        return 2;
    }
    for (size_t i = 0; i < NREQ; i++)
        corpus_len += strlen(corpus_reqs[i]);
    corpus = malloc(corpus_len);
    size_t off = 0;
    for (size_t i = 0; i < NREQ; i++) {
        req_off[i] = off;
        req_len[i] = strlen(corpus_reqs[i]);
        memcpy(corpus + off, corpus_reqs[i], req_len[i]);
        off += req_len[i];
    }
    if (!counting)
        printf("corpus: %zu requests, %zu bytes\n", NREQ, corpus_len);

    weft_init();
    hp_init();
    /* Sanity: every parser sees every request. */
    wc.done = hc.done = 0;
    if (weft_pass() < 0 || pico_pass() < 0 || hp_pass() < 0 ||
        wc.done != (int)NREQ || hc.done != (int)NREQ) {
        fprintf(stderr, "a parser rejected the corpus (weft %d, http-parser %d)\n",
                wc.done, hc.done);
        return 1;
    }

    static const char *const names[] = {"weft", "picohttpparser",
                                        "http-parser", "weft-stream"};
    int (*const passes[])(void) = {weft_pass, pico_pass, hp_pass,
                                   weft_stream_pass};
    if (counting) {
        int rc = count_only(argv[2], atol(argv[3]), names, passes, 4);
        wh_parser_free(&wp);
        free(corpus);
        return rc;
    }
    /* A round gives each parser `seconds` in SLICES turns, taken in turn
     * (A B C D A B C D ...), so a burst of load from another process
     * falls on all of them alike; the ratios of one round are the steady
     * figures, and their medians are reported. */
    enum { SLICES = 20 };
    double res[4][99], rat[4][99];
    for (int r = 0; r < rounds; r++) {
        size_t iters[4] = {0};
        double spent[4] = {0};
        for (int sl = 0; sl < SLICES; sl++)
            for (int k = 0; k < 4; k++)
                measure(passes[k], seconds / SLICES, &iters[k], &spent[k]);
        for (int k = 0; k < 4; k++)
            res[k][r] = (double)iters[k] * (double)corpus_len / spent[k] / 1e6;
        for (int k = 0; k < 4; k++) {
            rat[k][r] = res[0][r] / res[k][r];
            printf("round %d %-15s %8.1f MB/s  weft/this %.2f\n", r + 1,
                   names[k], res[k][r], rat[k][r]);
        }
        fflush(stdout);
    }
    for (int k = 0; k < 4; k++) {
        qsort(res[k], (size_t)rounds, sizeof(double), cmp_double);
        qsort(rat[k], (size_t)rounds, sizeof(double), cmp_double);
        printf("median %s %.1f\n", names[k], res[k][rounds / 2]);
        printf("ratio %s %.2f\n", names[k], rat[k][rounds / 2]);
    }
    wh_parser_free(&wp);
    free(corpus);
    return 0;
}
