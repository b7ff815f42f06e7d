/* fuzz_resp.c — libFuzzer target for spec/resp.weft and weft-redis.
 *
 * Two checks per input:
 *  1. the generated parser's canonical trace (resp_trace.c, see
 *     tests/fuzz/README.md) is the same whole, in the chunks the input
 *     chooses and one byte at a time, with the hooks of
 *     tests/unit/resp_trace_hooks.h, which walk the modes the way
 *     examples/redis/client.c does;
 *  2. the whole server path — parser, argument assembly, every command —
 *     gives byte-identical replies whole and one byte at a time, on a
 *     manual clock, under ASan/UBSan.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "../../examples/redis/redis.h"

#include "../unit/resp_trace_hooks.h"
#include "resp_trace.c"

static int64_t fixed_clock(redis_server *s) { return s->manual_now; }

/* Replies for data fed in pieces of `step` bytes (0: whole). */
static char *serve(const uint8_t *data, size_t size, size_t step, size_t *len)
{
    static redis_server srv;
    redis_client cl;
    resp_parser p;
    struct evbuffer *out = evbuffer_new();
    redis_server_init(&srv);
    srv.clock = fixed_clock;
    srv.manual_now = 1700000000000;
    srv.max_query = 1 << 20;
    srv.maxmemory = 1 << 22;
    redis_client_init(&cl, &srv, out);
    resp_parser_init(&p, &redis_resp_callbacks, &cl);
    cl.parser = &p;
    size_t at = 0;
    while (at < size && !cl.closing && !resp_parser_error(&p)) {
        size_t n = step && size - at > step ? step : size - at;
        /* An exact-size copy, so ASan sees reads past the chunk. */
        char *chunk = malloc(n);
        memcpy(chunk, data + at, n);
        resp_parser_feed(&p, chunk, n);
        free(chunk);
        at += n;
    }
    *len = evbuffer_get_length(out);
    char *r = malloc(*len + 32);
    evbuffer_remove(out, r, *len);
    *len += (size_t)sprintf(r + *len, "<%d %d>", cl.closing,
                            resp_parser_error(&p));
    resp_parser_free(&p);
    redis_client_free(&cl);
    redis_server_free(&srv);
    evbuffer_free(out);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    resp_trace_fuzz(data, size);
    size_t la, lb;
    char *a = serve(data, size, 0, &la);
    char *b = serve(data, size, 1, &lb);
    if (la != lb || memcmp(a, b, la) != 0) {
        fprintf(stderr, "replies differ: whole %zu bytes, bytewise %zu\n",
                la, lb);
        fwrite(a, 1, la, stderr);
        fputs("\n----\n", stderr);
        fwrite(b, 1, lb, stderr);
        abort();
    }
    free(a);
    free(b);
    return 0;
}
