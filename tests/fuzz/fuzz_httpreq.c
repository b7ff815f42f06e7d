/* fuzz_httpreq.c — weft-httpd's request framing (examples/httpd/request.c)
 * on the parser generated from spec/http.weft: the events it reports (the
 * framing fields of each head, bodies, errors with their status) must be
 * the same whether the input comes whole, in the chunk sizes the fuzzer
 * picks, or one byte at a time.  data[0] % 8 is the number of chunk-size
 * bytes that follow (each + 1), as in the generated trace harness. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../examples/httpd/request.h"
#include "http.h"

typedef struct rec {
    httpreq rq;                 /* first, as request.c expects */
    char *trace;
    size_t n, cap;
    uint64_t body_sum, body_len;    /* bodies as a checksum, not text */
} rec;

static void say(rec *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void say(rec *r, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k < 0)
        return;
    if ((size_t)k >= sizeof tmp)
        k = sizeof tmp - 1;
    if (r->n + (size_t)k + 1 > r->cap) {
        r->cap = (r->n + (size_t)k + 1) * 2;
        r->trace = realloc(r->trace, r->cap);
        if (!r->trace)
            abort();
    }
    memcpy(r->trace + r->n, tmp, (size_t)k + 1);
    r->n += (size_t)k;
}

static int h_head(httpreq *rq)
{
    rec *r = (rec *)rq;
    say(r, "head %s %zu 1.%d cl=%d:%llu te=%d ka=%d cont=%d ims=%lld\n",
        rq->method_text, rq->target_len, rq->minor, rq->has_content_length,
        (unsigned long long)rq->content_length, rq->chunked, rq->keep_alive,
        rq->expect_continue, (long long)rq->if_modified_since);
    return 0;
}

static void h_body(httpreq *rq, const char *data, size_t len)
{
    rec *r = (rec *)rq;
    for (size_t i = 0; i < len; i++)
        r->body_sum = r->body_sum * 31 + (unsigned char)data[i];
    r->body_len += len;
}

static void h_done(httpreq *rq)
{
    rec *r = (rec *)rq;
    say(r, "done %llu %llx\n", (unsigned long long)r->body_len,
        (unsigned long long)r->body_sum);
    r->body_len = r->body_sum = 0;
}

static void h_error(httpreq *rq, int status, const char *why)
{
    say((rec *)rq, "error %d %s\n", status, why);
}

static const httpreq_hooks hooks = {h_head, h_body, h_done, h_error};

static char *run(const uint8_t *data, size_t len, const uint8_t *sizes,
                 size_t nsizes)
{
    http_parser p;
    rec r;
    memset(&r, 0, sizeof r);
    r.rq.hooks = &hooks;
    r.rq.parser = &p;
    r.rq.max_body = 4096;
    r.rq.max_head = 2048;
    httpreq_reset(&r.rq);
    http_parser_init(&p, &httpreq_callbacks, &r);
    say(&r, "");
    size_t off = 0, k = 0;
    while (off < len) {
        size_t n = nsizes ? (size_t)sizes[k++ % nsizes] + 1 : len;
        if (n > len - off)
            n = len - off;
        char *copy = malloc(n);         /* exact size: ASan sees overreads */
        memcpy(copy, data + off, n);
        size_t got = http_parser_feed(&p, copy, n);
        free(copy);
        if (got < n) {
            say(&r, "fail %d\n", http_parser_error(&p));
            break;
        }
        off += n;
    }
    httpreq_free(&r.rq);
    http_parser_free(&p);
    return r.trace;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t k = data[0] % 8;
    if (size < 1 + k)
        return 0;
    const uint8_t *sizes = data + 1, *in = data + 1 + k;
    size_t len = size - 1 - k;
    uint8_t one = 0;
    char *whole = run(in, len, NULL, 0);
    char *chunked = run(in, len, sizes, k);
    char *bytes = run(in, len, &one, 1);
    if (strcmp(whole, chunked) != 0 || strcmp(whole, bytes) != 0) {
        fprintf(stderr, "whole:\n%s\nchunked:\n%s\nbyte by byte:\n%s\n",
                whole, chunked, bytes);
        abort();
    }
    free(whole);
    free(chunked);
    free(bytes);
    return 0;
}
