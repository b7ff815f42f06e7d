/* test_memcache.c — weft-memcached: the cache engine (hash table, LRU,
 * memory limit, expiry, flush_all, incr/decr) and the command handlers
 * driven through the parser generated from spec/memcache.weft.
 *
 * Command streams come from tests/unit/cases/memcache_server.cases, whose
 * expected replies were recorded from memcached 1.6.18; each is replayed
 * whole, at every split point and one byte at a time, through the
 * grammar's fast path and through the tolerant path alone.  Every chunk is
 * fed from its own exact-size heap copy so ASan catches reads past it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../examples/memcached/cache.h"
#include "../../examples/memcached/lru.h"
#include "../../examples/memcached/proto.h"
#include "memcache.h"
#include "weft.h"

#define CASES "tests/unit/cases/memcache_server.cases"

static time_t fake_now = 1700000000;
static time_t fake_clock(void) { return fake_now; }

static void print_bytes(const char *what, const char *p, size_t n);
static void print_bytes_z(const char *what, const char *p)
{
    print_bytes(what, p, strlen(p));
}

/* ---- a standalone server --------------------------------------------- */

typedef struct harness {
    mc_server srv;
    memcache_parser p;
    mc_session s;
} harness;

static harness *h_new(bool slow, size_t mem, size_t item_max)
{
    harness *h = calloc(1, sizeof *h);
    assert_non_null(h);
    assert_int_equal(mc_server_init(&h->srv, mem, item_max), 0);
    mc_server_set_clock(&h->srv, fake_clock);
    h->srv.force_slow_path = slow;
    memcache_parser_init(&h->p, &mc_callbacks, &h->s);
    mc_session_init(&h->s, &h->srv, &h->p, NULL);
    return h;
}

static void h_free(harness *h)
{
    mc_session_free(&h->s);
    memcache_parser_free(&h->p);
    mc_server_free(&h->srv);
    free(h);
}

/* Feeds one chunk from an exact-size copy, unless the session ended. */
static void h_feed(harness *h, const char *data, size_t len)
{
    if (h->s.closed || memcache_parser_error(&h->p) || len == 0)
        return;
    char *copy = malloc(len);
    assert_non_null(copy);
    memcpy(copy, data, len);
    memcache_parser_feed(&h->p, copy, len);
    free(copy);
}

static void h_send(harness *h, const char *text)
{
    h_feed(h, text, strlen(text));
}

/* Takes the replies so far as a C string (free it). */
static char *h_take(harness *h)
{
    size_t n;
    const char *o = mc_session_output(&h->s, &n);
    char *z = malloc(n + 1);
    assert_non_null(z);
    memcpy(z, o, n);
    z[n] = '\0';
    mc_session_clear_output(&h->s);
    return z;
}

/* Sends text and checks the complete reply. */
static void h_expect(harness *h, const char *text, const char *reply)
{
    h_send(h, text);
    char *got = h_take(h);
    if (strcmp(got, reply) != 0) {
        print_bytes_z("sent", text);
        print_bytes_z("expected", reply);
        print_bytes_z("got", got);
        free(got);
        fail();
    }
    free(got);
}

/* ---- the case file ------------------------------------------------------ */

typedef struct mcase {
    char title[256];
    char *in, *out;
    size_t in_len, out_len;
    bool closed;
} mcase;

static void append_unescaped(char **buf, size_t *len, const char *line)
{
    size_t n = strlen(line);
    *buf = realloc(*buf, *len + n + 1);
    assert_non_null(*buf);
    char *o = *buf + *len;
    for (size_t i = 0; i < n; i++) {
        if (line[i] != '\\' || i + 1 == n) {
            *o++ = line[i];
            continue;
        }
        char e = line[++i];
        if (e == 'r') *o++ = '\r';
        else if (e == 'n') *o++ = '\n';
        else if (e == 't') *o++ = '\t';
        else if (e == '\\') *o++ = '\\';
        else if (e == 'x' && i + 2 < n + 1) {
            char hex[3] = { line[i + 1], line[i + 2], 0 };
            *o++ = (char)strtol(hex, NULL, 16);
            i += 2;
        } else {
            fail_msg("bad escape \\%c in %s", e, CASES);
        }
    }
    *len = (size_t)(o - *buf);
}

static mcase *load_cases(size_t *count)
{
    FILE *f = fopen(CASES, "r");
    if (!f)
        fail_msg("cannot open %s (run from the repository root)", CASES);
    mcase *cases = NULL;
    size_t n = 0;
    int part = 0;                 /* 1: input, 2: output */
    static char line[1 << 16];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "=== ", 4) == 0) {
            cases = realloc(cases, (n + 1) * sizeof *cases);
            assert_non_null(cases);
            memset(&cases[n], 0, sizeof cases[n]);
            size_t tl = strlen(line + 4);
            if (tl >= sizeof cases[n].title)
                tl = sizeof cases[n].title - 1;
            memcpy(cases[n].title, line + 4, tl);
            cases[n].title[tl] = '\0';
            n++;
            part = 0;
        } else if (n && strcmp(line, "<<<") == 0) {
            part = 1;
        } else if (n && strcmp(line, ">>>") == 0) {
            part = 2;
        } else if (n && part == 2 && strcmp(line, "!closed") == 0) {
            cases[n - 1].closed = true;
        } else if (n && part && line[0]) {
            mcase *c = &cases[n - 1];
            if (part == 1)
                append_unescaped(&c->in, &c->in_len, line);
            else
                append_unescaped(&c->out, &c->out_len, line);
        }
    }
    fclose(f);
    assert_true(n >= 30);
    *count = n;
    return cases;
}

static void print_bytes(const char *what, const char *p, size_t n)
{
    fprintf(stderr, "%s (%zu bytes): \"", what, n);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch == '\n')
            fprintf(stderr, "\\n");
        else if (ch == '\r')
            fprintf(stderr, "\\r");
        else if (ch < 32 || ch > 126)
            fprintf(stderr, "\\x%02x", ch);
        else
            fputc(ch, stderr);
    }
    fprintf(stderr, "\"\n");
}

/* Runs one case cut at `split` (0: whole) or byte by byte (split ==
 * SIZE_MAX), through the fast or the tolerant path. */
static void run_case(const mcase *c, size_t split, bool slow)
{
    harness *h = h_new(slow, 64u << 20, 1u << 20);
    if (split == SIZE_MAX) {
        for (size_t i = 0; i < c->in_len; i++)
            h_feed(h, c->in + i, 1);
    } else if (split == 0) {
        h_feed(h, c->in, c->in_len);
    } else {
        h_feed(h, c->in, split);
        h_feed(h, c->in + split, c->in_len - split);
    }
    size_t n;
    const char *got = mc_session_output(&h->s, &n);
    if (n != c->out_len || memcmp(got, c->out ? c->out : "", n) != 0 ||
        h->s.closed != c->closed) {
        fprintf(stderr, "case \"%s\" (%s path, %s %zu)\n", c->title,
                slow ? "tolerant" : "fast",
                split == SIZE_MAX ? "bytewise" : "split at", 
                split == SIZE_MAX ? (size_t)0 : split);
        print_bytes("expected", c->out ? c->out : "", c->out_len);
        print_bytes("got     ", got, n);
        fprintf(stderr, "closed: expected %d got %d\n", c->closed,
                h->s.closed);
        h_free(h);
        fail();
    }
    h_free(h);
}

static void test_recorded_cases(void **state)
{
    (void)state;
    size_t n;
    mcase *cases = load_cases(&n);
    for (size_t i = 0; i < n; i++) {
        for (int slow = 0; slow < 2; slow++) {
            run_case(&cases[i], 0, slow);
            run_case(&cases[i], SIZE_MAX, slow);
            for (size_t k = 1; k < cases[i].in_len; k++)
                run_case(&cases[i], k, slow);
        }
        free(cases[i].in);
        free(cases[i].out);
    }
    free(cases);
}

/* ---- the cache engine alone ------------------------------------------- */

static mc_item *put(mc_cache *c, const char *key, const char *value,
                    int32_t exptime, enum mc_store_cmd cmd,
                    enum mc_store_result want)
{
    enum mc_alloc_result why;
    size_t n = strlen(value);
    mc_item *it = mc_item_alloc(c, key, strlen(key), 0,
                                mc_cache_realtime(c, exptime),
                                (uint32_t)n + 2, &why);
    assert_non_null(it);
    memcpy(MC_ITEM_VALUE(it), value, n);
    memcpy(MC_ITEM_VALUE(it) + n, "\r\n", 2);
    assert_int_equal(mc_cache_store(c, it, cmd), want);
    return mc_cache_get(c, key, strlen(key), false);
}

static void check_value(mc_cache *c, const char *key, const char *value)
{
    mc_item *it = mc_cache_get(c, key, strlen(key), false);
    if (!value) {
        assert_null(it);
        return;
    }
    assert_non_null(it);
    assert_int_equal(it->nbytes, strlen(value) + 2);
    assert_memory_equal(MC_ITEM_VALUE(it), value, strlen(value));
}

static void test_lru_list(void **state)
{
    (void)state;
    mc_lru l;
    mc_lru_node n[3];
    mc_lru_init(&l);
    assert_null(mc_lru_tail(&l));
    for (int i = 0; i < 3; i++)
        mc_lru_push_head(&l, &n[i]);
    assert_ptr_equal(mc_lru_tail(&l), &n[0]);
    mc_lru_bump(&l, &n[0]);
    assert_ptr_equal(mc_lru_tail(&l), &n[1]);
    assert_ptr_equal(l.head, &n[0]);
    mc_lru_remove(&l, &n[2]);
    mc_lru_remove(&l, &n[1]);
    assert_ptr_equal(mc_lru_tail(&l), &n[0]);
    assert_int_equal(l.count, 1);
    mc_lru_remove(&l, &n[0]);
    assert_null(l.head);
    assert_null(l.tail);
}

static void test_store_rules(void **state)
{
    (void)state;
    mc_cache c;
    assert_int_equal(mc_cache_init(&c, 1u << 20, 1u << 20, fake_now), 0);
    put(&c, "a", "1", 0, MC_ADD, MC_STORED);
    put(&c, "a", "2", 0, MC_ADD, MC_NOT_STORED);
    check_value(&c, "a", "1");
    put(&c, "b", "x", 0, MC_REPLACE, MC_NOT_STORED);
    put(&c, "a", "3", 0, MC_REPLACE, MC_STORED);
    put(&c, "a", "<", 0, MC_PREPEND, MC_STORED);
    put(&c, "a", ">", 0, MC_APPEND, MC_STORED);
    check_value(&c, "a", "<3>");
    put(&c, "b", "x", 0, MC_APPEND, MC_NOT_STORED);
    /* cas ids: one per link, starting at 1 */
    mc_item *a = mc_cache_get(&c, "a", 1, false);
    uint64_t cas = a->cas;
    assert_int_equal(cas, 4);
    enum mc_alloc_result why;
    mc_item *it = mc_item_alloc(&c, "a", 1, 0, 0, 3, &why);
    memcpy(MC_ITEM_VALUE(it), "z\r\n", 3);
    it->cas = cas + 1;
    assert_int_equal(mc_cache_store(&c, it, MC_CAS), MC_EXISTS);
    it = mc_item_alloc(&c, "a", 1, 0, 0, 3, &why);
    memcpy(MC_ITEM_VALUE(it), "z\r\n", 3);
    it->cas = cas;
    assert_int_equal(mc_cache_store(&c, it, MC_CAS), MC_STORED);
    check_value(&c, "a", "z");
    it = mc_item_alloc(&c, "nope", 4, 0, 0, 3, &why);
    memcpy(MC_ITEM_VALUE(it), "z\r\n", 3);
    it->cas = 1;
    assert_int_equal(mc_cache_store(&c, it, MC_CAS), MC_NOT_FOUND);
    assert_true(mc_cache_delete(&c, "a", 1));
    assert_false(mc_cache_delete(&c, "a", 1));
    assert_int_equal(c.count, 0);
    assert_int_equal(c.mem_used, 0);
    mc_cache_free(&c);
}

static void test_delta(void **state)
{
    (void)state;
    mc_cache c;
    char buf[24];
    assert_int_equal(mc_cache_init(&c, 1u << 20, 1u << 20, fake_now), 0);
    put(&c, "n", "18446744073709551614", 0, MC_SET, MC_STORED);
    assert_int_equal(mc_cache_delta(&c, "n", 1, true, 3, buf), MC_DELTA_OK);
    assert_string_equal(buf, "1");                  /* wrapped at 2^64 */
    check_value(&c, "n", "1                   ");   /* padded in place */
    assert_int_equal(mc_cache_delta(&c, "n", 1, false, 5, buf), MC_DELTA_OK);
    assert_string_equal(buf, "0");                  /* stops at 0 */
    put(&c, "m", "9", 0, MC_SET, MC_STORED);
    uint64_t cas = mc_cache_get(&c, "m", 1, false)->cas;
    assert_int_equal(mc_cache_delta(&c, "m", 1, true, 1, buf), MC_DELTA_OK);
    check_value(&c, "m", "10");                     /* grew: new item */
    assert_true(mc_cache_get(&c, "m", 1, false)->cas > cas);
    put(&c, "s", "x1", 0, MC_SET, MC_STORED);
    assert_int_equal(mc_cache_delta(&c, "s", 1, true, 1, buf),
                     MC_DELTA_NON_NUMERIC);
    assert_int_equal(mc_cache_delta(&c, "zz", 2, true, 1, buf),
                     MC_DELTA_NOT_FOUND);
    mc_cache_free(&c);
}

static void test_expiry_and_flush(void **state)
{
    (void)state;
    mc_cache c;
    time_t t0 = fake_now;
    assert_int_equal(mc_cache_init(&c, 1u << 20, 1u << 20, t0), 0);
    put(&c, "rel", "x", 10, MC_SET, MC_STORED);
    put(&c, "abs", "x", (int32_t)(t0 + 20), MC_SET, MC_STORED);
    put(&c, "neg", "x", -1, MC_SET, MC_STORED);
    put(&c, "old", "x", MC_REALTIME_MAXDELTA + 1, MC_SET, MC_STORED);
    put(&c, "never", "x", 0, MC_SET, MC_STORED);
    check_value(&c, "neg", NULL);
    check_value(&c, "old", NULL);
    mc_cache_set_time(&c, t0 + 9);
    check_value(&c, "rel", "x");
    mc_cache_set_time(&c, t0 + 10);
    check_value(&c, "rel", NULL);
    check_value(&c, "abs", "x");
    mc_cache_set_time(&c, t0 + 20);
    check_value(&c, "abs", NULL);
    check_value(&c, "never", "x");
    /* touch moves the deadline */
    put(&c, "t", "x", 5, MC_SET, MC_STORED);
    assert_non_null(mc_cache_touch(&c, "t", 1, mc_cache_realtime(&c, 100)));
    mc_cache_set_time(&c, t0 + 30);
    check_value(&c, "t", "x");
    /* delayed flush: items stored before the deadline go at the deadline */
    mc_cache_flush(&c, 10);
    check_value(&c, "never", "x");
    /* memcached's deadline is one second early (oldest_live = deadline - 1) */
    mc_cache_set_time(&c, t0 + 38);
    check_value(&c, "never", "x");
    mc_cache_set_time(&c, t0 + 39);
    check_value(&c, "never", NULL);
    mc_cache_set_time(&c, t0 + 41);
    put(&c, "after", "x", 0, MC_SET, MC_STORED);
    check_value(&c, "after", "x");
    /* immediate flush, then a store in the same second survives */
    mc_cache_flush(&c, 0);
    check_value(&c, "after", NULL);
    put(&c, "later", "x", 0, MC_SET, MC_STORED);
    check_value(&c, "later", "x");
    mc_cache_free(&c);
}

static void test_lru_eviction(void **state)
{
    (void)state;
    mc_cache c;
    char key[32], value[1000];
    memset(value, 'v', sizeof value - 1);
    value[sizeof value - 1] = '\0';
    assert_int_equal(mc_cache_init(&c, 100 * 1024, 1u << 20, fake_now), 0);
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "key%d", i);
        put(&c, key, value, 0, MC_SET, MC_STORED);
        assert_true(c.mem_used <= c.mem_limit);
        if (i >= 10) {
            /* key0 is read after every store: it stays the most recent */
            assert_non_null(mc_cache_fetch(&c, "key0", 4));
        }
    }
    assert_true(c.stats.evictions > 800);
    check_value(&c, "key0", value);
    check_value(&c, "key999", value);
    check_value(&c, "key1", NULL);
    check_value(&c, "key500", NULL);
    assert_int_equal(c.count, c.lru.count);
    mc_cache_free(&c);
}

/* Many items: the table grows incrementally; every item stays findable
 * while old buckets are still being moved. */
static void test_table_growth(void **state)
{
    (void)state;
    mc_cache c;
    char key[32];
    const int n = 300000;
    assert_int_equal(mc_cache_init(&c, (size_t)1 << 30, 1u << 20, fake_now),
                     0);
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "k:%d", i);
        put(&c, key, "v", 0, MC_SET, MC_STORED);
        if (i % 9973 == 0) {
            for (int j = 0; j <= i; j += 997) {
                snprintf(key, sizeof key, "k:%d", j);
                assert_non_null(mc_cache_get(&c, key, strlen(key), false));
            }
        }
    }
    assert_int_equal(c.count, (size_t)n);
    assert_true(c.nbuckets >= (size_t)n / 2);
    for (int i = 0; i < n; i += 2) {
        snprintf(key, sizeof key, "k:%d", i);
        assert_true(mc_cache_delete(&c, key, strlen(key)));
    }
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "k:%d", i);
        mc_item *it = mc_cache_get(&c, key, strlen(key), false);
        if (i % 2)
            assert_non_null(it);
        else
            assert_null(it);
    }
    assert_int_equal(c.count, (size_t)n / 2);
    mc_cache_free(&c);
}

static void test_item_size_limit(void **state)
{
    (void)state;
    mc_cache c;
    enum mc_alloc_result why;
    assert_int_equal(mc_cache_init(&c, 64u << 20, 1u << 20, fake_now), 0);
    /* memcached's accounting: 48 + key + 1 + value + "\r\n" + 8 for cas
     * (+ 4 for non-zero flags) must fit in -I. */
    size_t max = (1u << 20) - 48 - 1 - 1 - 8;
    assert_true(mc_item_size_ok(&c, 1, 0, max));
    assert_false(mc_item_size_ok(&c, 1, 0, max + 1));
    assert_false(mc_item_size_ok(&c, 1, 7, max));
    assert_null(mc_item_alloc(&c, "k", 1, 0, 0, (uint32_t)max + 1, &why));
    assert_int_equal(why, MC_ALLOC_TOO_LARGE);
    mc_cache_free(&c);
}

/* ---- the handlers: what the case file cannot hold ------------------------ */

static void test_too_large_is_swallowed(void **state)
{
    (void)state;
    for (int slow = 0; slow < 2; slow++) {
        harness *h = h_new(slow, 64u << 20, 1u << 20);
        h_expect(h, "set big 0 0 1\r\nx\r\n", "STORED\r\n");
        size_t n = 2u << 20;
        char *data = malloc(n + 64);
        memset(data, 'd', n + 64);
        int k = sprintf(data, "set big 0 0 %zu\r\n", n);
        memcpy(data + k + n, "\r\nget big\r\n", 11);
        h_feed(h, data, (size_t)k + n + 11);
        char *got = h_take(h);
        assert_string_equal(got, "SERVER_ERROR object too large for cache\r\n"
                                 "END\r\n");
        free(got);
        free(data);
        assert_int_equal(h->srv.cache.stats.store_too_large, 1);
        /* with noreply nothing is said, and the data is still swallowed */
        h_expect(h, "add x 0 0 1048576 noreply\r\n", "");
        char *block = calloc(1, 1048576 + 2);
        h_feed(h, block, 1048576 + 2);
        free(block);
        h_expect(h, "get x\r\n", "END\r\n");
        h_free(h);
    }
}

static void test_memory_limit_smaller_than_item(void **state)
{
    (void)state;
    harness *h = h_new(false, 1000, 1u << 20);
    h_send(h, "set a 0 0 2000\r\n");
    char block[2002];
    memset(block, 'x', sizeof block);
    h_feed(h, block, sizeof block);
    char *got = h_take(h);
    assert_string_equal(got, "SERVER_ERROR out of memory storing object\r\n");
    free(got);
    h_expect(h, "set b 0 0 1\r\nx\r\nget b\r\n",
             "STORED\r\nVALUE b 0 1\r\nx\r\nEND\r\n");
    h_free(h);
}

/* memcached hangs up on 2049 bytes without a newline unless they start a
 * get or gets command. */
static void test_long_lines(void **state)
{
    (void)state;
    char line[5000];
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        harness *h = h_new(false, 64u << 20, 1u << 20);
        memset(line, 'a', sizeof line);
        memcpy(line, "set ", 4);
        if (bytewise)
            for (size_t i = 0; i < sizeof line; i++)
                h_feed(h, line + i, 1);
        else
            h_feed(h, line, sizeof line);
        assert_true(h->s.closed);
        h_free(h);

        h = h_new(false, 64u << 20, 1u << 20);
        h_expect(h, "set k 0 0 1\r\nv\r\n", "STORED\r\n");
        size_t n = 0;
        n += (size_t)sprintf(line, "   gets");
        while (n < 4900)
            n += (size_t)sprintf(line + n, " xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
        n += (size_t)sprintf(line + n, " k\r\n");
        if (bytewise)
            for (size_t i = 0; i < n; i++)
                h_feed(h, line + i, 1);
        else
            h_feed(h, line, n);
        assert_false(h->s.closed);
        char *got = h_take(h);
        assert_string_equal(got, "VALUE k 0 1 1\r\nv\r\nEND\r\n");
        free(got);
        h_free(h);
    }
}

static void test_stats(void **state)
{
    (void)state;
    harness *h = h_new(false, 64u << 20, 1u << 20);
    h_send(h, "set a 0 0 1\r\nx\r\nget a\r\nget b\r\nstats\r\n");
    char *got = h_take(h);
    assert_non_null(strstr(got, "STAT cmd_get 2\r\n"));
    assert_non_null(strstr(got, "STAT get_hits 1\r\n"));
    assert_non_null(strstr(got, "STAT get_misses 1\r\n"));
    assert_non_null(strstr(got, "STAT curr_items 1\r\n"));
    assert_non_null(strstr(got, "STAT limit_maxbytes 67108864\r\n"));
    assert_non_null(strstr(got, "STAT version " MC_VERSION "\r\n"));
    size_t n = strlen(got);
    assert_true(n > 5 && strcmp(got + n - 5, "END\r\n") == 0);
    free(got);
    h_expect(h, "stats reset\r\n", "RESET\r\n");
    h_send(h, "stats settings\r\n");
    got = h_take(h);
    assert_non_null(strstr(got, "STAT item_size_max 1048576\r\n"));
    free(got);
    h_expect(h, "stats items\r\n", "ERROR\r\n");
    h_free(h);
}

/* Expiry through the commands, on the harness's clock. */
static void test_exptime_commands(void **state)
{
    (void)state;
    harness *h = h_new(false, 64u << 20, 1u << 20);
    time_t t0 = fake_now;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "set abs 0 %ld 1\r\nx\r\n", (long)(t0 + 100));
    h_expect(h, cmd, "STORED\r\n");
    h_expect(h, "set rel 0 50 1\r\ny\r\ngat 0 abs\r\n",
             "STORED\r\nVALUE abs 0 1\r\nx\r\nEND\r\n");
    fake_now = t0 + 60;
    h_expect(h, "get rel abs\r\n", "VALUE abs 0 1\r\nx\r\nEND\r\n");
    h_expect(h, "flush_all 10\r\nset new 0 0 1\r\nn\r\n", "OK\r\nSTORED\r\n");
    fake_now = t0 + 70;
    h_expect(h, "get abs new\r\n", "END\r\n");
    fake_now = t0;
    h_free(h);
}

/* libweft glue over memconn: replies reach the peer, quit closes, and a
 * reader that does not drain pauses parsing instead of growing output. */
static void test_glue_backpressure(void **state)
{
    (void)state;
    static mc_server srv;
    static weft_protocol proto;
    assert_int_equal(mc_server_init(&srv, 64u << 20, 2u << 20), 0);
    mc_protocol_init(&proto);
    weft_reactor *r = weft_reactor_new_manual();
    weft_factory *f = weft_factory_new(r, &proto, NULL, &srv);
    weft_conn *c = weft_memconn_new(f);
    assert_int_equal(srv.curr_conns, 1);

    size_t vlen = 1u << 20;
    char *set = malloc(vlen + 64);
    int k = sprintf(set, "set big 0 0 %zu\r\n", vlen);
    memset(set + k, 'b', vlen);
    memcpy(set + k + vlen, "\r\n", 2);
    weft_memconn_receive(c, set, (size_t)k + vlen + 2);
    free(set);
    size_t n;
    assert_string_equal(weft_memconn_written(c, &n), "STORED\r\n");
    weft_memconn_clear(c);

    weft_memconn_set_slow_reader(c, true);
    char gets[20 * 9 + 1] = "";
    for (int i = 0; i < 20; i++)
        strcat(gets, "get big\r\n");
    weft_memconn_receive(c, gets, strlen(gets));
    /* 20 MB asked for; parsing stopped once 4 MB waited */
    assert_true(weft_conn_pending(c) < 8u << 20);
    assert_true(weft_conn_pending(c) >= 4u << 20);
    size_t total = 0, pend = 1;
    for (int round = 0; round < 100 && pend > 0; round++) {
        weft_memconn_drain(c);      /* the reader catches up: parsing resumes */
        pend = weft_conn_pending(c);
        weft_memconn_written(c, &n);
        total += n - pend;
        weft_memconn_clear(c);
    }
    size_t one = strlen("VALUE big 0 1048576\r\n") + vlen + 2 + 5;
    if (total != 20 * one)
        fail_msg("%zu bytes of replies arrived, not %zu", total, 20 * one);
    weft_memconn_set_slow_reader(c, false);
    weft_memconn_receive(c, "version\r\nquit\r\nget big\r\n", 23);
    assert_string_equal(weft_memconn_written(c, &n),
                        "VERSION " MC_VERSION "\r\n");
    assert_true(weft_memconn_closed(c));
    weft_memconn_free(c);
    assert_int_equal(srv.curr_conns, 0);
    weft_factory_free(f);
    weft_reactor_free(r);
    mc_server_free(&srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lru_list),
        cmocka_unit_test(test_store_rules),
        cmocka_unit_test(test_delta),
        cmocka_unit_test(test_expiry_and_flush),
        cmocka_unit_test(test_lru_eviction),
        cmocka_unit_test(test_table_growth),
        cmocka_unit_test(test_item_size_limit),
        cmocka_unit_test(test_recorded_cases),
        cmocka_unit_test(test_too_large_is_swallowed),
        cmocka_unit_test(test_memory_limit_smaller_than_item),
        cmocka_unit_test(test_long_lines),
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_exptime_commands),
        cmocka_unit_test(test_glue_backpressure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
