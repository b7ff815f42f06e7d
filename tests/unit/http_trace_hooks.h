/* http_trace_hooks.h — the framing a server does, as hooks of the
 * generated trace harness (build/gen/http_trace.c, tests/fuzz/README.md):
 * Content-Length enters `body`, chunked enters `chunk_size`, a chunk size
 * enters `chunk_data` or, for 0, `trailer`; empty lines before a request
 * line keep the parser there.  Include it before "http_trace.c"; shared by
 * tests/fuzz/fuzz_http.c and tests/unit/test_http_cases.c. */
#ifndef WEFT_HTTP_TRACE_HOOKS_H
#define WEFT_HTTP_TRACE_HOOKS_H

#include <stdint.h>
#include <strings.h>

#include "http.h"

/* var[0]: Content-Length, var[1]: 1 = has one, 2 = chunked */
static void fuzz_http_header(uint64_t *var, const http_header *m)
{
    const char *v = m->value.p;
    size_t n = m->value.p ? m->value.len : 0;
    if (m->name.len == 14 && strncasecmp(m->name.p, "content-length", 14) == 0) {
        uint64_t x = 0;
        if (n == 0 || n > 18)
            return;
        for (size_t i = 0; i < n; i++) {
            if (v[i] < '0' || v[i] > '9')
                return;
            x = x * 10 + (uint64_t)(v[i] - '0');
        }
        var[0] = x;
        var[1] |= 1;
    } else if (m->name.len == 17 &&
               strncasecmp(m->name.p, "transfer-encoding", 17) == 0 &&
               n == 7 && strncasecmp(v, "chunked", 7) == 0) {
        var[1] |= 2;
    }
}

static void fuzz_http_head_end(uint64_t *var, http_parser *p)
{
    if (var[1] & 2)
        http_set_mode(p, HTTP_MODE_CHUNK_SIZE, 0);
    else if ((var[1] & 1) && var[0] > 0)
        http_set_mode(p, HTTP_MODE_BODY, var[0]);
    else
        http_set_mode(p, HTTP_MODE_REQUEST_LINE, 0);
    var[0] = var[1] = 0;
}

static void fuzz_http_chunk(const http_chunk_size *m, http_parser *p)
{
    uint64_t x = 0;
    size_t n = m->size.len;
    const char *s = m->size.p;
    while (n > 1 && *s == '0') {
        s++;
        n--;
    }
    if (n > 15) {
        http_set_mode(p, HTTP_MODE_REQUEST_LINE, 0);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        x = x * 16 + (uint64_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    if (x == 0)
        http_set_mode(p, HTTP_MODE_TRAILER, 0);
    else
        http_set_mode(p, HTTP_MODE_CHUNK_DATA, x);
}

#define HTTP_TRACE_REQUEST_LINE_EMPTY(t, p) \
    http_set_mode((p), HTTP_MODE_REQUEST_LINE, 0)
#define HTTP_TRACE_HEADER(t, p, m) fuzz_http_header((t)->var, (m))
#define HTTP_TRACE_HEADER_EMPTY(t, p) fuzz_http_head_end((t)->var, (p))
#define HTTP_TRACE_CHUNK_SIZE(t, p, m) fuzz_http_chunk((m), (p))
#define HTTP_TRACE_TRAILER_EMPTY(t, p) \
    http_set_mode((p), HTTP_MODE_REQUEST_LINE, 0)
#endif
