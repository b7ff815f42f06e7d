/* redis.h — weft-redis: an in-memory Redis (strings only) on a weftc parser.
 *
 *   dict.{c,h}      the key space: hash table with incremental rehash
 *   commands.c      the command table and every command, RESP2 replies
 *   client.c        the parser callbacks of spec/resp.weft: assembling a
 *                   command's arguments, protocol errors, limits
 *   main.c          options, listening, the expiry/rehash timer
 *
 * Replies go to an evbuffer: the connection's output buffer under libweft
 * (the runtime flushes it once per read, so pipelined replies leave in one
 * write), or any buffer in tests.
 */
#ifndef WEFT_REDIS_H
#define WEFT_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dict.h"
#include "lines.h"

struct evbuffer;
typedef struct weft_conn weft_conn;
typedef struct resp_parser resp_parser;

#define REDIS_DBS 16
/* proto-max-bulk-len: a longer bulk length is refused before reading. */
#define REDIS_MAX_BULK (512ll * 1024 * 1024)
/* Redis' client-query-buffer-limit: the arguments of one command, counted
 * as their bytes plus REDIS_ARG_OVERHEAD each, may not exceed this. */
#define REDIS_MAX_QUERY (1024ll * 1024 * 1024)
#define REDIS_ARG_OVERHEAD 16

typedef struct redis_server {
    dict db[REDIS_DBS];
    uint64_t maxmemory;           /* 0: no limit */
    uint64_t max_query;           /* client-query-buffer-limit */
    uint64_t next_client_id;
    size_t client_mem;            /* argument buffers of all clients */
    size_t clients;
    size_t sweep_db, sweep_cursor;/* active expiry position */
    uint64_t expired_keys;        /* removed by lazy or active expiry */
    /* Unix time in ms; tests replace it with a manual clock. */
    int64_t (*clock)(struct redis_server *s);
    int64_t manual_now;           /* used by tests' clock */
} redis_server;

typedef struct redis_arg {
    uint32_t off, len;            /* bytes at client.buf + off */
} redis_arg;

typedef struct redis_client {
    redis_server *srv;
    weft_conn *conn;              /* NULL when standalone (tests) */
    resp_parser *parser;
    struct evbuffer *out;         /* replies; under libweft the conn's */
    uint64_t id;
    int db;                       /* SELECTed database */
    char *name;                   /* CLIENT SETNAME, NUL-terminated */
    /* The command being assembled. */
    int64_t pending;              /* multibulk arguments still to come */
    uint32_t argc, argcap;
    redis_arg *args;
    char *buf;                    /* argument bytes */
    size_t len, cap;
    uint64_t query;               /* bytes + overhead of this command */
    bool closing;                 /* QUIT or a protocol error: no more */
    bool throttled;               /* paused until the output drains */
    bool out_paused;              /* ... and the runtime saw the crossing */
    struct weft_timer *check;     /* throttle_check pending, or NULL */
} redis_client;

/* ---- server ------------------------------------------------------------- */

/* Initialises s with random hash seeds and the real clock. */
void redis_server_init(redis_server *s);
void redis_server_free(redis_server *s);
int64_t redis_now(redis_server *s);
/* Approximate bytes in use: keys, values, tables, client buffers. */
size_t redis_used_memory(const redis_server *s);
/* Periodic work: active expiry (bounded by `budget_ms`) and rehashing.
 * Returns the number of keys expired. */
size_t redis_cron(redis_server *s, int budget_ms);

/* ---- commands ----------------------------------------------------------- */

/* Runs one command and appends its reply to c->out.  May set c->closing
 * (QUIT).  argv spans need not outlive the call. */
void redis_exec(redis_client *c, int argc, const weft_span *argv);

/* ---- clients (parser glue) ---------------------------------------------- */

/* Starts a client on server s; out receives the replies. */
void redis_client_init(redis_client *c, redis_server *s, struct evbuffer *out);
/* Frees what the client holds (not c itself). */
void redis_client_free(redis_client *c);
/* Splits an inline command as Redis' sdssplitargs does.  Tokens are
 * appended to c's argument buffer.  Returns the count, or -1 for
 * unbalanced quotes. */
int redis_split_inline(redis_client *c, const char *line, size_t len);
/* string2ll: Redis' strict integer syntax.  Returns true on success. */
bool redis_string2ll(const char *s, size_t len, long long *out);

/* The parser callback table for spec/resp.weft (client.c). */
struct resp_callbacks;
extern const struct resp_callbacks redis_resp_callbacks;

#endif
