/* fuzz_http_response.c — split invariance of the parser generated from
 * spec/http_response.weft (tests/fuzz/README.md), with a client's framing
 * (RFC 9112 section 6.3) as the hooks that enter the counted modes:
 *
 * - 1xx, 204 and 304 responses have no body: the next status line follows;
 * - Transfer-Encoding ending in "chunked": chunk_size; a chunk size line
 *   enters chunk_data with that count, or for 0 the trailer section, whose
 *   empty line leads to the next status line;
 * - else a valid Content-Length: body with that count (0: no body);
 * - else the body runs until the connection closes: rest.
 *
 * A chunk size that does not fit (over 2^62) sends the parser back to
 * status_line, where the rest mismatches, as a client would give up.
 * var[0]: Content-Length, var[1]: 1 = has one, 2 = chunked, var[2]: status.
 */
#include <stddef.h>
#include <stdint.h>
#include <strings.h>

#include "http_response.h"

static int fuzz_hr_chunked(const char *v, size_t n)
{
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    if (n < 7 || strncasecmp(v + n - 7, "chunked", 7) != 0)
        return 0;
    if (n == 7)
        return 1;
    char before = v[n - 8];
    return before == ',' || before == ' ' || before == '\t';
}

static void fuzz_hr_status(uint64_t *var, const http_response_status_line *m)
{
    uint64_t s = 0;
    for (size_t i = 0; i < m->status.len; i++)
        s = s * 10 + (uint64_t)(m->status.p[i] - '0');
    var[2] = s;
}

static void fuzz_hr_header(uint64_t *var, const http_response_header *m);
static void fuzz_hr_head_end(uint64_t *var, http_response_parser *p);
static void fuzz_hr_chunk(const http_response_chunk_size *m,
                          http_response_parser *p);

#define HTTP_RESPONSE_TRACE_STATUS_LINE(t, p, m) fuzz_hr_status((t)->var, (m))
#define HTTP_RESPONSE_TRACE_HEADER(t, p, m) fuzz_hr_header((t)->var, (m))
#define HTTP_RESPONSE_TRACE_HEADER_EMPTY(t, p) fuzz_hr_head_end((t)->var, (p))
#define HTTP_RESPONSE_TRACE_CHUNK_SIZE(t, p, m) fuzz_hr_chunk((m), (p))
#define HTTP_RESPONSE_TRACE_TRAILER_EMPTY(t, p) \
    http_response_set_mode((p), HTTP_RESPONSE_MODE_STATUS_LINE, 0)
#include "http_response_trace.c"

static void fuzz_hr_header(uint64_t *var, const http_response_header *m)
{
    const char *v = m->value.p;
    size_t n = v ? m->value.len : 0;

    if (m->name.len == 14 &&
        strncasecmp(m->name.p, "content-length", 14) == 0) {
        uint64_t x;
        if (v && http_response_trace_number(m->value, 10, &x) == 0) {
            var[0] = x;
            var[1] |= 1;
        }
    } else if (m->name.len == 17 &&
               strncasecmp(m->name.p, "transfer-encoding", 17) == 0 &&
               v && fuzz_hr_chunked(v, n)) {
        var[1] |= 2;
    }
}

static void fuzz_hr_head_end(uint64_t *var, http_response_parser *p)
{
    uint64_t status = var[2];

    if ((status >= 100 && status < 200) || status == 204 || status == 304)
        http_response_set_mode(p, HTTP_RESPONSE_MODE_STATUS_LINE, 0);
    else if (var[1] & 2)
        http_response_set_mode(p, HTTP_RESPONSE_MODE_CHUNK_SIZE, 0);
    else if ((var[1] & 1) && var[0] > 0)
        http_response_set_mode(p, HTTP_RESPONSE_MODE_BODY, var[0]);
    else if (var[1] & 1)
        http_response_set_mode(p, HTTP_RESPONSE_MODE_STATUS_LINE, 0);
    else
        http_response_set_mode(p, HTTP_RESPONSE_MODE_REST, 0);
    var[0] = var[1] = var[2] = 0;
}

static void fuzz_hr_chunk(const http_response_chunk_size *m,
                          http_response_parser *p)
{
    uint64_t x;

    if (http_response_trace_number(m->size, 16, &x) != 0)
        http_response_set_mode(p, HTTP_RESPONSE_MODE_STATUS_LINE, 0);
    else if (x == 0)
        http_response_set_mode(p, HTTP_RESPONSE_MODE_TRAILER, 0);
    else
        http_response_set_mode(p, HTTP_RESPONSE_MODE_CHUNK_DATA, x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return http_response_trace_fuzz(data, size);
}
