/* proto.c — see proto.h.
 *
 * Two ways into the same handlers:
 *  - the fast path: a line matched spec/memcache.weft's grammar, and its
 *    captures become the tokens memcached's tokenizer would have made;
 *  - the tolerant path: any other line (on_mismatch), a long get line, or
 *    a line the fast path does not want, goes through a copy of memcached's
 *    tokenize_command().
 * Both end in dispatch(), which follows memcached 1.6's
 * process_command_ascii() and the process_*_command() functions, so the
 * answers (ERROR, CLIENT_ERROR texts, noreply, numbers read with strtoul)
 * are memcached's whichever path a line took.
 */
#include "proto.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weft.h"

#define MC_MAX_TOKENS 24          /* memcached's MAX_TOKENS */
#define MC_DIRECT_WRITE 16384     /* values this big skip the reply buffer */
#define MC_OUT_HIGH (4u << 20)    /* pending output that pauses parsing */
#define MC_OUT_LOW (1u << 20)
#define MC_OUT_KEEP 65536         /* reply buffer kept between reads */

typedef struct mc_tok {
    const char *p;                /* NULL only in the terminal token */
    size_t len;
} mc_tok;

static mc_session *session_of(memcache_parser *p)
{
    weft_conn *c = memcache_conn(p);
    return c ? weft_conn_user(c) : memcache_user(p);
}

/* ---- replies -------------------------------------------------------------- */

static char *out_reserve(mc_session *s, size_t n)
{
    if (s->out_len + n > s->out_cap) {
        size_t cap = s->out_cap ? s->out_cap : 1024;
        while (cap < s->out_len + n)
            cap *= 2;
        char *nb = realloc(s->out, cap);
        if (!nb)
            abort();              /* bounded by MC_OUT_HIGH + one value */
        s->out = nb;
        s->out_cap = cap;
    }
    return s->out + s->out_len;
}

/* Hands the buffered replies to the connection with write (weft_write,
 * or weft_write_now at the end of a read's feed). */
static void out_write(mc_session *s,
                      int (*write)(weft_conn *, const void *, size_t))
{
    if (!s->conn || s->out_len == 0)
        return;
    write(s->conn, s->out, s->out_len);
    s->srv->bytes_written += s->out_len;
    s->out_len = 0;
    if (s->out_cap > MC_OUT_KEEP) {
        free(s->out);
        s->out = NULL;
        s->out_cap = 0;
    }
}

/* Before output that must follow the buffered replies. */
static void out_flush(mc_session *s)
{
    out_write(s, weft_write);
}

/* The replies to one read go to the socket now in one call (as memcached's
 * sendmsg after a read), unless output is still queued before them; what
 * the kernel does not take is buffered. */
static void out_send(mc_session *s)
{
    out_write(s, weft_write_now);
}

static void out_add(mc_session *s, const void *data, size_t n)
{
    if (s->conn && n >= MC_DIRECT_WRITE) {
        /* A big value goes straight to the connection, keeping order. */
        out_flush(s);
        weft_write(s->conn, data, n);
        s->srv->bytes_written += n;
        return;
    }
    memcpy(out_reserve(s, n), data, n);
    s->out_len += n;
}

/* memcached's out_string(): a line, unless the command said noreply. */
static void out_string(mc_session *s, const char *str)
{
    if (s->noreply)
        return;
    size_t n = strlen(str);
    char *o = out_reserve(s, n + 2);
    memcpy(o, str, n);
    memcpy(o + n, "\r\n", 2);
    s->out_len += n + 2;
}

static void out_error(mc_session *s, const char *str)
{
    s->srv->cmd_errors++;
    out_string(s, str);
}

static char *fmt_u64(char *o, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *o++ = tmp[--n];
    return o;
}

/* Stops parsing while too much output waits for a slow reader; the
 * producer's resume_producing starts it again. */
static void producer_pause(weft_conn *c, void *arg) { (void)c; (void)arg; }
static void producer_resume(weft_conn *c, void *arg)
{
    mc_session *s = arg;
    weft_conn_set_producer(c, NULL, NULL);
    if (s->out_paused) {
        s->out_paused = false;
        memcache_resume(s->p);
    }
}
static const weft_producer mc_producer = {
    .pause_producing = producer_pause,
    .resume_producing = producer_resume,
};

static void check_backlog(mc_session *s)
{
    if (!s->conn || s->out_paused || s->closed)
        return;
    if (s->out_len + weft_conn_pending(s->conn) <= MC_OUT_HIGH)
        return;
    out_flush(s);
    s->out_paused = true;
    memcache_pause(s->p);
    weft_conn_set_producer(s->conn, &mc_producer, s);
}

/* Ends the connection after what was answered so far (quit, fatal input). */
static void session_close(mc_session *s, int code, const char *why)
{
    s->closed = true;
    if (s->conn) {
        out_flush(s);
        weft_conn_set_producer(s->conn, NULL, NULL);
        if (code)
            weft_close_reason(s->conn, code, why);
        else
            weft_close(s->conn);
    } else {
        memcache_pause(s->p);
    }
}

/* ---- numbers, the way memcached's util.c reads them -------------------- */

/* Copies a token into buf as a C string (tokens are not NUL-terminated). */
static const char *tok_cstr(mc_tok t, char *buf, size_t size, char **heap)
{
    *heap = NULL;
    if (t.len + 1 > size) {
        *heap = malloc(t.len + 1);
        if (!*heap)
            abort();
        buf = *heap;
    }
    memcpy(buf, t.p, t.len);
    buf[t.len] = '\0';
    return buf;
}

static bool end_ok(const char *s, const char *end)
{
    return isspace((unsigned char)*end) || (*end == '\0' && end != s);
}

/* safe_strtoul: note memcached stores the unsigned long into a uint32_t. */
static bool safe_strtoul(mc_tok t, uint32_t *out)
{
    char b[64], *heap, *end;
    const char *s = tok_cstr(t, b, sizeof b, &heap);
    errno = 0;
    unsigned long l = strtoul(s, &end, 10);
    bool ok = errno != ERANGE && s != end && end_ok(s, end);
    if (ok && (long)l < 0 && strchr(s, '-'))
        ok = false;
    free(heap);
    *out = ok ? (uint32_t)l : 0;
    return ok;
}

/* safe_strtol: the long is stored into an int32_t, as in memcached. */
static bool safe_strtol(mc_tok t, int32_t *out)
{
    char b[64], *heap, *end;
    const char *s = tok_cstr(t, b, sizeof b, &heap);
    errno = 0;
    long l = strtol(s, &end, 10);
    bool ok = errno != ERANGE && s != end && end_ok(s, end);
    free(heap);
    *out = ok ? (int32_t)l : 0;
    return ok;
}

static bool safe_strtoull(mc_tok t, uint64_t *out)
{
    char b[64], *heap, *end;
    const char *s = tok_cstr(t, b, sizeof b, &heap);
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    bool ok = errno != ERANGE && s != end && end_ok(s, end);
    if (ok && (long long)v < 0 && strchr(s, '-'))
        ok = false;
    free(heap);
    *out = ok ? v : 0;
    return ok;
}

static bool tok_is(mc_tok t, const char *lit)
{
    size_t n = strlen(lit);
    return t.p && t.len == n && memcmp(t.p, lit, n) == 0;
}

/* memcached's set_noreply_maybe(): the last real token is "noreply". */
static bool set_noreply_maybe(mc_session *s, const mc_tok *t, size_t ntokens)
{
    if (tok_is(t[ntokens - 2], "noreply"))
        s->noreply = true;
    return s->noreply;
}

/* ---- tokenizer (memcached's tokenize_command) --------------------------- */

/* Splits line on single spaces into at most max - 1 tokens plus the
 * terminal token, whose p is the unprocessed rest (NULL if none). */
static size_t tokenize(const char *line, size_t len, mc_tok *t, size_t max)
{
    size_t n = 0, s = 0, e = 0;
    for (size_t i = 0; i < len; i++) {
        if (line[e] == ' ') {
            if (s != e) {
                t[n++] = (mc_tok){ line + s, e - s };
                if (n == max - 1) {
                    e++;
                    s = e;
                    break;
                }
            }
            s = e + 1;
        }
        e++;
    }
    if (s != e)
        t[n++] = (mc_tok){ line + s, e - s };
    t[n] = e < len ? (mc_tok){ line + e, len - e } : (mc_tok){ NULL, 0 };
    t[n].len = 0;
    return n + 1;
}

/* ---- retrieval ------------------------------------------------------------ */

static void emit_value(mc_session *s, const mc_item *it, bool with_cas)
{
    char *o = out_reserve(s, 6 + it->nkey + 3 * 22 + 2);
    char *start = o;
    memcpy(o, "VALUE ", 6);
    o += 6;
    memcpy(o, it->key, it->nkey);
    o += it->nkey;
    *o++ = ' ';
    o = fmt_u64(o, it->flags);
    *o++ = ' ';
    o = fmt_u64(o, it->nbytes - 2);
    if (with_cas) {
        *o++ = ' ';
        o = fmt_u64(o, it->cas);
    }
    *o++ = '\r';
    *o++ = '\n';
    s->out_len += (size_t)(o - start);
    out_add(s, MC_ITEM_VALUE(it), it->nbytes);
}

/* Calls fn for each space-separated key of the keys tokens and then of the
 * unsplit rest; stops early when fn returns false. */
typedef bool (*key_fn)(mc_session *s, const char *key, size_t nkey, void *arg);

static bool each_key(mc_session *s, const mc_tok *keys, size_t nkeys,
                     const char *rest, size_t rest_len, key_fn fn, void *arg)
{
    for (size_t i = 0; i < nkeys; i++)
        if (!fn(s, keys[i].p, keys[i].len, arg))
            return false;
    size_t i = 0;
    while (rest && i < rest_len) {
        while (i < rest_len && rest[i] == ' ')
            i++;
        size_t b = i;
        while (i < rest_len && rest[i] != ' ')
            i++;
        if (i > b && !fn(s, rest + b, i - b, arg))
            return false;
    }
    return true;
}

struct get_args {
    bool with_cas, touch, output;
    mc_time exptime;
    size_t limit;                 /* keys to process (the first bad one) */
    size_t seen;
};

static bool key_too_long(mc_session *s, const char *key, size_t nkey,
                         void *arg)
{
    (void)s; (void)key;
    struct get_args *g = arg;
    if (nkey > MC_KEY_MAX)
        return false;
    g->seen++;
    return true;
}

static bool get_one(mc_session *s, const char *key, size_t nkey, void *arg)
{
    struct get_args *g = arg;
    if (g->seen++ == g->limit)
        return false;
    mc_cache *c = &s->srv->cache;
    mc_item *it = g->touch ? mc_cache_touch(c, key, nkey, g->exptime)
                           : mc_cache_fetch(c, key, nkey);
    if (it && g->output)
        emit_value(s, it, g->with_cas);
    return true;
}

/* process_get_command(): keys are the tokens plus the rest of the line. */
static void process_get(mc_session *s, const mc_tok *keys, size_t nkeys,
                        const char *rest, size_t rest_len, bool with_cas,
                        bool touch, mc_tok ttl)
{
    struct get_args g = { .with_cas = with_cas, .touch = touch };
    if (touch) {
        int32_t e;
        if (!safe_strtol(ttl, &e)) {
            out_error(s, "CLIENT_ERROR invalid exptime argument");
            return;
        }
        g.exptime = mc_cache_realtime(&s->srv->cache, e);
    }
    /* memcached looks up the keys before an over-long one and then throws
     * its replies away: do the lookups, answer only the error. */
    bool ok = each_key(s, keys, nkeys, rest, rest_len, key_too_long, &g);
    g.limit = g.seen;
    g.seen = 0;
    g.output = ok;
    each_key(s, keys, nkeys, rest, rest_len, get_one, &g);
    if (!ok) {
        out_error(s, "CLIENT_ERROR bad command line format");
        return;
    }
    memcpy(out_reserve(s, 5), "END\r\n", 5);
    s->out_len += 5;
    check_backlog(s);
}

/* ---- storage ---------------------------------------------------------------- */

static void process_update(mc_session *s, const mc_tok *t, size_t ntokens,
                           enum mc_store_cmd comm, bool handle_cas)
{
    mc_cache *c = &s->srv->cache;
    uint32_t flags;
    int32_t exptime, vlen;
    uint64_t cas = 0;

    set_noreply_maybe(s, t, ntokens);
    if (t[1].len > MC_KEY_MAX) {
        out_error(s, "CLIENT_ERROR bad command line format");
        return;
    }
    if (!(safe_strtoul(t[2], &flags) && safe_strtol(t[3], &exptime) &&
          safe_strtol(t[4], &vlen))) {
        out_error(s, "CLIENT_ERROR bad command line format");
        return;
    }
    if (handle_cas && !safe_strtoull(t[5], &cas)) {
        out_error(s, "CLIENT_ERROR bad command line format");
        return;
    }
    if (vlen < 0 || vlen > INT_MAX - 2) {
        out_error(s, "CLIENT_ERROR bad command line format");
        return;
    }
    uint32_t nbytes = (uint32_t)vlen + 2;
    enum mc_alloc_result why;
    mc_item *it = mc_item_alloc(c, t[1].p, t[1].len, flags,
                                mc_cache_realtime(c, exptime), nbytes, &why);
    s->need = nbytes;
    s->fill = 0;
    s->comm = (uint8_t)comm;
    if (!it) {
        if (why == MC_ALLOC_TOO_LARGE) {
            c->stats.store_too_large++;
            out_string(s, "SERVER_ERROR object too large for cache");
        } else {
            c->stats.store_no_memory++;
            out_string(s, "SERVER_ERROR out of memory storing object");
        }
        /* The data is read and dropped; a failed set also removes the key
         * so a stale value cannot outlive it. */
        s->swallow = true;
        if (comm == MC_SET)
            mc_cache_remove(c, t[1].p, t[1].len);
    } else {
        it->cas = cas;
        s->item = it;
        s->swallow = false;
    }
    memcache_set_mode(s->p, MEMCACHE_MODE_DATA, nbytes);
}

static void on_data(memcache_parser *p, const char *data, size_t len)
{
    mc_session *s = session_of(p);
    if (s->item) {
        size_t room = s->need - s->fill;
        memcpy(MC_ITEM_VALUE(s->item) + s->fill, data, len < room ? len : room);
    }
    s->fill += (uint32_t)len;
}

/* complete_nread_ascii(): the block must end in "\r\n". */
static void on_data_end(memcache_parser *p)
{
    mc_session *s = session_of(p);
    mc_item *it = s->item;
    s->item = NULL;
    if (s->swallow) {
        s->swallow = false;
        return;
    }
    if (!it)
        return;
    if (memcmp(MC_ITEM_VALUE(it) + it->nbytes - 2, "\r\n", 2) != 0) {
        mc_item_free(&s->srv->cache, it);
        s->srv->cache.stats.set_cmds++;
        out_error(s, "CLIENT_ERROR bad data chunk");
        return;
    }
    static const char *const text[] = {
        [MC_STORED] = "STORED", [MC_NOT_STORED] = "NOT_STORED",
        [MC_EXISTS] = "EXISTS", [MC_NOT_FOUND] = "NOT_FOUND",
    };
    enum mc_store_result r = mc_cache_store(&s->srv->cache, it,
                                            (enum mc_store_cmd)s->comm);
    out_string(s, text[r]);
}

/* ---- other commands --------------------------------------------------- */

static void process_arithmetic(mc_session *s, const mc_tok *t, size_t ntokens,
                               bool incr)
{
    uint64_t delta;
    char buf[24];
    set_noreply_maybe(s, t, ntokens);
    if (t[1].len > MC_KEY_MAX) {
        out_error(s, "CLIENT_ERROR bad command line format");
        return;
    }
    if (!safe_strtoull(t[2], &delta)) {
        out_error(s, "CLIENT_ERROR invalid numeric delta argument");
        return;
    }
    switch (mc_cache_delta(&s->srv->cache, t[1].p, t[1].len, incr, delta,
                           buf)) {
    case MC_DELTA_OK:
        out_string(s, buf);
        break;
    case MC_DELTA_NON_NUMERIC:
        out_error(s, "CLIENT_ERROR cannot increment or decrement "
                     "non-numeric value");
        break;
    case MC_DELTA_EOM:
        out_string(s, "SERVER_ERROR out of memory");
        break;
    case MC_DELTA_NOT_FOUND:
        out_string(s, "NOT_FOUND");
        break;
    }
}

static void process_touch(mc_session *s, const mc_tok *t, size_t ntokens)
{
    int32_t e;
    set_noreply_maybe(s, t, ntokens);
    if (t[1].len > MC_KEY_MAX) {
        out_error(s, "CLIENT_ERROR bad command line format");
        return;
    }
    if (!safe_strtol(t[2], &e)) {
        out_error(s, "CLIENT_ERROR invalid exptime argument");
        return;
    }
    mc_cache *c = &s->srv->cache;
    if (mc_cache_touch(c, t[1].p, t[1].len, mc_cache_realtime(c, e)))
        out_string(s, "TOUCHED");
    else
        out_string(s, "NOT_FOUND");
}

static void process_delete(mc_session *s, const mc_tok *t, size_t ntokens)
{
    if (ntokens > 3) {
        bool hold_is_zero = tok_is(t[2], "0");
        bool sets_noreply = set_noreply_maybe(s, t, ntokens);
        bool valid = (ntokens == 4 && (hold_is_zero || sets_noreply)) ||
                     (ntokens == 5 && hold_is_zero && sets_noreply);
        if (!valid) {
            out_error(s, "CLIENT_ERROR bad command line format.  "
                         "Usage: delete <key> [noreply]");
            return;
        }
    }
    if (t[1].len > MC_KEY_MAX) {
        out_error(s, "CLIENT_ERROR bad command line format");
        return;
    }
    if (mc_cache_delete(&s->srv->cache, t[1].p, t[1].len))
        out_string(s, "DELETED");
    else
        out_string(s, "NOT_FOUND");
}

static void process_flush_all(mc_session *s, const mc_tok *t, size_t ntokens)
{
    int32_t delay = 0;
    set_noreply_maybe(s, t, ntokens);
    if (ntokens != (s->noreply ? 3u : 2u) && !safe_strtol(t[1], &delay)) {
        s->srv->cache.stats.flush_cmds++;
        out_error(s, "CLIENT_ERROR invalid exptime argument");
        return;
    }
    mc_cache_flush(&s->srv->cache, delay);
    out_string(s, "OK");
}

static void process_verbosity(mc_session *s, const mc_tok *t, size_t ntokens)
{
    uint32_t level;
    set_noreply_maybe(s, t, ntokens);
    if (!safe_strtoul(t[1], &level)) {
        out_error(s, "CLIENT_ERROR bad command line format");
        return;
    }
    s->srv->verbosity = level > 2 ? 2 : level;
    out_string(s, "OK");
}

static void process_memlimit(mc_session *s, const mc_tok *t, size_t ntokens)
{
    uint32_t mb;
    set_noreply_maybe(s, t, ntokens);
    if (!safe_strtoul(t[1], &mb)) {
        out_error(s, "ERROR");
    } else if (mb < 8) {
        out_string(s, "MEMLIMIT_TOO_SMALL cannot set maxbytes to less "
                      "than 8m");
    } else if (mb > 1000000000) {
        out_string(s, "MEMLIMIT_ADJUST_FAILED input value is megabytes "
                      "not bytes");
    } else {
        mc_cache_set_limit(&s->srv->cache, (size_t)mb << 20);
        out_string(s, "OK");
    }
}

static void stat_u64(mc_session *s, const char *name, uint64_t v)
{
    size_t n = strlen(name);
    char *o = out_reserve(s, 5 + n + 1 + 22 + 2), *start = o;
    memcpy(o, "STAT ", 5);
    memcpy(o + 5, name, n);
    o += 5 + n;
    *o++ = ' ';
    o = fmt_u64(o, v);
    *o++ = '\r';
    *o++ = '\n';
    s->out_len += (size_t)(o - start);
}

static void stat_str(mc_session *s, const char *name, const char *v)
{
    char line[256];
    int n = snprintf(line, sizeof line, "STAT %s %s\r\n", name, v);
    out_add(s, line, (size_t)n);
}

static void general_stats(mc_session *s)
{
    mc_server *v = s->srv;
    const mc_cache_stats *st = &v->cache.stats;
    time_t now = v->clock();
    char buf[64];
    stat_u64(s, "pid", (uint64_t)getpid());
    stat_u64(s, "uptime", (uint64_t)(now - v->started));
    stat_u64(s, "time", (uint64_t)now);
    stat_str(s, "version", MC_VERSION);
    stat_u64(s, "pointer_size", 8 * sizeof(void *));
    stat_u64(s, "curr_connections", v->curr_conns);
    stat_u64(s, "total_connections", v->total_conns);
    stat_u64(s, "cmd_get", st->get_cmds);
    stat_u64(s, "cmd_set", st->set_cmds);
    stat_u64(s, "cmd_flush", st->flush_cmds);
    stat_u64(s, "cmd_touch", st->touch_cmds);
    stat_u64(s, "get_hits", st->get_hits);
    stat_u64(s, "get_misses", st->get_misses);
    stat_u64(s, "get_expired", st->get_expired);
    stat_u64(s, "get_flushed", st->get_flushed);
    stat_u64(s, "delete_misses", st->delete_misses);
    stat_u64(s, "delete_hits", st->delete_hits);
    stat_u64(s, "incr_misses", st->incr_misses);
    stat_u64(s, "incr_hits", st->incr_hits);
    stat_u64(s, "decr_misses", st->decr_misses);
    stat_u64(s, "decr_hits", st->decr_hits);
    stat_u64(s, "cas_misses", st->cas_misses);
    stat_u64(s, "cas_hits", st->cas_hits);
    stat_u64(s, "cas_badval", st->cas_badval);
    stat_u64(s, "touch_hits", st->touch_hits);
    stat_u64(s, "touch_misses", st->touch_misses);
    stat_u64(s, "store_too_large", st->store_too_large);
    stat_u64(s, "store_no_memory", st->store_no_memory);
    stat_u64(s, "bytes_read", v->bytes_read);
    stat_u64(s, "bytes_written", v->bytes_written);
    stat_u64(s, "limit_maxbytes", v->cache.mem_limit);
    stat_u64(s, "threads", 1);
    stat_u64(s, "bytes", v->cache.mem_used);
    stat_u64(s, "curr_items", v->cache.count);
    stat_u64(s, "total_items", st->total_items);
    stat_u64(s, "expired_unfetched", st->expired_unfetched);
    stat_u64(s, "evicted_unfetched", st->evicted_unfetched);
    stat_u64(s, "evictions", st->evictions);
    stat_u64(s, "reclaimed", st->reclaimed);
    snprintf(buf, sizeof buf, "%zu", v->cache.nbuckets);
    stat_str(s, "hash_buckets", buf);
}

static void settings_stats(mc_session *s)
{
    mc_server *v = s->srv;
    stat_u64(s, "maxbytes", v->cache.mem_limit);
    stat_u64(s, "verbosity", v->verbosity);
    stat_str(s, "evictions", "on");
    stat_u64(s, "item_size_max", v->cache.item_size_max);
    stat_str(s, "cas_enabled", "yes");
    stat_str(s, "flush_enabled", "yes");
    stat_u64(s, "num_threads", 1);
}

static void process_stats(mc_session *s, const mc_tok *t, size_t ntokens)
{
    if (ntokens == 2) {
        general_stats(s);
    } else if (tok_is(t[1], "reset")) {
        memset(&s->srv->cache.stats, 0, sizeof s->srv->cache.stats);
        s->srv->bytes_read = s->srv->bytes_written = 0;
        s->srv->total_conns = 0;
        out_string(s, "RESET");
        return;
    } else if (tok_is(t[1], "settings")) {
        settings_stats(s);
    } else {
        /* items, slabs, sizes, conns, detail, cachedump: not kept here. */
        out_error(s, "ERROR");
        return;
    }
    out_add(s, "END\r\n", 5);
}

/* ---- dispatch (process_command_ascii) -------------------------------- */

static bool want(mc_session *s, size_t ntokens, size_t a, size_t b)
{
    if (ntokens == a || ntokens == b)
        return true;
    out_error(s, "ERROR");
    return false;
}

static bool want_range(mc_session *s, size_t ntokens, size_t lo, size_t hi)
{
    if (ntokens >= lo && ntokens <= hi)
        return true;
    out_error(s, "ERROR");
    return false;
}

/* t[0..ntokens-1] with t[ntokens-1] the terminal token; rest is the
 * unsplit remainder of a line with more than MC_MAX_TOKENS - 1 tokens. */
static void dispatch(mc_session *s, const mc_tok *t, size_t ntokens,
                     const char *rest, size_t rest_len)
{
    if (ntokens < 2 || t[0].len < 2) {
        out_error(s, "ERROR");
        return;
    }
    const mc_tok cmd = t[0];
    const char first = cmd.p[0];
    /* memcached dispatches on the first letter first: within these
     * branches an unknown command is a plain ERROR.  Its meta commands (two
     * letters starting with 'm') are not served here. */
    if (first == 'm' && cmd.len == 2) {
        out_error(s, "ERROR");
    } else if (first == 'g') {
        if (ntokens < 3) {
            out_error(s, "ERROR");
            return;
        }
        bool gets = tok_is(cmd, "gets"), gats = tok_is(cmd, "gats");
        if (tok_is(cmd, "get") || gets)
            process_get(s, t + 1, ntokens - 2, rest, rest_len, gets, false,
                        (mc_tok){ NULL, 0 });
        else if (tok_is(cmd, "gat") || gats)
            process_get(s, t + 2, ntokens - 3, rest, rest_len, gats, true,
                        t[1]);
        else
            out_error(s, "ERROR");
    } else if (first == 's') {
        if (tok_is(cmd, "set")) {
            if (want(s, ntokens, 6, 7))
                process_update(s, t, ntokens, MC_SET, false);
        } else if (tok_is(cmd, "stats")) {
            process_stats(s, t, ntokens);
        } else if (tok_is(cmd, "shutdown")) {
            out_error(s, "ERROR: shutdown not enabled");
        } else {
            out_error(s, "ERROR");   /* slabs ... is not served here */
        }
    } else if (first == 'a') {
        bool add = tok_is(cmd, "add");
        if (!add && !tok_is(cmd, "append"))
            out_error(s, "ERROR");
        else if (want(s, ntokens, 6, 7))
            process_update(s, t, ntokens, add ? MC_ADD : MC_APPEND, false);
    } else if (first == 'c') {
        if (tok_is(cmd, "cas")) {
            if (want(s, ntokens, 7, 8))
                process_update(s, t, ntokens, MC_CAS, true);
        } else if (tok_is(cmd, "cache_memlimit")) {
            if (want(s, ntokens, 3, 4))
                process_memlimit(s, t, ntokens);
        } else {
            out_error(s, "ERROR");
        }
    } else if (first == 'i') {
        if (!tok_is(cmd, "incr"))
            out_error(s, "ERROR");
        else if (want(s, ntokens, 4, 5))
            process_arithmetic(s, t, ntokens, true);
    } else if (first == 'd') {
        if (tok_is(cmd, "delete")) {
            if (want_range(s, ntokens, 3, 5))
                process_delete(s, t, ntokens);
        } else if (tok_is(cmd, "decr")) {
            if (want(s, ntokens, 4, 5))
                process_arithmetic(s, t, ntokens, false);
        } else {
            out_error(s, "ERROR");
        }
    } else if (first == 't') {
        if (!tok_is(cmd, "touch"))
            out_error(s, "ERROR");
        else if (want(s, ntokens, 4, 5))
            process_touch(s, t, ntokens);
    } else if (tok_is(cmd, "replace") || tok_is(cmd, "prepend")) {
        if (want(s, ntokens, 6, 7))
            process_update(s, t, ntokens,
                           cmd.p[0] == 'r' ? MC_REPLACE : MC_PREPEND, false);
    } else if (tok_is(cmd, "bget")) {
        if (ntokens >= 3)
            process_get(s, t + 1, ntokens - 2, rest, rest_len, false, false,
                        (mc_tok){ NULL, 0 });
        else
            out_error(s, "ERROR");
    } else if (tok_is(cmd, "flush_all")) {
        if (want_range(s, ntokens, 2, 4))
            process_flush_all(s, t, ntokens);
    } else if (tok_is(cmd, "version")) {
        out_string(s, "VERSION " MC_VERSION);
    } else if (tok_is(cmd, "quit")) {
        session_close(s, 0, NULL);
    } else if (tok_is(cmd, "verbosity")) {
        if (want(s, ntokens, 3, 4))
            process_verbosity(s, t, ntokens);
    } else if (t[ntokens - 2].len >= 5 &&
               memcmp(t[ntokens - 2].p, "HTTP/", 5) == 0) {
        /* An HTTP request sent to the cache: memcached hangs up. */
        session_close(s, WEFT_EPROTOCOL, "HTTP request");
    } else {
        /* lru, lru_crawler, watch and unknown commands */
        out_error(s, "ERROR");
    }
}

static void begin_command(mc_session *s)
{
    s->noreply = false;
    mc_cache_set_time(&s->srv->cache, s->srv->clock());
}

/* The tolerant path: a whole line (without "\n") as memcached reads it. */
static void process_line(mc_session *s, const char *line, size_t len)
{
    mc_tok t[MC_MAX_TOKENS];
    begin_command(s);
    if (len > 1 && line[len - 1] == '\r')
        len--;                    /* only when something precedes it */
    const char *nul = memchr(line, '\0', len);
    if (nul)
        len = (size_t)(nul - line);  /* memcached uses C strings */
    size_t n = tokenize(line, len, t, MC_MAX_TOKENS);
    const mc_tok *term = &t[n - 1];
    const char *rest = term->p;
    size_t rest_len = rest ? len - (size_t)(rest - line) : 0;
    dispatch(s, t, n, rest, rest_len);
}

/* ---- parser callbacks -------------------------------------------------- */

static void on_mismatch(memcache_parser *p, enum memcache_mode m,
                        const char *line, size_t len)
{
    (void)m;
    process_line(session_of(p), line, len);
}

static const char *span_end(weft_span sp)
{
    return sp.p ? sp.p + sp.len : NULL;
}

/* The fast path: the captures already are memcached's tokens.
 *
 * The grammar's alternatives share prefixes, so a capture can be complete
 * on a path that died later ("stats" in "stats reset" completes `bare`).
 * The alternative that matched is the one whose last capture reaches the
 * end of the line (before the trailing spaces and "\r"); within the
 * command alternative a complete `bytes` can only come from the storage
 * shape and a complete `noreply` only from the end of the line. */
static void on_command(memcache_parser *p, const memcache_command *m)
{
    mc_session *s = session_of(p);
    mc_tok t[10];
    size_t n = 0;

    if (s->srv->force_slow_path) {
        process_line(s, m->line.p, m->line.len);
        return;
    }
    const char *tail = m->line.p + m->line.len;
    if (tail > m->line.p + 1 && tail[-1] == '\r')
        tail--;
    while (tail > m->line.p && tail[-1] == ' ')
        tail--;
    begin_command(s);
    if (span_end(m->keys) == tail) {
        /* get/gets/gat/gats: the keys span is split like a line's rest. */
        bool with_cas = m->get.len >= 4 && m->get.p[3] == 's';
        bool touch = m->get.p[1] == 'a';
        process_get(s, NULL, 0, m->keys.p, m->keys.len, with_cas, touch,
                    touch ? (mc_tok){ m->ttl.p, m->ttl.len }
                          : (mc_tok){ NULL, 0 });
        return;
    }
    if (span_end(m->bare) == tail) {
        t[n++] = (mc_tok){ m->bare.p, m->bare.len };
    } else {
        t[n++] = (mc_tok){ m->cmd.p, m->cmd.len };
        t[n++] = (mc_tok){ m->key.p, m->key.len };
        if (m->bytes.p) {
            t[n++] = (mc_tok){ m->flags.p, m->flags.len };
            t[n++] = (mc_tok){ m->exptime.p, m->exptime.len };
            t[n++] = (mc_tok){ m->bytes.p, m->bytes.len };
            if (m->unique.p)
                t[n++] = (mc_tok){ m->unique.p, m->unique.len };
        } else if (m->arg.p) {
            t[n++] = (mc_tok){ m->arg.p, m->arg.len };
        }
        if (m->noreply.p)
            t[n++] = (mc_tok){ "noreply", 7 };
    }
    t[n++] = (mc_tok){ NULL, 0 };
    dispatch(s, t, n, NULL, 0);
}

/* Over 2048 bytes without a newline: memcached hangs up, unless the line
 * is a get or gets (after at most 100 spaces), which it reads on. */
static void on_line_too_long(memcache_parser *p, enum memcache_mode m,
                             const char *data, size_t len)
{
    mc_session *s = session_of(p);
    size_t sp = 0;
    (void)m;
    while (sp < len && data[sp] == ' ')
        sp++;
    bool get = sp <= 100 &&
               ((len - sp >= 4 && memcmp(data + sp, "get ", 4) == 0) ||
                (len - sp >= 5 && memcmp(data + sp, "gets ", 5) == 0));
    if (!get) {
        session_close(s, WEFT_ELINE_TOO_LONG, "line too long");
        return;
    }
    free(s->long_line);
    s->long_cap = len * 2;
    s->long_line = malloc(s->long_cap);
    if (!s->long_line)
        abort();
    memcpy(s->long_line, data, len);
    s->long_len = len;
    memcache_set_mode(p, MEMCACHE_MODE_LONG_GET, 0);
}

static void on_long_get(memcache_parser *p, const char *data, size_t len)
{
    mc_session *s = session_of(p);
    if (s->long_len + len > s->long_cap) {
        while (s->long_len + len > s->long_cap)
            s->long_cap *= 2;
        char *nb = realloc(s->long_line, s->long_cap);
        if (!nb)
            abort();              /* capped by the mode's max */
        s->long_line = nb;
    }
    memcpy(s->long_line + s->long_len, data, len);
    s->long_len += len;
}

static void on_long_get_end(memcache_parser *p)
{
    mc_session *s = session_of(p);
    char *line = s->long_line;
    size_t len = s->long_len;
    s->long_line = NULL;
    s->long_len = s->long_cap = 0;
    process_line(s, line, len);
    free(line);
}

/* ---- sessions and the libweft glue -------------------------------------- */

static void on_connect(memcache_parser *p)
{
    weft_conn *c = memcache_conn(p);
    mc_session *s = memcache_state(p);
    mc_server *srv = weft_factory_user(weft_conn_factory(c));
    mc_session_init(s, srv, p, c);
    weft_conn_set_user(c, s);
    weft_conn_set_watermarks(c, MC_OUT_HIGH, MC_OUT_LOW);
    srv->curr_conns++;
    srv->total_conns++;
}

static void on_eof(memcache_parser *p)
{
    mc_session *s = session_of(p);
    out_flush(s);
    weft_conn_set_producer(s->conn, NULL, NULL);
}

static void on_disconnect(memcache_parser *p, const weft_reason *r)
{
    (void)r;
    mc_session *s = session_of(p);
    s->srv->curr_conns--;
    mc_session_free(s);
}

const memcache_callbacks mc_callbacks = {
    .on_connect = on_connect,
    .on_command = on_command,
    .on_data = on_data,
    .on_data_end = on_data_end,
    .on_long_get = on_long_get,
    .on_long_get_end = on_long_get_end,
    .on_mismatch = on_mismatch,
    .on_line_too_long = on_line_too_long,
    .on_eof = on_eof,
    .on_disconnect = on_disconnect,
};

static size_t (*generated_feed)(weft_conn *c, const char *data, size_t len);

/* The generated feed, then one write for every reply of this read. */
static size_t mc_feed(weft_conn *c, const char *data, size_t len)
{
    mc_session *s = weft_conn_user(c);
    /* counted before parsing, so "stats" sees its own line (memcached
     * counts at read time); bytes left unconsumed come back later */
    s->srv->bytes_read += len;
    size_t n = generated_feed(c, data, len);
    s->srv->bytes_read -= len - n;
    out_send(s);
    return n;
}

void mc_protocol_init(weft_protocol *proto)
{
    memcache_protocol_init(proto, &mc_callbacks, sizeof(mc_session));
    generated_feed = proto->feed;
    proto->feed = mc_feed;
    proto->name = "memcache";
}

void mc_session_init(mc_session *s, mc_server *srv, memcache_parser *p,
                     weft_conn *conn)
{
    memset(s, 0, sizeof *s);
    s->srv = srv;
    s->p = p;
    s->conn = conn;
}

void mc_session_free(mc_session *s)
{
    if (s->item)
        mc_item_free(&s->srv->cache, s->item);
    free(s->out);
    free(s->long_line);
    s->item = NULL;
    s->out = s->long_line = NULL;
    s->out_len = s->out_cap = s->long_len = s->long_cap = 0;
}

const char *mc_session_output(const mc_session *s, size_t *len)
{
    *len = s->out_len;
    return s->out ? s->out : "";
}

void mc_session_clear_output(mc_session *s)
{
    s->out_len = 0;
}

static time_t system_clock(void)
{
    return time(NULL);
}

int mc_server_init(mc_server *srv, size_t mem_limit, size_t item_size_max)
{
    memset(srv, 0, sizeof *srv);
    srv->clock = system_clock;
    time_t now = time(NULL);
    if (mc_cache_init(&srv->cache, mem_limit, item_size_max, now) != 0)
        return -1;
    srv->started = now;
    return 0;
}

void mc_server_set_clock(mc_server *srv, time_t (*clock)(void))
{
    time_t now = clock();
    srv->clock = clock;
    srv->started = now;
    srv->cache.started = now - (time_t)srv->cache.now;
}

void mc_server_free(mc_server *srv)
{
    mc_cache_free(&srv->cache);
}
