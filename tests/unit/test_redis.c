/* test_redis.c — weft-redis without sockets: the hash table, the inline
 * splitter, and whole request streams through the generated resp parser and
 * the command handlers, fed whole, split at every offset and one byte at a
 * time (the replies must be the same every time).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "../../examples/redis/dict.h"
#include "../../examples/redis/redis.h"
#include "resp.h"

/* ---- dict --------------------------------------------------------------- */

static void key_of(char *buf, int i) { sprintf(buf, "key:%d", i); }

static void test_dict_basic(void **state)
{
    dict d;
    dict_init(&d, 42);
    bool created = false;
    dict_entry *e = dict_set(&d, "a", 1, "xyz", 3, &created);
    assert_true(created);
    assert_int_equal(e->vlen, 3);
    assert_memory_equal(dict_val(e), "xyz", 3);
    e = dict_set(&d, "a", 1, "longer value here", 17, &created);
    assert_false(created);
    assert_int_equal(dict_size(&d), 1);
    assert_ptr_equal(dict_find(&d, "a", 1), e);
    assert_memory_equal(dict_val(e), "longer value here", 17);
    /* Binary keys: NUL bytes and a key that is a prefix of another. */
    dict_set(&d, "a\0b", 3, "1", 1, NULL);
    dict_set(&d, "", 0, "empty", 5, NULL);
    assert_int_equal(dict_size(&d), 3);
    assert_non_null(dict_find(&d, "a\0b", 3));
    assert_null(dict_find(&d, "a\0c", 3));
    assert_non_null(dict_find(&d, "", 0));
    assert_true(dict_delete(&d, "a", 1));
    assert_false(dict_delete(&d, "a", 1));
    assert_int_equal(dict_size(&d), 2);
    dict_free(&d);
    assert_int_equal(d.mem, 0);
}

/* Many keys: every insert, lookup and delete is right while the table is
 * rehashing incrementally, and memory accounting returns to zero. */
static void test_dict_grow_shrink(void **state)
{
    dict d;
    dict_init(&d, 7);
    char k[32];
    const int n = 100000;
    bool saw_rehash = false;
    for (int i = 0; i < n; i++) {
        key_of(k, i);
        dict_set(&d, k, strlen(k), k, strlen(k), NULL);
        saw_rehash |= d.rehashidx >= 0;
        if (i % 997 == 0) {           /* spot-check old keys mid-rehash */
            key_of(k, i / 2);
            dict_entry *e = dict_find(&d, k, strlen(k));
            assert_non_null(e);
            assert_memory_equal(dict_val(e), k, strlen(k));
        }
    }
    assert_true(saw_rehash);
    assert_int_equal(dict_size(&d), n);
    for (int i = 0; i < n; i++) {
        key_of(k, i);
        dict_entry *e = dict_find(&d, k, strlen(k));
        assert_non_null(e);
        assert_int_equal(e->vlen, strlen(k));
    }
    for (int i = 0; i < n; i += 2) {
        key_of(k, i);
        assert_true(dict_delete(&d, k, strlen(k)));
    }
    assert_int_equal(dict_size(&d), n / 2);
    for (int i = 0; i < n; i++) {
        key_of(k, i);
        assert_int_equal(dict_find(&d, k, strlen(k)) != NULL, i % 2 == 1);
    }
    for (int i = 1; i < n; i += 2) {
        key_of(k, i);
        assert_true(dict_delete(&d, k, strlen(k)));
    }
    assert_int_equal(dict_size(&d), 0);
    /* The cron shrinks an empty table back. */
    while (dict_rehash_ms(&d, 10))
        ;
    assert_true(d.t[0].size <= 4);
    dict_free(&d);
    assert_int_equal(d.mem, 0);
}

static void count_entry(dict *d, dict_entry *e, void *arg)
{
    (void)d;
    (*(size_t *)arg)++;
    e->expire = e->expire;            /* touch */
}

static void delete_odd(dict *d, dict_entry *e, void *arg)
{
    if (e->vlen % 2)
        dict_delete_entry(d, e);
    (*(size_t *)arg)++;
}

/* A full sweep round visits every entry once, also mid-rehash, and the
 * callback may delete the entry it is given. */
static void test_dict_sweep(void **state)
{
    dict d;
    dict_init(&d, 9);
    char k[32];
    for (int i = 0; i < 5000; i++) {
        key_of(k, i);
        dict_set(&d, k, strlen(k), "xx", (size_t)(i % 2) + 1, NULL);
    }
    assert_true(d.rehashidx >= 0 || d.t[0].size > 0);
    size_t seen = 0, cursor = 0;
    size_t span = d.t[0].size > d.t[1].size ? d.t[0].size : d.t[1].size;
    dict_sweep(&d, &cursor, span, count_entry, &seen);
    assert_int_equal(seen, 5000);
    seen = 0;
    cursor = 0;
    span = d.t[0].size > d.t[1].size ? d.t[0].size : d.t[1].size;
    dict_sweep(&d, &cursor, span, delete_odd, &seen);
    assert_int_equal(seen, 5000);
    assert_int_equal(dict_size(&d), 2500);
    dict_free(&d);
}

static void test_dict_append_growth(void **state)
{
    dict d;
    dict_init(&d, 1);
    dict_entry *e = dict_set(&d, "k", 1, "", 0, NULL);
    for (int i = 0; i < 10000; i++) {
        size_t old = e->vlen;
        e = dict_resize_value(&d, e, old + 3);
        memcpy(dict_val(e) + old, "abc", 3);
    }
    assert_int_equal(e->vlen, 30000);
    assert_true(e->vcap >= 30000);
    assert_ptr_equal(dict_find(&d, "k", 1), e);
    assert_memory_equal(dict_val(e) + 29997, "abc", 3);
    dict_free(&d);
}

static void test_hash_seeded(void **state)
{
    assert_int_not_equal(dict_hash(1, "hello", 5), dict_hash(2, "hello", 5));
    assert_int_equal(dict_hash(1, "hello", 5), dict_hash(1, "hello", 5));
    assert_int_not_equal(dict_hash(1, "hello", 5), dict_hash(1, "hellp", 5));
    /* Every length up to 40 reads only its own bytes (ASan checks). */
    char *buf = malloc(40);
    memset(buf, 'x', 40);
    for (size_t n = 0; n <= 40; n++) {
        char *p = malloc(n ? n : 1);
        memcpy(p, buf, n);
        (void)dict_hash(3, p, n);
        free(p);
    }
    free(buf);
}

/* ---- the server without sockets ------------------------------------------ */

static int64_t fixed_clock(redis_server *s) { return s->manual_now; }

typedef struct harness {
    redis_server srv;
    redis_client cl;
    resp_parser p;
    struct evbuffer *out;
} harness;

static void h_init(harness *h)
{
    redis_server_init(&h->srv);
    h->srv.clock = fixed_clock;
    h->srv.manual_now = 1700000000000;
    h->out = evbuffer_new();
    redis_client_init(&h->cl, &h->srv, h->out);
    resp_parser_init(&h->p, &redis_resp_callbacks, &h->cl);
    h->cl.parser = &h->p;
}

static void h_free(harness *h)
{
    resp_parser_free(&h->p);
    redis_client_free(&h->cl);
    redis_server_free(&h->srv);
    evbuffer_free(h->out);
}

/* Feeds one chunk unless the client closed or the parser failed. */
static void h_feed(harness *h, const char *d, size_t n)
{
    if (h->cl.closing || resp_parser_error(&h->p))
        return;
    size_t used = resp_parser_feed(&h->p, d, n);
    if (used < n)
        assert_true(h->cl.closing || resp_parser_error(&h->p));
}

/* The replies plus how the stream ended: nothing (open), "<close>" (the
 * server closed after its replies), "<fail N>" (the parser failed: libweft
 * closes without a reply).  May hold NUL bytes: *len is the length. */
static char *h_result_len(harness *h, size_t *len)
{
    size_t n = evbuffer_get_length(h->out);
    char *r = malloc(n + 32);
    evbuffer_remove(h->out, r, n);
    r[n] = '\0';
    if (h->cl.closing)
        strcat(r + n, "<close>");
    else if (resp_parser_error(&h->p))
        sprintf(r + n, "<fail %d>", resp_parser_error(&h->p));
    *len = n + strlen(r + n);
    return r;
}

static char *h_result(harness *h)
{
    size_t n;
    return h_result_len(h, &n);
}

/* Runs `in` cut at the given offsets (ascending, within len). */
static char *run_cut(const char *in, size_t len, const size_t *cuts, int ncuts,
                     size_t *rlen)
{
    harness h;
    h_init(&h);
    size_t at = 0;
    for (int i = 0; i < ncuts; i++) {
        h_feed(&h, in + at, cuts[i] - at);
        at = cuts[i];
    }
    h_feed(&h, in + at, len - at);
    char *r = h_result_len(&h, rlen);
    h_free(&h);
    return r;
}

typedef struct rcase {
    const char *in;
    size_t len;
    const char *want;
    size_t want_len;
} rcase;

#define C(in, want) {in, sizeof(in) - 1, want, sizeof(want) - 1}

static const rcase cases[] = {
    C("PING\r\n", "+PONG\r\n"),
    C("PING\n", "+PONG\r\n"),
    C("*1\r\n$4\r\nPING\r\n", "+PONG\r\n"),
    C("*2\r\n$4\r\nping\r\n$3\r\nhey\r\n", "$3\r\nhey\r\n"),
    C("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
      "+OK\r\n$0\r\n\r\n"),
    /* binary-safe: CR, LF and NUL inside a value */
    C("*3\r\n$3\r\nSET\r\n$2\r\nk\0\r\n$5\r\na\r\n\0b\r\n"
      "*2\r\n$3\r\nGET\r\n$2\r\nk\0\r\n",
      "+OK\r\n$5\r\na\r\n\0b\r\n"),
    C("*0\r\n*-1\r\nPING\r\n", "+PONG\r\n"),
    C("\r\n\n  \r\nPING\r\n", "+PONG\r\n"),
    C("ECHO \"a\\x41\\n\\\"\" 'it\\'s'\r\nECHO 'it\\'s'\r\n",
      "-ERR wrong number of arguments for 'echo' command\r\n$4\r\nit's\r\n"),
    C("ECHO \"\\x4g\"\r\n", "$3\r\nx4g\r\n"),
    C("SET a \"b\"c\r\nPING\r\n",
      "-ERR Protocol error: unbalanced quotes in request\r\n<close>"),
    C("ECHO \"abc\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n<close>"),
    C("*abc\r\nPING\r\n", "-ERR Protocol error: invalid multibulk length\r\n<close>"),
    C("*2147483648\r\n", "-ERR Protocol error: invalid multibulk length\r\n<close>"),
    C("*03\r\n", "-ERR Protocol error: invalid multibulk length\r\n<close>"),
    C("*1\r\n$-1\r\n", "-ERR Protocol error: invalid bulk length\r\n<close>"),
    C("*1\r\n$536870913\r\n", "-ERR Protocol error: invalid bulk length\r\n<close>"),
    C("*1\r\n$04\r\nPING\r\n", "-ERR Protocol error: invalid bulk length\r\n<close>"),
    C("*1\r\nx4\r\n", "-ERR Protocol error: expected '$', got 'x'\r\n<close>"),
    C("PING\r\n*1\r\n$4\r\nPINGxx", "+PONG\r\n<fail -12>"),
    C("FOO a b\r\n",
      "-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n"),
    C("GET\r\nSET k\r\n",
      "-ERR wrong number of arguments for 'get' command\r\n"
      "-ERR wrong number of arguments for 'set' command\r\n"),
    C("SET n 9223372036854775806\r\nINCR n\r\nINCR n\r\nDECRBY n -9223372036854775808\r\n"
      "SET n 007\r\nINCR n\r\nINCRBY n x\r\n",
      "+OK\r\n:9223372036854775807\r\n-ERR increment or decrement would overflow\r\n"
      "-ERR decrement would overflow\r\n+OK\r\n"
      "-ERR value is not an integer or out of range\r\n"
      "-ERR value is not an integer or out of range\r\n"),
    C("SET k v NX\r\nSET k w NX\r\nSET k w XX GET\r\nSET k 1 NX XX\r\n"
      "SET k 1 EX 0\r\nSET k 1 EX 10 PX 10\r\nSET k 1 KEEPTTL EX 1\r\nGET k\r\n",
      "+OK\r\n$-1\r\n$1\r\nv\r\n-ERR syntax error\r\n"
      "-ERR invalid expire time in 'set' command\r\n-ERR syntax error\r\n"
      "-ERR syntax error\r\n$1\r\nw\r\n"),
    C("SET k v EX 100\r\nTTL k\r\nPTTL k\r\nSET k v2 KEEPTTL\r\nTTL k\r\n"
      "SET k v3\r\nTTL k\r\nTTL nokey\r\nEXPIRE k 5\r\nPERSIST k\r\nPERSIST k\r\n",
      "+OK\r\n:100\r\n:100000\r\n+OK\r\n:100\r\n+OK\r\n:-1\r\n:-2\r\n:1\r\n"
      ":1\r\n:0\r\n"),
    C("SET k v\r\nEXPIRE k 10 NX\r\nEXPIRE k 20 NX\r\nEXPIRE k 5 GT\r\n"
      "EXPIRE k 5 LT\r\nTTL k\r\nEXPIRE k 1 NX XX\r\nEXPIRE k 1 FOO\r\n"
      "EXPIRE k 0\r\nEXISTS k\r\nEXPIRE k 10\r\n",
      "+OK\r\n:1\r\n:0\r\n:0\r\n:1\r\n:5\r\n-ERR NX and XX, GT or LT options "
      "at the same time are not compatible\r\n-ERR Unsupported option FOO\r\n"
      ":1\r\n:0\r\n:0\r\n"),
    C("MSET a 1 b 2\r\nMGET a b c\r\nMSET a\r\nMSET a 1 b\r\nEXISTS a a c\r\n"
      "DEL a b c\r\nDBSIZE\r\n",
      "+OK\r\n*3\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n"
      "-ERR wrong number of arguments for 'mset' command\r\n"
      "-ERR wrong number of arguments for 'mset' command\r\n:2\r\n:2\r\n:0\r\n"),
    C("APPEND s ab\r\nAPPEND s cd\r\nSTRLEN s\r\nGETDEL s\r\nGETDEL s\r\nSTRLEN s\r\n",
      ":2\r\n:4\r\n:4\r\n$4\r\nabcd\r\n$-1\r\n:0\r\n"),
    C("SELECT 1\r\nSET k v\r\nDBSIZE\r\nSELECT 0\r\nDBSIZE\r\nSELECT 16\r\n"
      "FLUSHALL\r\nSELECT 1\r\nDBSIZE\r\nFLUSHDB x\r\n",
      "+OK\r\n+OK\r\n:1\r\n+OK\r\n:0\r\n-ERR DB index is out of range\r\n"
      "+OK\r\n+OK\r\n:0\r\n-ERR syntax error\r\n"),
    C("CLIENT GETNAME\r\nCLIENT SETNAME a b\r\nCLIENT SETNAME app\r\n"
      "CLIENT GETNAME\r\nCLIENT SETNAME \"a b\"\r\nCLIENT FOO\r\n",
      "$-1\r\n-ERR wrong number of arguments for 'client|setname' command\r\n"
      "+OK\r\n$3\r\napp\r\n-ERR Client names cannot contain spaces, newlines "
      "or special characters.\r\n-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n"),
    C("CONFIG GET save\r\nCONFIG GET appendonly\r\nCONFIG GET nothing\r\n",
      "*2\r\n$4\r\nsave\r\n$0\r\n\r\n*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n*0\r\n"),
    C("HELLO 4\r\nHELLO x\r\n", "-NOPROTO unsupported protocol version\r\n"
      "-ERR Protocol version is not an integer or out of range\r\n"),
    C("QUIT\r\nPING\r\n", "+OK\r\n<close>"),
    C("*1\r\n$4\r\nQUIT\r\n*1\r\n$4\r\nPING\r\n", "+OK\r\n<close>"),
};

static char *esc(const char *s, size_t n)
{
    static char buf[2][4096];
    static int which;
    char *b = buf[which ^= 1];
    size_t o = 0;
    for (size_t i = 0; i < n && o < sizeof buf[0] - 8; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 32 && ch < 127)
            b[o++] = (char)ch;
        else
            o += (size_t)sprintf(b + o, "\\x%02x", ch);
    }
    b[o] = '\0';
    return b;
}

static void check_case(const rcase *c)
{
    size_t len = c->len, wl, rl;
    char *whole = run_cut(c->in, len, NULL, 0, &wl);
    if (wl != c->want_len || memcmp(whole, c->want, wl) != 0) {
        print_error("input %s\n", esc(c->in, len));
        print_error("got   %s\n", esc(whole, wl));
        print_error("want  %s\n", esc(c->want, c->want_len));
        fail();
    }
    for (size_t cut = 1; cut < len; cut++) {
        char *r = run_cut(c->in, len, &cut, 1, &rl);
        if (rl != wl || memcmp(r, whole, wl) != 0) {
            print_error("split at %zu of %s: %s\n", cut, esc(c->in, len),
                        esc(r, rl));
            fail();
        }
        free(r);
    }
    size_t *cuts = malloc(len * sizeof *cuts);
    for (size_t i = 1; i < len; i++)
        cuts[i - 1] = i;
    char *r = run_cut(c->in, len, cuts, (int)len - 1, &rl);
    if (rl != wl || memcmp(r, whole, wl) != 0) {
        print_error("byte by byte %s: %s\n", esc(c->in, len), esc(r, rl));
        fail();
    }
    free(r);
    free(cuts);
    free(whole);
}

static void test_cases(void **state)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(&cases[i]);
}

/* Results with NUL bytes inside: compare lengths and bytes exactly. */
static void test_binary_reply(void **state)
{
    static const char in[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\n\0\r\n\r\n"
                             "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
    static const char want[] = "+OK\r\n$3\r\n\0\r\n\r\n";
    harness h;
    h_init(&h);
    h_feed(&h, in, sizeof in - 1);
    assert_int_equal(evbuffer_get_length(h.out), sizeof want - 1);
    assert_memory_equal(evbuffer_pullup(h.out, -1), want, sizeof want - 1);
    h_free(&h);
}

/* An argument's bytes are not reserved up front: "$536870912" alone
 * allocates nothing big, and the data arrives in pieces. */
static void test_big_bulk_not_preallocated(void **state)
{
    harness h;
    h_init(&h);
    static const char in[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$536870912\r\n";
    h_feed(&h, in, sizeof in - 1);
    assert_false(h.cl.closing);
    assert_true(h.cl.cap < 65536);
    char chunk[4096];
    memset(chunk, 'v', sizeof chunk);
    for (int i = 0; i < 64; i++)
        h_feed(&h, chunk, sizeof chunk);
    assert_int_equal(h.cl.len, 64 * 4096 + 4);   /* "SET" "k" + data */
    assert_true(h.cl.cap < 1024 * 1024);
    h_free(&h);
}

/* The per-command argument cap (client-query-buffer-limit) closes the
 * client without a reply, before the data arrives, and counts every
 * argument, so a huge multibulk count of tiny arguments is bounded too. */
static void test_query_limit(void **state)
{
    harness h;
    h_init(&h);
    static const char in[] = "*2147483647\r\n";
    h_feed(&h, in, sizeof in - 1);
    assert_false(h.cl.closing);
    assert_true(h.cl.argcap == 0);    /* nothing allocated for the count */
    h.srv.max_query = 1000;
    int sent = 0;
    while (!h.cl.closing && sent < 1000) {
        h_feed(&h, "$1\r\na\r\n", 7);
        sent++;
    }
    assert_true(h.cl.closing);
    assert_true(sent < 1000 / REDIS_ARG_OVERHEAD + 2);
    assert_int_equal(evbuffer_get_length(h.out), 0);
    h_free(&h);

    /* Two 512 MB arguments are over the 1 GB default as soon as the second
     * length is read. */
    h_init(&h);
    static const char big[] = "*3\r\n$3\r\nSET\r\n$536870912\r\n";
    h_feed(&h, big, sizeof big - 1);
    assert_false(h.cl.closing);
    h_free(&h);
    h_init(&h);
    static const char big2[] = "*3\r\n$3\r\nSET\r\n$0\r\n\r\n"
                               "$536870912\r\n";
    h_feed(&h, big2, sizeof big2 - 1);
    assert_false(h.cl.closing);
    h.srv.max_query = 536870912;
    h_free(&h);
    h_init(&h);
    h.srv.max_query = 536870912;
    h_feed(&h, big, sizeof big - 1);
    assert_true(h.cl.closing);
    assert_true(h.cl.cap < 65536);
    h_free(&h);
}

/* Lazy expiry on access and the active sweep of the cron. */
static void test_expiry(void **state)
{
    harness h;
    h_init(&h);
    static const char in[] = "SET a 1 PX 100\r\nSET b 2 EX 1\r\nSET c 3\r\n";
    h_feed(&h, in, sizeof in - 1);
    assert_int_equal(dict_size(&h.srv.db[0]), 3);
    assert_int_equal(h.srv.db[0].volatile_keys, 2);
    free(h_result(&h));
    h.srv.manual_now += 100;
    static const char get[] = "GET a\r\nDBSIZE\r\n";
    h_feed(&h, get, sizeof get - 1);
    char *r = h_result(&h);
    assert_string_equal(r, "$-1\r\n:2\r\n");
    free(r);
    h.srv.manual_now += 900;
    assert_int_equal(redis_cron(&h.srv, 100), 1);
    assert_int_equal(dict_size(&h.srv.db[0]), 1);
    assert_int_equal(h.srv.db[0].volatile_keys, 0);
    h_free(&h);
}

/* An inline command made only of empty arguments allocates no argument
 * buffer; running it must not add an offset to NULL (UBSan, found by
 * fuzz_resp). */
static void test_inline_empty_argument(void **state)
{
    harness h;
    h_init(&h);
    static const char in[] = "''\r\n'' \"\"\r\nPING\r\n";
    h_feed(&h, in, sizeof in - 1);
    char *r = h_result(&h);
    assert_true(strncmp(r, "-ERR ", 5) == 0);
    assert_non_null(strstr(r, "\r\n-ERR "));
    assert_true(strlen(r) > 7 && strcmp(r + strlen(r) - 7, "+PONG\r\n") == 0);
    free(r);
    h_free(&h);
}

static void test_maxmemory(void **state)
{
    harness h;
    h_init(&h);
    h.srv.maxmemory = 64 * 1024;
    char cmd[200];
    int oom = 0;
    for (int i = 0; i < 2000 && !oom; i++) {
        snprintf(cmd, sizeof cmd, "SET key%d 0123456789012345678901234567890123456789\r\n", i);
        h_feed(&h, cmd, strlen(cmd));
        char *r = h_result(&h);
        oom = strncmp(r, "-OOM ", 5) == 0;
        if (!oom)
            assert_string_equal(r, "+OK\r\n");
        free(r);
    }
    assert_true(oom);
    assert_true(redis_used_memory(&h.srv) > h.srv.maxmemory);
    /* Reads and deletes still work; after FLUSHALL writes do again. */
    static const char more[] = "GET key1\r\nFLUSHALL\r\nSET x y\r\n";
    h_feed(&h, more, sizeof more - 1);
    char *r = h_result(&h);
    assert_string_equal(r, "$40\r\n0123456789012345678901234567890123456789\r\n+OK\r\n+OK\r\n");
    free(r);
    h_free(&h);
}

static void test_split_inline(void **state)
{
    harness h;
    h_init(&h);
    struct { const char *in; int argc; const char *args[4]; } t[] = {
        {"a b  c", 3, {"a", "b", "c"}},
        {"  \"x y\" 'z w'", 2, {"x y", "z w"}},
        {"a'b c'", 1, {"ab c"}},
        {"a'b c'd", -1, {0}},
        {"\"\\x41\\x4\\q\"", 1, {"Ax4q"}},
        {"a\vb", 1, {"a\vb"}},
        {"\"\"", 1, {""}},
        {"\"a\"b", -1, {0}},
        {"'a", -1, {0}},
        {"\"a\\", -1, {0}},
        {"", 0, {0}},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        int n = redis_split_inline(&h.cl, t[i].in, strlen(t[i].in));
        assert_int_equal(n, t[i].argc);
        for (int j = 0; j < n; j++) {
            redis_arg a = h.cl.args[j];
            assert_int_equal(a.len, strlen(t[i].args[j]));
            assert_memory_equal(h.cl.buf + a.off, t[i].args[j], a.len);
        }
    }
    /* A NUL ends the input, as in Redis' C-string splitter. */
    assert_int_equal(redis_split_inline(&h.cl, "a\0b c", 5), 1);
    h_free(&h);
}

static void test_string2ll(void **state)
{
    long long v;
    assert_true(redis_string2ll("0", 1, &v) && v == 0);
    assert_true(redis_string2ll("-9223372036854775808", 20, &v) && v == INT64_MIN);
    assert_true(redis_string2ll("9223372036854775807", 19, &v) && v == INT64_MAX);
    assert_false(redis_string2ll("9223372036854775808", 19, &v));
    assert_false(redis_string2ll("-0", 2, &v));
    assert_false(redis_string2ll("01", 2, &v));
    assert_false(redis_string2ll("+1", 2, &v));
    assert_false(redis_string2ll(" 1", 2, &v));
    assert_false(redis_string2ll("", 0, &v));
    assert_false(redis_string2ll("-", 1, &v));
    assert_false(redis_string2ll("99999999999999999999", 20, &v));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dict_basic),
        cmocka_unit_test(test_dict_grow_shrink),
        cmocka_unit_test(test_dict_sweep),
        cmocka_unit_test(test_dict_append_growth),
        cmocka_unit_test(test_hash_seeded),
        cmocka_unit_test(test_string2ll),
        cmocka_unit_test(test_split_inline),
        cmocka_unit_test(test_inline_empty_argument),
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_binary_reply),
        cmocka_unit_test(test_big_bulk_not_preallocated),
        cmocka_unit_test(test_query_limit),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_maxmemory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
