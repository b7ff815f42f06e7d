/* fuzz_memcached.c — libFuzzer target for weft-memcached's handlers (not
 * just the parser): a command stream gets the same replies, byte for byte,
 *   - whole, in the chunk sizes the input asks for, and one byte at a time;
 *   - through the grammar's fast path and through the tolerant path alone
 *     (memcached's own tokenizer), which must agree on every line.
 * Each run uses a fresh standalone server with a small memory limit (so
 * eviction runs too) and a fixed clock.
 *
 * Input: data[0] % 8 = k chunk-size bytes follow (each + 1), then the
 * stream, as in the generated trace harnesses. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../examples/memcached/proto.h"

static time_t fixed_clock(void) { return 1700000000; }

typedef struct run {
    char *out;
    size_t len;
    int closed;
} run;

static run replay(const uint8_t *d, size_t n, const uint8_t *sizes,
                  size_t nsizes, int bytewise, int slow)
{
    static mc_server srv;
    memcache_parser p;
    mc_session s;
    run r;

    if (mc_server_init(&srv, 64 * 1024, 16 * 1024) != 0)
        abort();
    mc_server_set_clock(&srv, fixed_clock);
    srv.force_slow_path = slow;
    memcache_parser_init(&p, &mc_callbacks, &s);
    mc_session_init(&s, &srv, &p, NULL);
    size_t i = 0, k = 0;
    while (i < n && !s.closed && !memcache_parser_error(&p)) {
        size_t c = n - i;
        if (bytewise)
            c = 1;
        else if (nsizes)
            c = sizes[k++ % nsizes] + 1u;
        if (c > n - i)
            c = n - i;
        char *copy = malloc(c);          /* exact size: ASan sees overreads */
        memcpy(copy, d + i, c);
        memcache_parser_feed(&p, copy, c);
        free(copy);
        i += c;
    }
    size_t len;
    const char *o = mc_session_output(&s, &len);
    r.out = malloc(len + 1);
    memcpy(r.out, o, len);
    r.len = len;
    r.closed = s.closed;
    mc_session_free(&s);
    memcache_parser_free(&p);
    mc_server_free(&srv);
    return r;
}

static void same(const run *a, const run *b, const char *what)
{
    if (a->len == b->len && memcmp(a->out, b->out, a->len) == 0 &&
        a->closed == b->closed)
        return;
    fprintf(stderr, "replies differ (%s): %zu bytes%s vs %zu bytes%s\n",
            what, a->len, a->closed ? " closed" : "", b->len,
            b->closed ? " closed" : "");
    fprintf(stderr, "--- A\n%.*s\n--- B\n%.*s\n", (int)a->len, a->out,
            (int)b->len, b->out);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t k = data[0] % 8u;
    if (size < 1 + k)
        return 0;
    const uint8_t *sizes = data + 1, *d = data + 1 + k;
    size_t n = size - 1 - k;
    run whole = replay(d, n, NULL, 0, 0, 0);
    run parts = replay(d, n, sizes, k, 0, 0);
    run bytes = replay(d, n, NULL, 0, 1, 0);
    run slow = replay(d, n, sizes, k, 0, 1);
    same(&whole, &parts, "whole / chunks");
    same(&whole, &bytes, "whole / bytewise");
    same(&whole, &slow, "fast path / tolerant path");
    free(whole.out);
    free(parts.out);
    free(bytes.out);
    free(slow.out);
    return 0;
}
