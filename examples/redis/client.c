/* client.c — the callbacks of spec/resp.weft: from lines and raw blocks to
 * a command's argument vector, with Redis' protocol errors and limits.
 *
 * A multibulk request walks the modes  command -> bulk_len -> bulk ->
 * bulk_len -> bulk ... -> command: the "*N" line sets how many arguments
 * follow, each "$LEN" line enters the counted `bulk` mode with LEN, and the
 * end of the last block runs the command.  The argument bytes are copied
 * into one per-client buffer as they arrive (spans are valid during a
 * callback only), so an argument may be split across any number of reads.
 * An inline command is split in one go (redis_split_inline).
 *
 * Protocol errors answer "-ERR Protocol error: ..." and close the
 * connection after flushing the replies before it, as Redis does.
 */
#include "redis.h"

#include <event2/buffer.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp.h"
#include "weft.h"

/* Buffers a client keeps between commands; larger ones are freed after
 * the command that needed them, so an idle client stays small. */
#define KEEP_BUF 4096
#define KEEP_ARGS 64

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) {
        fprintf(stderr, "weft-redis: out of memory (%zu bytes)\n", n);
        abort();
    }
    return q;
}

static redis_client *client_of(resp_parser *p)
{
    return resp_conn(p) ? resp_state(p) : resp_user(p);
}

void redis_client_init(redis_client *c, redis_server *s, struct evbuffer *out)
{
    memset(c, 0, sizeof *c);
    c->srv = s;
    c->out = out;
    c->id = s->next_client_id++;
    s->clients++;
}

static void account(redis_client *c, size_t old, size_t now)
{
    c->srv->client_mem += now;
    c->srv->client_mem -= old;
}

void redis_client_free(redis_client *c)
{
    if (!c->srv)
        return;
    account(c, c->cap + c->argcap * sizeof *c->args, 0);
    free(c->buf);
    free(c->args);
    free(c->name);
    c->srv->clients--;
    c->srv = NULL;
}

/* ---- the argument buffer ------------------------------------------------ */

static void reserve(redis_client *c, size_t more)
{
    size_t need = c->len + more;
    if (need <= c->cap)
        return;
    size_t cap = c->cap ? c->cap : 256;
    while (cap < need)
        cap = cap < (1u << 20) ? cap * 2 : cap + cap / 4;
    c->buf = xrealloc(c->buf, cap);
    account(c, c->cap, cap);
    c->cap = cap;
}

static void begin_arg(redis_client *c)
{
    if (c->argc == c->argcap) {
        uint32_t cap = c->argcap ? c->argcap * 2 : 8;
        c->args = xrealloc(c->args, cap * sizeof *c->args);
        account(c, c->argcap * sizeof *c->args, cap * sizeof *c->args);
        c->argcap = cap;
    }
    c->args[c->argc].off = (uint32_t)c->len;
    c->args[c->argc].len = 0;
}

static void push(redis_client *c, const char *p, size_t n)
{
    reserve(c, n);
    memcpy(c->buf + c->len, p, n);
    c->len += n;
    c->args[c->argc].len += (uint32_t)n;
}

/* Forgets the command; drops big buffers. */
static void reset(redis_client *c)
{
    c->argc = 0;
    c->len = 0;
    c->query = 0;
    c->pending = 0;
    if (c->cap > KEEP_BUF) {
        account(c, c->cap, 0);
        free(c->buf);
        c->buf = NULL;
        c->cap = 0;
    }
    if (c->argcap > KEEP_ARGS) {
        account(c, c->argcap * sizeof *c->args, 0);
        free(c->args);
        c->args = NULL;
        c->argcap = 0;
    }
}

/* ---- closing ------------------------------------------------------------ */

/* Stops everything after the replies written so far. */
static void close_client(redis_client *c)
{
    c->closing = true;
    if (c->conn)
        weft_close(c->conn);          /* flushes, then closes */
    else if (c->parser)
        resp_pause(c->parser);        /* standalone: stop delivering */
}

/* The runtime may free an idle connection's output buffer and wants to
 * know when bytes are added, so fetch it before every reply. */
static void refresh_out(redis_client *c)
{
    if (c->conn)
        c->out = weft_conn_output(c->conn);
}

static void protocol_error(redis_client *c, const char *what)
{
    refresh_out(c);
    char buf[128];
    int n = snprintf(buf, sizeof buf, "-ERR Protocol error: %s\r\n", what);
    /* Like Redis' addReplyErrorFormat: no CR/LF inside the message. */
    for (int i = 1; i < n - 2; i++)
        if (buf[i] == '\r' || buf[i] == '\n')
            buf[i] = ' ';
    evbuffer_add(c->out, buf, (size_t)n);
    close_client(c);
}

/* ---- output flow control ------------------------------------------------ */

/* A client that pipelines commands without reading the replies would make
 * its output buffer grow without bound.  Once a command leaves more than
 * OUT_HIGH bytes unsent, the client's parser pauses (its input stays in the
 * kernel: TCP flow control reaches the client) until the runtime reports
 * the output drained below its low-water mark.  The producer is registered
 * only while throttled, so idle clients carry no extra state. */
#define OUT_HIGH (64 * 1024)          /* the runtime's default high mark */

static void unthrottle(redis_client *c)
{
    weft_conn_set_producer(c->conn, NULL, NULL);
    c->throttled = false;
    c->out_paused = false;
    weft_timer_cancel(c->check);
    c->check = NULL;
}

static void out_pause(weft_conn *conn, void *arg)
{
    redis_client *c = arg;
    c->out_paused = true;             /* the parser is already paused */
}

static void out_resume(weft_conn *conn, void *arg)
{
    redis_client *c = arg;
    unthrottle(c);
    resp_resume(c->parser);
}

static void out_stop(weft_conn *conn, void *arg)
{
    unthrottle(arg);
}

static const weft_producer out_producer = {
    .pause_producing = out_pause,
    .resume_producing = out_resume,
    .stop_producing = out_stop,
};

/* The runtime reports a crossing of the high-water mark only if the output
 * is still above it after the flush that follows the read; when the kernel
 * took it all at once, no pause (and so no resume) comes.  This check runs
 * on the next loop turn, after that flush, and resumes in that case. */
static void throttle_check(void *arg)
{
    redis_client *c = arg;
    c->check = NULL;
    if (c->throttled && !c->out_paused) {
        unthrottle(c);
        resp_resume(c->parser);
    }
}

static void throttle(redis_client *c)
{
    if (!c->conn || c->closing || c->throttled ||
        weft_conn_pending(c->conn) <= OUT_HIGH)
        return;
    c->throttled = true;
    c->out_paused = false;
    weft_conn_set_producer(c->conn, &out_producer, c);
    resp_pause(c->parser);
    c->check = weft_call_later(weft_conn_reactor(c->conn), 0, throttle_check, c);
}

/* ---- running a command -------------------------------------------------- */

static void run(redis_client *c)
{
    weft_span small[32], *argv = small;
    small[0].p = NULL;                /* argc >= 1; quiets -Wmaybe-uninit */
    small[0].len = 0;
    if (c->argc > 32) {
        argv = malloc(c->argc * sizeof *argv);
        if (!argv)
            abort();
    }
    /* Only empty arguments ('' inline) leave buf unallocated, and NULL + 0
     * is undefined in C: they get a static empty string. */
    for (uint32_t i = 0; i < c->argc; i++) {
        argv[i].p = c->buf ? c->buf + c->args[i].off : "";
        argv[i].len = c->args[i].len;
    }
    refresh_out(c);
    redis_exec(c, (int)c->argc, argv);
    if (argv != small)
        free(argv);
    reset(c);
    if (c->closing)
        close_client(c);
    else
        throttle(c);
}

/* ---- inline commands ---------------------------------------------------- */

static bool is_space(int ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\v' ||
           ch == '\f' || ch == '\r';
}

static bool is_hex(int ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
           (ch >= 'A' && ch <= 'F');
}

static int hex_val(int ch)
{
    return ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10;
}

static void push_byte(redis_client *c, int ch)
{
    char b = (char)ch;
    push(c, &b, 1);
}

int redis_split_inline(redis_client *c, const char *line, size_t len)
{
    /* sdssplitargs works on a C string: a NUL byte ends the input. */
    const char *nul = memchr(line, 0, len);
    if (nul)
        len = (size_t)(nul - line);
#define AT(k) ((k) < len ? (unsigned char)line[k] : 0)
    size_t i = 0;
    c->argc = 0;
    c->len = 0;
    for (;;) {
        while (AT(i) && is_space(AT(i)))
            i++;
        if (!AT(i))
            return (int)c->argc;
        bool inq = false, insq = false, done = false;
        begin_arg(c);
        while (!done) {
            int ch = AT(i);
            if (inq) {
                if (ch == '\\' && AT(i + 1) == 'x' && is_hex(AT(i + 2)) &&
                    is_hex(AT(i + 3))) {
                    push_byte(c, hex_val(AT(i + 2)) * 16 + hex_val(AT(i + 3)));
                    i += 3;
                } else if (ch == '\\' && AT(i + 1)) {
                    i++;
                    int e = AT(i);
                    push_byte(c, e == 'n' ? '\n' : e == 'r' ? '\r' :
                                 e == 't' ? '\t' : e == 'b' ? '\b' :
                                 e == 'a' ? '\a' : e);
                } else if (ch == '"') {
                    /* A closing quote must be followed by a space or the
                     * end. */
                    if (AT(i + 1) && !is_space(AT(i + 1)))
                        return -1;
                    done = true;
                } else if (!ch) {
                    return -1;        /* unterminated quotes */
                } else {
                    push_byte(c, ch);
                }
            } else if (insq) {
                if (ch == '\\' && AT(i + 1) == '\'') {
                    i++;
                    push_byte(c, '\'');
                } else if (ch == '\'') {
                    if (AT(i + 1) && !is_space(AT(i + 1)))
                        return -1;
                    done = true;
                } else if (!ch) {
                    return -1;
                } else {
                    push_byte(c, ch);
                }
            } else {
                switch (ch) {
                case ' ': case '\n': case '\r': case '\t': case '\0':
                    done = true;
                    break;
                case '"':
                    inq = true;
                    break;
                case '\'':
                    insq = true;
                    break;
                default:
                    push_byte(c, ch);
                }
            }
            if (AT(i))
                i++;
        }
        c->argc++;
    }
#undef AT
}

/* ---- parser callbacks --------------------------------------------------- */

static void on_connect(resp_parser *p)
{
    weft_conn *conn = resp_conn(p);
    redis_client *c = resp_state(p);
    redis_server *s = weft_factory_user(weft_conn_factory(conn));
    redis_client_init(c, s, NULL);
    c->conn = conn;
    c->parser = p;
}

static void on_command(resp_parser *p, const resp_command *m)
{
    redis_client *c = client_of(p);
    if (c->closing)
        return;
    if (m->words.p) {
        size_t n = m->words.len;
        if (n && m->words.p[n - 1] == '\r')
            n--;                      /* Redis drops one CR before LF */
        int argc = redis_split_inline(c, m->words.p, n);
        if (argc < 0) {
            reset(c);
            protocol_error(c, "unbalanced quotes in request");
        } else if (argc > 0) {
            run(c);
        }
        return;
    }
    long long n;
    if (!redis_string2ll(m->count.p, m->count.len, &n) || n > INT_MAX) {
        protocol_error(c, "invalid multibulk length");
        return;
    }
    if (n <= 0)
        return;                       /* Redis ignores "*0" and "*-1" */
    c->pending = n;
    c->argc = 0;
    c->len = 0;
    c->query = 0;
    resp_set_mode(p, RESP_MODE_BULK_LEN, 0);
}

static void on_bulk_len(resp_parser *p, const resp_bulk_len *m)
{
    redis_client *c = client_of(p);
    if (c->closing)
        return;
    long long n;
    if (!redis_string2ll(m->len.p, m->len.len, &n) || n < 0 ||
        n > REDIS_MAX_BULK) {
        protocol_error(c, "invalid bulk length");
        return;
    }
    c->query += (uint64_t)n + REDIS_ARG_OVERHEAD;
    if (c->query > c->srv->max_query) {
        /* Redis closes a client over client-query-buffer-limit without a
         * reply; so does weft-redis. */
        fprintf(stderr, "weft-redis: closing client %llu: command over "
                "client-query-buffer-limit (%llu bytes)\n",
                (unsigned long long)c->id,
                (unsigned long long)c->srv->max_query);
        reset(c);
        c->closing = true;
        if (c->conn)
            weft_abort(c->conn);
        else
            resp_pause(p);
        return;
    }
    begin_arg(c);
    if (n <= 65536)
        reserve(c, (size_t)n);        /* big ones grow as bytes arrive */
    resp_set_mode(p, RESP_MODE_BULK, (uint64_t)n);
}

static void on_bulk(resp_parser *p, const char *data, size_t len)
{
    redis_client *c = client_of(p);
    if (!c->closing)
        push(c, data, len);
}

static void on_bulk_end(resp_parser *p)
{
    redis_client *c = client_of(p);
    if (c->closing)
        return;
    c->argc++;
    if (--c->pending > 0) {
        resp_set_mode(p, RESP_MODE_BULK_LEN, 0);
        return;
    }
    resp_set_mode(p, RESP_MODE_COMMAND, 0);
    run(c);
}

static void on_mismatch(resp_parser *p, enum resp_mode m, const char *line,
                        size_t len)
{
    redis_client *c = client_of(p);
    if (c->closing)
        return;
    if (m == RESP_MODE_COMMAND) {
        /* Only a line starting with '*' can fail the grammar. */
        protocol_error(c, "invalid multibulk length");
    } else if (len == 0 || line[0] != '$') {
        char what[64];
        snprintf(what, sizeof what, "expected '$', got '%c'",
                 len ? line[0] : '\n');
        protocol_error(c, what);
    } else {
        protocol_error(c, "invalid bulk length");
    }
}

static void on_line_too_long(resp_parser *p, enum resp_mode m,
                             const char *data, size_t len)
{
    redis_client *c = client_of(p);
    if (c->closing)
        return;
    if (m == RESP_MODE_BULK_LEN)
        protocol_error(c, "too big bulk count string");
    else if (len && data[0] == '*')
        protocol_error(c, "too big mbulk count string");
    else
        protocol_error(c, "too big inline request");
}

static void on_disconnect(resp_parser *p, const weft_reason *r)
{
    redis_client *c = client_of(p);
    weft_timer_cancel(c->check);
    c->check = NULL;
    redis_client_free(c);
}

const resp_callbacks redis_resp_callbacks = {
    .on_connect = on_connect,
    .on_command = on_command,
    .on_bulk_len = on_bulk_len,
    .on_bulk = on_bulk,
    .on_bulk_end = on_bulk_end,
    .on_mismatch = on_mismatch,
    .on_line_too_long = on_line_too_long,
    .on_disconnect = on_disconnect,
};
