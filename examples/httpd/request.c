/* request.c — HTTP/1.1 request framing (see request.h).
 *
 * Every callback starts by finding its httpreq and giving up when an error
 * was already reported: under libweft the owner closed the connection and
 * no callback would run anyway, but a standalone parser keeps parsing.
 */
#include "request.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static httpreq *req_of(http_parser *p)
{
    return http_conn(p) ? (httpreq *)http_state(p) : (httpreq *)http_user(p);
}

/* Reports a bad request once; nothing is parsed for it afterwards. */
static void fail(httpreq *rq, int status, const char *why)
{
    if (rq->phase == HTTPREQ_DEAD)
        return;
    rq->phase = HTTPREQ_DEAD;
    rq->hooks->on_error(rq, status, why);
}

void httpreq_reset(httpreq *rq)
{
    /* The target is freed, not kept: an idle keep-alive connection then
     * holds no request memory at all. */
    free(rq->target);
    memset(&rq->phase, 0, sizeof *rq - offsetof(httpreq, phase));
    rq->if_modified_since = -1;
}

void httpreq_free(httpreq *rq)
{
    free(rq->target);
    rq->target = NULL;
    rq->target_cap = rq->target_len = 0;
}

/* Case-insensitive comparison of a span with a lower-case literal. */
static bool span_is(const char *p, size_t len, const char *lit, size_t n)
{
    return len == n && strncasecmp(p, lit, n) == 0;
}
#define SPAN_IS(p, len, lit) span_is((p), (len), (lit), sizeof(lit) - 1)

static int method_of(const char *m, size_t n)
{
    switch (n) {
    case 3:
        if (memcmp(m, "GET", 3) == 0) return HTTPREQ_GET;
        if (memcmp(m, "PUT", 3) == 0) return HTTPREQ_PUT;
        break;
    case 4:
        if (memcmp(m, "HEAD", 4) == 0) return HTTPREQ_HEAD;
        if (memcmp(m, "POST", 4) == 0) return HTTPREQ_POST;
        break;
    case 5:
        if (memcmp(m, "PATCH", 5) == 0) return HTTPREQ_PATCH;
        if (memcmp(m, "TRACE", 5) == 0) return HTTPREQ_TRACE;
        break;
    case 6:
        if (memcmp(m, "DELETE", 6) == 0) return HTTPREQ_DELETE;
        break;
    case 7:
        if (memcmp(m, "OPTIONS", 7) == 0) return HTTPREQ_OPTIONS;
        if (memcmp(m, "CONNECT", 7) == 0) return HTTPREQ_CONNECT;
        break;
    }
    return HTTPREQ_OTHER;
}

static void on_request_line(http_parser *p, const http_request_line *m)
{
    httpreq *rq = req_of(p);
    if (rq->phase == HTTPREQ_DEAD)
        return;
    size_t n = m->target.len;
    char *t = realloc(rq->target, n + 1);
    if (!t) {
        fail(rq, 503, "out of memory");
        return;
    }
    rq->target = t;
    rq->target_cap = n + 1;
    memcpy(rq->target, m->target.p, n);
    rq->target[n] = '\0';
    rq->target_len = n;
    rq->method = method_of(m->method.p, m->method.len);
    size_t ml = m->method.len < sizeof rq->method_text - 1
                    ? m->method.len : sizeof rq->method_text - 1;
    memcpy(rq->method_text, m->method.p, ml);
    rq->method_text[ml] = '\0';
    rq->minor = m->minor.p[0] - '0';
    rq->phase = HTTPREQ_FIELDS;
}

/* RFC 9112 2.2: empty lines before a request line are ignored; the spec's
 * `next header` would apply after them too, so stay. */
static void on_request_line_empty(http_parser *p)
{
    http_set_mode(p, HTTP_MODE_REQUEST_LINE, 0);
}

/* Content-Length = 1*DIGIT; at most 18 digits so it cannot overflow. */
static int parse_length(const char *v, size_t n, uint64_t *out)
{
    if (!v || n == 0 || n > 18)
        return -1;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    *out = x;
    return 0;
}

/* Connection is a comma-separated list of tokens (RFC 9110 7.6.1). */
static void connection_options(httpreq *rq, const char *v, size_t n)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t start = i;
        while (i < n && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
            i++;
        if (SPAN_IS(v + start, i - start, "close"))
            rq->conn_close = true;
        else if (SPAN_IS(v + start, i - start, "keep-alive"))
            rq->conn_keep_alive = true;
    }
}

/* Host = uri-host [ ":" port ]: no white space, no path, no user info. */
static bool host_ok(const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)v[i];
        if (ch <= ' ' || ch >= 0x7f || ch == '/' || ch == '@' || ch == '\\')
            return false;
    }
    return true;
}

static void header_field(httpreq *rq, const char *name, size_t nlen,
                         const char *v, size_t vlen)
{
    switch (nlen) {
    case 4:
        if (SPAN_IS(name, nlen, "host")) {
            rq->host_count++;
            if (!host_ok(v, vlen))
                rq->bad_host = true;
        }
        break;
    case 6:
        if (SPAN_IS(name, nlen, "expect")) {
            if (SPAN_IS(v, vlen, "100-continue"))
                rq->expect_continue = true;
            else
                rq->expect_other = true;
        }
        break;
    case 10:
        if (SPAN_IS(name, nlen, "connection"))
            connection_options(rq, v, vlen);
        break;
    case 14:
        if (SPAN_IS(name, nlen, "content-length")) {
            uint64_t cl;
            if (parse_length(v, vlen, &cl) < 0) {
                fail(rq, 400, "invalid Content-Length");
            } else if (rq->has_content_length && cl != rq->content_length) {
                fail(rq, 400, "conflicting Content-Length");
            } else {
                rq->has_content_length = true;
                rq->content_length = cl;
            }
        }
        break;
    case 17:
        if (SPAN_IS(name, nlen, "transfer-encoding")) {
            if (!rq->has_transfer_encoding && SPAN_IS(v, vlen, "chunked"))
                rq->chunked = true;
            else
                rq->te_unsupported = true;
            rq->has_transfer_encoding = true;
        } else if (SPAN_IS(name, nlen, "if-modified-since")) {
            rq->if_modified_since = httpreq_parse_date(v, vlen);
        }
        break;
    }
}

/* Length of a field line from its captures (both point into the line);
 * white space after the value is not counted. */
static size_t field_len(weft_span name, weft_span value)
{
    if (!value.p)
        return name.len + 1;
    return (size_t)(value.p + value.len - name.p);
}

/* Field lines count toward max_head, CRLF included. */
static bool head_grows(httpreq *rq, size_t line_len)
{
    rq->head_bytes += line_len + 2;
    if (rq->head_bytes > rq->max_head) {
        fail(rq, 431, "header fields too large");
        return false;
    }
    return true;
}

static void on_header(http_parser *p, const http_header *m)
{
    httpreq *rq = req_of(p);
    if (rq->phase == HTTPREQ_DEAD)
        return;
    size_t vlen = m->value.p ? m->value.len : 0;
    if (!head_grows(rq, field_len(m->name, m->value)))
        return;
    header_field(rq, m->name.p, m->name.len, m->value.p, vlen);
}

/* The request is complete: hand it over, then read the next one. */
static void finish(httpreq *rq)
{
    http_parser *p = rq->parser;
    rq->hooks->on_done(rq);
    if (rq->phase == HTTPREQ_DEAD)
        return;
    httpreq_reset(rq);
    http_set_mode(p, HTTP_MODE_REQUEST_LINE, 0);
}

/* Checks the framing of a complete header block (RFC 9112 6.1-6.3, 3.2). */
static int check_head(httpreq *rq)
{
    if (rq->host_count > 1 || rq->bad_host)
        return 400;
    if (rq->minor == 1 && rq->host_count == 0)
        return 400;
    if (rq->has_transfer_encoding && rq->has_content_length)
        return 400;
    if (rq->has_transfer_encoding && rq->minor == 0)
        return 400;
    if (rq->te_unsupported)
        return 501;
    if (rq->expect_other && rq->minor == 1)
        return 417;
    if (rq->has_content_length && rq->content_length > rq->max_body)
        return 413;
    return 0;
}

static const char *head_error_text(httpreq *rq, int status)
{
    switch (status) {
    case 413: return "body larger than the limit";
    case 417: return "unsupported expectation";
    case 501: return "unsupported Transfer-Encoding";
    }
    if (rq->host_count > 1) return "more than one Host";
    if (rq->bad_host) return "invalid Host";
    if (rq->host_count == 0 && rq->minor == 1) return "HTTP/1.1 request without Host";
    if (rq->has_content_length) return "both Content-Length and Transfer-Encoding";
    return "Transfer-Encoding in an HTTP/1.0 request";
}

static void on_header_empty(http_parser *p)
{
    httpreq *rq = req_of(p);
    if (rq->phase == HTTPREQ_DEAD)
        return;
    int status = check_head(rq);
    if (status) {
        fail(rq, status, head_error_text(rq, status));
        return;
    }
    rq->body_follows = rq->chunked ||
                       (rq->has_content_length && rq->content_length > 0);
    rq->keep_alive = rq->minor == 1 ? !rq->conn_close
                                    : rq->conn_keep_alive && !rq->conn_close;
    status = rq->hooks->on_head(rq);
    if (status) {
        fail(rq, status, httpreq_reason(status));
        return;
    }
    if (rq->phase == HTTPREQ_DEAD)
        return;
    if (rq->chunked) {
        rq->phase = HTTPREQ_BODY;
        http_set_mode(p, HTTP_MODE_CHUNK_SIZE, 0);
    } else if (rq->body_follows) {
        rq->phase = HTTPREQ_BODY;
        http_set_mode(p, HTTP_MODE_BODY, rq->content_length);
    } else {
        finish(rq);
    }
}

static void on_body(http_parser *p, const char *data, size_t len)
{
    httpreq *rq = req_of(p);
    if (rq->phase != HTTPREQ_BODY)
        return;
    rq->body_bytes += len;
    rq->hooks->on_body(rq, data, len);
}

static void on_body_end(http_parser *p)
{
    httpreq *rq = req_of(p);
    if (rq->phase != HTTPREQ_BODY)
        return;
    finish(rq);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return c - 'A' + 10;     /* the grammar admits only xdigit */
}

static void on_chunk_size(http_parser *p, const http_chunk_size *m)
{
    httpreq *rq = req_of(p);
    if (rq->phase != HTTPREQ_BODY)
        return;
    const char *s = m->size.p;
    size_t n = m->size.len;
    while (n > 1 && *s == '0') {
        s++;
        n--;
    }
    if (n > 15) {
        fail(rq, 400, "chunk size too large");
        return;
    }
    uint64_t size = 0;
    for (size_t i = 0; i < n; i++)
        size = size * 16 + (uint64_t)hexval(s[i]);
    if (size == 0) {
        http_set_mode(p, HTTP_MODE_TRAILER, 0);
    } else if (size > rq->max_body - rq->body_bytes) {
        fail(rq, 413, "body larger than the limit");
    } else {
        http_set_mode(p, HTTP_MODE_CHUNK_DATA, size);
    }
}

static void on_chunk_data_end(http_parser *p)
{
    httpreq *rq = req_of(p);
    if (rq->phase != HTTPREQ_BODY)
        return;
    http_set_mode(p, HTTP_MODE_CHUNK_SIZE, 0);
}

static void on_trailer(http_parser *p, const http_trailer *m)
{
    httpreq *rq = req_of(p);
    if (rq->phase != HTTPREQ_BODY)
        return;
    head_grows(rq, field_len(m->name, m->value));
}

static void on_trailer_empty(http_parser *p)
{
    httpreq *rq = req_of(p);
    if (rq->phase != HTTPREQ_BODY)
        return;
    finish(rq);
}

static void on_mismatch(http_parser *p, enum http_mode mode,
                        const char *line, size_t len)
{
    httpreq *rq = req_of(p);
    switch (mode) {
    case HTTP_MODE_REQUEST_LINE:
        fail(rq, 400, "malformed request line");
        break;
    case HTTP_MODE_HEADER:
        fail(rq, 400, "malformed header field");
        break;
    case HTTP_MODE_CHUNK_SIZE:
        fail(rq, 400, "bad chunk size line");
        break;
    case HTTP_MODE_TRAILER:
        fail(rq, 400, "malformed trailer field");
        break;
    default:
        fail(rq, 400, "chunk data not followed by CRLF");
        break;
    }
}

static void on_line_too_long(http_parser *p, enum http_mode mode,
                             const char *data, size_t len)
{
    httpreq *rq = req_of(p);
    switch (mode) {
    case HTTP_MODE_REQUEST_LINE:
        fail(rq, 414, "request line too long");
        break;
    case HTTP_MODE_HEADER:
    case HTTP_MODE_TRAILER:
        fail(rq, 431, "header field line too long");
        break;
    default:
        fail(rq, 400, "chunk size line too long");
        break;
    }
}

const http_callbacks httpreq_callbacks = {
    .on_request_line = on_request_line,
    .on_request_line_empty = on_request_line_empty,
    .on_header = on_header,
    .on_header_empty = on_header_empty,
    .on_body = on_body,
    .on_body_end = on_body_end,
    .on_chunk_size = on_chunk_size,
    .on_chunk_data = on_body,
    .on_chunk_data_end = on_chunk_data_end,
    .on_trailer = on_trailer,
    .on_trailer_empty = on_trailer_empty,
    .on_mismatch = on_mismatch,
    .on_line_too_long = on_line_too_long,
};

const char *httpreq_path(const httpreq *rq, size_t *len)
{
    const char *t = rq->target;
    size_t n = rq->target_len;
    if (n == 0)
        return NULL;
    if (t[0] != '/') {
        size_t skip;
        if (n >= 7 && strncasecmp(t, "http://", 7) == 0)
            skip = 7;
        else if (n >= 8 && strncasecmp(t, "https://", 8) == 0)
            skip = 8;
        else
            return NULL;
        const char *slash = memchr(t + skip, '/', n - skip);
        if (!slash) {
            *len = 1;
            return "/";
        }
        n -= (size_t)(slash - t);
        t = slash;
    }
    const char *q = memchr(t, '?', n);
    *len = q ? (size_t)(q - t) : n;
    return t;
}

const char *httpreq_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    }
    return "Unknown";
}

static int month_of(const char *m)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (int i = 0; i < 12; i++)
        if (memcmp(m, months + 3 * i, 3) == 0)
            return i;
    return -1;
}

time_t httpreq_parse_date(const char *s, size_t len)
{
    char buf[64];
    if (!s || len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char wd[16], mon[4] = {0};
    int day, year, hh, mm, ss;
    struct tm tm = {0};
    /* IMF-fixdate, then rfc850-date, then asctime-date. */
    if (sscanf(buf, "%3s, %2d %3s %4d %2d:%2d:%2d GMT", wd, &day, mon, &year,
               &hh, &mm, &ss) == 7) {
    } else if (sscanf(buf, "%15[A-Za-z], %2d-%3s-%2d %2d:%2d:%2d GMT", wd,
                      &day, mon, &year, &hh, &mm, &ss) == 7) {
        year += year < 70 ? 2000 : 1900;
    } else if (sscanf(buf, "%3s %3s %2d %2d:%2d:%2d %4d", wd, mon, &day, &hh,
                      &mm, &ss, &year) == 7) {
    } else {
        return -1;
    }
    int m = month_of(mon);
    if (m < 0 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60)
        return -1;
    tm.tm_year = year - 1900;
    tm.tm_mon = m;
    tm.tm_mday = day;
    tm.tm_hour = hh;
    tm.tm_min = mm;
    tm.tm_sec = ss;
    return timegm(&tm);
}
