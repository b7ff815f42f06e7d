/* commands.c — weft-redis commands, answering as redis-server 7.0 does.
 *
 * Each handler gets the whole argv (argv[0] is the command name) after the
 * arity check and writes exactly one RESP2 reply to c->out.  The
 * behaviour of each follows the Redis 7.0 source it is named after
 * (t_string.c, expire.c, db.c, networking.c); comments say where weft-redis
 * differs on purpose.
 */
#include "redis.h"

#include <event2/buffer.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#define VERSION "7.0.0"

/* ---- replies ------------------------------------------------------------ */

static void add(redis_client *c, const void *p, size_t n)
{
    evbuffer_add(c->out, p, n);
}
#define ADD_LIT(c, s) add((c), (s), sizeof(s) - 1)

static void reply_ok(redis_client *c) { ADD_LIT(c, "+OK\r\n"); }
static void reply_nil(redis_client *c) { ADD_LIT(c, "$-1\r\n"); }

/* Writes the decimal form of v at the end of buf; returns its start. */
static char *fmt_ll(char *end, long long v)
{
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v
                                 : (unsigned long long)v;
    do {
        *--end = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--end = '-';
    return end;
}

static void reply_prefixed(redis_client *c, char type, long long v)
{
    char buf[32];
    char *end = buf + sizeof buf;
    *--end = '\n';
    *--end = '\r';
    char *p = fmt_ll(end, v);
    *--p = type;
    add(c, p, (size_t)(buf + sizeof buf - p));
}

static void reply_int(redis_client *c, long long v)
{
    if (v == 0)
        ADD_LIT(c, ":0\r\n");
    else if (v == 1)
        ADD_LIT(c, ":1\r\n");
    else
        reply_prefixed(c, ':', v);
}

static void reply_array(redis_client *c, long long n)
{
    reply_prefixed(c, '*', n);
}

static void reply_bulk(redis_client *c, const char *p, size_t n)
{
    if (n <= 256) {
        char buf[300];
        char *end = buf + 32;
        *--end = '\n';
        *--end = '\r';
        char *h = fmt_ll(end, (long long)n);
        *--h = '$';
        memcpy(buf + 32, p, n);
        memcpy(buf + 32 + n, "\r\n", 2);
        add(c, h, (size_t)(buf + 32 + n + 2 - h));
        return;
    }
    reply_prefixed(c, '$', (long long)n);
    add(c, p, n);
    ADD_LIT(c, "\r\n");
}

static void reply_bulk_str(redis_client *c, const char *s)
{
    reply_bulk(c, s, strlen(s));
}

/* "-<text>\r\n"; text starts with the error kind ("ERR ...").  Like Redis,
 * CR and LF inside the text become spaces so the reply stays one line. */
static void reply_error_len(redis_client *c, const char *text, size_t n)
{
    char buf[512];
    if (n > sizeof buf - 3)
        n = sizeof buf - 3;
    buf[0] = '-';
    for (size_t i = 0; i < n; i++)
        buf[1 + i] = (text[i] == '\r' || text[i] == '\n') ? ' ' : text[i];
    memcpy(buf + 1 + n, "\r\n", 2);
    add(c, buf, n + 3);
}

static void reply_error(redis_client *c, const char *text)
{
    reply_error_len(c, text, strlen(text));
}

__attribute__((format(printf, 2, 3)))
static void reply_errorf(redis_client *c, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof buf)
        n = sizeof buf - 1;
    reply_error_len(c, buf, (size_t)n);
}

static const char ERR_NOT_INT[] = "ERR value is not an integer or out of range";
static const char ERR_SYNTAX[] = "ERR syntax error";

/* ---- helpers ------------------------------------------------------------ */

bool redis_string2ll(const char *s, size_t len, long long *out)
{
    /* Redis util.c string2ll: optional '-', no leading zeros, no spaces,
     * at most 20 bytes, no overflow. */
    if (len == 0 || len > 20)
        return false;
    if (len == 1 && s[0] == '0') {
        *out = 0;
        return true;
    }
    size_t i = 0;
    bool neg = false;
    if (s[0] == '-') {
        neg = true;
        if (++i == len)
            return false;
    }
    if (s[i] < '1' || s[i] > '9')
        return false;
    unsigned long long v = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        if (v > ULLONG_MAX / 10)
            return false;
        v *= 10;
        if (v > ULLONG_MAX - (unsigned)(s[i] - '0'))
            return false;
        v += (unsigned)(s[i] - '0');
    }
    if (neg) {
        if (v > (unsigned long long)LLONG_MAX + 1)
            return false;
        *out = (long long)(0ull - v);
    } else {
        if (v > LLONG_MAX)
            return false;
        *out = (long long)v;
    }
    return true;
}

static bool arg_ll(redis_client *c, const weft_span *a, long long *v,
                   const char *err)
{
    if (redis_string2ll(a->p, a->len, v))
        return true;
    reply_error(c, err ? err : ERR_NOT_INT);
    return false;
}

static bool eq(const weft_span *a, const char *lit)
{
    size_t n = strlen(lit);
    return a->len == n && strncasecmp(a->p, lit, n) == 0;
}

static dict *db_of(redis_client *c)
{
    return &c->srv->db[c->db];
}

int64_t redis_now(redis_server *s)
{
    return s->clock(s);
}

static int64_t real_clock(redis_server *s)
{
    (void)s;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* lookupKey with lazy expiry: an expired key is deleted on sight. */
static dict_entry *lookup(redis_client *c, const weft_span *key)
{
    dict *d = db_of(c);
    dict_entry *e = dict_find(d, key->p, key->len);
    if (e && e->expire && e->expire <= redis_now(c->srv)) {
        dict_delete_entry(d, e);
        c->srv->expired_keys++;
        return NULL;
    }
    return e;
}

static void reply_entry(redis_client *c, dict_entry *e)
{
    if (e)
        reply_bulk(c, dict_val(e), e->vlen);
    else
        reply_nil(c);
}

/* ---- connection commands ------------------------------------------------ */

static void cmd_ping(redis_client *c, int argc, const weft_span *argv)
{
    if (argc > 2)
        reply_error(c, "ERR wrong number of arguments for 'ping' command");
    else if (argc == 2)
        reply_bulk(c, argv[1].p, argv[1].len);
    else
        ADD_LIT(c, "+PONG\r\n");
}

static void cmd_echo(redis_client *c, int argc, const weft_span *argv)
{
    reply_bulk(c, argv[1].p, argv[1].len);
}

static void cmd_quit(redis_client *c, int argc, const weft_span *argv)
{
    reply_ok(c);
    c->closing = true;
}

static void cmd_select(redis_client *c, int argc, const weft_span *argv)
{
    long long id;
    if (!arg_ll(c, &argv[1], &id, NULL))
        return;
    if (id < INT_MIN || id > INT_MAX) {
        reply_error(c, ERR_NOT_INT);
        return;
    }
    if (id < 0 || id >= REDIS_DBS) {
        reply_error(c, "ERR DB index is out of range");
        return;
    }
    c->db = (int)id;
    reply_ok(c);
}

/* clientSetNameOrReply: printable ASCII without spaces; "" clears. */
static bool set_name(redis_client *c, const weft_span *name)
{
    for (size_t i = 0; i < name->len; i++) {
        if (name->p[i] < '!' || name->p[i] > '~') {
            reply_error(c, "ERR Client names cannot contain spaces, newlines "
                           "or special characters.");
            return false;
        }
    }
    free(c->name);
    c->name = NULL;
    if (name->len) {
        c->name = malloc(name->len + 1);
        if (!c->name)
            abort();
        memcpy(c->name, name->p, name->len);
        c->name[name->len] = '\0';
    }
    return true;
}

static void cmd_hello(redis_client *c, int argc, const weft_span *argv)
{
    long long ver = 0;
    int j = 1;
    if (argc >= 2) {
        if (!arg_ll(c, &argv[j++], &ver, "ERR Protocol version is not an "
                    "integer or out of range"))
            return;
        if (ver < 2 || ver > 3) {
            reply_error(c, "NOPROTO unsupported protocol version");
            return;
        }
    }
    for (; j < argc; j++) {
        int more = argc - 1 - j;
        if (eq(&argv[j], "AUTH") && more >= 2) {
            /* Without ACLs every connection is the passwordless user
             * "default", as in a fresh redis-server. */
            if (!eq(&argv[j + 1], "default")) {
                reply_error(c, "WRONGPASS invalid username-password pair or "
                               "user is disabled.");
                return;
            }
            j += 2;
        } else if (eq(&argv[j], "SETNAME") && more) {
            if (!set_name(c, &argv[j + 1]))
                return;
            j++;
        } else {
            reply_errorf(c, "ERR Syntax error in HELLO option '%.*s'",
                         (int)(argv[j].len > 128 ? 128 : argv[j].len), argv[j].p);
            return;
        }
    }
    if (ver == 3) {
        /* Differs from Redis: weft-redis speaks RESP2 only. */
        reply_error(c, "NOPROTO weft-redis speaks RESP2 only");
        return;
    }
    reply_array(c, 14);
    reply_bulk_str(c, "server");
    reply_bulk_str(c, "redis");
    reply_bulk_str(c, "version");
    reply_bulk_str(c, VERSION);
    reply_bulk_str(c, "proto");
    reply_int(c, 2);
    reply_bulk_str(c, "id");
    reply_int(c, (long long)c->id);
    reply_bulk_str(c, "mode");
    reply_bulk_str(c, "standalone");
    reply_bulk_str(c, "role");
    reply_bulk_str(c, "master");
    reply_bulk_str(c, "modules");
    reply_array(c, 0);
}

static void unknown_subcommand(redis_client *c, const weft_span *argv,
                               const char *upper)
{
    reply_errorf(c, "ERR unknown subcommand '%.*s'. Try %s HELP.",
                 (int)(argv[1].len > 128 ? 128 : argv[1].len), argv[1].p,
                 upper);
}

static void sub_arity(redis_client *c, const char *full)
{
    reply_errorf(c, "ERR wrong number of arguments for '%s' command", full);
}

static void cmd_client(redis_client *c, int argc, const weft_span *argv)
{
    if (eq(&argv[1], "SETNAME")) {
        if (argc != 3)
            return sub_arity(c, "client|setname");
        if (set_name(c, &argv[2]))
            reply_ok(c);
    } else if (eq(&argv[1], "GETNAME")) {
        if (argc != 2)
            return sub_arity(c, "client|getname");
        if (c->name)
            reply_bulk_str(c, c->name);
        else
            reply_nil(c);
    } else if (eq(&argv[1], "ID")) {
        if (argc != 2)
            return sub_arity(c, "client|id");
        reply_int(c, (long long)c->id);
    } else {
        unknown_subcommand(c, argv, "CLIENT");
    }
}

/* ---- strings ------------------------------------------------------------ */

/* Stores value under key as SET does without KEEPTTL: any TTL goes. */
static void set_key(redis_client *c, const weft_span *k, const weft_span *v,
                    bool keepttl)
{
    dict *d = db_of(c);
    dict_entry *e = dict_set(d, k->p, k->len, v->p, v->len, NULL);
    if (!keepttl)
        dict_set_expire(d, e, 0);
}

#define SET_NX 1
#define SET_XX 2
#define SET_GET 4
#define SET_KEEPTTL 8
#define SET_EX 16
#define SET_PX 32
#define SET_EXAT 64
#define SET_PXAT 128

static bool is_opt(const weft_span *a, const char *s)
{
    return eq(a, s);
}

/* parseExtendedStringArgumentsOrReply for SET, with its exact rules on
 * which options combine. */
static bool set_options(redis_client *c, int argc, const weft_span *argv,
                        int *flags, const weft_span **expire)
{
    const int anyexp = SET_EX | SET_PX | SET_EXAT | SET_PXAT;
    for (int j = 3; j < argc; j++) {
        const weft_span *o = &argv[j];
        bool next = j < argc - 1;
        int f = *flags;
        if (is_opt(o, "NX") && !(f & SET_XX)) {
            *flags |= SET_NX;
        } else if (is_opt(o, "XX") && !(f & SET_NX)) {
            *flags |= SET_XX;
        } else if (is_opt(o, "GET")) {
            *flags |= SET_GET;
        } else if (is_opt(o, "KEEPTTL") && !(f & anyexp)) {
            *flags |= SET_KEEPTTL;
        } else if (is_opt(o, "EX") && !(f & SET_KEEPTTL) &&
                   !(f & (anyexp & ~SET_EX)) && next) {
            *flags |= SET_EX;
            *expire = &argv[++j];
        } else if (is_opt(o, "PX") && !(f & SET_KEEPTTL) &&
                   !(f & (anyexp & ~SET_PX)) && next) {
            *flags |= SET_PX;
            *expire = &argv[++j];
        } else if (is_opt(o, "EXAT") && !(f & SET_KEEPTTL) &&
                   !(f & (anyexp & ~SET_EXAT)) && next) {
            *flags |= SET_EXAT;
            *expire = &argv[++j];
        } else if (is_opt(o, "PXAT") && !(f & SET_KEEPTTL) &&
                   !(f & (anyexp & ~SET_PXAT)) && next) {
            *flags |= SET_PXAT;
            *expire = &argv[++j];
        } else {
            reply_error(c, ERR_SYNTAX);
            return false;
        }
    }
    return true;
}

/* getExpireMillisecondsOrReply: the absolute expire time in ms. */
static bool expire_ms(redis_client *c, const weft_span *a, int flags,
                      long long *ms)
{
    if (!arg_ll(c, a, ms, NULL))
        return false;
    bool secs = flags & (SET_EX | SET_EXAT);
    if (*ms <= 0 || (secs && *ms > LLONG_MAX / 1000)) {
        reply_error(c, "ERR invalid expire time in 'set' command");
        return false;
    }
    if (secs)
        *ms *= 1000;
    if (flags & (SET_EX | SET_PX)) {
        long long now = redis_now(c->srv);
        if (*ms > LLONG_MAX - now) {
            reply_error(c, "ERR invalid expire time in 'set' command");
            return false;
        }
        *ms += now;
    }
    return true;
}

static void cmd_set(redis_client *c, int argc, const weft_span *argv)
{
    int flags = 0;
    const weft_span *exp = NULL;
    long long when = 0;
    if (!set_options(c, argc, argv, &flags, &exp))
        return;
    if (exp && !expire_ms(c, exp, flags, &when))
        return;
    dict_entry *old = lookup(c, &argv[1]);
    if (flags & SET_GET)
        reply_entry(c, old);
    if (((flags & SET_NX) && old) || ((flags & SET_XX) && !old)) {
        if (!(flags & SET_GET))
            reply_nil(c);
        return;
    }
    dict *d = db_of(c);
    dict_entry *e = dict_set(d, argv[1].p, argv[1].len, argv[2].p,
                             argv[2].len, NULL);
    if (exp)
        dict_set_expire(d, e, when);
    else if (!(flags & SET_KEEPTTL))
        dict_set_expire(d, e, 0);
    if (!(flags & SET_GET))
        reply_ok(c);
}

static void cmd_get(redis_client *c, int argc, const weft_span *argv)
{
    reply_entry(c, lookup(c, &argv[1]));
}

static void cmd_getdel(redis_client *c, int argc, const weft_span *argv)
{
    dict_entry *e = lookup(c, &argv[1]);
    reply_entry(c, e);
    if (e)
        dict_delete_entry(db_of(c), e);
}

static void cmd_del(redis_client *c, int argc, const weft_span *argv)
{
    long long n = 0;
    for (int j = 1; j < argc; j++) {
        dict_entry *e = lookup(c, &argv[j]);
        if (e) {
            dict_delete_entry(db_of(c), e);
            n++;
        }
    }
    reply_int(c, n);
}

static void cmd_exists(redis_client *c, int argc, const weft_span *argv)
{
    long long n = 0;
    for (int j = 1; j < argc; j++)
        n += lookup(c, &argv[j]) != NULL;
    reply_int(c, n);
}

/* incrDecrCommand: the value must be a string2ll integer; the TTL stays. */
static void incr_by(redis_client *c, const weft_span *key, long long incr)
{
    dict_entry *e = lookup(c, key);
    long long v = 0;
    if (e && !redis_string2ll(dict_val(e), e->vlen, &v)) {
        reply_error(c, ERR_NOT_INT);
        return;
    }
    if ((incr < 0 && v < 0 && incr < LLONG_MIN - v) ||
        (incr > 0 && v > 0 && incr > LLONG_MAX - v)) {
        reply_error(c, "ERR increment or decrement would overflow");
        return;
    }
    v += incr;
    char buf[24];
    char *p = fmt_ll(buf + sizeof buf, v);
    size_t n = (size_t)(buf + sizeof buf - p);
    dict *d = db_of(c);
    if (e) {
        e = dict_resize_value(d, e, n);
        memcpy(dict_val(e), p, n);
    } else {
        dict_set(d, key->p, key->len, p, n, NULL);
    }
    reply_int(c, v);
}

static void cmd_incr(redis_client *c, int argc, const weft_span *argv)
{
    incr_by(c, &argv[1], 1);
}

static void cmd_decr(redis_client *c, int argc, const weft_span *argv)
{
    incr_by(c, &argv[1], -1);
}

static void cmd_incrby(redis_client *c, int argc, const weft_span *argv)
{
    long long incr;
    if (arg_ll(c, &argv[2], &incr, NULL))
        incr_by(c, &argv[1], incr);
}

static void cmd_decrby(redis_client *c, int argc, const weft_span *argv)
{
    long long incr;
    if (!arg_ll(c, &argv[2], &incr, NULL))
        return;
    if (incr == LLONG_MIN) {
        reply_error(c, "ERR decrement would overflow");
        return;
    }
    incr_by(c, &argv[1], -incr);
}

static void cmd_append(redis_client *c, int argc, const weft_span *argv)
{
    dict *d = db_of(c);
    dict_entry *e = lookup(c, &argv[1]);
    if (!e) {
        e = dict_set(d, argv[1].p, argv[1].len, argv[2].p, argv[2].len, NULL);
        reply_int(c, (long long)argv[2].len);
        return;
    }
    size_t old = e->vlen;
    if ((unsigned long long)old + argv[2].len > (unsigned long long)REDIS_MAX_BULK) {
        reply_error(c, "ERR string exceeds maximum allowed size "
                       "(proto-max-bulk-len)");
        return;
    }
    e = dict_resize_value(d, e, old + argv[2].len);
    memcpy(dict_val(e) + old, argv[2].p, argv[2].len);
    reply_int(c, (long long)e->vlen);
}

static void cmd_strlen(redis_client *c, int argc, const weft_span *argv)
{
    dict_entry *e = lookup(c, &argv[1]);
    reply_int(c, e ? (long long)e->vlen : 0);
}

static void cmd_mset(redis_client *c, int argc, const weft_span *argv)
{
    if (argc % 2 == 0) {
        reply_error(c, "ERR wrong number of arguments for 'mset' command");
        return;
    }
    for (int j = 1; j < argc; j += 2)
        set_key(c, &argv[j], &argv[j + 1], false);
    reply_ok(c);
}

static void cmd_mget(redis_client *c, int argc, const weft_span *argv)
{
    reply_array(c, argc - 1);
    for (int j = 1; j < argc; j++)
        reply_entry(c, lookup(c, &argv[j]));
}

/* ---- expiry ------------------------------------------------------------- */

#define EXP_NX 1
#define EXP_XX 2
#define EXP_GT 4
#define EXP_LT 8

/* expireGenericCommand: options first, then the number, then the key. */
static void expire_generic(redis_client *c, int argc, const weft_span *argv,
                           bool secs, const char *name)
{
    int flag = 0;
    for (int j = 3; j < argc; j++) {
        if (eq(&argv[j], "NX"))
            flag |= EXP_NX;
        else if (eq(&argv[j], "XX"))
            flag |= EXP_XX;
        else if (eq(&argv[j], "GT"))
            flag |= EXP_GT;
        else if (eq(&argv[j], "LT"))
            flag |= EXP_LT;
        else {
            reply_errorf(c, "ERR Unsupported option %.*s",
                         (int)(argv[j].len > 128 ? 128 : argv[j].len),
                         argv[j].p);
            return;
        }
    }
    if ((flag & EXP_NX) && (flag & (EXP_XX | EXP_GT | EXP_LT))) {
        reply_error(c, "ERR NX and XX, GT or LT options at the same time are "
                       "not compatible");
        return;
    }
    if ((flag & EXP_GT) && (flag & EXP_LT)) {
        reply_error(c, "ERR GT and LT options at the same time are not "
                       "compatible");
        return;
    }
    long long when;
    if (!arg_ll(c, &argv[2], &when, NULL))
        return;
    if (secs) {
        if (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000) {
            reply_errorf(c, "ERR invalid expire time in '%s' command", name);
            return;
        }
        when *= 1000;
    }
    long long now = redis_now(c->srv);
    if (when > LLONG_MAX - now) {
        reply_errorf(c, "ERR invalid expire time in '%s' command", name);
        return;
    }
    when += now;
    dict_entry *e = lookup(c, &argv[1]);
    if (!e) {
        reply_int(c, 0);
        return;
    }
    long long cur = e->expire ? e->expire : -1;
    if (((flag & EXP_NX) && cur != -1) || ((flag & EXP_XX) && cur == -1) ||
        ((flag & EXP_GT) && (when <= cur || cur == -1)) ||
        ((flag & EXP_LT) && cur != -1 && when >= cur)) {
        reply_int(c, 0);
        return;
    }
    if (when <= now)
        dict_delete_entry(db_of(c), e);
    else
        dict_set_expire(db_of(c), e, when);
    reply_int(c, 1);
}

static void cmd_expire(redis_client *c, int argc, const weft_span *argv)
{
    expire_generic(c, argc, argv, true, "expire");
}

static void cmd_pexpire(redis_client *c, int argc, const weft_span *argv)
{
    expire_generic(c, argc, argv, false, "pexpire");
}

static void ttl_generic(redis_client *c, const weft_span *key, bool ms)
{
    dict_entry *e = lookup(c, key);
    if (!e) {
        reply_int(c, -2);
        return;
    }
    if (!e->expire) {
        reply_int(c, -1);
        return;
    }
    long long ttl = e->expire - redis_now(c->srv);
    if (ttl < 0)
        ttl = 0;
    reply_int(c, ms ? ttl : (ttl + 500) / 1000);
}

static void cmd_ttl(redis_client *c, int argc, const weft_span *argv)
{
    ttl_generic(c, &argv[1], false);
}

static void cmd_pttl(redis_client *c, int argc, const weft_span *argv)
{
    ttl_generic(c, &argv[1], true);
}

static void cmd_persist(redis_client *c, int argc, const weft_span *argv)
{
    dict_entry *e = lookup(c, &argv[1]);
    if (e && e->expire) {
        dict_set_expire(db_of(c), e, 0);
        reply_int(c, 1);
    } else {
        reply_int(c, 0);
    }
}

/* ---- key space ---------------------------------------------------------- */

static void cmd_dbsize(redis_client *c, int argc, const weft_span *argv)
{
    reply_int(c, (long long)dict_size(db_of(c)));
}

static bool flush_args(redis_client *c, int argc, const weft_span *argv)
{
    if (argc > 2 || (argc == 2 && !eq(&argv[1], "SYNC") &&
                     !eq(&argv[1], "ASYNC"))) {
        reply_error(c, ERR_SYNTAX);
        return false;
    }
    return true;
}

static void cmd_flushdb(redis_client *c, int argc, const weft_span *argv)
{
    if (!flush_args(c, argc, argv))
        return;
    dict_clear(db_of(c));
    reply_ok(c);
}

static void cmd_flushall(redis_client *c, int argc, const weft_span *argv)
{
    if (!flush_args(c, argc, argv))
        return;
    for (int i = 0; i < REDIS_DBS; i++)
        dict_clear(&c->srv->db[i]);
    reply_ok(c);
}

/* ---- introspection ------------------------------------------------------ */

static void cmd_config(redis_client *c, int argc, const weft_span *argv)
{
    if (!eq(&argv[1], "GET")) {
        unknown_subcommand(c, argv, "CONFIG");
        return;
    }
    if (argc < 3)
        return sub_arity(c, "config|get");
    char maxmem[24];
    snprintf(maxmem, sizeof maxmem, "%llu",
             (unsigned long long)c->srv->maxmemory);
    /* What redis-benchmark and redis-cli ask for, with this server's
     * values. */
    const char *params[][2] = {
        {"appendonly", "no"},
        {"save", ""},
        {"databases", "16"},
        {"maxmemory", maxmem},
        {"maxmemory-policy", "noeviction"},
        {"proto-max-bulk-len", "536870912"},
        {"client-query-buffer-limit", "1073741824"},
        {"timeout", "0"},
    };
    const size_t np = sizeof params / sizeof params[0];
    bool hit[sizeof params / sizeof params[0]] = {false};
    size_t n = 0;
    for (int j = 2; j < argc; j++) {
        char pat[256];
        size_t len = argv[j].len < sizeof pat - 1 ? argv[j].len : sizeof pat - 1;
        memcpy(pat, argv[j].p, len);
        pat[len] = '\0';
        for (size_t i = 0; i < np; i++)
            if (!hit[i] && fnmatch(pat, params[i][0], FNM_CASEFOLD) == 0) {
                hit[i] = true;
                n++;
            }
    }
    reply_array(c, (long long)n * 2);
    for (size_t i = 0; i < np; i++)
        if (hit[i]) {
            reply_bulk_str(c, params[i][0]);
            reply_bulk_str(c, params[i][1]);
        }
}

/* ---- the table ---------------------------------------------------------- */

typedef void (*cmd_fn)(redis_client *c, int argc, const weft_span *argv);

#define F_DENYOOM 1

typedef struct command {
    const char *name;             /* lower case */
    int arity;                    /* >0 exact, <0 at least -arity */
    int flags;
    cmd_fn fn;
    int first_key, last_key, step;/* for COMMAND INFO */
} command;

static void cmd_command(redis_client *c, int argc, const weft_span *argv);

static const command commands[] = {
    {"ping", -1, 0, cmd_ping, 0, 0, 0},
    {"echo", 2, 0, cmd_echo, 0, 0, 0},
    {"quit", -1, 0, cmd_quit, 0, 0, 0},
    {"select", 2, 0, cmd_select, 0, 0, 0},
    {"hello", -1, 0, cmd_hello, 0, 0, 0},
    {"client", -2, 0, cmd_client, 0, 0, 0},
    {"command", -1, 0, cmd_command, 0, 0, 0},
    {"config", -2, 0, cmd_config, 0, 0, 0},
    {"set", -3, F_DENYOOM, cmd_set, 1, 1, 1},
    {"get", 2, 0, cmd_get, 1, 1, 1},
    {"getdel", 2, 0, cmd_getdel, 1, 1, 1},
    {"del", -2, 0, cmd_del, 1, -1, 1},
    {"exists", -2, 0, cmd_exists, 1, -1, 1},
    {"incr", 2, F_DENYOOM, cmd_incr, 1, 1, 1},
    {"decr", 2, F_DENYOOM, cmd_decr, 1, 1, 1},
    {"incrby", 3, F_DENYOOM, cmd_incrby, 1, 1, 1},
    {"decrby", 3, F_DENYOOM, cmd_decrby, 1, 1, 1},
    {"append", 3, F_DENYOOM, cmd_append, 1, 1, 1},
    {"strlen", 2, 0, cmd_strlen, 1, 1, 1},
    {"mset", -3, F_DENYOOM, cmd_mset, 1, -1, 2},
    {"mget", -2, 0, cmd_mget, 1, -1, 1},
    {"expire", -3, 0, cmd_expire, 1, 1, 1},
    {"pexpire", -3, 0, cmd_pexpire, 1, 1, 1},
    {"ttl", 2, 0, cmd_ttl, 1, 1, 1},
    {"pttl", 2, 0, cmd_pttl, 1, 1, 1},
    {"persist", 2, 0, cmd_persist, 1, 1, 1},
    {"dbsize", 1, 0, cmd_dbsize, 0, 0, 0},
    {"flushall", -1, 0, cmd_flushall, 0, 0, 0},
    {"flushdb", -1, 0, cmd_flushdb, 0, 0, 0},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

/* Case-insensitive lookup: a 64-slot open-addressing table built once. */
#define SLOTS 64
static const command *slots[SLOTS];

static unsigned name_hash(const char *p, size_t n)
{
    unsigned h = (unsigned)n * 31u;
    for (size_t i = 0; i < n; i++)
        h = h * 33u + (unsigned)(p[i] | 0x20);
    return h;
}

static void build_slots(void)
{
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const char *nm = commands[i].name;
        unsigned h = name_hash(nm, strlen(nm));
        while (slots[h % SLOTS])
            h++;
        slots[h % SLOTS] = &commands[i];
    }
}

static const command *find_command(const char *p, size_t n)
{
    if (!slots[name_hash("get", 3) % SLOTS])
        build_slots();
    unsigned h = name_hash(p, n);
    for (const command *cmd; (cmd = slots[h % SLOTS]); h++)
        if (strlen(cmd->name) == n && strncasecmp(cmd->name, p, n) == 0)
            return cmd;
    return NULL;
}

static void command_info(redis_client *c, const command *cmd)
{
    /* The Redis 7 shape: name, arity, flags, first/last key, step, ACL
     * categories, tips, key specs, subcommands. */
    reply_array(c, 10);
    reply_bulk_str(c, cmd->name);
    reply_int(c, cmd->arity);
    if (cmd->flags & F_DENYOOM) {
        ADD_LIT(c, "*2\r\n+write\r\n+denyoom\r\n");
    } else {
        reply_array(c, 0);
    }
    reply_int(c, cmd->first_key);
    reply_int(c, cmd->last_key);
    reply_int(c, cmd->step);
    reply_array(c, 0);
    reply_array(c, 0);
    reply_array(c, 0);
    reply_array(c, 0);
}

static void cmd_command(redis_client *c, int argc, const weft_span *argv)
{
    if (argc == 1) {
        reply_array(c, (long long)NCOMMANDS);
        for (size_t i = 0; i < NCOMMANDS; i++)
            command_info(c, &commands[i]);
    } else if (eq(&argv[1], "COUNT")) {
        if (argc != 2)
            return sub_arity(c, "command|count");
        reply_int(c, (long long)NCOMMANDS);
    } else if (eq(&argv[1], "INFO")) {
        reply_array(c, argc - 2);
        for (int j = 2; j < argc; j++) {
            const command *cmd = find_command(argv[j].p, argv[j].len);
            if (cmd)
                command_info(c, cmd);
            else
                ADD_LIT(c, "*-1\r\n");
        }
    } else if (eq(&argv[1], "DOCS")) {
        /* No documentation: an empty map, which redis-cli accepts (it then
         * shows its built-in help). */
        reply_array(c, 0);
    } else {
        unknown_subcommand(c, argv, "COMMAND");
    }
}

void redis_exec(redis_client *c, int argc, const weft_span *argv)
{
    const command *cmd = find_command(argv[0].p, argv[0].len);
    if (!cmd) {
        /* "unknown command 'x', with args beginning with: 'a' 'b' " with
         * Redis' 128-byte bounds. */
        char args[300];
        size_t n = 0;
        for (int j = 1; j < argc && n < 128; j++) {
            int w = snprintf(args + n, sizeof args - n, "'%.*s' ",
                             (int)(argv[j].len < 128 - n ? argv[j].len : 128 - n),
                             argv[j].p);
            if (w < 0 || (size_t)w >= sizeof args - n)
                break;
            n += (size_t)w;
        }
        args[n] = '\0';
        reply_errorf(c, "ERR unknown command '%.*s', with args beginning "
                     "with: %s", (int)(argv[0].len > 128 ? 128 : argv[0].len),
                     argv[0].p, args);
        return;
    }
    if ((cmd->arity > 0 && argc != cmd->arity) || argc < -cmd->arity) {
        reply_errorf(c, "ERR wrong number of arguments for '%s' command",
                     cmd->name);
        return;
    }
    if ((cmd->flags & F_DENYOOM) && c->srv->maxmemory &&
        redis_used_memory(c->srv) > c->srv->maxmemory) {
        reply_error(c, "OOM command not allowed when used memory > "
                       "'maxmemory'.");
        return;
    }
    cmd->fn(c, argc, argv);
}

/* ---- server ------------------------------------------------------------- */

void redis_server_init(redis_server *s)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < REDIS_DBS; i++) {
        uint64_t seed;
        if (getrandom(&seed, sizeof seed, 0) != sizeof seed)
            seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull + (uint64_t)i;
        dict_init(&s->db[i], seed);
    }
    s->next_client_id = 1;
    s->max_query = REDIS_MAX_QUERY;
    s->clock = real_clock;
}

void redis_server_free(redis_server *s)
{
    for (int i = 0; i < REDIS_DBS; i++)
        dict_free(&s->db[i]);
}

size_t redis_used_memory(const redis_server *s)
{
    size_t m = s->client_mem + s->clients * sizeof(redis_client);
    for (int i = 0; i < REDIS_DBS; i++)
        m += s->db[i].mem;
    return m;
}

typedef struct sweep_ctx {
    int64_t now;
    size_t expired;
} sweep_ctx;

static void expire_if_due(dict *d, dict_entry *e, void *arg)
{
    sweep_ctx *x = arg;
    if (e->expire && e->expire <= x->now) {
        dict_delete_entry(d, e);
        x->expired++;
    }
}

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

size_t redis_cron(redis_server *s, int budget_ms)
{
    sweep_ctx x = {redis_now(s), 0};
    double end = mono_ms() + budget_ms;
    /* Walk the databases that hold keys with a TTL, 256 buckets at a time,
     * until the budget is spent or every such database was walked once. */
    for (int n = 0; n < REDIS_DBS; n++) {
        dict *d = &s->db[s->sweep_db];
        if (d->volatile_keys > 0) {
            size_t span = d->t[0].size > d->t[1].size ? d->t[0].size
                                                      : d->t[1].size;
            size_t done = 0;
            while (done < span && d->volatile_keys > 0) {
                dict_sweep(d, &s->sweep_cursor, 256, expire_if_due, &x);
                done += 256;
                if (mono_ms() > end) {
                    s->expired_keys += x.expired;
                    return x.expired;
                }
            }
        }
        s->sweep_db = (s->sweep_db + 1) % REDIS_DBS;
        s->sweep_cursor = 0;
    }
    for (int i = 0; i < REDIS_DBS; i++)
        dict_rehash_ms(&s->db[i], 1);
    s->expired_keys += x.expired;
    return x.expired;
}
